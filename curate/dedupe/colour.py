"""Colour check of an aligned pair: the pixel check's grey ranks ignore colour by design, so the
five skin tones of one emoji (and any recolouring) would pass it as copies.

What differs between two tones of one emoji, at the pixel level: the skin region's colour, by
as much as a global brightness change (Twemoji's medium-light and medium tones are 1.19x apart,
medium-dark and dark 1.43x) and a little in hue (4-7 in Cb/Cr). What a copy's brightness change
does that a recolouring does not: it multiplies every channel of every pixel by one gain, and
clips at white. So the check predicts one image from the other with one gain (1 to MAX_GAIN,
either way round, white clipped in both counted as agreeing), averages the error over flat
pixels (JPEG's chroma ringing at edges and resampling at edges are not colour changes), and
calls a pixel different when that local mean error exceeds TOL_Y in luma or TOL_C in chroma.
As in the grey check, the pair agrees when the largest region of difference is at most
`max_region` pixels. After img2dataset's JPEG re-encode (chroma subsampled) the local means of
a light and a medium-light tone fall under TOL_C, but the tone shift is one offset over all the
skin while JPEG's chroma errors change sign from block to block: so the mean chroma error over
the coloured flat pixels of both must also stay under TOL_OFFSET (labelled copies: at most 5.8;
those tone pairs: 6.2 and over). A half-size JPEG copy of a 64 px emoji has no flat pixels left,
so the mean colours are also compared at COARSE px, up to one gain (TOL_COARSE): that keeps
tones two or more apart from such copies; neighbouring tones it cannot (README 'Dedupe').

An image without colour (a greyscale copy, a black-and-white drawing) has nothing to compare:
the check passes it, so a greyscale copy of a colour image stays a duplicate.
Calibrated on the labelled near-duplicate set and the bundled emoji (README 'Dedupe').
"""

import cv2
import numpy as np

YCBCR = np.array([[0.299, 0.587, 0.114], [-0.1687, -0.3313, 0.5], [0.5, -0.4187, -0.0813]], np.float32)
MAX_GAIN = 1.3     # brightness changes a copy may have (the labelled set's brightness x1.3)
GAINS = np.linspace(1.0, MAX_GAIN, 7)
TOL_Y, TOL_C = 6.0, 7.0  # mean error over flat pixels, 0-255 units of luma and of chroma (Cb, Cr)
SIGMA = 3.0        # pixels: the neighbourhood the error is averaged over
FLAT = 24          # a pixel is flat when its 7x7 neighbourhood spans less than this in every channel
FLAT_WINDOW = np.ones((7, 7), np.uint8)
COVER = 0.2        # share of flat pixels near a pixel for its mean error to count
ACHROMATIC = 6.0   # 99th percentile chroma under which an image has no colour
CLIP = 250         # channel values at or above this count as clipped white
COLOURED = 10.0    # chroma over which a pixel counts for the mean colour offset
TOL_OFFSET = 6.0   # mean chroma error over the coloured flat pixels of both (a tone shift is one offset)
COARSE = 16        # px: the mean colours compared at this size too (a 32 px JPEG stores its chroma at 16 px)
TOL_COARSE = 15.0  # mean luma or chroma error over coloured coarse pixels: copies up to 14.3 (docs/measurements.md)
MIN_COARSE = 4     # coarse pixels coloured in both below which there is no colour to compare


def _flat(rgb: np.ndarray) -> np.ndarray:
    span = [cv2.dilate(rgb[..., c], FLAT_WINDOW) - cv2.erode(rgb[..., c], FLAT_WINDOW) for c in range(3)]
    return np.max(span, axis=0) < FLAT


def _chroma(rgb: np.ndarray) -> np.ndarray:
    return np.hypot(*np.moveaxis(rgb @ YCBCR[1:].T, -1, 0))


def _has_colour(rgb: np.ndarray) -> bool:
    return float(np.percentile(_chroma(rgb), 99)) > ACHROMATIC


def _mean_error(a: np.ndarray, b: np.ndarray, gain: float, mask: np.ndarray) -> np.ndarray:
    """Mean (luma, Cb, Cr) error of b against a made `gain` times brighter, over `mask`."""
    return (np.clip(a[mask] * gain, 0, 255) - b[mask]).mean(0) @ YCBCR.T


def _offset(a: np.ndarray, b: np.ndarray, gain: float, coloured: np.ndarray) -> float:
    """Length of the mean chroma error of b against a made `gain` times brighter, over `coloured`."""
    if not coloured.any():
        return 0.0
    return float(np.hypot(*_mean_error(a, b, gain, coloured)[1:]))


def _largest_difference(a: np.ndarray, b: np.ndarray, gain: float, flat: np.ndarray, weight: np.ndarray) -> int:
    """Largest region where b differs from a made `gain` times brighter."""
    predicted = np.clip(a * gain, 0, 255)
    error = np.where((predicted >= CLIP) & (b >= CLIP), 0, predicted - b) @ YCBCR.T
    mean = np.stack([cv2.GaussianBlur(error[..., c] * flat, (0, 0), SIGMA) for c in range(3)], -1) / weight[..., None]
    different = ((np.abs(mean[..., 0]) > TOL_Y) | (np.hypot(mean[..., 1], mean[..., 2]) > TOL_C)) & (weight > COVER)
    count, _, stats, _ = cv2.connectedComponentsWithStats(different.astype(np.uint8), connectivity=8)
    return int(stats[1:, cv2.CC_STAT_AREA].max()) if count > 1 else 0


def _coarse_error(a: np.ndarray, b: np.ndarray) -> float | None:
    """Smallest mean error (luma or chroma) of b against a made one gain brighter, over the pixels
    coloured in both at COARSE px; None when too few are. A half-size JPEG of a 64 px emoji has
    no flat pixels left for the local check, and its skin is mixed with the outline at this size,
    but the same way in both images."""
    a, b = (cv2.resize(im, (COARSE, COARSE), interpolation=cv2.INTER_AREA) for im in (a, b))
    coloured = (_chroma(a) > COLOURED) & (_chroma(b) > COLOURED) & (a.max(-1) < CLIP) & (b.max(-1) < CLIP)
    if coloured.sum() < MIN_COARSE:
        return None
    errors = [_mean_error(x, y, gain, coloured) for x, y in ((a, b), (b, a)) for gain in GAINS]
    return float(min(max(abs(e[0]), np.hypot(e[1], e[2])) for e in errors))


def _masks(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(flat in both, its blurred weight, flat and coloured in both)."""
    flat = (_flat(a) & _flat(b)).astype(np.float32)
    weight = cv2.GaussianBlur(flat, (0, 0), SIGMA) + 1e-6
    return flat, weight, (flat > 0) & (_chroma(a) > COLOURED) & (_chroma(b) > COLOURED)


def agree(a: np.ndarray, b: np.ndarray, max_region: int) -> bool:
    """Whether two aligned RGB thumbnails (float32, 0-255) have the same colours, up to one brightness gain."""
    if not (_has_colour(a) and _has_colour(b)):
        return True
    a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
    coarse = _coarse_error(a, b)
    if coarse is not None and coarse > TOL_COARSE:
        return False  # the mean colours already differ by more than one gain
    flat, weight, coloured = _masks(a, b)
    return any(_largest_difference(x, y, gain, flat, weight) <= max_region and _offset(x, y, gain, coloured) <= TOL_OFFSET
               for x, y in ((a, b), (b, a)) for gain in GAINS)


def evidence(a: np.ndarray, b: np.ndarray) -> dict:
    """What agree() decides on, for measuring (tools/measure_tones.py): the flat coloured pixels of
    both, the coarse error, and at each gain the largest region of difference and the offset."""
    if not (_has_colour(a) and _has_colour(b)):
        return {"colour": False}
    a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
    flat, weight, coloured = _masks(a, b)
    return {"colour": True, "flat_coloured": int(coloured.sum()), "coarse": _coarse_error(a, b),
            "gains": [(round(gain, 2) * (1 if x is a else -1), _largest_difference(x, y, gain, flat, weight),
                       _offset(x, y, gain, coloured)) for x, y in ((a, b), (b, a)) for gain in GAINS]}
