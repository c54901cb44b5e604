"""Skin tones against copies, as dedupe's colour check sees them (README 'Dedupe', colour).

Each toned emoji in its default yellow and five tones, as `curate ingest` stores it (img2dataset's
resizer: a PNG becomes a JPEG of quality 95) and as a half-size JPEG copy (quality 70) put through
the same resizer. For every pair: should it agree (same tone), does it (pixels.agree), and what
colour.agree decides on at the colour alignments: flat coloured pixels of both, the coarse mean
error (TOL_COARSE), and at the best gain the largest local region of difference (against the
pixel region) and the mean chroma offset (TOL_OFFSET). `--labelled` prints the same for the
labelled set's emoji copies (JPEG q15, resizes, crops, brightness...) that agree, closest to the
thresholds first, so the gap between the two (or its absence) shows. `--shared-resolution`
measures a lead for the tones TOL_COARSE cannot separate (README 'Dedupe', not solved): the
coarse error with the sharper image first rendered as the small copy is (a 32 px JPEG at the
best of a few qualities), for the tones against the copies and for the labelled set's copies
against its half-size copies.

    PYTHONPATH=. python tools/measure_tones.py [google_1f91e ...] [--all] [--labelled] [--shared-resolution]
"""

import argparse
import io
import itertools

import numpy as np
from PIL import Image

from curate import corpus
from curate.dedupe import colour, labelled, pixels
from curate.dedupe.tiers import Thresholds
from curate.ingest.fetch import FetchOptions, make_resizer
from curate.raw import to_rgb

TONES = ("", "-1f3fb", "-1f3fc", "-1f3fd", "-1f3fe", "-1f3ff")  # default yellow, then light to dark
REGION = Thresholds().pixel_region


def _ingested(image: Image.Image, fmt: str, **save) -> Image.Image:
    buf = io.BytesIO()
    image.save(buf, fmt, **save)
    stored = make_resizer(FetchOptions())(buf)
    return Image.open(io.BytesIO(stored[0])).convert("RGB")


def toned_names() -> list[str]:
    return sorted({r["file"][6:-4].split("-1f3f")[0] for r in corpus.catalog() if "-1f3fb" in r["file"]})


def toned(name: str) -> dict:
    """(tone, 'png' | 'half') -> the image as ingested."""
    images = {}
    for tone in TONES:
        default = name + ("-fe0f" if name.split("_")[1] in ("261d", "270b", "270c") else "")
        path = corpus.images_dir() / f"emoji_{name + tone if tone else default}.png"
        if not path.exists():
            continue
        with Image.open(path) as im:
            png = to_rgb(im)
        images[tone, "png"] = _ingested(png, "PNG")
        images[tone, "half"] = _ingested(labelled.TRANSFORMS["resize"](png), "JPEG", quality=70)
    return images


def summary(a, b) -> str:
    """colour.agree's evidence at the alignments it compares, the most favourable first."""
    parts = []
    for x, y in pixels.colour_alignments(a, b, REGION):
        ev = colour.evidence(x, y)
        if not ev["colour"]:
            return "no colour in one: agrees"
        gain, region, offset = min(ev["gains"], key=lambda g: max(g[1] / REGION, g[2] / colour.TOL_OFFSET))
        coarse = "-" if ev["coarse"] is None else f"{ev['coarse']:.1f}"
        parts.append(f"flat coloured {ev['flat_coloured']:4d}, coarse {coarse:>5s}, "
                     f"at gain {gain:+.2f}: region {region:2d}, offset {offset:4.1f}")
    return " | ".join(parts[:2]) or "no alignment within the pixel region"


def tones(names: list[str], show_all: bool) -> None:
    wrong = total = 0
    for name in names:
        images = toned(name)
        thumbs = {k: pixels.thumbnail(v) for k, v in images.items()}
        for ka, kb in itertools.combinations(sorted(thumbs), 2):
            same = ka[0] == kb[0]
            agrees = pixels.agree(thumbs[ka], thumbs[kb], REGION)
            total += 1
            wrong += agrees != same
            if show_all or agrees != same:
                flag = "WRONG" if agrees != same else "ok   "
                print(f"{flag} {name} {ka[0] or 'yellow':7s}{ka[1]:4s} {kb[0] or 'yellow':7s}{kb[1]:4s} "
                      f"{'agree' if agrees else 'differ'}: {summary(thumbs[ka], thumbs[kb])}")
    print(f"wrong pairs: {wrong} of {total} (thresholds: pixel region {REGION}, offset {colour.TOL_OFFSET}, "
          f"coarse {colour.TOL_COARSE})")


def copies(top: int = 25) -> None:
    """The labelled set's emoji copies that agree, by their largest coarse error."""
    data = [it for it in labelled.build() if it.source.startswith("emoji_")]
    rows = []
    for source in sorted({it.source for it in data}):
        items = [it for it in data if it.source == source]
        thumbs = [pixels.thumbnail(it.image) for it in items]
        for i, j in itertools.combinations(range(len(items)), 2):
            if not pixels.agree(thumbs[i], thumbs[j], REGION):
                continue
            aligned = pixels.colour_alignments(thumbs[i], thumbs[j], REGION)
            coarse = [c for c in (colour.evidence(x, y).get("coarse") for x, y in aligned) if c is not None]
            rows.append((min(coarse) if coarse else -1.0, source, items[i].transform, items[j].transform))
    rows.sort(reverse=True)
    print(f"labelled emoji copies that agree: {len(rows)}; largest coarse errors:")
    for c, source, ta, tb in rows[:top]:
        print(f"  {c:5.1f} {source} {ta} / {tb}")


QUALITIES = (50, 70, 90)  # the small copy's JPEG quality is not known: the best of these


def _as_small_copy(thumb: np.ndarray, quality: int) -> np.ndarray:
    """A thumbnail (grey + RGB) rendered as a half-size (32 px) JPEG copy would be, thumbnailed again."""
    rgb = Image.fromarray(np.clip(thumb[..., 1:], 0, 255).round().astype(np.uint8))
    buf = io.BytesIO()
    rgb.resize((pixels.SIZE // 2,) * 2, Image.Resampling.BOX).save(buf, "JPEG", quality=quality)
    return pixels.thumbnail(Image.open(buf))


def _coarse(a: np.ndarray, b: np.ndarray, rendered: bool) -> float:
    """Smallest coarse error over the colour alignments (of `a` rendered as a small copy, when asked)."""
    values = [colour.evidence(x, y).get("coarse")
              for a2 in ([_as_small_copy(a, q) for q in QUALITIES] if rendered else [a])
              for x, y in pixels.colour_alignments(a2, b, REGION)]
    values = [v for v in values if v is not None]
    return min(values) if values else float("nan")


def shared_resolution(names: list[str]) -> None:
    """Each tone's PNG (as ingested) against every half-size copy: the coarse error as compared
    now and with the PNG first rendered at the copy's resolution."""
    same, other = [], []
    for name in names:
        images = toned(name)
        thumbs = {k: pixels.thumbnail(v) for k, v in images.items()}
        for (ta, ka), (tb, kb) in itertools.product(sorted(thumbs), repeat=2):
            if ka == "png" and kb == "half":
                row = (_coarse(thumbs[ta, ka], thumbs[tb, kb], False), _coarse(thumbs[ta, ka], thumbs[tb, kb], True),
                       name, ta or "yellow", tb or "yellow")
                (same if ta == tb else other).append(row)
    for i, label in ((0, "as compared now"), (1, "PNG rendered as the copy")):
        top = max(r[i] for r in same)
        print(f"{label}: a tone against its own half-size copy at most {top:.2f} ({len(same)} pairs); "
              f"a tone against another tone's copy at or under that: {sum(r[i] <= top for r in other)} of {len(other)}")
    print("  other tones' copies closest, PNG rendered:", ", ".join(f"{r[2]} {r[3]}/{r[4]} {r[1]:.2f}" for r in sorted(other, key=lambda r: r[1])[:8]))
    data = [it for it in labelled.build() if it.source.startswith("emoji_")]
    rows = []
    for source in sorted({it.source for it in data}):
        items = {it.transform: it for it in data if it.source == source}
        small = pixels.thumbnail(items["resize"].image)
        for transform, it in items.items():
            thumb = pixels.thumbnail(it.image)
            if transform != "resize" and pixels.agree(thumb, small, REGION):
                rows.append((_coarse(thumb, small, True), _coarse(thumb, small, False), source, transform))
    rows.sort(key=lambda r: -r[0])
    print(f"labelled emoji copies against their half-size copy ({len(rows)} pairs that agree), the largest coarse "
          "errors with the other side rendered as the small copy (as compared now):")
    for rendered, now, source, transform in rows[:10]:
        print(f"  {rendered:5.2f} ({now:5.2f}) {source} {transform}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="toned emoji, e.g. google_1f91e (default: all bundled)")
    parser.add_argument("--all", action="store_true", help="print every pair, not only the wrong ones")
    parser.add_argument("--labelled", action="store_true", help="also the labelled set's emoji copies")
    parser.add_argument("--shared-resolution", action="store_true",
                        help="only the coarse error with the sharper image rendered as the small copy (a lead)")
    args = parser.parse_args()
    if args.shared_resolution:
        shared_resolution(args.names or toned_names())
    else:
        tones(args.names or toned_names(), args.all)
        if args.labelled:
            copies()
