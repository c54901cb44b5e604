"""The perceptual tier as band tasks (bands.py): the pairs of the FAISS binary search, on any executor."""

import numpy as np
import pytest

from curate.dedupe import bands
from curate.dedupe.perceptual import perceptual_pairs
from curate.executors import LocalExecutor


@pytest.fixture(scope="module")
def hashes():
    """20,000 random hashes, a fifth of them copies of another with 0-12 bits flipped (some
    within the radius, some just past it), and a run of identical ones."""
    rng = np.random.default_rng(0)
    codes = rng.integers(np.iinfo(np.int64).min, np.iinfo(np.int64).max, 20_000, dtype=np.int64)
    copies = rng.choice(20_000, 4_000, replace=False)
    for row in copies:
        flips = rng.choice(64, rng.integers(0, 13), replace=False)
        codes[row] = codes[(row * 7 + 1) % 20_000] ^ np.bitwise_or.reduce(np.left_shift(1, flips).astype(np.int64),
                                                                           initial=0)
    codes[:30] = codes[30]
    return codes


def _set(found):
    return set(zip(*(a.tolist() for a in found)))


@pytest.mark.parametrize("radius", [8, 3])
def test_band_tasks_find_the_pairs_of_the_binary_index(hashes, tmp_path, radius):
    reference = _set(perceptual_pairs(hashes, radius))
    runs = {}
    for name, executor in [("one", LocalExecutor(1)), ("pool", LocalExecutor(2))]:
        with executor as ex:
            found = bands.perceptual_pairs(hashes, radius, ex, tmp_path)
        assert len(found[0]) == len(_set(found))  # each pair once
        runs[name] = _set(found)
    assert runs["one"] == runs["pool"] == reference and len(reference) > 1_000


def test_bands_cover_every_bit():
    for radius in (0, 3, 8, 20):
        widths = [w for _, w in bands._bands(radius)]
        assert sum(widths) == 64 and len(widths) == radius + 1 and max(widths) - min(widths) <= 1
