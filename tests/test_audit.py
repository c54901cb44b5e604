"""`curate audit`: tiled L2, nearest training images, verdicts, errors, the report in Chromium."""

import re
import shutil

import numpy as np
import pytest
from PIL import Image, ImageOps

from curate import corpus, manifest
from curate.audit import tiles
from curate.workspace import Workspace
from tests.helpers import curate, ingest_corpus, screenshot

TRAINING = ["sk_coffee.jpg", "sk_astronaut.jpg", "cv_baboon.jpg", "sk_rocket.jpg", "cv_fruits.jpg",
            "sk_chelsea.jpg", "cv_text_hotel.jpg", "sk_hubble.jpg"]
UNSEEN = ["cv_messi5.jpg", "sk_camera.jpg"]  # real photos the dataset does not hold


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("audit")
    ingest_corpus(root / "ds", TRAINING)
    assert curate("embed", root / "ds") == 0
    return root / "ds"


def _drawn(name: str, size: int = 32) -> Image.Image:
    """What a model that memorised the image would draw: it, fitted to the model's size."""
    return tiles.fit(Image.open(corpus.images_dir() / name).convert("RGB"), (size, size))


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    folder = tmp_path_factory.mktemp("samples")
    _drawn("sk_coffee.jpg").save(folder / "copy_coffee.png")
    _drawn("cv_baboon.jpg", 64).save(folder / "copy_baboon.png")
    ImageOps.mirror(_drawn("sk_rocket.jpg")).save(folder / "mirror_rocket.png")
    for name in UNSEEN:
        _drawn(name).save(folder / f"new_{name.split('.')[0]}.png")
    return folder


def test_tile_l2_is_the_worst_tile():
    rng = np.random.default_rng(0)
    a = rng.random((32, 32, 3), dtype=np.float32)
    assert tiles.tile_l2(a, a) == 0
    b = a.copy()
    b[:8, :8] = 1 - b[:8, :8]  # one tile of sixteen replaced
    whole = float(np.sqrt(((a - b) ** 2).mean()))
    assert tiles.tile_l2(a, b) == pytest.approx(float(np.sqrt(((a[:8, :8] - b[:8, :8]) ** 2).mean())))
    assert tiles.tile_l2(a, b) > 3.5 * whole  # a whole-image L2 would dilute it 16 times in the square


def test_coarse_tiled_l2_sees_a_copy_through_grain():
    """A sampler's speckle lifts a plain copy past the tiled-L2 threshold; averaged over 4x4
    pixel blocks the grain falls below the coarse one, and another picture stays far at both."""
    from curate.audit.verdict import Thresholds, verdict

    rng = np.random.default_rng(0)
    picture = np.kron(rng.random((8, 8, 3), dtype=np.float32), np.ones((4, 4, 1), np.float32))  # 32 px, blocky
    grainy = (picture + rng.normal(0, 0.25, picture.shape)).clip(0, 1).astype(np.float32)
    other = np.kron(rng.random((8, 8, 3), dtype=np.float32), np.ones((4, 4, 1), np.float32))
    t = Thresholds()
    assert tiles.tile_l2(grainy, picture) > t.copy_tile_l2
    assert tiles.coarse_tile_l2(grainy, picture) <= t.copy_coarse_l2
    assert verdict(0.5, tiles.tile_l2(grainy, picture), tiles.coarse_tile_l2(grainy, picture), float(picture.std()), t) == "copy"
    assert tiles.coarse_tile_l2(other, picture) > 2 * t.copy_coarse_l2
    assert verdict(0.5, tiles.tile_l2(other, picture), tiles.coarse_tile_l2(other, picture), float(picture.std()), t) == "novel"
    assert tiles.coarse(np.zeros((6, 6, 3), np.float32)).shape == (6, 6, 3)  # too small to average: unchanged


def test_audit_marks_memorised_copies_and_novel_samples(dataset, samples, capsys):
    assert curate("audit", dataset, "--samples", samples) == 0
    rows = manifest.read_table(Workspace(samples), "audit").to_pylist()
    urls = {r["id"]: r["url"].rsplit("/", 1)[1] for r in manifest.read_table(Workspace(dataset), "images").to_pylist()}
    decisive = {r["sample_id"]: r for r in rows if r["decisive"]}
    assert len(decisive) == 5 and len(rows) == 5 * 5
    assert {r["rank"] for r in rows} == {1, 2, 3, 4, 5}
    for sample, source in [("copy_coffee", "sk_coffee.jpg"), ("copy_baboon", "cv_baboon.jpg")]:
        assert decisive[sample]["verdict"] == "copy", decisive[sample]
        assert urls[decisive[sample]["nearest_id"]] == source
    for name in UNSEEN:
        assert decisive[f"new_{name.split('.')[0]}"]["verdict"] == "novel"
    # A mirrored copy is no pixel copy: never 'copy'.
    assert decisive["mirror_rocket"]["verdict"] != "copy"
    assert all(r["nearest_cluster_size"] == 1 and r["text_noise"] is None for r in rows)  # plain folder, no dups
    printed = capsys.readouterr().out
    assert '"copy": 2' in printed and "report.html" in printed
    assert curate("query", samples, "SELECT verdict, count(*) FROM audit WHERE decisive GROUP BY 1") == 0


@pytest.fixture(scope="module")
def trained(dataset, tmp_path_factory):
    """The dataset plus a half-size copy of the coffee photo (dedupe removes it), a model trained
    one step on a shard set without the rocket: (dataset, model folder)."""
    root = tmp_path_factory.mktemp("trained")
    shutil.copytree(dataset, root / "ds")
    (root / "extra").mkdir()
    with Image.open(corpus.images_dir() / "sk_coffee.jpg") as im:
        im.resize((im.width // 2, im.height // 2)).save(root / "extra" / "coffee_small.jpg")
    ds = root / "ds"
    for argv in (["ingest", ds, "--folder", root / "extra"], ["embed", ds], ["dedupe", ds],
                 ["shard", ds, "--where", "url NOT LIKE '%rocket%'"], ["train", ds, "--out", root / "model", "--steps", 1]):
        assert curate(*argv) == 0, argv
    return ds, root / "model"


def test_audit_matches_the_models_training_set(trained, samples, tmp_path, capsys):
    ds, model = trained
    ws = Workspace.open(ds)
    shard_set = {r["id"] for r in manifest.read_table(ws, "train_shards").to_pylist()}
    names = {r["id"]: r["url"].rsplit("/", 1)[1] for r in manifest.read_table(ws, "images").to_pylist()}
    removed = {r["id"] for r in manifest.read_table(ws, "duplicates").to_pylist() if not r["keep"]}
    assert {names[i] for i in removed} == {"coffee_small.jpg"} and "sk_rocket.jpg" not in {names[i] for i in shard_set}

    out = tmp_path / "audit"
    capsys.readouterr()
    assert curate("audit", ds, "--samples", samples, "--model", model, "--out", out) == 0
    assert f"training images of {model}" in capsys.readouterr().out
    rows = manifest.read_table(Workspace(out), "audit").to_pylist()
    trained_rows = [r for r in rows if r["matched"] == "training"]
    assert {r["nearest_id"] for r in trained_rows} <= shard_set  # what the model saw, nothing else
    assert len(trained_rows) == 5 * 5
    beside = {r["sample_id"]: r for r in rows if r["matched"] == "removed_duplicate"}
    assert len(beside) == 5 and not any(r["decisive"] for r in beside.values())
    assert names[beside["copy_coffee"]["nearest_id"]] == "coffee_small.jpg"
    decisive = {r["sample_id"]: r for r in rows if r["decisive"]}
    assert decisive["copy_coffee"]["verdict"] == "copy" and decisive["copy_coffee"]["nearest_url"].endswith("sk_coffee.jpg")
    assert all(r["nearest_url"].endswith("/" + names[r["nearest_id"]]) and "nearest_license" in r for r in rows)
    assert "removed duplicate" in (out / "report.html").read_text()

    # against the whole index, the rocket the model never saw is the mirrored rocket's nearest again
    assert curate("audit", ds, "--samples", samples, "--against", "index", "--out", tmp_path / "all") == 0
    everything = manifest.read_table(Workspace(tmp_path / "all"), "audit").to_pylist()
    assert {r["matched"] for r in everything} == {"index"}
    nearest_rocket = [r for r in everything if r["sample_id"] == "mirror_rocket" and r["rank"] == 1]
    assert names[nearest_rocket[0]["nearest_id"]] == "sk_rocket.jpg"

    # a `curate sample` folder names its model: the training set is the default
    drawn = tmp_path / "drawn"
    assert curate("sample", model, "--prompt", "a cup of coffee", "--seeds", 0, "--steps", 1, "--out", drawn) == 0
    capsys.readouterr()
    assert curate("audit", ds, "--samples", drawn, "--no-text-noise") == 0
    assert f"training images of {model}" in capsys.readouterr().out


@pytest.mark.parametrize("case,needle", [
    ("empty", "no samples in it"),
    ("no_index", "has no FAISS index"),
    ("other_embedder", "was indexed with efficientnet-lite0, not efficientnet-lite1"),
    ("missing", "no such folder"),
])
def test_user_errors_are_one_line_exit_2(dataset, samples, tmp_path, capsys, case, needle):
    ds, folder, extra = dataset, samples, []
    if case == "empty":
        folder = tmp_path / "empty"
        folder.mkdir()
    elif case == "no_index":
        ds = tmp_path / "ds"
        shutil.copytree(dataset, ds)
        shutil.rmtree(ds / "index")
        (ds / "index").mkdir()
    elif case == "other_embedder":
        extra = ["--embedder", "efficientnet-lite1"]
    else:
        folder = tmp_path / "nowhere"
    assert curate("audit", ds, "--samples", folder, *extra) == 2
    err = capsys.readouterr().err
    assert needle in err and err.count("\n") == 1, err


def test_report_shows_its_images_in_chromium(dataset, samples, tmp_path):
    if not (samples / "report.html").exists():
        assert curate("audit", dataset, "--samples", samples) == 0
    page = samples / "report.html"
    text = page.read_text()
    assert text.count("src='data:image/") >= 1 + 5 * 6  # charts, and each shown sample beside 5 neighbours
    assert "Novelty per prompt" in text and "cluster size" in text
    shown = screenshot(page, tmp_path / "report.png")
    # The same page with every image source broken: what the page would look like if none loaded.
    broken = tmp_path / "broken.html"
    broken.write_text(re.sub(r"src='data:[^']*'", "src='missing.png'", text))
    blank = screenshot(broken, tmp_path / "broken.png")
    colourful = lambda im: int((np.asarray(im.convert("HSV"))[..., 1] > 80).sum())  # noqa: E731
    print("saturated pixels with images:", colourful(shown), "without:", colourful(blank))
    assert colourful(shown) > 20 * max(1, colourful(blank)) and colourful(shown) > 50_000
    shutil.copy(tmp_path / "report.png", samples / "report.png")  # kept beside the report


def test_bench_audits_a_synthetic_index_whose_ids_are_its_bytes_hashes():
    from curate.audit.bench import bench  # the audit checks stored bytes against their ids, so must the bench

    (result,) = bench(sizes=(2_000,), samples=8, rounds=1)
    assert result["n"] == 2_000 and result["samples_per_s"] > 0 and result["embed_only_per_s"] > 0
