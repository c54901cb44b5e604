"""The three dedupe tiers as one edge list: exact, perceptual, semantic.

- exact: identical decoded pixels (identical bytes share an id already, see `copies`);
- perceptual: 64-bit pHash within a Hamming radius (FAISS binary index), confirmed by the
  dHash within its own radius: on small flat graphics (emoji of one vendor) pHash alone puts
  different gestures side by side, and union-find then chains whole families together;
- semantic: embedding cosine; candidates come from a FAISS search at `candidate`, a pair is a
  duplicate when its cosine, or its crop-aligned cosine (verify.py), reaches `semantic`.
An image pair joined by a stronger tier is not checked again by a weaker one.
"""

from dataclasses import dataclass, field

import numpy as np

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


def find_edges(pixel: list[str], phash: np.ndarray, dhash: np.ndarray, vectors: np.ndarray,
               thresholds: Thresholds, crop_vectors, mode: str = "auto", progress=None) -> Edges:
    """`crop_vectors(indices)` -> {index: (9, dim) crop vectors}, called once for the uncertain band."""
    ei, ej = _exact_pairs(pixel)
    pi, pj, _ = perceptual_pairs(phash, thresholds.phash_radius)
    confirmed = hamming(dhash[pi], dhash[pj]) <= thresholds.dhash_radius
    pi, pj = pi[confirmed], pj[confirmed]
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
    params = {**found.params, "candidates": int(len(found.i)), "verified_band": int(len(band_i)),
              "accepted_by_crops": int(verified.sum()) if len(band_i) else 0}
    return Edges(
        i=np.concatenate([ei, pi, si]).astype(np.int64),
        j=np.concatenate([ej, pj, sj]).astype(np.int64),
        tier=np.concatenate([np.full(len(ei), 0), np.full(len(pi), 1), np.full(len(si), 2)]).astype(np.int8),
        params=params,
    )
