"""Verdicts from two distances, and the thresholds that separate them.

`copy` is Carlini's criterion, a pixel-level reproduction (tiled L2, tiles.py), or the same
criterion at a coarse scale where a sampler's grain averages out (tiles.coarse_tile_l2), with an
embedding floor so that two flat, mostly-white pictures do not pass for copies of each other;
`near` is Somepalli's, the same picture by an image embedding without the pixels matching
(a mirrored, cropped or restyled copy). Both numbers are calibrated, not taken from the
papers: their embedders (SSCD) and image sizes are not ours (README 'Audit', calibrate.py).
"""

from dataclasses import dataclass

VERDICTS = ("novel", "near", "copy")  # in order of severity


@dataclass(frozen=True)
class Thresholds:
    copy_tile_l2: float = 0.2     # tiled L2 at or below which a sample reproduces a training image
    copy_coarse_l2: float = 0.12  # or the coarse tiled L2 at or below which it does (grain averaged out)
    copy_similarity: float = 0.4  # and the embedding cosine it needs as well
    near_similarity: float = 0.9  # embedding cosine from which a sample is the same picture


def verdict(similarity: float, tile_l2: float, coarse_l2: float, t: Thresholds = Thresholds()) -> str:
    if (tile_l2 <= t.copy_tile_l2 or coarse_l2 <= t.copy_coarse_l2) and similarity >= t.copy_similarity:
        return "copy"
    if similarity >= t.near_similarity:
        return "near"
    return "novel"


def severity(name: str) -> int:
    return VERDICTS.index(name)
