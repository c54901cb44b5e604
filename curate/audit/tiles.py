"""Carlini's tiled L2: is a sample a pixel-level reproduction of a training image?

Carlini et al., "Extracting Training Data from Diffusion Models" (USENIX Security 2023,
arXiv:2301.13188), section 4: the distance between two images is the L2 distance of their
pixels in [0, 1] normalised by the number of dimensions, sqrt(mean((a - b)^2)), and for
Stable Diffusion they split both images into a 4x4 grid of non-overlapping tiles and take the
maximum of that distance over the 16 tiles: a generation counts as a copy only if every part
of it matches. A whole-image L2 would let a large matching background hide a differing subject.

A sampler's grain (pixel-scale speckle over a reproduced picture) adds its energy to every
tile and can lift a plain copy past the threshold. `coarse_tile_l2` compares both images after
averaging COARSE x COARSE pixel blocks: independent grain shrinks by that factor there, while
a different picture stays different at that scale (README 'Audit', calibration).
"""

import numpy as np
from PIL import Image

GRID = 4
COARSE = 4     # pixels averaged per side for the coarse comparison
MAX_SIDE = 256  # comparison size cap: a memorised copy shows at any size, and the cost stays bounded


def common_size(sample: Image.Image) -> tuple[int, int]:
    """The sample's own size (capped): the model drew it at that size, so a training image is
    brought to it, never the reverse."""
    scale = min(1.0, MAX_SIDE / max(sample.size))
    w, h = (max(GRID, round(s * scale)) for s in sample.size)
    return w - w % GRID or GRID, h - h % GRID or GRID


def fit(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Cover `size` and centre-crop to it: what the trainer does to an image for a bucket."""
    from curate_model.data import fit as trainer_fit  # the same alignment the model was trained on

    return trainer_fit(image, size)


def pixels(image: Image.Image, size: tuple[int, int]) -> np.ndarray:
    """(h, w, 3) float32 in [0, 1] at `size`."""
    if image.size != size:
        image = fit(image, size)
    return np.asarray(image.convert("RGB"), dtype=np.float32) / 255


def tile_l2(a: np.ndarray, b: np.ndarray, grid: int = GRID) -> float:
    """Max over a grid x grid tiling of the per-tile RMS distance; a and b are (h, w, 3) in [0, 1]."""
    h, w = a.shape[:2]
    th, tw = h // grid, w // grid
    d = (a[:th * grid, :tw * grid] - b[:th * grid, :tw * grid]) ** 2
    per_tile = d.reshape(grid, th, grid, tw, -1).mean(axis=(1, 3, 4))
    return float(np.sqrt(per_tile.max()))


def coarse(a: np.ndarray, factor: int = COARSE) -> np.ndarray:
    """(h, w, c) -> (h // factor, w // factor, c): the mean of each factor x factor block (a smaller
    factor where the image would have fewer than GRID blocks a side)."""
    factor = max(1, min(factor, min(a.shape[:2]) // GRID))
    h, w = a.shape[0] // factor * factor, a.shape[1] // factor * factor
    return a[:h, :w].reshape(h // factor, factor, w // factor, factor, -1).mean(axis=(1, 3))


def coarse_tile_l2(a: np.ndarray, b: np.ndarray, factor: int = COARSE) -> float:
    """Tiled L2 of the two images block-averaged by `factor` (grain averaged out)."""
    return tile_l2(coarse(a, factor), coarse(b, factor))
