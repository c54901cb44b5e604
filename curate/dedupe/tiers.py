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


def hash_edges(pixel: list[str], phash: np.ndarray, dhash: np.ndarray, thresholds: Thresholds, thumbnails,
               pairs=perceptual_pairs):
    """(exact i, j), (perceptual i, j) and how many perceptual pairs the pixel check refused;
    `pairs(phash, radius)` finds the candidates (dedupe: bands.py's tasks, the same pairs)."""
    ei, ej = _exact_pairs(pixel)
    pi, pj, _ = pairs(phash, thresholds.phash_radius)
    confirmed = hamming(dhash[pi], dhash[pj]) <= thresholds.dhash_radius
    pi, pj = pi[confirmed], pj[confirmed]
    agreed = _pixel_check(pi, pj, thumbnails, thresholds.pixel_region)
    return (ei, ej), (pi[agreed], pj[agreed]), int((~agreed).sum())


def verify_semantic(i: np.ndarray, j: np.ndarray, sim: np.ndarray, vectors, thresholds: Thresholds,
                    crop_vectors, thumbnails) -> tuple[np.ndarray, np.ndarray, dict]:
    """The candidate pairs (not joined by a stronger tier) that are semantic duplicates, and counts.

    `vectors[a]` is the embedding of index a; the loaders take the same indices."""
    direct = sim >= thresholds.semantic
    band_i, band_j = i[~direct], j[~direct]
    crops = crop_vectors(sorted(set(band_i.tolist()) | set(band_j.tolist()))) if len(band_i) else {}
    verified = np.array([aligned_similarity(vectors[a], crops[a], vectors[b], crops[b]) >= thresholds.aligned
                         for a, b in zip(band_i.tolist(), band_j.tolist())], bool)
    si = np.concatenate([i[direct], band_i[verified] if len(band_i) else band_i])
    sj = np.concatenate([j[direct], band_j[verified] if len(band_j) else band_j])
    agreed = _pixel_check(si, sj, thumbnails, thresholds.pixel_region)
    counts = {"verified_band": int(len(band_i)), "accepted_by_crops": int(verified.sum()) if len(band_i) else 0,
              "refused_by_pixels": int((~agreed).sum())}
    return si[agreed].astype(np.int64), sj[agreed].astype(np.int64), counts


def join(exact, perceptual, semantic, params: dict) -> Edges:
    """One edge list from the (i, j) pairs of each tier, strongest first."""
    tiers = (exact, perceptual, semantic)
    return Edges(i=np.concatenate([t[0] for t in tiers]).astype(np.int64),
                 j=np.concatenate([t[1] for t in tiers]).astype(np.int64),
                 tier=np.concatenate([np.full(len(t[0]), n) for n, t in enumerate(tiers)]).astype(np.int8),
                 params=params)


def find_edges(pixel: list[str], phash: np.ndarray, dhash: np.ndarray, vectors: np.ndarray,
               thresholds: Thresholds, crop_vectors, thumbnails, mode: str = "auto", progress=None) -> Edges:
    """Every tier in this process, on vectors in memory (the labelled set; dedupe runs the
    semantic tier as tasks, cells.py). `crop_vectors(indices)` -> {index: (9, dim) crop vectors},
    called once for the uncertain band; `thumbnails(indices)` -> {index: pixels.thumbnail}."""
    exact, perceptual, refused = hash_edges(pixel, phash, dhash, thresholds, thumbnails)
    found = semantic_pairs(vectors, thresholds.candidate, mode=mode, progress=progress)
    joined = set(zip(exact[0].tolist(), exact[1].tolist())) | set(zip(perceptual[0].tolist(), perceptual[1].tolist()))
    fresh = np.array([(a, b) not in joined for a, b in zip(found.i.tolist(), found.j.tolist())], bool)
    si, sj, counts = verify_semantic(found.i[fresh], found.j[fresh], found.sim[fresh], vectors, thresholds,
                                     crop_vectors, thumbnails)
    counts["refused_by_pixels"] += refused
    return join(exact, perceptual, (si, sj), {**found.params, "candidates": int(len(found.i)), **counts})
