"""Semantic dedupe at scale: the task path (cells.py) on synthetic sets, generated per shard.

Each size runs in a fresh driver process, so its peak RSS is its own; each shard of vectors is
drawn inside the task that assigns it (nothing but the cell-sorted work files reaches the disk),
and it saves its planted pairs: members of one duplicate group whose cosine reaches the
threshold. Recall is the share of planted pairs found.

    curate bench dedupe --vectors 100000,1000000 --scheduler local:2
"""

import concurrent.futures
import json
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from curate.dedupe import cells
from curate.executors import make_executor

CHUNK = 50_000  # synthetic rows drawn per seed; a prefix of a bigger set is a smaller set
TOPICS = 2_000
THEMES = 50  # topics share broad themes, so cells are not cleanly separated
# Constant density (`topic_rows`): chunk k draws its rows from the topics of blocks k-1, k and
# k+1, CHUNK // topic_rows topics a block, so every topic holds about topic_rows rows at any n.
# With a fixed TOPICS a topic grows with n: at 10M, 5,000 rows at pairwise cosine up to 0.85
# around each of them, ten times the 1M density, and an exact search within a structureless
# blob is quadratic in its size whatever the cells (README 'bench').
WINDOW = 1


def synthetic(n: int, dim: int = 1280, seed: int = 0, topic_rows: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(vectors float16 (n, dim), duplicate group per row, -1 for none).

    Rows sit around shared topic directions (same-topic cosine 0.5-0.85: similar, not
    duplicates), and topics around a few broad themes. About 15% of rows are in duplicate groups of 2-20 with pairwise cosine
    ~0.9-0.99, and a fifth of the groups are near misses at ~0.82-0.9 that must not match.
    `topic_rows`: about this many rows a topic at any n (WINDOW), instead of TOPICS topics.
    """
    out = np.empty((n, dim), np.float16)
    groups = np.empty(n, np.int64)
    for c0 in range(0, n, CHUNK):
        rows = min(CHUNK, n - c0)
        out[c0:c0 + rows], groups[c0:c0 + rows] = chunk(c0, rows, dim, seed, topic_rows)
    return out, groups


def chunk(c0: int, rows: int, dim: int = 1280, seed: int = 0, topic_rows: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Rows c0..c0+rows of `synthetic` (c0 a multiple of CHUNK): its groups are numbered from c0."""
    topics, closeness = _chunk_topics(c0, dim, seed, topic_rows)
    vectors, groups = _chunk(np.random.default_rng([seed, c0]), rows, topics, closeness)
    groups[groups >= 0] += c0
    return vectors, groups


def _chunk_topics(c0: int, dim: int, seed: int, topic_rows: int | None) -> tuple[np.ndarray, np.ndarray]:
    """(topics, closeness) the rows of the chunk at c0 are drawn around."""
    if topic_rows is None:
        rng = np.random.default_rng([seed, 2**32 - 1])
        return _topics(rng, _unit(rng.standard_normal((THEMES, dim), dtype=np.float32)), TOPICS)
    k, per = c0 // CHUNK, max(1, CHUNK // topic_rows)
    themes = _unit(np.random.default_rng([seed, 2**32 - 2]).standard_normal((THEMES, dim), dtype=np.float32))
    blocks = [_topics(np.random.default_rng([seed, 2**32 - 3, b]), themes, per)
              for b in range(max(0, k - WINDOW), k + WINDOW + 1)]
    return tuple(np.concatenate(parts) for parts in zip(*blocks))


def _topics(rng, themes: np.ndarray, count: int) -> tuple[np.ndarray, np.ndarray]:
    """(topic directions around the themes, each topic's same-topic cosine)."""
    topics = _around(rng, themes[rng.integers(0, THEMES, count)], np.full(count, 0.4, np.float32))
    return topics, rng.uniform(0.5, 0.85, count).astype(np.float32)


def _unit(x):
    x /= np.sqrt(np.einsum("nd,nd->n", x, x))[:, None]
    return x


def _around(rng, centres, cos):
    """Unit vectors with expected cosine `cos` to each other around their centres (a fresh copy,
    scaled in place). The noise is uniform small integers, not Gaussian: in 1280-d its direction
    is as isotropic for this purpose, and it draws ten times faster (drawing was a third of the
    bench's time)."""
    noise = rng.integers(-127, 128, centres.shape, dtype=np.int8).astype(np.float32)
    noise *= (np.sqrt(1 - cos) / np.sqrt(np.einsum("nd,nd->n", noise, noise)))[:, None]
    centres *= np.sqrt(cos)[:, None]
    centres += noise
    return _unit(centres)


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
    order = rng.permutation(rows)
    out = np.empty((rows, topics.shape[1]), np.float16)
    out[order[:singles]] = base[:singles]
    out[order[singles:]] = _around(rng, base[singles:][owner], cos[owner])
    labels = np.empty(rows, np.int64)
    labels[order] = np.concatenate([np.full(singles, -1), owner])
    return out, labels


@dataclass(frozen=True)
class Synthetic:
    """cells.py's source over `synthetic(n, dim)`, a shard per chunk, drawn where it is read."""

    n: int
    dim: int
    threshold: float
    truth: str  # folder of each shard's planted pairs
    topic_rows: int | None = None  # synthetic()'s

    @property
    def shards(self) -> list[str]:
        return [f"{c0:010d}" for c0 in range(0, self.n, CHUNK)]

    @property
    def starts(self) -> np.ndarray:
        return np.array([*range(0, self.n, CHUNK), self.n], np.int64)

    def read(self, shard: str) -> np.ndarray:
        c0 = int(shard)
        vectors, groups = chunk(c0, min(CHUNK, self.n - c0), self.dim, topic_rows=self.topic_rows)
        path = Path(self.truth) / f"{shard}.npy"
        if not path.exists():
            np.save(path, _planted(vectors, groups, c0, self.n, self.threshold))
        return vectors

    def sample(self, rows: np.ndarray) -> np.ndarray:
        """Training vectors for `rows`, cheaper than drawing every chunk in the driver (that would
        double the work). With TOPICS topics every chunk is drawn alike: the first chunks' rows.
        At constant density each chunk has topics of its own, so a prefix would hold a few
        hundred of them (the coarse cells fit those and lumped the rest into a few, 1,124 fine
        cells in one at 10M): each row is drawn afresh around a topic of its own chunk."""
        if self.topic_rows is None:
            out = np.concatenate([chunk(c0, min(CHUNK, self.n - c0), self.dim)[0]
                                  for c0 in range(0, min(self.n, -(-len(rows) // CHUNK) * CHUNK), CHUNK)])
            return out[:len(rows)].astype(np.float32)
        out = np.empty((len(rows), self.dim), np.float32)
        owner = np.asarray(rows) // CHUNK
        for k in np.unique(owner).tolist():
            mine = np.flatnonzero(owner == k)
            topics, closeness = _chunk_topics(k * CHUNK, self.dim, 0, self.topic_rows)
            rng = np.random.default_rng([0, 2**32 - 4, k])
            t = rng.integers(0, len(topics), len(mine))
            out[mine] = _around(rng, topics[t], closeness[t])
        return out


def _planted(vectors, groups, c0, n, threshold) -> np.ndarray:
    """Keys i * n + j of the pairs inside one duplicate group with cosine >= threshold."""
    keys = []
    member = np.flatnonzero(groups >= 0)
    order = member[np.argsort(groups[member], kind="stable")]
    bounds = np.flatnonzero(np.diff(groups[order])) + 1
    for rows in np.split(order, bounds):
        x = vectors[rows].astype(np.float32)
        a, b = np.nonzero(np.triu(x @ x.T >= threshold, k=1))
        i, j = np.minimum(rows[a], rows[b]) + c0, np.maximum(rows[a], rows[b]) + c0
        keys.append(i * n + j)
    return np.concatenate(keys) if keys else np.zeros(0, np.int64)


def _peak_rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def _cpu_s(who=resource.RUSAGE_SELF) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _run(n, dim, threshold, scheduler, topic_rows):
    """Child process: plan and run the tasks, read the edges back, score them."""
    from curate import progress

    progress.setup(quiet=True)  # a spawned child starts with bars on: they would interleave with the rows
    with tempfile.TemporaryDirectory(prefix="curate-bench-dedupe-") as tmp:
        truth = Path(tmp) / "truth"
        truth.mkdir()
        source = Synthetic(n, dim, threshold, str(truth), topic_rows)
        start = time.perf_counter()
        with make_executor(scheduler) as ex:
            startup = time.perf_counter() - start
            parts, params = cells.pairs(source, threshold, Path(tmp) / "work", ex)
            wall = time.perf_counter() - start - startup
            client = getattr(ex, "client", None)
            workers = client.run(_peak_rss_gb) if client is not None else {}
            # local:N workers are this process's children, counted in RUSAGE_CHILDREN once they
            # exit (adding client.run's figure too counted them twice); a remote cluster's are not.
            remote = client is not None and not scheduler.startswith("local")
            worker_cpu = sum(client.run(_cpu_s).values()) if remote else 0.0
        cpu = _cpu_s() + _cpu_s(resource.RUSAGE_CHILDREN) + worker_cpu
        found = np.concatenate([pq.read_table(p, columns=["i"])["i"].to_numpy() * n
                                + pq.read_table(p, columns=["j"])["j"].to_numpy() for p in parts])
        planted = np.concatenate([np.load(p) for p in sorted(truth.glob("*.npy"))])
        disk = sum(p.stat().st_size for p in (Path(tmp) / "work").rglob("*") if p.is_file())
    hit = np.isin(planted, found)
    return {"n": n, "params": params, "wall_s": wall, "startup_s": startup, "driver_peak_gb": _peak_rss_gb(),
            "worker_peak_gb": sorted(workers.values()), "cpu_s": cpu, "pairs": len(found), "planted": len(planted),
            "recall": float(hit.mean()) if len(hit) else 1.0, "work_gb": disk / 2**30}


def _in_child(*args):
    ctx = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(1, mp_context=ctx) as pool:
        return pool.submit(_run, *args).result()


def bench(sizes=(100_000, 1_000_000), dim=1280, threshold=0.9, scheduler="local:2", topic_rows=500) -> list[dict]:
    """Each size's row is also printed to stderr as it finishes (10M runs for a long while); the
    1-minute load averages before and after say how much of the machine was the bench's, and
    `cpu_s` (driver and workers, user + system, worker start-up included) is the growth measure
    that other jobs on a shared machine do not move. `topic_rows`: rows a topic at every size
    (the same density), or None for TOPICS topics whatever the size (denser as it grows)."""
    rows = []
    for n in sizes:
        before = os.getloadavg()[0]
        row = _in_child(n, dim, threshold, scheduler, topic_rows)
        row["load"] = (round(before, 1), round(os.getloadavg()[0], 1))
        print(json.dumps({k: v for k, v in row.items()}, default=str), file=sys.stderr, flush=True)
        rows.append(row)
    return rows
