"""The perceptual tier's pairs as executor tasks, one per hash band: the pairs of perceptual.py.

Multi-index hashing, as perceptual.py's FAISS index does it past FLAT_MAX: cut the 64-bit hash
into radius + 1 bands; two hashes within the radius agree exactly on at least one band. A task
per band sorts the hashes by that band, compares the hashes of each run of equal bands and keeps
the pairs within the radius that agree on no earlier band (so each pair is found once). The
hashes (8 bytes an image) are saved once in the work folder; the tasks read them there.
"""

import functools
import os
from pathlib import Path

import numpy as np

_POPCOUNT = np.array([bin(b).count("1") for b in range(256)], np.uint8)


def _bands(radius: int) -> list[tuple[int, int]]:
    """(shift, width) of each band, the widths as even as 64 bits allow."""
    cuts = np.linspace(0, 64, radius + 2).round().astype(int)
    return [(int(a), int(b - a)) for a, b in zip(cuts[:-1], cuts[1:])]


def _band(codes: np.ndarray, shift: int, width: int) -> np.ndarray:
    return (codes >> np.uint64(shift)) & np.uint64((1 << width) - 1)


def _distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return _POPCOUNT[np.bitwise_xor(a, b).view(np.uint8).reshape(-1, 8)].sum(axis=1, dtype=np.int32)


def band_pairs(path: str, radius: int, band: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Task: (i, j, distance), i < j, of the hashes that agree on `band` and on no earlier one."""
    codes = np.load(path).view(np.uint64)
    bands = _bands(radius)
    value = _band(codes, *bands[band])
    order = np.argsort(value, kind="stable")  # equal bands in row order: i < j below
    key = value[order]
    found = []
    for step in range(1, len(order)):  # rows `step` apart in the sorted order, while any run is that long
        same = np.flatnonzero(key[step:] == key[:-step])
        if not len(same):
            break
        i, j = order[same], order[same + step]
        d = _distance(codes[i], codes[j])
        keep = d <= radius
        for shift, width in bands[:band]:
            keep &= _band(codes[i], shift, width) != _band(codes[j], shift, width)
        found.append((i[keep], j[keep], d[keep]))
    if not found:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int32)
    i, j, d = (np.concatenate(x) for x in zip(*found))
    return np.minimum(i, j).astype(np.int64), np.maximum(i, j).astype(np.int64), d


def perceptual_pairs(hashes, radius: int, executor, work: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """perceptual.perceptual_pairs, as radius + 1 tasks on `executor` (entered), sorted by (i, j)."""
    path = Path(work) / "phash.npy"
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}.npy")
    np.save(tmp, np.asarray(hashes, np.int64))
    os.replace(tmp, path)
    parts = [r for _, r in executor.map(functools.partial(band_pairs, str(path), radius), range(radius + 1))]
    i, j, d = (np.concatenate(x) for x in zip(*parts))
    order = np.lexsort((j, i))
    return i[order], j[order], d[order]
