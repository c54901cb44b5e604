"""The semantic search of semantic.py as executor tasks: no process holds every vector.

The centroids are semantic.py's (the same samples, seeds and cell count, so the cells are the
same): the driver trains the flat ones, or the top level of the tree, on a sample it reads shard
by shard; with a tree a task per shard writes its rows of the fine-training sample sorted by top
node (train/<shard>.*), and a task per group of top nodes trains the levels below each from
those rows (fine/<c0>-<c1>.npz), so the cells stay near their target size at any scale. That
task also keeps its whole shard as float16 (shards/<shard>.npy, deleted once assigned), so each
shard is read (or, in the bench, drawn) once, not twice; the cells are then found from the
float16 values, the values the search compares. Then
1. a task per vector shard assigns its rows to their nearest cell (members) and, when the
   second-nearest centroid is within the margin, to that cell too (visitors), and writes them
   sorted by cell, the vectors as float16 (half the disk of float32; a cell is converted back
   when it is searched): assign/<shard>.{vectors,rows,other,offsets}.npy;
2. a task per group of consecutive cells reads its slice of every shard's file, runs the
   in-cell scans of `semantic._kmeans` on one cell at a time, hands the candidate pairs to a
   verifier (or keeps them all) and writes the edges: edges/<first cell>-<end cell>.parquet.
A pair seen from both sides of a boundary is kept by the lower cell only, so the pairs are
exactly those of `semantic_pairs` in the same mode. Every task skips an output that exists
(written last, atomically), so a killed run resumes per task.

A source is a picklable object with `shards` (names), `starts` (row offsets, one more than
shards: shard s holds rows starts[s]..starts[s+1]) and `read(shard)` -> its vectors; it may
have `sample(rows)` -> float32 vectors to train on, when it has a cheaper way than reading
every shard.
"""

import functools
import json
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from curate.dedupe import semantic
from curate.progress import bar

LAYOUT = 2  # of the work files; 2: centroids as a tree (level<i>, bounds<i>), top.npy
GROUP_ROWS = 200_000  # members + visitors one search task reads (a cell at a time)
TRAIN_ROWS = 100_000  # fine-training rows one training task reads
MIN_GROUPS = 8  # search tasks, at least, when there are cells enough: work for every worker


@dataclass(frozen=True)
class Plan:
    work: str
    n: int
    k: int
    threshold: float
    margin: float
    threads: int

    def path(self, *parts: str) -> Path:
        return Path(self.work).joinpath(*parts)


def _save(path: Path, array: np.ndarray) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}.npy")
    np.save(tmp, array)
    os.replace(tmp, path)


def _assigned(plan: Plan, shard: str, name: str, mmap=None, folder: str = "assign") -> np.ndarray:
    return np.load(plan.path(folder, f"{shard}.{name}.npy"), mmap_mode=mmap)


def _slices(plan: Plan, folder: str, shards: list[str], lo: int, hi: int, names: tuple[str, ...]):
    """(arrays, order, bounds): entries lo..hi-1 of the offsets of every shard's files in
    `folder`, read as one contiguous slice of each (one pass over the disk); entry lo + e is
    arrays[:][order[bounds[e]:bounds[e + 1]]], in shard order."""
    pieces, entry = [], []
    for shard in shards:
        o = _assigned(plan, shard, "offsets", folder=folder)
        if o[hi] > o[lo]:
            pieces.append([np.asarray(_assigned(plan, shard, name, "r", folder)[o[lo]:o[hi]]) for name in names])
            entry.append(np.repeat(np.arange(hi - lo), np.diff(o[lo:hi + 1])))
    if not pieces:
        return [_assigned(plan, shards[0], name, "r", folder)[:0] for name in names], np.zeros(0, np.int64), \
            np.zeros(hi - lo + 1, np.int64)
    arrays = [np.concatenate(p) for p in zip(*pieces)]
    entry = np.concatenate(entry)
    return arrays, np.argsort(entry, kind="stable"), np.concatenate([[0], np.cumsum(np.bincount(entry, minlength=hi - lo))])


def train_rows(plan: Plan, source, shard: str) -> tuple[np.ndarray, dict]:
    """Task: one shard's rows of the fine-training sample, sorted by their nearest top node;
    returns its rows per top node (and the wall seconds of its parts, {} when done before)."""
    done = plan.path("train", f"{shard}.offsets.npy")
    if done.exists():
        return np.diff(np.load(done)), {}
    seconds, lap = _task_clock()
    faiss.omp_set_num_threads(plan.threads)
    s = source.shards.index(shard)
    lo, hi = (int(x) for x in source.starts[s:s + 2])
    rows = semantic.fine_rows(lo, hi, plan.n, plan.k)
    vectors = source.read(shard)
    lap("read")
    _save(plan.path("shards", f"{shard}.npy"), np.asarray(vectors).astype(np.float16, copy=False))
    lap("keep")
    x = semantic.f32(vectors, rows - lo)
    top = np.load(plan.path("top.npy"))
    owner = semantic.nearest(top, x)
    _save(plan.path("train", f"{shard}.vectors.npy"), x[np.argsort(owner, kind="stable")].astype(np.float16))
    counts = np.bincount(owner, minlength=len(top))
    _save(done, np.concatenate([[0], np.cumsum(counts)]).astype(np.int64))
    lap("sort")
    return counts, seconds


def train_below(plan: Plan, shards: list[str], cells: tuple[int, int]) -> list[semantic.Centroids]:
    """Task: the levels below top nodes [c0, c1), each from its own training rows."""
    out = plan.path("fine", f"{cells[0]}-{cells[1]}.npz")
    count = cells[1] - cells[0]
    if not out.exists():
        faiss.omp_set_num_threads(plan.threads)
        (x,), order, bounds = _slices(plan, "train", shards, *cells, ("vectors",))
        levels = semantic.depth(plan.k) - 1
        below = [semantic.train_subtree(x[order[bounds[e]:bounds[e + 1]]], levels) for e in range(count)]
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}.npz")
        np.savez(tmp, **{name: a for e, sub in enumerate(below) for name, a in sub.arrays(f"{e}.").items()})
        os.replace(tmp, out)
    with np.load(out) as z:
        return [semantic.Centroids.of(z, f"{e}.") for e in range(count)]


def assign(plan: Plan, source, shard: str) -> tuple[np.ndarray, dict]:
    """Task: write one shard's rows sorted by cell; returns its offsets (members of cell c at
    [o[c], o[c+1]), its visitors at [o[k+c], o[k+c+1])) and the wall seconds of its parts."""
    done = plan.path("assign", f"{shard}.offsets.npy")
    if done.exists():
        return np.load(done), {}
    seconds, lap = _task_clock()
    faiss.omp_set_num_threads(plan.threads)
    kept = plan.path("shards", f"{shard}.npy")
    vectors = np.load(kept) if kept.exists() else source.read(shard)
    start = source.starts[source.shards.index(shard)]
    lap("read")
    if plan.k == 1:
        first, second = np.zeros(len(vectors), np.int64), np.full(len(vectors), -1)
    else:
        first, second = semantic.nearest_cells(semantic.Centroids.load(plan.path("centroids.npz")), vectors,
                                               plan.margin)
    lap("find")
    members = np.argsort(first, kind="stable")
    visits = np.flatnonzero(second >= 0)
    visitors = visits[np.argsort(second[visits], kind="stable")]
    order = np.concatenate([members, visitors])
    offsets = np.concatenate([[0], np.cumsum(np.bincount(first, minlength=plan.k)),
                              len(members) + np.cumsum(np.bincount(second[visits], minlength=plan.k))])
    # `other`: a member's second cell (-1: it visits none), a visitor's own cell.
    other = np.concatenate([second[members], first[visitors]]).astype(np.int32)
    for name, array in (("vectors", vectors[order].astype(np.float16, copy=False)), ("rows", start + order.astype(np.int64)),
                        ("other", other)):
        _save(plan.path("assign", f"{shard}.{name}.npy"), array)
    _save(done, offsets.astype(np.int64))
    kept.unlink(missing_ok=True)
    lap("write")
    return offsets, seconds


def _group(plan: Plan, shards: list[str], cells: tuple[int, int], part: int):
    """(vectors, rows, other, order, bounds) of the members (part 0) or visitors (part 1) of
    cells [c0, c1); cell c0 + n is rows order[bounds[n]:bounds[n + 1]], in shard order."""
    arrays, order, bounds = _slices(plan, "assign", shards, part * plan.k + cells[0], part * plan.k + cells[1],
                                    ("vectors", "rows", "other"))
    return (*arrays, order, bounds)


def search(plan: Plan, shards: list[str], verifier, cells: tuple[int, int]) -> tuple[dict, dict]:
    """Task: the pairs of cells [c0, c1) at cosine >= threshold, verified, as edges/<c0>-<c1>.parquet;
    returns its counts and the wall seconds of its parts."""
    out = plan.path("edges", f"{cells[0]}-{cells[1]}.parquet")
    if out.exists():
        return json.loads(pq.read_schema(out).metadata[b"curate.counts"]), {}
    seconds, lap = _task_clock()
    faiss.omp_set_num_threads(plan.threads)
    mv, mr, mo, morder, mb = _group(plan, shards, cells, 0)
    vv, vr, vo, vorder, vb = _group(plan, shards, cells, 1)
    lap("read")
    parts, seen = [], {}
    for n, c in enumerate(range(*cells)):
        mine, visiting = morder[mb[n]:mb[n + 1]], vorder[vb[n]:vb[n + 1]]
        m = len(mine)
        x = np.concatenate([mv[mine], vv[visiting]]).astype(np.float32)  # one conversion per cell
        rows, member_other, visitor_cell = np.concatenate([mr[mine], vr[visiting]]), mo[mine], vo[visiting]

        def emit(a, b, sim):  # called within this cell's scans only
            parts.append((rows[a], rows[b], sim))
            for i in [] if verifier is None else np.unique(np.concatenate([a, b])).tolist():
                seen.setdefault(int(rows[i]), x[i])  # the verifier's vectors

        def emit_visits(a, b, sim):
            # Visitor a (of cell visitor_cell) meets member b: that cell finds the pair too when b visits it.
            keep = ~((member_other[b] == visitor_cell[a - m]) & (visitor_cell[a - m] < c))
            emit(a[keep], b[keep], sim[keep])

        members, visitors = np.arange(m), np.arange(m, len(rows))
        semantic.scan(x, members, members, plan.threshold, emit, triangle=True)
        semantic.scan(x, visitors, members, plan.threshold, emit_visits)
    i, j, sim = semantic.merge(parts, plan.n)
    counts = {"candidates": int(len(i))}
    lap("scan")
    if verifier is not None and len(i):
        rows = np.array(sorted(seen), np.int64)
        vectors = np.stack([seen[r] for r in rows.tolist()]).astype(np.float32)
        i, j, found = verifier(i, j, sim, rows, vectors)
        counts.update(found)
        lap("verify")
    table = pa.table({"i": pa.array(i, pa.int64()), "j": pa.array(j, pa.int64())})
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    pq.write_table(table.replace_schema_metadata({"curate.counts": json.dumps(counts)}), tmp)
    os.replace(tmp, out)
    lap("write")
    return counts, seconds


def _groups(sizes: np.ndarray, rows: int) -> list[tuple[int, int]]:
    """Consecutive cells, about `rows` (members + visitors) a group."""
    groups, c0, total = [], 0, 0
    for c, size in enumerate(sizes.tolist()):
        if total and total + size > rows:
            groups.append((c0, c))
            c0, total = c, 0
        total += size
    return groups + [(c0, len(sizes))]


def _sample(source, rows: np.ndarray) -> np.ndarray:
    """The vectors of `rows` (sorted), reading one shard at a time."""
    blocks = []
    for s, shard in enumerate(source.shards):
        lo, hi = np.searchsorted(rows, source.starts[s:s + 2])
        if hi > lo:
            blocks.append(semantic.f32(source.read(shard), rows[lo:hi] - source.starts[s]))
    return np.concatenate(blocks)


def _stopwatch(seconds: dict, digits: int = 1):
    """lap(name) sets seconds[name] to the wall time since the last lap (or this call)."""
    clock = [time.perf_counter()]

    def lap(name):
        clock.append(time.perf_counter())
        seconds[name] = round(clock[-1] - clock[-2], digits)
    return lap


def _task_clock():
    """(seconds, lap) for one task's parts, to the millisecond: a part of 0.04 s rounded to
    0.1 s would sum to nothing (or double) over hundreds of tasks."""
    seconds = {}
    return seconds, _stopwatch(seconds, 3)


def _add(total: dict, seconds: dict) -> None:
    """Sum one task's part seconds into total: summed over tasks, so two workers' parts add to
    about twice the phase's wall time; they say where a phase's time goes, not how long it took."""
    for name, value in seconds.items():
        total[name] = round(total.get(name, 0.0) + value, 3)


def _train(plan: Plan, source, executor, seconds: dict, task_seconds: dict) -> semantic.Centroids:
    """semantic.train_centroids as tasks: the driver holds the flat or top-level sample only.
    `seconds` gets the wall time of each part (top: the driver's sample and centroids),
    `task_seconds` its tasks' parts (_add)."""
    lap = _stopwatch(seconds)
    sample = semantic.train_sample(plan.n, plan.k)
    vectors = source.sample(sample) if hasattr(source, "sample") else _sample(source, sample)
    top = semantic.train_top(vectors, plan.k)
    del vectors
    if semantic.depth(plan.k) == 1:
        return semantic.Centroids.flat(top)
    plan.path("train").mkdir(parents=True, exist_ok=True)
    plan.path("shards").mkdir(parents=True, exist_ok=True)
    _save(plan.path("top.npy"), top)
    lap("top")
    counts = np.zeros(len(top), np.int64)
    with bar(total=len(source.shards), desc="fine-training rows", unit="shard") as progress:
        for _, (found, parts) in executor.map(functools.partial(train_rows, plan, source), source.shards):
            counts += found
            _add(task_seconds.setdefault("rows", {}), parts)
            progress.update()
    lap("rows")
    groups = _groups(counts, min(TRAIN_ROWS, max(1, int(counts.sum()) // MIN_GROUPS)))
    below = {}
    with bar(total=len(groups), desc="train fine cells", unit="task") as progress:
        for cells, trees in executor.map(functools.partial(train_below, plan, source.shards), groups):
            below[cells] = trees
            progress.update()
    lap("below")
    return semantic.Centroids.tree(top, [sub for g in groups for sub in below[g]])


def pairs(source, threshold: float, work: Path, executor, mode: str = "auto", verifier=None,
          margin: float = semantic.VISIT_MARGIN, threads: int = 1) -> tuple[list[Path], dict]:
    """Run the tasks on `executor` (entered); returns the edge partitions and the search params."""
    n = int(source.starts[-1])
    seconds, task_seconds = {}, {}
    lap = _stopwatch(seconds)
    if mode == "auto":
        mode = "exact" if n <= semantic.EXACT_MAX_ROWS else "kmeans"
    k = 1 if mode == "exact" else semantic.cell_count(n)
    params = {"mode": mode, "threshold": threshold, "n": n}
    centroids = Path(work) / "centroids.npz"
    centroids.parent.mkdir(parents=True, exist_ok=True)
    if k > 1:
        params.update(index="faiss.Kmeans spherical", niter=semantic.KMEANS_NITER, visit_margin=margin)
        if not centroids.exists():
            tmp = centroids.with_name(f".tmp-{os.getpid()}-{centroids.name}")
            params["train_seconds"] = {}
            _train(Plan(str(work), n, k, threshold, margin, threads), source, executor, params["train_seconds"],
                   task_seconds).save(tmp)
            os.replace(tmp, centroids)
            shutil.rmtree(Path(work) / "train", ignore_errors=True)  # the fine-training rows, used up
        trained = semantic.Centroids.load(centroids)
        params.update(train_rows=len(semantic.train_sample(n, k)), levels=len(trained.levels))
        if len(trained.levels) > 1:
            params.update(top=len(trained.top), fine_points=semantic.FINE_POINTS)
        k = len(trained.fine)
    plan = Plan(str(work), n, k, threshold, margin, threads)
    plan.path("assign").mkdir(parents=True, exist_ok=True)
    params["k"] = k
    lap("train")
    sizes = np.zeros(2 * k, np.int64)
    with bar(total=len(source.shards), desc="assign cells", unit="shard") as progress:
        for _, (offsets, parts) in executor.map(functools.partial(assign, plan, source), source.shards):
            sizes += np.diff(offsets)
            _add(task_seconds.setdefault("assign", {}), parts)
            progress.update()
    shutil.rmtree(Path(work) / "shards", ignore_errors=True)  # a killed assign task's leftover
    lap("assign")
    members = sizes[:k]
    cell_rows = members + sizes[k:]
    groups = _groups(cell_rows, min(GROUP_ROWS, max(1, int(cell_rows.sum()) // MIN_GROUPS)))
    counts = {}
    with bar(total=len(groups), desc="semantic search", unit="task") as progress:
        for _, (found, parts) in executor.map(functools.partial(search, plan, source.shards, verifier), groups):
            for key, value in found.items():
                counts[key] = counts.get(key, 0) + value
            _add(task_seconds.setdefault("search", {}), parts)
            progress.update()
    lap("search")
    params.update(visitors=int(sizes[k:].sum()), largest_cell=int(members.max()),
                  cell_pairs_computed=float((members.astype(np.float64) ** 2).sum() / 2),
                  tasks={"assign": len(source.shards), "search": len(groups)}, seconds=seconds,
                  task_seconds=task_seconds, **counts)
    return [plan.path("edges", f"{g[0]}-{g[1]}.parquet") for g in groups], params


def vectors_of(work: Path, shards: list[str], starts: np.ndarray, k: int, rows: np.ndarray) -> np.ndarray:
    """float32 vectors of global `rows`, read from the members part of their shards' assign files."""
    plan = Plan(str(work), 0, k, 0, 0, 1)
    out = np.zeros((len(rows), _assigned(plan, shards[0], "vectors", "r").shape[1]), np.float32)
    shard_of = np.searchsorted(starts, rows, side="right") - 1
    for s in np.unique(shard_of).tolist():
        mine = np.flatnonzero(shard_of == s)
        have = _assigned(plan, shards[s], "rows")[:_assigned(plan, shards[s], "offsets")[k]]
        position = np.empty(len(have), np.int64)
        position[have - starts[s]] = np.arange(len(have))  # members hold each row of the shard once
        out[mine] = _assigned(plan, shards[s], "vectors", "r")[position[rows[mine] - starts[s]]]
    return out
