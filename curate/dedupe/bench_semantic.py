"""Semantic dedupe at scale: time, peak memory and recall of `semantic_pairs` on synthetic sets.

Each size runs in a fresh process so its peak RSS is its own. Recall is measured against the
exact brute-force pairs of the first 100k rows, which `synthetic` makes the same rows at every
size (it draws in fixed chunks), so one exact search (cached) serves every size.

    curate bench dedupe [--sizes 100000,1000000]
"""

import concurrent.futures
import multiprocessing
import os
import resource
import time
from pathlib import Path

import numpy as np

from curate.dedupe.semantic import semantic_pairs

CHUNK = 50_000  # synthetic rows drawn per seed; a prefix of a bigger set is a smaller set
TOPICS = 2_000
THEMES = 50  # topics share broad themes, so cells are not cleanly separated
RECALL_ROWS = 100_000


def synthetic(n: int, dim: int = 1280, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(vectors float16 (n, dim), duplicate group per row, -1 for none).

    Rows sit around shared topic directions (same-topic cosine 0.5-0.85: similar, not
    duplicates), and topics around a few broad themes. About 15% of rows are in duplicate groups of 2-20 with pairwise cosine
    ~0.9-0.99, and a fifth of the groups are near misses at ~0.82-0.9 that must not match.
    """
    topic_rng = np.random.default_rng([seed, 2**32 - 1])
    themes = _unit(topic_rng.standard_normal((THEMES, dim), dtype=np.float32))
    topics = _around(topic_rng, themes[topic_rng.integers(0, THEMES, TOPICS)], np.full(TOPICS, 0.4, np.float32))
    closeness = topic_rng.uniform(0.5, 0.85, TOPICS).astype(np.float32)
    out = np.empty((n, dim), np.float16)
    groups = np.empty(n, np.int64)
    for c0 in range(0, n, CHUNK):
        rows = min(CHUNK, n - c0)
        out[c0:c0 + rows], groups[c0:c0 + rows] = _chunk(np.random.default_rng([seed, c0]), rows, topics, closeness)
        groups[c0:c0 + rows][groups[c0:c0 + rows] >= 0] += c0
    return out, groups


def _unit(x):
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x


def _around(rng, centres, cos):
    """Unit vectors with expected cosine `cos` to their centre (and to each other)."""
    noise = _unit(rng.standard_normal(centres.shape, dtype=np.float32))
    return _unit(np.sqrt(cos)[:, None] * centres + np.sqrt(1 - cos)[:, None] * noise)


def _chunk(rng, rows, topics, closeness):
    sizes = np.minimum(1 + rng.geometric(0.25, rows), 20)
    near_miss = rng.random(rows) < 0.2
    sizes[near_miss] = 2
    groups = np.searchsorted(np.cumsum(sizes), 0.15 * rows)
    sizes, near_miss = sizes[:groups], near_miss[:groups]
    singles = rows - sizes.sum()
    t = rng.integers(0, len(topics), singles + groups)
    base = _around(rng, topics[t], closeness[t])
    cos = np.where(near_miss, rng.uniform(0.82, 0.9, groups), rng.uniform(0.9, 0.99, groups)).astype(np.float32)
    owner = np.repeat(np.arange(groups), sizes)
    members = _around(rng, base[singles:][owner], cos[owner])
    order = rng.permutation(rows)
    return np.concatenate([base[:singles], members])[order], np.concatenate([np.full(singles, -1), owner])[order]


def _run(n, dim, threshold, mode, sub):
    """Child process: build the set, search it, report; the pairs inside the first `sub` rows come back."""
    vectors, _ = synthetic(n, dim)
    start = time.perf_counter()
    res = semantic_pairs(vectors, threshold, mode)
    wall = time.perf_counter() - start
    inside = res.j < sub
    return {"n": n, "mode": res.params["mode"], "params": res.params, "wall_s": wall,
            "peak_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, "pairs": len(res.i),
            "sub": (res.i[inside], res.j[inside])}


def _in_child(*args):
    ctx = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=ctx) as pool:
        return pool.submit(_run, *args).result()


def _truth(dim, threshold, rows):
    """Exact pairs of the first `rows` rows, cached: the brute force is the slow part of a bench."""
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "curate" / "bench_semantic"
    path = cache / f"exact-{rows}-{dim}-{threshold}.npz"
    if not path.exists():
        exact = _in_child(rows, dim, threshold, "exact", rows)
        cache.mkdir(parents=True, exist_ok=True)
        np.savez(path, i=exact["sub"][0], j=exact["sub"][1])
    with np.load(path) as z:
        return z["i"], z["j"]


def bench(sizes=(100_000, 1_000_000), dim=1280, threshold=0.9, mode="auto") -> list[dict]:
    sub = min(RECALL_ROWS, min(sizes))
    ti, tj = _truth(dim, threshold, sub)
    truth = set(zip(ti.tolist(), tj.tolist()))
    rows = []
    for n in sizes:
        row = _in_child(n, dim, threshold, mode, sub)
        found = set(zip(*(x.tolist() for x in row.pop("sub"))))
        row["recall"] = len(found & truth) / max(1, len(truth))
        row["precision"] = len(found & truth) / max(1, len(found))
        rows.append(row)
    return rows
