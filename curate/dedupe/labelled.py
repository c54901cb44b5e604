"""A labelled near-duplicate set built from the bundled corpus, and the calibration of the
dedupe thresholds on it (`python -m curate.dedupe.labelled` prints the sweep).

Run: `python -m curate.dedupe.labelled` (about 10 minutes on 2 cores).

Sources are real images with no natural duplicate in the corpus: photos, clip-art drawings,
emoji, and the hard look-alikes: thirteen different photos of the same person holding a
chessboard, and different emoji of the same vendor. Each source gets the transforms a scraper
meets; every (source, copy) and (copy, copy) pair of one source is a duplicate, every pair of
different sources is not. The same emoji drawn by two vendors is left out of the scoring:
whether that is a duplicate is a policy choice, not a fact.
"""

import itertools
from dataclasses import dataclass, replace

import numpy as np
from PIL import Image, ImageDraw, ImageEnhance, ImageFont, ImageOps

from curate import corpus, embedders
from curate.dedupe import pixels
from curate.fingerprints import fingerprints
from curate.dedupe.tiers import Thresholds, find_edges
from curate.dedupe.verify import crop_vectors
from curate.raw import to_rgb


def _jpeg(im: Image.Image, quality: int) -> Image.Image:
    import io

    buf = io.BytesIO()
    im.save(buf, "JPEG", quality=quality)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def _caption_overlay(im: Image.Image) -> Image.Image:
    im = im.copy()
    size = max(8, im.height // 12)
    draw = ImageDraw.Draw(im)
    draw.rectangle([0, im.height - size - 4, im.width, im.height], fill=(0, 0, 0))
    draw.text((4, im.height - size - 2), "(c) stock photo 2024 - all rights reserved", fill=(255, 255, 255),
              font=ImageFont.load_default(size=size))
    return im


def _crop(im: Image.Image, keep: float = 0.8) -> Image.Image:
    w, h = im.size
    x0, y0 = int(w * (1 - keep) * 0.75), int(h * (1 - keep) * 0.25)  # off-centre, as croppers do
    return im.crop((x0, y0, x0 + int(w * keep), y0 + int(h * keep)))


TRANSFORMS = {
    "resize": lambda im: im.resize((max(16, im.width // 2), max(16, im.height // 2)), Image.Resampling.BICUBIC),
    "jpeg_q15": lambda im: _jpeg(im, 15),
    "crop80": _crop,
    "flip": ImageOps.mirror,
    "brightness": lambda im: ImageEnhance.Brightness(im).enhance(1.3),
    "rotate5": lambda im: im.rotate(5, resample=Image.Resampling.BICUBIC, fillcolor=(255, 255, 255)),
    "text_overlay": _caption_overlay,
    "grayscale": lambda im: ImageOps.grayscale(im).convert("RGB"),
    "thumbnail": lambda im: ImageOps.contain(im, (96, 96)),
}


@dataclass
class Item:
    source: str      # corpus file the image derives from
    transform: str   # 'original' or a TRANSFORMS key
    vendor_group: str  # emoji group id for cross-vendor pairs (excluded from scoring), else ''
    image: Image.Image


def sources() -> list[dict]:
    rows = corpus.catalog()
    sizes = {}
    for r in rows:
        sizes[r["group"]] = sizes.get(r["group"], 0) + 1
    photos = [r for r in rows if r["kind"] == "photo" and sizes[r["group"]] == 1 and not r["file"].startswith("sk_lfw")]
    chessboard = [r for r in rows if r["file"].startswith("cv_left")]  # one of each stereo pair
    drawings = [r for r in rows if r["kind"] == "drawing" and sizes[r["group"]] == 1][:30]
    emoji = [r for r in rows if r["kind"] == "emoji" and "-1f3f" not in r["file"]]  # default skin tone
    return photos + chessboard + drawings + emoji


def build() -> list[Item]:
    items = []
    for row in sources():
        with Image.open(corpus.images_dir() / row["file"]) as im:
            im.load()
            original = to_rgb(im)
        vendor_group = row["group"] if row["kind"] == "emoji" else ""
        items.append(Item(row["file"], "original", vendor_group, original))
        items += [Item(row["file"], name, vendor_group, fn(original)) for name, fn in TRANSFORMS.items()]
    return items


@dataclass
class Features:
    vectors: np.ndarray
    pixel: list[str]
    phash: np.ndarray
    dhash: np.ndarray
    crops: dict  # index -> crop vectors, filled on demand by find_edges
    thumbs: dict  # index -> pixels.thumbnail, likewise


def features(items: list[Item], embedder_name: str = embedders.DEFAULT) -> Features:
    embedder = embedders.cached(embedder_name)
    vectors = np.concatenate([embedders.embed_images(embedder, [it.image for it in items[i:i + 64]])
                              for i in range(0, len(items), 64)])
    prints = [fingerprints(it.image) for it in items]
    return Features(vectors, [p["pixel_sha256"] for p in prints], np.array([p["phash"] for p in prints]),
                    np.array([p["dhash"] for p in prints]), {}, {})


def loaders(items: list[Item], feats: Features) -> tuple:
    """(crops, thumbs): the loaders the verification tiers take, computing each item's crop
    vectors and thumbnail on first use into `feats`' caches."""
    embedder = embedders.cached(embedders.DEFAULT)

    def cached(store: dict, compute):
        def load(indices):
            for n in indices:
                if n not in store:
                    store[n] = compute(items[n].image)
            return store
        return load

    return cached(feats.crops, lambda im: crop_vectors(embedder, im)), cached(feats.thumbs, pixels.thumbnail)


def flagged_pairs(items: list[Item], feats: Features, thresholds: Thresholds) -> set[tuple[int, int]]:
    """The pairs the dedupe stage's tiers would join (before union-find)."""
    return find_edges(feats.pixel, feats.phash, feats.dhash, feats.vectors, thresholds, *loaders(items, feats)).pairs()


def _codes(values: list[str]) -> np.ndarray:
    return np.unique(values, return_inverse=True)[1]


def evaluate(items: list[Item], feats: Features, thresholds: Thresholds) -> dict:
    """Pair precision and recall of the dedupe tiers, overall and per transform.

    Recall per transform counts (original, copy) pairs; precision per transform counts every
    false pair that involves such a copy (copy-copy pairs of one source are not credited)."""
    n = len(items)
    hit = np.zeros((n, n), bool)
    for a, b in flagged_pairs(items, feats, thresholds):
        hit[a, b] = hit[b, a] = True
    a, b = np.triu_indices(n, 1)
    source = _codes([it.source for it in items])
    group = np.array([it.vendor_group for it in items])
    transform = np.array([it.transform for it in items])
    same = source[a] == source[b]
    scored = same | (group[a] == "") | (group[a] != group[b])  # the same emoji by another vendor: not scored
    a, b, same = a[scored], b[scored], same[scored]
    hit, false = hit[a, b], hit[a, b] & ~same
    report = {"overall": {"tp": int((hit & same).sum()), "fp": int(false.sum()), "positives": int(same.sum()),
                          "false_pairs": [(items[x].source, items[x].transform, items[y].source, items[y].transform)
                                          for x, y in zip(a[false], b[false])]}}
    for name in TRANSFORMS:
        involved = (transform[a] == name) | (transform[b] == name)
        copy = same & involved & ((transform[a] == "original") | (transform[b] == "original"))
        report[name] = {"tp": int((hit & copy).sum()), "fp": int((false & involved).sum()), "positives": int(copy.sum())}
    for r in report.values():
        r["recall"] = r["tp"] / max(1, r["positives"])
        r["precision"] = r["tp"] / max(1, r["tp"] + r["fp"])
    return report


def _line(label: str, r: dict) -> str:
    return (f"{label}: precision {r['overall']['precision']:.4f} ({r['overall']['fp']} false pairs), recall "
            f"{r['overall']['recall']:.3f}; per transform recall/precision "
            + " ".join(f"{t} {r[t]['recall']:.2f}/{r[t]['precision']:.3f}" for t in TRANSFORMS))


if __name__ == "__main__":
    data = build()
    feats = features(data)
    print(f"{len(data)} images from {len(sources())} sources, {len(TRANSFORMS)} transforms")
    default = Thresholds()
    for region in [5, 10, 15, 20, 30, pixels.SIZE ** 2]:
        print(_line(f"pixel region {region:4d}", evaluate(data, feats, replace(default, pixel_region=region))))
    for semantic, radius in itertools.product([0.86, 0.88, 0.90, 0.92, 0.94], [6, 8, 10]):
        r = evaluate(data, feats, replace(default, semantic=semantic, aligned=semantic, phash_radius=radius))
        print(_line(f"semantic and aligned {semantic:.2f}, pHash radius {radius:2d}", r))
    print("false pairs at the defaults:", *evaluate(data, feats, default)["overall"]["false_pairs"], sep="\n  ")
