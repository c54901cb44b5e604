"""The three dedupe tiers as one edge list: exact, perceptual, semantic.

- exact: identical decoded pixels (identical bytes share an id already, see `copies`);
- perceptual: 64-bit pHash within a Hamming radius (FAISS binary index), confirmed by the
  dHash within its own radius;
- semantic: embedding cosine; candidates come from a FAISS search at `candidate`, a pair is a
  duplicate when its cosine, or its crop-aligned cosine (verify.py), reaches `semantic`.
A perceptual or semantic pair must also pass the pixel check (pixels.py): on small flat
drawings (emoji of one vendor) neither the hashes nor the embedding tell two different
pictures apart, and union-find would chain whole families of them into one cluster.
An image pair joined by a stronger tier is not checked again by a weaker one.
"""

from dataclasses import dataclass, field

import numpy as np

from curate.dedupe import pixels
from curate.dedupe.perceptual import hamming, perceptual_pairs
from curate.dedupe.semantic import semantic_pairs
from curate.dedupe.verify import aligned_similarity

TIERS = ("exact", "perceptual", "semantic")


@dataclass(frozen=True)
class Thresholds:
    """Defaults calibrated on the labelled near-duplicate set (labelled.py, README 'Dedupe')."""

    semantic: float = 0.92  # whole-image cosine that makes a duplicate
    aligned: float = 0.92   # crop-aligned cosine that makes a duplicate of an uncertain candidate
    candidate: float = 0.78  # below this cosine a pair is never a candidate
    phash_radius: int = 8
    dhash_radius: int = 10
    pixel_region: int = 10  # largest region (pixels of 64x64) two aligned images may disagree on


@dataclass
class Edges:
    i: np.ndarray
    j: np.ndarray
    tier: np.ndarray  # index into TIERS
    params: dict = field(default_factory=dict)

    def pairs(self) -> set[tuple[int, int]]:
        return set(zip(self.i.tolist(), self.j.tolist()))


def _exact_pairs(pixel: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Chain each group of identical pixel hashes: a-b, b-c is enough for union-find."""
    first, i, j = {}, [], []
    for n, h in enumerate(pixel):
        if h in first:
            i.append(first[h])
            j.append(n)
        else:
            first[h] = n
    return np.array(i, np.int64), np.array(j, np.int64)


def _pixel_check(i: np.ndarray, j: np.ndarray, thumbnails, max_region: int) -> np.ndarray:
    if not len(i):
        return np.zeros(0, bool)
    thumbs = thumbnails(sorted(set(i.tolist()) | set(j.tolist())))
    return np.array([pixels.agree(thumbs[a], thumbs[b], max_region) for a, b in zip(i.tolist(), j.tolist())], bool)


def find_edges(pixel: list[str], phash: np.ndarray, dhash: np.ndarray, vectors: np.ndarray,
               thresholds: Thresholds, crop_vectors, thumbnails, mode: str = "auto", progress=None) -> Edges:
    """`crop_vectors(indices)` -> {index: (9, dim) crop vectors}, called once for the uncertain band;
    `thumbnails(indices)` -> {index: pixels.thumbnail}, called for the pairs to check."""
    ei, ej = _exact_pairs(pixel)
    pi, pj, _ = perceptual_pairs(phash, thresholds.phash_radius)
    confirmed = hamming(dhash[pi], dhash[pj]) <= thresholds.dhash_radius
    pi, pj = pi[confirmed], pj[confirmed]
    agreed = _pixel_check(pi, pj, thumbnails, thresholds.pixel_region)
    pi, pj = pi[agreed], pj[agreed]
    found = semantic_pairs(vectors, thresholds.candidate, mode=mode, progress=progress)
    joined = set(zip(ei.tolist(), ej.tolist())) | set(zip(pi.tolist(), pj.tolist()))
    fresh = np.array([(a, b) not in joined for a, b in zip(found.i.tolist(), found.j.tolist())], bool)
    si, sj, sim = found.i[fresh], found.j[fresh], found.sim[fresh]
    direct = sim >= thresholds.semantic
    band_i, band_j = si[~direct], sj[~direct]
    crops = crop_vectors(sorted(set(band_i.tolist()) | set(band_j.tolist()))) if len(band_i) else {}
    verified = np.array([aligned_similarity(vectors[a], crops[a], vectors[b], crops[b]) >= thresholds.aligned
                         for a, b in zip(band_i.tolist(), band_j.tolist())], bool)
    si = np.concatenate([si[direct], band_i[verified] if len(band_i) else band_i])
    sj = np.concatenate([sj[direct], band_j[verified] if len(band_j) else band_j])
    semantic_agreed = _pixel_check(si, sj, thumbnails, thresholds.pixel_region)
    params = {**found.params, "candidates": int(len(found.i)), "verified_band": int(len(band_i)),
              "accepted_by_crops": int(verified.sum()) if len(band_i) else 0,
              "refused_by_pixels": int((~agreed).sum() + (~semantic_agreed).sum())}
    si, sj = si[semantic_agreed], sj[semantic_agreed]
    return Edges(
        i=np.concatenate([ei, pi, si]).astype(np.int64),
        j=np.concatenate([ej, pj, sj]).astype(np.int64),
        tier=np.concatenate([np.full(len(ei), 0), np.full(len(pi), 1), np.full(len(si), 2)]).astype(np.int8),
        params=params,
    )
