"""Residual noise of a picture: how much of it is pixel-scale grain.

A sampler that stops short of a clean image leaves coloured speckle: energy at the highest
spatial frequency, the scale of one pixel. `grain` is the mean absolute difference between an
image and its 3x3 box blur (per channel, pixels in [0, 1]); a clean sample of a memorised
picture has about the grain of the picture itself at the same size, so `grain(sample) /
grain(training image)` near 1 means clean, well above 1 means speckle.
"""

import numpy as np
from PIL import Image


def grain(image: Image.Image | np.ndarray) -> float:
    """Mean |x - blur3x3(x)| over the pixels and channels, x in [0, 1] (edges replicated)."""
    x = np.asarray(image.convert("RGB"), np.float32) / 255 if isinstance(image, Image.Image) else image
    padded = np.pad(x, ((1, 1), (1, 1), (0, 0)), mode="edge")
    h, w = x.shape[:2]
    blur = sum(padded[i:i + h, j:j + w] for i in range(3) for j in range(3)) / 9
    return float(np.abs(x - blur).mean())
