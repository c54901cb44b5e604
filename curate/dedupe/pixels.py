"""Pixel check of a perceptual or semantic pair: once aligned, do the two pictures agree everywhere?

Why: two different drawings of one emoji vendor ("woman" and "person", "crossed fingers" and
"index pointing up", a thumbs up and down) are the same picture but for one region (the hair,
a finger). Their whole-image embeddings meet at cosine 0.92-0.95, where rotated and cropped
copies also sit, and their 64-bit hashes are near-degenerate (a white background, one blob).
A scraper's transform changes every pixel a little (resampling, JPEG, brightness, a few degrees
of rotation) or removes a border (crop, caption strip); it does not redraw one region.

The test: both images as 64x64 grey, each pixel replaced by its rank in its image (so
brightness, contrast and greyscale do not count); aligned as they are, mirrored, one as an 80%
crop of the other (found by template matching) or the same 80% crop of both (the grid of
verify.py, which drops a caption strip); a pixel disagrees when it lies more than TOLERANCE
outside the range of the other image's 5x5 neighbourhood (a shift of up to 2 pixels is no
disagreement). The pair agrees when, at some alignment, the largest connected region of
disagreement is at most `max_region` pixels, in grey and in colour (colour.py: ranks ignore
colour, so recolourings such as an emoji's skin tones would pass as copies).
"""

import cv2
import numpy as np
from PIL import Image
from scipy.stats import rankdata

from curate.dedupe import colour
from curate.dedupe.verify import KEEP, POSITIONS

SIZE = 64
TOLERANCE = 0.3  # in rank units (fraction of the image's pixels)
NEIGHBOURHOOD = np.ones((5, 5), np.uint8)
SLACK = 4  # pixels: alignments this close to the best grey one are as good (a rotated copy's crops score 6 and 8)


def thumbnail(image: Image.Image) -> np.ndarray:
    """SIZE x SIZE x 4 float32: grey, then red, green, blue."""
    grey = image.convert("L").resize((SIZE, SIZE), Image.Resampling.BOX)
    rgb = image.convert("RGB").resize((SIZE, SIZE), Image.Resampling.BOX)
    return np.dstack([np.asarray(grey, np.float32), np.asarray(rgb, np.float32)])


def _ranks(pixels: np.ndarray) -> np.ndarray:
    return (rankdata(pixels, method="average").reshape(pixels.shape) / pixels.size).astype(np.float32)


def _unexplained(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pixels of `a` outside the value range of `b` near them (and the other way round)."""
    lo, hi = cv2.erode(b, NEIGHBOURHOOD), cv2.dilate(b, NEIGHBOURHOOD)
    return (a < lo - TOLERANCE) | (a > hi + TOLERANCE)


def _largest_region(a: np.ndarray, b: np.ndarray) -> int:
    a, b = _ranks(a), _ranks(b)
    mask = (_unexplained(a, b) | _unexplained(b, a)).astype(np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    return int(stats[1:, cv2.CC_STAT_AREA].max()) if count > 1 else 0


def _alignments(a: np.ndarray, b: np.ndarray):
    k = int(round(SIZE * KEEP))
    offsets = [int(round((SIZE - k) * f)) for f in POSITIONS]
    for b in (b, np.ascontiguousarray(b[:, ::-1])):
        yield a, b
        for big, small in ((a, b), (b, a)):  # one image an 80% crop of the other
            small = cv2.resize(small, (k, k), interpolation=cv2.INTER_AREA)
            match = cv2.matchTemplate(np.ascontiguousarray(big[..., 0]), np.ascontiguousarray(small[..., 0]), cv2.TM_CCOEFF_NORMED)
            y, x = np.unravel_index(match.argmax(), (SIZE - k + 1,) * 2)
            yield big[y:y + k, x:x + k], small
        for y in offsets:  # the same crop of both
            for x in offsets:
                yield a[y:y + k, x:x + k], b[y:y + k, x:x + k]


def colour_alignments(a: np.ndarray, b: np.ndarray, max_region: int):
    """The alignments whose colour is compared: those whose grey region is within SLACK of the best
    and within `max_region`. At a wrong alignment (one tone of an emoji matched as an 80% crop of
    another) the grey ranks can still pass, while the flat skin of the two no longer overlaps and
    the colour check sees only the white background. Lazy: the first good ones come first."""
    tried = []
    for x, y in _alignments(a, b):
        region = _largest_region(x[..., 0], y[..., 0])
        if region <= min(SLACK, max_region):
            yield x[..., 1:], y[..., 1:]  # within SLACK of the best, whatever the best is
        tried.append((region, x, y))
    limit = min(min(region for region, _, _ in tried) + SLACK, max_region)
    yield from ((x[..., 1:], y[..., 1:]) for region, x, y in tried if SLACK < region <= limit)


def agree(a: np.ndarray, b: np.ndarray, max_region: int) -> bool:
    """Whether the best grey alignments of two thumbnails leave no region of disagreement over
    `max_region` pixels, in grey and in colour."""
    return any(colour.agree(x, y, max_region) for x, y in colour_alignments(a, b, max_region))
