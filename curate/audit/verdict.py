"""Verdicts from two distances, and the thresholds that separate them.

`copy` is Carlini's criterion, a pixel-level reproduction (tiled L2, tiles.py), or the same
criterion at a coarse scale where a sampler's grain averages out (tiles.coarse_tile_l2). So that
two flat, mostly-white pictures do not pass for copies of each other, the distance must also be
small against what there is to copy: at most `copy_structure` times the training image's own
pixel contrast (std). That test replaced a cosine floor of 0.4, which at 32 px turned down clean
pixel copies (a 32 px copy's cosine to its original is 0.2-0.6); a low floor stays;
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
    copy_structure: float = 0.5   # and min(tiled L2, coarse) at most this times the training image's contrast
    copy_similarity: float = 0.15  # and the embedding cosine it needs as well
    near_similarity: float = 0.9  # embedding cosine from which a sample is the same picture


def verdict(similarity: float, tile_l2: float, coarse_l2: float, contrast: float, t: Thresholds = Thresholds()) -> str:
    """`contrast`: the std of the training image's pixels (in [0, 1]) at the compared size."""
    close = tile_l2 <= t.copy_tile_l2 or coarse_l2 <= t.copy_coarse_l2
    if close and min(tile_l2, coarse_l2) <= t.copy_structure * contrast and similarity >= t.copy_similarity:
        return "copy"
    if similarity >= t.near_similarity:
        return "near"
    return "novel"


def severity(name: str) -> int:
    return VERDICTS.index(name)
