"""The medium of an image: photo, grayscale photo, drawing, painting, render, screenshot, document.

A multinomial logistic-regression probe on the bundled EfficientNet-Lite0 ImageNet features
(the embedder's pooled 1280-d vector) plus a few colour statistics, trained by
tools/train_medium.py on registry images (weights/medium.npz; sources in weights/LICENSES.md).
'grayscale photo' is a rule on top of a 'photo' decision: the channels agree.
"""

import functools
from pathlib import Path

import numpy as np

from curate.caption.imagenet import look
from curate.errors import UserError

WEIGHTS = Path(__file__).parent / "weights" / "medium.npz"
# A grayscale image: almost no pixel's channels differ from their mean by more than 8 (of 255),
# which JPEG chroma noise stays under while a few orange beaks on a black-and-white scene do not.
GRAY_SPREAD, GRAY_SHARE = 8, 0.002
TEXT_MEDIA = ("screenshot", "document")
RESTORE = "restore it with `git checkout curate/caption/weights/medium.npz` or rebuild it with tools/train_medium.py"


def colour_stats(rgb: np.ndarray) -> np.ndarray:
    """Cheap signals the ImageNet features are blind to: how few colours cover the image (flat
    fills of clip art and screenshots), how grey it is, how saturated, how much is near-white."""
    small = rgb[:: max(1, rgb.shape[0] // 128), :: max(1, rgb.shape[1] // 128)].reshape(-1, 3).astype(np.int64)
    q = small >> 2  # 6 bits per channel: JPEG noise mostly keeps a flat colour one code
    codes = q[:, 0] << 16 | q[:, 1] << 8 | q[:, 2]
    counts = np.sort(np.unique(codes, return_counts=True)[1])[::-1]
    top = counts[:12].sum() / len(codes)
    spread = np.abs(small - small.mean(1, keepdims=True)).mean()
    saturation = ((small.max(1) - small.min(1)) / np.maximum(small.max(1), 1)).mean()
    white = (small.min(1) > 235).mean()
    return np.array([top, np.log1p(spread), saturation, white, np.log(len(counts) / len(codes))], np.float32)


def is_gray(rgb: np.ndarray) -> bool:
    small = rgb[:: max(1, rgb.shape[0] // 256), :: max(1, rgb.shape[1] // 256)].reshape(-1, 3).astype(np.float32)
    spread = np.abs(small - small.mean(1, keepdims=True)).mean(1)
    return float((spread > GRAY_SPREAD).mean()) < GRAY_SHARE


def features(images: list[np.ndarray], pooled: np.ndarray | None = None) -> np.ndarray:
    """The probe's input for RGB uint8 images: pooled EfficientNet-Lite0 features (`pooled`, when
    the caller's pass already has them) + colour stats."""
    if pooled is None:
        pooled = look(images)[0]
    return np.concatenate([pooled, np.stack([colour_stats(x) for x in images])], 1)


@functools.lru_cache(maxsize=1)
def _probe():
    try:
        with np.load(WEIGHTS) as z:
            return list(z["classes"]), z["mean"], z["scale"], z["weight"], z["bias"]
    except (OSError, KeyError, ValueError) as e:
        raise UserError(f"medium probe {WEIGHTS} is missing or corrupt ({type(e).__name__}); {RESTORE}") from None


def probabilities(x: np.ndarray) -> np.ndarray:
    """Class probabilities (rows) for feature rows `x`, in the order of the probe's classes."""
    _, mean, scale, weight, bias = _probe()
    logits = ((x - mean) / scale) @ weight + bias
    logits -= logits.max(1, keepdims=True)
    p = np.exp(logits)
    return p / p.sum(1, keepdims=True)


def decide(p: np.ndarray, rgb: np.ndarray, text: bool = True) -> tuple[str, float]:
    """The likeliest medium; `text`: False when OCR ran and read nothing. A screenshot or a page
    is made of words: with none read it is the next likeliest medium (the probe called Starry
    Night a screenshot 0.83, a fruit clip-art one 0.41)."""
    classes = _probe()[0]
    if not text:
        p = np.where(np.isin(classes, TEXT_MEDIA), 0.0, p)
        p = p / p.sum()
    i = int(p.argmax())
    name = classes[i]
    if name == "photo" and is_gray(rgb):
        name = "grayscale photo"
    return name, float(p[i])


def classify(rgb: np.ndarray, pooled: np.ndarray | None = None, text: bool = True) -> tuple[str, float]:
    """(medium, probability) for an RGB uint8 image; `pooled`: its features, if already taken;
    `text`: False when OCR ran and read nothing."""
    return decide(probabilities(features([rgb], None if pooled is None else pooled[None]))[0], rgb, text)
