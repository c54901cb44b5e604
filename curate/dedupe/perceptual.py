"""Perceptual tier: pairs of 64-bit hashes within a Hamming radius, through a FAISS binary index.

Up to FLAT_MAX hashes a flat binary index compares all codes (fast popcounts in C++). Past
that, multi-index hashing: split each code into radius+1 disjoint chunks; two codes within
the radius agree exactly on at least one chunk (pigeonhole), so only bucket-mates are compared
and the result is still exact.
"""

import faiss
import numpy as np

from curate.fingerprints import to_bytes

FLAT_MAX = 200_000
BLOCK = 20_000


def perceptual_pairs(hashes, radius: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(i, j, hamming distance) for i < j with distance <= radius."""
    codes = to_bytes(hashes)
    n = len(codes)
    if n <= FLAT_MAX:
        index = faiss.IndexBinaryFlat(64)
    else:
        chunks = radius + 1
        index = faiss.IndexBinaryMultiHash(64, chunks, 64 // chunks)
    index.add(codes)
    found_i, found_j, found_d = [], [], []
    for start in range(0, n, BLOCK):
        lims, dist, idx = index.range_search(codes[start:start + BLOCK], radius + 1)  # FAISS: distance < r
        rows = np.repeat(np.arange(start, start + len(lims) - 1), np.diff(lims).astype(np.int64))
        upper = idx > rows
        found_i.append(rows[upper])
        found_j.append(idx[upper])
        found_d.append(dist[upper])
    if not found_i:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.int32)
    return (np.concatenate(found_i).astype(np.int64), np.concatenate(found_j).astype(np.int64),
            np.concatenate(found_d).astype(np.int32))


def hamming(a, b) -> np.ndarray:
    """Bitwise distances between two equal-length arrays of 64-bit hashes."""
    return np.unpackbits(to_bytes(np.bitwise_xor(a, b)), axis=1).sum(axis=1)
