"""Calibration of the audit thresholds on the labelled near-duplicate set of the dedupe stage
(`python -m curate.audit.calibrate` prints the sweep; README 'Audit' has the table).

The audit is replayed as it runs: the 103 source images of the set are the training images
(embedded at full size, searched in a flat FAISS index), and every labelled image (each source
and its nine transforms) is a *sample* at the size a model would draw it: 32 px (the tiny
preset) and 64 px. A sample's copy is detected when its decisive verdict is `copy` against its
own source; it is a false positive when its decisive row is `copy` (or `near`) against another
source. The same emoji drawn by another vendor is not scored, as in the dedupe calibration.
Each source is also drawn under a sampler's grain (pixel noise of std GRAIN), a copy that the
coarse comparison is there to catch.
"""

import itertools
from dataclasses import dataclass

import faiss
import numpy as np
from PIL import Image

from curate import embedders
from curate.audit import K, tiles
from curate.audit.verdict import Thresholds, severity, verdict
from curate.dedupe import labelled

SIZES = (32, 64)
PIXEL_COPIES = ("original", "resize", "jpeg_q15", "brightness", "text_overlay", "grayscale", "thumbnail")
GRAIN = (0.1, 0.2)  # std of the pixel noise laid over a source's drawing, pixels in [0, 1]
TRANSFORM_NAMES = ("original", *labelled.TRANSFORMS, *(f"grain{s:.2f}" for s in GRAIN))


@dataclass
class Pair:
    sample: int       # index into the labelled items
    source: int       # index into the sources (training images)
    similarity: float
    tile_l2: float
    coarse_l2: float
    contrast: float   # the source's pixel std at the compared size


def replay(size: int, k: int = K, embedder_name: str = embedders.DEFAULT) -> tuple[list, list, list[list[Pair]]]:
    """(items, sources, per item its K nearest sources with cosine and tiled L2 at `size` px)."""
    items = labelled.build()
    sources = [it for it in items if it.transform == "original"]
    embedder = embedders.cached(embedder_name)
    train_vectors = embedders.embed_images(embedder, [it.image for it in sources])
    index = faiss.IndexFlatIP(train_vectors.shape[1])
    index.add(train_vectors)
    drawn = [tiles.fit(it.image, (size, size)) for it in items]  # what a model of that size would draw
    for sigma in GRAIN:  # each source drawn under a sampler's grain: copies, not in the dedupe set
        rng = np.random.default_rng(round(sigma * 100))
        for it in sources:
            noisy = np.asarray(tiles.fit(it.image, (size, size)), np.float32) / 255
            noisy = noisy + rng.normal(0, sigma, noisy.shape).astype(np.float32)
            drawn.append(Image.fromarray((noisy.clip(0, 1) * 255).round().astype(np.uint8)))
            items.append(labelled.Item(it.source, f"grain{sigma:.2f}", it.vendor_group, drawn[-1]))
    vectors = np.concatenate([embedders.embed_images(embedder, drawn[i:i + 64]) for i in range(0, len(drawn), 64)])
    sims, rows = index.search(vectors, k)
    source_pixels = [tiles.pixels(it.image, (size, size)) for it in sources]
    pairs = []
    for n, image in enumerate(drawn):
        mine = tiles.pixels(image, (size, size))
        pairs.append([Pair(n, int(r), float(s), tiles.tile_l2(mine, source_pixels[r]),
                           tiles.coarse_tile_l2(mine, source_pixels[r]), float(source_pixels[r].std()))
                      for s, r in zip(sims[n], rows[n])])
    return items, sources, pairs


def score(items, sources, pairs: list[list[Pair]], t: Thresholds) -> dict:
    """Per transform: share of samples detected as a copy of their own source, and share flagged
    (copy or near) against another source."""
    out = {name: {"n": 0, "copy": 0, "near": 0, "false_copy": 0, "false_flag": 0}
           for name in TRANSFORM_NAMES}
    for candidates in pairs:
        it = items[candidates[0].sample]
        scored = []
        for p in candidates:
            other = sources[p.source]
            if other.source != it.source and it.vendor_group and it.vendor_group == other.vendor_group:
                continue  # the same emoji by another vendor: not scored
            scored.append((verdict(p.similarity, p.tile_l2, p.coarse_l2, p.contrast, t), p.tile_l2, other.source == it.source))
        decisive = min(scored, key=lambda v: (-severity(v[0]), v[1]))
        row = out[it.transform]
        row["n"] += 1
        row["copy"] += decisive[0] == "copy" and decisive[2]
        row["near"] += decisive[0] == "near" and decisive[2]
        row["false_copy"] += decisive[0] == "copy" and not decisive[2]
        row["false_flag"] += decisive[0] != "novel" and not decisive[2]
    return out


def summary(report: dict) -> dict:
    pixel = [report[name] for name in PIXEL_COPIES]
    n_all = sum(r["n"] for r in report.values())
    return {"detect_pixel_copies": sum(r["copy"] for r in pixel) / sum(r["n"] for r in pixel),
            "flag_any_copy": sum(r["copy"] + r["near"] for r in report.values()) / n_all,
            "false_copy": sum(r["false_copy"] for r in report.values()) / n_all,
            "false_flag": sum(r["false_flag"] for r in report.values()) / n_all}


def own_pairs(items, sources, pairs: list[list[Pair]]) -> list[Pair | None]:
    """Each sample's pair with its own source, None when the search missed it."""
    source_of = {it.source: n for n, it in enumerate(sources)}
    return [next((p for p in c if p.source == source_of[items[c[0].sample].source]), None) for c in pairs]


if __name__ == "__main__":
    for size in SIZES:
        items, sources, pairs = replay(size, k=20)
        own = own_pairs(items, sources, pairs)
        ranks = [next((n for n, p in enumerate(c) if p is o), None) if o else None for o, c in zip(own, pairs)]
        print(f"\n{size} px samples: {len(items)} samples, {len(sources)} training images; own source in the top "
              + ", ".join(f"{k}: {sum(r is not None and r < k for r in ranks) / len(ranks):.3f}" for k in (1, 5, 10, 20)))
        pairs = [c[:K] for c in pairs]
        own = own_pairs(items, sources, pairs)
        for name in TRANSFORM_NAMES:
            mine = [o for o, c in zip(own, pairs) if items[c[0].sample].transform == name and o is not None]
            print(f"  {name:12s} own source found {len(mine)}: cosine median {np.median([o.similarity for o in mine]):.3f}"
                  f" p10 {np.percentile([o.similarity for o in mine], 10):.3f}, tiled L2 median "
                  f"{np.median([o.tile_l2 for o in mine]):.3f} p90 {np.percentile([o.tile_l2 for o in mine], 90):.3f}, "
                  f"coarse median {np.median([o.coarse_l2 for o in mine]):.3f}")
        others = [p for c in pairs for p in c if sources[p.source].source != items[p.sample].source]
        print(f"  other sources in the top {K}: tiled L2 min {min(p.tile_l2 for p in others):.3f} "
              f"p1 {np.percentile([p.tile_l2 for p in others], 1):.3f}; coarse tiled L2 min "
              f"{min(p.coarse_l2 for p in others):.3f} p1 {np.percentile([p.coarse_l2 for p in others], 1):.3f}; "
              f"cosine max {max(p.similarity for p in others):.3f}")
        for l2, coarse, structure, floor in itertools.product([0.20], [0.10, 0.12], [0.4, 0.5, 0.6, 0.7], [0.15, 0.4]):
            t = Thresholds(copy_tile_l2=l2, copy_coarse_l2=coarse, copy_structure=structure, copy_similarity=floor,
                           near_similarity=0.9)
            report = score(items, sources, pairs, t)
            s = summary(report)
            print(f"  copy L2 <= {l2:.2f} or coarse <= {coarse:.2f}, <= {structure} x contrast, cos >= {floor:.2f}: "
                  f"pixel copies detected "
                  f"{s['detect_pixel_copies']:.3f}, any copy flagged {s['flag_any_copy']:.3f}, false copy "
                  f"{s['false_copy']:.4f}, false flag {s['false_flag']:.4f}; copy per transform "
                  + " ".join(f"{k} {v['copy'] / v['n']:.2f}" for k, v in report.items()))
