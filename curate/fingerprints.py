"""Content fingerprints for the exact and perceptual dedupe tiers, computed in the embed pass
(where each image is decoded anyway).

- pixel_sha256: sha256 of the decoded RGB pixels and size: the same picture in another
  container or metadata (PNG vs lossless WebP, stripped EXIF) has the same value.
- phash: the classic 64-bit DCT hash (low 8x8 frequencies of a 32x32 grey image, against their
  median); robust to resizing, re-encoding, brightness and small edits.
- dhash: 64-bit gradient hash (9x8 grey image, left > right); cheap second opinion.
"""

import hashlib

import numpy as np
from PIL import Image
from scipy.fft import dctn


def pixel_sha256(rgb: Image.Image) -> str:
    h = hashlib.sha256(f"{rgb.width}x{rgb.height}".encode())
    h.update(rgb.tobytes())
    return h.hexdigest()


def _bits_to_int(bits: np.ndarray) -> int:
    """64 booleans -> a signed int64 (Parquet/DuckDB have no unsigned 64-bit in our schema)."""
    return int(np.packbits(bits.astype(np.uint8)).view(">i8")[0])


def phash(grey: Image.Image) -> int:
    pixels = np.asarray(grey.resize((32, 32), Image.Resampling.BOX), dtype=np.float64)
    low = dctn(pixels, norm="ortho")[:8, :8].ravel()
    return _bits_to_int(low > np.median(low[1:]))


def dhash(grey: Image.Image) -> int:
    pixels = np.asarray(grey.resize((9, 8), Image.Resampling.BOX), dtype=np.int16)
    return _bits_to_int((pixels[:, 1:] > pixels[:, :-1]).ravel())


def fingerprints(rgb: Image.Image) -> dict:
    # Both hashes squash the image to a few pixels; a 64x64 grey copy (BOX-averaged) is all
    # they need and is much cheaper than greying the full image.
    grey = rgb.resize((64, 64), Image.Resampling.BOX).convert("L")
    return {"pixel_sha256": pixel_sha256(rgb), "phash": phash(grey), "dhash": dhash(grey)}


def to_bytes(values) -> np.ndarray:
    """int64 hashes -> (n, 8) uint8 rows, the layout of FAISS binary indexes."""
    return np.asarray(values, dtype=">i8").view(np.uint8).reshape(-1, 8)
