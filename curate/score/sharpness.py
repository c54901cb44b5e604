"""Two no-reference focus measures on the grey image resized to SIDE px on its long side (up or
down: a fixed size makes images of any resolution comparable, and a small image shown at
training size is blurry):

sharpness  variance of the Laplacian (Pech-Pacheco et al. 2000), grey levels 0-255: higher is
           sharper; 0 for a flat image, a few hundred to thousands for a sharp photo.
blur       blur effect of Crete-Roffet et al. (2007), 0-1: higher is blurrier. The image is blurred
           again with an 11-px box along each axis; a sharp image loses much of its neighbour
           differences to that, a blurred one little. The larger of the two axes' ratios.
"""

import cv2
import numpy as np

SIDE = 512
BOX = 11


def grey(rgb: np.ndarray) -> np.ndarray:
    """Float grey (0-255) at SIDE px on the long side."""
    h, w = rgb.shape[:2]
    scale = SIDE / max(h, w)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = cv2.resize(rgb, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
    return cv2.cvtColor(small, cv2.COLOR_RGB2GRAY).astype(np.float64)


def sharpness(g: np.ndarray) -> float:
    return float(cv2.Laplacian(g, cv2.CV_64F, ksize=1).var())


def blur(g: np.ndarray) -> float:
    ratios = []
    for axis in (0, 1):
        kernel = (1, BOX) if axis == 1 else (BOX, 1)
        blurred = cv2.blur(g, kernel, borderType=cv2.BORDER_REFLECT)
        d = np.abs(np.diff(g, axis=axis))
        d_blurred = np.abs(np.diff(blurred, axis=axis))
        lost = np.maximum(0, d - d_blurred)
        total = d[1:-1].sum() if axis == 0 else d[:, 1:-1].sum()
        kept = lost[1:-1].sum() if axis == 0 else lost[:, 1:-1].sum()
        ratios.append(1 - kept / total if total > 0 else 1.0)
    return float(max(ratios))
