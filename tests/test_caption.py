"""`curate caption` on real photos: people, faces and scene text counted right; hands counted
only where countable; hostile images give a status, not a crash; the VLM path is prompted with
the detector counts.

Expected values were written down by looking at each image (all are in curate/corpus/images,
copied from the packages named in curate/corpus/corpus.csv; astronaut and Grace Hopper are
also read straight from scikit-image and matplotlib; the ASL stamps are in tests/data)."""

import io
import re
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from curate import corpus
from curate.caption.image import caption_image
from curate.manifest import read_table
from curate.query import fetch
from curate.workspace import Workspace
from tests.helpers import curate, ingest_corpus, screenshot

# file -> (people, faces or None where a face is half turned away, text that must be read)
PEOPLE_AND_TEXT = {
    "cv_basketball1.jpg": (2, None, []),          # two men in a corridor, the right one turned away
    "cv_messi5.jpg": (1, 1, ["unicef"]),          # one player (the crowd is a blur), shirt sponsor
    "sk_camera.jpg": (1, 1, []),                  # cameraman
    "cv_text_hotel.jpg": (0, 0, ["HOTEL"]),
    "cv_text_stationery_box.jpg": (0, 0, ["Stationery", "Box"]),
    "cv_text_private_hire.jpg": (0, 0, ["Private Hire", "Freephone"]),
    "cv_text_notice.jpg": (0, 0, ["NOTICE", "PROHIBITED"]),
    "cv_word_china.jpg": (0, 0, ["CHINA"]),
    "sk_page.jpg": (0, 0, ["Region-based segmentation"]),
    # no people, so no faces and no invented hands
    "sk_coffee.jpg": (0, 0, []),
    "cv_fruits.jpg": (0, 0, []),
    "sk_chelsea.jpg": (0, 0, []),
    "cv_dog.jpg": (0, 0, []),
    "skl_flower.jpg": (0, 0, []),
    "sk_rocket.jpg": (0, 0, []),
    "cv_apple.jpg": (0, 0, []),                   # the face model sees a face in the apple (0.64)
    "cv_word_riser.jpg": (0, 0, ["riser"]),       # ... and in the letters (0.65)
    "cv_chessboard_left06.jpg": (1, 1, []),       # a real face, half hidden by the board (0.65)
}
# emoji code -> extended fingers of the gesture it draws
GESTURES = {"270b": 5, "1f44b": 5, "261d": 1, "270c": 2, "1f44d": 1, "1f44e": 1, "1f44c": 3}


def _png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


def _caption_file(name: str, folder: Path | None = None) -> dict:
    """The caption row of a corpus image, or of one in `folder` (LABELLED: the labelled set)."""
    return caption_image(((folder or corpus.images_dir()) / name).read_bytes(), None)


@pytest.mark.parametrize("name", sorted(PEOPLE_AND_TEXT))
def test_people_faces_and_text_on_real_photos(name):
    people, faces, texts = PEOPLE_AND_TEXT[name]
    row = _caption_file(name)
    assert row["status"] == "ok"
    assert row["people"] == people, row["dense"]
    if faces is not None:
        assert row["faces"] == faces, row["dense"]
    read = row["text_in_image"].lower()
    assert all(t.lower() in read for t in texts), read
    if people == 0:
        assert row["hands"] == 0, row["dense"]
    record = row["caption"]
    assert record["counts"]["people"] == len(record["people"]) and record["provenance"]["summary"] == "template"
    for t in texts:  # every text line is quoted in the dense caption
        assert any(t.lower() in line["text"].lower() for line in record["text"])
    assert all(f'"{line["text"]}"' in row["dense"] for line in record["text"])


def test_registry_photos_from_their_packages():
    from matplotlib import cbook
    from skimage import data

    astronaut = caption_image(_png(Image.fromarray(data.astronaut())), "astronaut portrait")
    with cbook.get_sample_data("grace_hopper.jpg") as fh:
        hopper = caption_image(fh.read(), None)
    for row in (astronaut, hopper):
        assert (row["people"], row["faces"]) == (1, 1), row["dense"]
    assert "hopper" in hopper["text_in_image"].lower()  # the name tape on the uniform
    assert astronaut["short"] == "a photo of a person: astronaut portrait."  # seen, then the alt-text merged


def _gesture(name: str, side: int) -> bytes:
    """An emoji drawn large (or small), matted on white with a margin, as a scraper would store it."""
    with Image.open(corpus.images_dir() / name) as im:
        emoji = im.convert("RGBA").resize((side, side), Image.LANCZOS)
    canvas = Image.new("RGB", (side * 3 // 2, side * 3 // 2), "white")
    canvas.paste(emoji, (side // 4, side // 4), emoji)
    return _png(canvas)


# Extended fingers, thumb included, of the Tux Paint ASL stamps (tests/data/tuxpaint_asl), by
# looking at each; A, C, G, J, K, P, Q and X are left out: their thumb or bent finger has no one
# right count. Line drawings like these are hard for the palm detector, which was trained on photos.
ASL = {"b": 4, "d": 1, "e": 0, "f": 3, "h": 2, "i": 1, "l": 2, "m": 0, "n": 0, "o": 0, "r": 2, "s": 0,
       "t": 0, "u": 2, "v": 2, "w": 3, "y": 2, "z": 1, "zzz_0": 0, "zzz_1": 1, "zzz_2": 2, "zzz_3": 3,
       "zzz_4": 4, "zzz_5": 5, "zzz_6": 3, "zzz_7": 3, "zzz_8": 3, "zzz_9": 3}
ASL_DIR = Path(__file__).parent / "data" / "tuxpaint_asl"
LABELLED = Path(__file__).parent / "data" / "caption_labels" / "images"
# Hands holding the calibration board in the opencv-doc chessboard photos, where a hand is found
# and counted today: the thumb is out, the fingers curl round the board's edge (hidden behind it).
CHESSBOARD = {"cv_chessboard_right04.jpg": 1}


def _stamp(path: Path) -> bytes:
    """A transparent stamp flattened on white with a margin, as a scraper would store it."""
    with Image.open(path) as im:
        stamp = im.convert("RGBA")
    canvas = Image.new("RGB", (stamp.width + 100, stamp.height + 100), "white")
    canvas.paste(stamp, (50, 50), stamp)
    return _png(canvas)


def _tally(images: list[tuple[str, bytes, int | None]]) -> dict:
    """Hands found, counted (countable) and counted right; `None` expects no hand to be counted."""
    found = counted = right = 0
    for name, data, want in images:
        hands = _all_hands(caption_image(data, None, ("people", "hands")))
        found += bool(hands)
        for hand in hands:
            if hand["countable"]:
                assert want is not None, f"{name}: a hand was counted ({hand['fingers_extended']}); look, write it down"
                counted += 1
                right += hand["fingers_extended"] == want
    return {"images": len(images), "found": found, "counted": counted, "right": right}


def test_finger_counts_right_where_countable_and_never_on_small_hands():
    def gesture(path):
        return path.stem.split("_")[2].split("-")[0]

    emoji = sorted(f for f in corpus.images_dir().iterdir() if f.name.startswith("emoji_") and gesture(f) in GESTURES)
    chess = sorted(corpus.images_dir().glob("cv_chessboard_*"))
    sets = {
        "emoji gestures at 256 px": _tally([(f.name, _gesture(f.name, 256), GESTURES[gesture(f)]) for f in emoji]),
        "opencv-doc chessboard photos": _tally([(f.name, f.read_bytes(), CHESSBOARD.get(f.name)) for f in chess]),
        "tuxpaint ASL stamps": _tally([(f.name, _stamp(f), ASL[f.stem[4:]]) for f in sorted(ASL_DIR.glob("asl_*.png"))
                                       if f.stem[4:] in ASL]),
    }
    for name, t in sets.items():
        print(f"\n{name}: {t['images']} images, hands found on {t['found']}, {t['counted']} counted, {t['right']} right")
    counted, right = sum(t["counted"] for t in sets.values()), sum(t["right"] for t in sets.values())
    images = sum(t["images"] for t in sets.values())
    print(f"all: accuracy {right / max(counted, 1):.2f} where countable, coverage {counted / images:.2f}")
    assert counted >= 5 and right / counted >= 0.8
    for f in emoji:  # the same gestures drawn small are found, maybe, but never counted
        for hand in _all_hands(caption_image(_gesture(f.name, 24), None, ("people", "hands"))):
            assert not hand["countable"] and hand["fingers_extended"] is None


def test_small_hands_in_a_real_photo_are_not_counted():
    row = _caption_file("cv_messi5.jpg")  # the player's hands are ~20-30 px
    hands = _all_hands(row)
    assert hands and not any(h["countable"] for h in hands)
    assert any("too small" in u for u in row["caption"]["uncertain"])


def _all_hands(row: dict) -> list[dict]:
    record = row["caption"]
    return [a["hand"] for p in record["people"] for a in p["arms"] if a["hand"]] + record["hands"]


def test_hostile_images_get_a_status_not_a_crash():
    broken = caption_image(b"\xff\xd8\xff\xe0 not really a jpeg", "a photo")
    assert broken["status"] == "undecodable" and broken["error"]
    tiny = caption_image(_png(Image.new("RGB", (1, 1), "red")), "a red dot")
    assert tiny["status"] == "too_small" and tiny["people"] == 0 and "a red dot" in tiny["short"]
    banner = Image.new("RGB", (10_000, 200), "white")
    ImageDraw.Draw(banner).text((4000, 30), "GRAND OPENING", fill="black", font=ImageFont.load_default(size=120))
    row = caption_image(_png(banner), None)
    assert row["status"] == "banner" and {"GRAND", "OPENING"} <= set(row["text_in_image"].upper().replace("|", " ").split())
    box = row["caption"]["text"][0]["box"]
    assert 3800 < box[0] < 4200 and box[3] <= 200  # boxes are in the banner's own pixels


def _small_dataset(tmp_path, names) -> Workspace:
    return Workspace.open(ingest_corpus(tmp_path / "ds", names, {n: f"corpus image {n}" for n in names}, 3))


def test_caption_stage_writes_queryable_manifests_and_resumes(tmp_path):
    names = ["cv_text_hotel.jpg", "sk_camera.jpg", "cv_basketball1.jpg", "cv_fruits.jpg", "emoji_google_1f44d.png"]
    ws = _small_dataset(tmp_path, names)
    assert curate("caption", ws.root, "--report", "--processes-count", "2") == 0
    rows = read_table(ws, "captions").to_pylist()
    assert len(rows) == len(names) and len(ws.partitions("captions")) == 2
    found = fetch(ws, "SELECT i.url, c.people, c.text_in_image, c.caption.counts.faces AS faces FROM captions c "
                      "JOIN images i USING (id) WHERE c.people > 0 OR c.text_in_image <> '' ORDER BY i.url").to_pylist()
    assert [r["url"].rsplit("/", 1)[1] for r in found] == ["cv_basketball1.jpg", "cv_text_hotel.jpg", "sk_camera.jpg"]
    assert all("corpus image" in r["short"] for r in rows)  # the ingested text is merged into the caption
    assert (ws.root / "reports" / "captions.html").stat().st_size > 10_000
    # training picks images by caption columns and trains on the caption strings
    from curate.shard import select

    picked = select(ws, "people >= 2 OR text_in_image ILIKE '%hotel%'")
    assert len(picked) == 2 and all("corpus image" in p["dense"] and "Medium:" in p["dense"] for p in picked)
    assert all(p["caption_used"].startswith("captions:template") for p in picked)
    # a partition lost (a killed run) is redone; the others are kept as they are
    first = ws.partitions("captions")[0]
    kept = ws.partitions("captions")[1].stat().st_mtime_ns
    first.unlink()
    assert curate("caption", ws.root) == 0
    assert len(read_table(ws, "captions")) == len(names) and ws.partitions("captions")[1].stat().st_mtime_ns == kept
    # other detectors would mix two captioners in one table: refused, changing nothing, unless --overwrite
    first.unlink()
    assert curate("caption", ws.root, "--detectors", "text") == 2
    assert not first.exists() and ws.partitions("captions")[0].stat().st_mtime_ns == kept
    assert curate("caption", ws.root, "--detectors", "text", "--overwrite") == 0
    assert {r["captioner"] for r in read_table(ws, "captions").to_pylist()} == {"template+text"}
    # the same captioner again: nothing to do; with --overwrite, every shard is captioned again
    made = [p.stat().st_mtime_ns for p in ws.partitions("captions")]
    assert curate("caption", ws.root, "--detectors", "text") == 0
    assert [p.stat().st_mtime_ns for p in ws.partitions("captions")] == made
    assert curate("caption", ws.root, "--detectors", "text", "--overwrite") == 0
    again = [p.stat().st_mtime_ns for p in ws.partitions("captions")]
    assert len(again) == 2 and all(a != b for a, b in zip(again, made))


def test_caption_errors_are_one_line(tmp_path, capsys):
    ws = _small_dataset(tmp_path, ["sk_coffee.jpg"])
    assert curate("caption", ws.root, "--detectors", "people,elbows") == 2
    assert curate("caption", ws.root, "--vlm", tmp_path / "nowhere") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "unknown detector elbows" in err[0] and "not a transformers checkpoint" in err[1]


class Spy:
    """A processor that records the text it is given (the prompt the model receives)."""

    def __init__(self, processor):
        self.processor, self.sent = processor, []

    def __call__(self, *args, **kwargs):
        self.sent.append(kwargs["text"])
        return self.processor(*args, **kwargs)

    def __getattr__(self, name):
        return getattr(self.processor, name)


def test_vlm_summary_is_prompted_with_detector_counts(tmp_path):
    from curate.caption import vlm
    from curate.caption.image import facts_of
    from curate.raw import to_rgb
    from tests import tiny_models

    with Image.open(corpus.images_dir() / "cv_basketball1.jpg") as im:
        rgb = np.asarray(to_rgb(im))
    question = vlm.prompt(facts_of(rgb), "two men with a ball")
    assert "two people" in question and "face" in question and "two men with a ball" in question
    folder = tiny_models.blip(tmp_path / "blip", question + " a photo of man men ball")
    loaded = vlm.load(str(folder))
    loaded.processor = spy = Spy(loaded.processor)
    summary = loaded.describe(rgb, facts_of(rgb), "two men with a ball")
    assert spy.sent == [question] and "hands" in summary
    # through the stage: the summary is the model's, the counts are still the detectors'
    ws = _small_dataset(tmp_path, ["cv_basketball1.jpg"])
    assert curate("caption", ws.root, "--vlm", folder) == 0
    row = read_table(ws, "captions").to_pylist()[0]
    assert row["caption"]["provenance"]["summary"] == f"vlm:{folder}" and row["people"] == 2
    assert row["caption"]["summary"].startswith("hands") and row["short"].endswith("with two people.")
    assert row["captioner"].startswith(f"vlm:{folder}")


def test_chat_vlm_gets_the_prompt_in_a_user_turn(tmp_path):
    from curate.caption import vlm
    from curate.caption.records import Facts
    from tests import tiny_models

    facts = Facts(48, 48, "photo")
    question = vlm.prompt(facts, "hello")
    loaded = vlm.load(str(tiny_models.llava(tmp_path / "llava", question)))
    assert loaded.chat
    loaded.processor = spy = Spy(loaded.processor)
    summary = loaded.describe(np.zeros((48, 48, 3), np.uint8), facts, "hello")
    assert spy.sent[0].startswith("user: <image> " + question) and spy.sent[0].endswith("assistant:")
    assert isinstance(summary, str) and question not in summary  # the echoed prompt is cut off


def test_captions_sheet_shows_object_boxes_in_chromium(tmp_path):
    ws = _small_dataset(tmp_path, ["sk_chelsea.jpg", "cv_dog.jpg"])
    assert curate("caption", ws.root, "--report") == 0
    rows = read_table(ws, "captions").to_pylist()
    assert sorted(n for r in rows for n in r["objects"] if n in ("cat", "dog")) == ["cat", "dog"]
    page = ws.root / "reports" / "captions.html"
    text = page.read_text()
    # the same page with its images broken: only the legend's word "objects" is purple there
    broken = tmp_path / "broken.html"
    broken.write_text(re.sub(r"src='data:[^']*'", "src='missing.png'", text))
    purple = [int((np.abs(np.asarray(screenshot(p, tmp_path / f"{p.stem}.png")).astype(int) - (150, 60, 200))
                   .sum(-1) < 40).sum()) for p in (page, broken)]
    # the object boxes and their label tags are drawn in one purple, which neither photo holds
    assert purple[0] > purple[1] + 400, purple


@pytest.mark.slow
def test_labelled_caption_set_floor():
    """The labelled set of tests/data/caption_labels (197 registry images, expected subjects
    and counts written by looking). The issue's goals (>= 90% named, >= 80% counts, 0 invented)
    are not met yet; this holds the measured level so that no change goes below it (measured
    2026-12-06: named 126/227, counts 91/187, invented 10 / 20 / 2 / 0, medium 187/197)."""
    from curate.caption.evaluate import evaluate

    r = evaluate()
    s, invented = r["subjects"], r["invented"]
    print(s, invented, r["medium"], r["crowds"])
    # counts are over every countable subject, read from the objects or, for a subject only a
    # whole-image label names, the one its "a" states; wrong labels in `short` count as invented
    assert s["named"] / s["total"] >= 0.55 and s["counts_right"] / s["countable"] >= 0.48
    assert invented["objects"] <= 11 and invented["labels"] <= 22 and invented["people"] <= 2
    assert invented["hands"] == 0 and r["medium"]["right"] >= 181


def _sign(text: str, mirrored: bool) -> bytes:
    img = Image.new("RGB", (640, 200), "white")
    ImageDraw.Draw(img).text((30, 60), text, fill="black", font=ImageFont.load_default(size=56))
    return _png(img.transpose(Image.Transpose.FLIP_LEFT_RIGHT) if mirrored else img)


def test_text_keeps_word_spaces_and_sets_mirrored_text_apart():
    plain = caption_image(_sign("NO PARKING", mirrored=False), None)
    assert [t["text"] for t in plain["caption"]["text"]] == ["NO PARKING"]
    mirrored = caption_image(_sign("AMBULANCE", mirrored=True), None)
    assert mirrored["caption"]["text"] == []
    assert any("mirror" in u and "AMBULANCE" in u for u in mirrored["caption"]["uncertain"])
    assert "AMBULANCE" not in mirrored["short"]


@pytest.mark.parametrize("name", ["cv_word_china.jpg", "cv_word_here.jpg"])
def test_a_picture_of_a_word_is_its_text_not_an_object(name):
    """The ImageNet head calls the cropped word CHINA a 'nail' and HERE a 'digital clock': a
    picture that is mostly its text lines states none of the head's labels."""
    row = _caption_file(name)
    word = name[len("cv_word_"):-len(".jpg")].upper()
    assert [t["text"] for t in row["caption"]["text"]] == [word]
    assert row["caption"]["labels"] == [] and row["short"].endswith(f'with the text "{word}".'), row["short"]
    assert any("mostly text" in u for u in row["caption"]["uncertain"])


def test_a_building_takes_its_own_class_only_when_the_head_is_sure():
    """ImageNet splits buildings into near-alike classes (palace, monastery, mosque...): under
    FINE_SCENE_SCORE the head's pick was wrong 5 times in 7 on the labelled set, so the caption
    says 'building' (Fort Sumter is not a monastery); a sure pick keeps its name."""
    from curate.caption import imagenet

    index = {n.imagenet: i for i, n in enumerate(imagenet.nouns())}

    def names(**scores):
        p = np.full(1000, (1 - sum(scores.values())) / (1000 - len(scores)))
        for name, score in scores.items():
            p[index[name]] = score
        return [lb.name for lb in imagenet.labels(p)]

    assert names(monastery=0.51, church=0.1) == ["building"]
    assert names(palace=0.96) == ["palace"]
    assert _caption_file("e_fort_sumter.jpg", LABELLED)["short"] == "a photo of a building."


def test_what_a_tiny_person_holds_is_not_guessed():
    """A 36 px passer-by's crop, blown up to 224 px, is an 'assault rifle' to the ImageNet head:
    held things are named only from person boxes HELD_MIN_SIDE tall (the cameraman's tripod is
    still named)."""
    row = _caption_file("e_palais_des_papes.jpg", LABELLED)
    assert row["people"] >= 10 and "assault rifle" not in row["labels"] and "rifle" not in row["short"]
    assert "tripod" in _caption_file("sk_camera.jpg")["labels"]


def test_the_place_the_head_names_follows_the_counted_subjects():
    """A monument with its visitors is a picture of the monument too: `short` names the place
    after what the detectors counted ('nine people and a palace', not 'nine people')."""
    row = _caption_file("e_louvre.jpg", LABELLED)
    assert row["people"] >= 5 and row["short"].endswith(" people and a palace."), row["short"]
