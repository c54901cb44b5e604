"""Semantic near-duplicate pairs: every pair of L2-normalised embeddings with cosine >= threshold.

Three searches, one answer shape. `exact` multiplies blocks of the matrix against itself;
`kmeans` (SemDeDup-style) splits the set into k-means cells and runs the exact search inside
each cell, which is what makes millions fit on one machine: both the assignment and the
in-cell search are dense matrix products. Cells are sqrt(n) up to CELL_ROWS**2 rows and keep
CELL_ROWS rows above (more in a blob that small cells would only cut), so the in-cell work grows
as n; past FLAT_CELLS the cells are the leaves of a k-means tree a row descends through its
nearest nodes. A duplicate pair straddling a cell
boundary would be lost, so a vector near the boundary between its nearest and second-nearest
cells also visits the second. cells.py runs the same search as executor tasks. `ivf` is the classic faiss
index + range search; at 100k on 2 cores it measured 15-25x slower than `kmeans` (its scans
are per query, not matrix products), so `auto` does not pick it.

Float16 input stays float16: rows are converted to float32 one block or one cell at a time.
"""

import math
import os
from dataclasses import dataclass

import faiss
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

EXACT_MAX_ROWS = 20_000  # auto: above this, k-means cells beat the n**2 brute force
BLOCK_FLOATS = 64 << 20  # one similarity block: 64 Mi float32 = 256 MB
TRIANGLE_ROWS = 256  # a triangle scan's row chunk: a 1,000-row cell computes 62% of its square, not all
# Visit the 2nd-nearest cell when the row is within this distance of the boundary (the
# bisecting hyperplane of the two centroids: score gap / centroid distance). A score gap alone
# shrinks with the centroid spacing, so a fixed gap made 99% of rows visitors at 3M (69% at 1M).
# Bench set at 1M, threshold 0.9 (4,851 cells), planted pairs kept in a shared or visited cell:
# distance 0.01: 15% visitors, 0.99824; 0.02: 27%, 0.99942; 0.03: 36%, 0.99950, all that two
# cells can give (a fixed gap of 0.04: 68%, 0.99950). About 2.5 sigma of a threshold pair's
# offset across a hyperplane (sqrt(2 - 2 * 0.9) / sqrt(1280) = 0.0125) if it were isotropic.
VISIT_MARGIN = 0.03
IVF_NPROBE = 32
KMEANS_NITER = 20
# Cells of 250 rows, not 1,000: the in-cell work per row is ~2x the cell size (k-means cells are
# uneven), so it fell 8x, while finding the cell costs more (more centroids). Measured on
# 400k bench vectors: in-cell dot products per row 1,998 -> 250, assignment ~2x.
CELL_ROWS = 250
FLAT_CELLS = 1_000  # more cells than this: a tree of centroids
# Past FLAT_CELLS the cells are the leaves of a k-means tree (hierarchical k-means, as FLANN's):
# the driver trains the top level on COARSE_POINTS rows a centroid; below it, each node's
# children are trained on its own rows of a sample of FINE_POINTS rows per cell (cells.py: a
# task per group of top cells), and a row descends through the nearest nodes of each level
# (PROBE, LEAF_PROBE). Each level branches about k**(1/levels) ways, at most BRANCH: with two levels at any
# size, finding a cell cost 3 * sqrt(k) dot products a row and training the cells sqrt(k)
# a training row, so both grew as n**1.5 (bench dedupe, 1M -> 10M: assign x21.7, fine training
# x64 for x10 vectors). With 8 rows per cell, trained in the driver, the cells came out uneven
# (3M bench: largest cell 6x the target, in-cell pairs per row 490 -> 1,109). A fourth level at 10M
# (BRANCH 32: 15 ways a level, 2 / 2 / 3 / 2 kept) was slower and lost pairs: assign 513 s against
# 455, recall 0.9875 against 0.9980 (bench dedupe 10M, same machine and day).
BRANCH = 40
COARSE_POINTS = 256
FINE_POINTS = 32
SPLIT = 2  # a node or cell drawing more than twice its target of training rows is split
# Nodes a row keeps a level: PROBE, and LEAF_PROBE on the level above the cells, whose children
# it compares. One bench shard at 10M (three levels, 36 / 1,858 / 47,479 centroids, one thread),
# planted pairs sharing or visiting a cell: keeping 2 nodes a level 0.9926; 3 above the cells
# 0.9947 with 1, 2 or 3 at the top (0.91 s, 1.12 s, 1.43 s for its 50k rows); 4 above the cells
# 0.9966 (1.11 s). Two levels (221 / 48,875): 0.9969, 3.06 s. At 1M (16 / 346 / 4,523): 0.9996
# for all of these. One node at the top, though, lost pairs on a denser set (tests/test_semantic.py,
# 6,000 rows in 5 / 22 / 111 centroids: recall 0.965 against 0.990 with 2).
PROBE = 2
LEAF_PROBE = 3
# A row keeps its 2nd and 3rd node of a level only within NODE_MARGIN of the boundary (the
# bisecting hyperplane) between it and its best node, as the visitors' rule for cells: a row deep
# inside one node gains nothing from its neighbours' children, and those products were the
# largest part of finding the cells (bench dedupe 10M, task seconds: find 1,090 of 2,445). The
# margin is VISIT_MARGIN at 1280-d, scaled as a threshold pair's offset across a hyperplane
# (1/sqrt(d)). 100k bench rows, one thread, planted pairs sharing or visiting a cell: 1M (16 / 349
# / 4,650 centroids) 1.56 s -> 0.71 s, recall 0.9996 both; 10M (40 / 1,677 / 5,353) 1.21 s ->
# 0.72 s, 0.9971 both. The cells' level is not pruned: its second cell decides the visitors.
NODE_MARGIN = VISIT_MARGIN
# A node whose held-out training rows would be visitors past this share gets fewer,
# larger fine cells. Measured on 300k bench vectors with 200 topics (the bench's 3M regime,
# ~1,500 rows a topic): visitors 78% -> 36%, planted-pair recall 0.9927 -> 0.9993, in-cell pairs
# per row 289 -> 598, in-process CPU unchanged (17 s).
MAX_VISITORS = 0.5


@dataclass
class SearchResult:
    i: np.ndarray  # int64, i < j
    j: np.ndarray  # int64
    sim: np.ndarray  # float32 cosine, >= threshold
    params: dict  # how the search ran; recorded in lineage


def semantic_pairs(vectors: np.ndarray, threshold: float, mode: str = "auto", progress=None,
                   threads: int | None = None) -> SearchResult:
    """All pairs with cosine >= threshold; `progress(rows_done)` is called as work finishes."""
    faiss.omp_set_num_threads(threads or os.cpu_count() or 1)
    n = len(vectors)
    if mode == "auto":
        mode = "exact" if n <= EXACT_MAX_ROWS else "kmeans"
    search = {"exact": _exact, "kmeans": _kmeans, "ivf": _ivf}[mode]
    parts = []
    params = search(vectors, threshold, lambda *p: parts.append(p), progress or (lambda done: None))
    i, j, sim = merge(parts, n)
    return SearchResult(i, j, sim, {"mode": mode, "threshold": threshold, "n": n,
                                    "threads": faiss.omp_get_max_threads(), **params})


def clusters(n: int, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """Connected components of the pair graph: a~b and b~c put a, b, c in one cluster."""
    graph = coo_matrix((np.ones(len(i), np.int8), (i, j)), shape=(n, n))
    return connected_components(graph, directed=False)[1]


def f32(vectors, rows) -> np.ndarray:
    return np.ascontiguousarray(vectors[rows], dtype=np.float32)


def scan(vectors, queries, base, threshold, emit, triangle=False):
    """Thresholded dot products of rows `queries` against rows `base`, a row chunk at a time.

    With `triangle` (queries is base) each chunk only meets the base rows from its own start,
    nearly halving the work; the pairs seen twice inside a chunk are dropped by `merge`.
    """
    xb = f32(vectors, base)
    step = max(1, BLOCK_FLOATS // max(1, len(base)))
    if triangle:
        step = min(step, TRIANGLE_ROWS)
    for r0 in range(0, len(queries), step):
        xq = xb[r0:r0 + step] if triangle else f32(vectors, queries[r0:r0 + step])
        c0 = r0 if triangle else 0
        s = xq @ xb[c0:].T
        r, c = np.nonzero(s >= threshold)
        emit(queries[r0 + r], base[c0 + c], s[r, c])


def merge(parts, n):
    """Order each pair as i < j, drop self pairs, keep each pair once."""
    if not parts:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
    a, b, sim = (np.concatenate(x) for x in zip(*parts))
    i, j = np.minimum(a, b).astype(np.int64), np.maximum(a, b).astype(np.int64)
    keep = i != j
    key, first = np.unique(i[keep] * n + j[keep], return_index=True)
    return key // n, key % n, sim[keep][first].astype(np.float32)


def _exact(vectors, threshold, emit, progress):
    """One float32 copy of the whole set: for small sets and for ground truth."""
    rows = np.arange(len(vectors))
    scan(vectors, rows, rows, threshold, emit, triangle=True)
    progress(len(vectors))
    return {"index": "blocked matmul"}


def _train_sample(n, size, seed=0):
    return np.sort(np.random.default_rng(seed).choice(n, min(n, size), replace=False))


def cell_count(n: int) -> int:
    """sqrt(n) cells, but cells of no more than about CELL_ROWS rows, so the in-cell work grows as n,
    not n**1.5 (past FLAT_CELLS found through a tree of centroids)."""
    return max(1, round(max(math.sqrt(n), n / CELL_ROWS)))


def depth(k: int) -> int:
    """Levels of the centroid tree for k cells: 1 (flat) up to FLAT_CELLS, then enough that no
    level branches more than BRANCH ways (2 up to BRANCH**2 cells, 3 up to BRANCH**3, ...)."""
    if k <= FLAT_CELLS:
        return 1
    return max(2, math.ceil(math.log(k) / math.log(BRANCH) - 1e-9))


def branches(cells: float, levels: int) -> int:
    """Children of a node with `cells` cells below it, `levels` levels down to them."""
    return max(2, round(cells ** (1 / levels)))


def train_sample(n: int, k: int) -> np.ndarray:
    """The rows the driver trains on (sorted): the flat centroids, or the top level's."""
    return _train_sample(n, 128 * k if k <= FLAT_CELLS else COARSE_POINTS * branches(k, depth(k)))


def fine_rows(lo: int, hi: int, n: int, k: int) -> np.ndarray:
    """Rows lo..hi-1 of the fine-training sample: each row is in it with probability
    FINE_POINTS * k / n, by a hash of its number (splitmix64), so a shard's task picks its own."""
    z = np.arange(lo, hi, dtype=np.uint64) + np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z ^= z >> np.uint64(31)
    return np.arange(lo, hi)[(z >> np.uint64(11)) < np.uint64(min(1.0, FINE_POINTS * k / n) * 2.0**53)]


@dataclass
class Centroids:
    """A tree of centroids: levels[-1] are the cells; node i of level l has the children
    levels[l + 1][bounds[l][i]:bounds[l][i + 1]]. Flat: one level, no bounds."""

    levels: list[np.ndarray]
    bounds: list[np.ndarray]

    @property
    def fine(self) -> np.ndarray:
        return self.levels[-1]

    @property
    def top(self) -> np.ndarray:
        return self.levels[0]

    @classmethod
    def flat(cls, centroids: np.ndarray) -> "Centroids":
        return cls([centroids], [])

    @classmethod
    def tree(cls, top: np.ndarray, below: list["Centroids"]) -> "Centroids":
        """The tree with `below[c]` under top[c] (train_subtree; all of one depth); a node
        with no cells under it (no training rows reached it) is left out."""
        keep = [c for c, sub in enumerate(below) if len(sub.fine)]
        below = [below[c] for c in keep]
        levels = [top[keep]] + [np.concatenate([sub.levels[l] for sub in below]) for l in range(len(below[0].levels))]
        bounds = [_starts([len(sub.top) for sub in below])]
        for l in range(len(below[0].bounds)):
            offsets = _starts([len(sub.levels[l + 1]) for sub in below])
            bounds.append(np.concatenate([sub.bounds[l][:-1] + o for sub, o in zip(below, offsets)] + [offsets[-1:]]))
        return cls(levels, bounds)

    def arrays(self, prefix: str = "") -> dict:
        return {**{f"{prefix}level{l}": x for l, x in enumerate(self.levels)},
                **{f"{prefix}bounds{l}": b for l, b in enumerate(self.bounds)}}

    @classmethod
    def of(cls, z, prefix: str = "") -> "Centroids":
        count = sum(1 for name in z.keys() if name.startswith(f"{prefix}level"))
        return cls([z[f"{prefix}level{l}"] for l in range(count)], [z[f"{prefix}bounds{l}"] for l in range(count - 1)])

    def save(self, path) -> None:
        np.savez(path, **self.arrays())

    @classmethod
    def load(cls, path) -> "Centroids":
        with np.load(path) as z:
            return cls.of(z)


def _starts(sizes) -> np.ndarray:
    return np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)


def _spherical_kmeans(x: np.ndarray, k: int, points: int) -> np.ndarray:
    if k >= len(x):
        return x.copy()
    km = faiss.Kmeans(x.shape[1], k, niter=KMEANS_NITER, spherical=True, seed=1234, max_points_per_centroid=points,
                      min_points_per_centroid=1)  # few points per fine cell by design: no warning each
    km.train(x)
    return km.centroids


def nearest(centroids: np.ndarray, x: np.ndarray) -> np.ndarray:
    index = faiss.IndexFlatIP(centroids.shape[1])
    index.add(centroids)
    return index.search(x, 1)[1][:, 0]


def train_top(sample: np.ndarray, k: int) -> np.ndarray:
    """What the driver trains: all k cells when flat, else the top level of the tree."""
    if depth(k) == 1:
        return _spherical_kmeans(sample, k, 128)
    count = branches(k, depth(k))
    return _even(sample, count, COARSE_POINTS, len(sample) / count)


def train_subtree(rows: np.ndarray, levels: int) -> Centroids:
    """The `levels` levels below one node, from its rows of the fine-training sample: the
    cells (train_fine) when one is left, else about (cells below) ** (1 / levels) nodes trained
    on COARSE_POINTS rows each, a subtree under each from its own rows."""
    x = np.ascontiguousarray(rows, dtype=np.float32)
    if levels == 1 or not len(x):
        return Centroids.flat(train_fine(x))
    count = branches(len(x) / FINE_POINTS, levels)
    nodes = _even(x, count, COARSE_POINTS, len(x) / count)
    owner = nearest(nodes, x)
    below = [train_subtree(x[owner == c], levels - 1) for c in range(len(nodes))]
    return Centroids.tree(nodes, below) if any(len(sub.fine) for sub in below) else Centroids.flat(x[:0])


def train_fine(rows: np.ndarray) -> np.ndarray:
    """The cells below one node of the tree, from its rows of the fine-training sample: one per
    FINE_POINTS rows, and a cell that drew more than twice that split in proportion, so the cells
    stay near their target size at any scale. Fewer, larger cells where the small ones only cut
    a blob without structure: when centroids trained on half the rows leave more than
    MAX_VISITORS of the other half visitors, the target size doubles (rows fit on their own
    centroids look well inside their cell, so the check is on rows held out)."""
    x = np.ascontiguousarray(rows, dtype=np.float32)
    if not len(x):
        return np.zeros((0, x.shape[1]), np.float32)
    per = FINE_POINTS
    while round(len(x) / per) > 1 and _visiting(_spherical_kmeans(x[0::2], round(len(x) / per), FINE_POINTS),
                                                x[1::2]) > MAX_VISITORS:
        per *= 2
    return _even(x, max(1, round(len(x) / per)), FINE_POINTS, per)


def _even(x: np.ndarray, count: int, points: int, per: float) -> np.ndarray:
    """`count` spherical k-means centroids of `x` (on `points` rows each at most), those drawing
    more than SPLIT * per rows split in proportion, those drawing none dropped. A row's search
    cost is the size of its nodes, so uneven ones cost what their rows weigh: at 10M, the
    nodes above the cells that a shard's rows probed averaged 104 cells against 42 overall."""
    centroids = _spherical_kmeans(x, count, points)
    owner = nearest(centroids, x)
    out = []
    for c, drawn in enumerate(np.bincount(owner, minlength=len(centroids)).tolist()):
        if drawn > SPLIT * per:
            out.append(_spherical_kmeans(x[owner == c], math.ceil(drawn / per), points))
        elif drawn:
            out.append(centroids[c:c + 1])
    return np.concatenate(out)


def _visiting(centroids: np.ndarray, x: np.ndarray) -> float:
    """The share of rows `x` that would visit a second cell among `centroids`."""
    return float((nearest_cells(Centroids.flat(centroids), x)[1] >= 0).mean())


def train_centroids(vectors, k: int) -> Centroids:
    """In one process, what cells.py trains as tasks: the same samples, the same centroids."""
    n = len(vectors)
    top = train_top(f32(vectors, train_sample(n, k)), k)
    if depth(k) == 1:
        return Centroids.flat(top)
    x = f32(vectors, fine_rows(0, n, n, k))
    owner = nearest(top, x)
    return Centroids.tree(top, [train_subtree(x[owner == c], depth(k) - 1) for c in range(len(top))])


def nearest_cells(centroids: Centroids, vectors, margin: float = VISIT_MARGIN):
    """(cell of each row, second cell of each row or -1 when it does not visit one).

    Members: rows whose nearest centroid is the cell. Visitors: rows within `margin` of the
    boundary with their second-nearest cell; they are compared with the members, not with each
    other. (With one cell faiss pads the second column with id -1, so nobody visits.)"""
    fine = centroids.fine
    reach = 2 * float(np.sqrt(np.einsum("kd,kd->k", fine, fine).max()))
    index = faiss.IndexFlatIP(fine.shape[1])
    index.add(centroids.top)
    keep = [PROBE] * (len(centroids.levels) - 2) + [LEAF_PROBE, 2][-len(centroids.levels):]  # the cells: 2
    node_margin = NODE_MARGIN * math.sqrt(1280 / fine.shape[1])
    step = 65_536
    first, second = [], []
    for r0 in range(0, len(vectors), step):
        x = f32(vectors, slice(r0, r0 + step))
        scores, ids = index.search(x, keep[0])
        for level in range(1, len(keep)):
            _prune(centroids.levels[level - 1], scores, ids, node_margin)
            scores, ids = _descend(centroids.levels[level], centroids.bounds[level - 1], x, ids, keep[level])
        gap = scores[:, 0] - scores[:, 1]
        # Two centroids are at most reach apart: only the rows within margin * reach of their
        # second cell need the spacing.
        near = np.flatnonzero((ids[:, 1] >= 0) & (gap <= margin * reach))
        near = near[gap[near] <= margin * _spacing(fine, ids[near, 0], ids[near, 1])]
        first.append(ids[:, 0])
        visit = np.full(len(x), -1, ids.dtype)
        visit[near] = ids[near, 1]
        second.append(visit)
    return np.concatenate(first), np.concatenate(second)


def _prune(nodes: np.ndarray, scores: np.ndarray, ids: np.ndarray, margin: float) -> None:
    """Drop (id -1) each row's 2nd and later nodes farther than margin beyond its boundary with the best."""
    for j in range(1, ids.shape[1]):
        live = np.flatnonzero(ids[:, j] >= 0)
        far = scores[live, 0] - scores[live, j] > margin * _spacing(nodes, ids[live, 0], ids[live, j])
        ids[live[far], j] = -1


def _spacing(centroids: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """|centroids[a] - centroids[b]| per row. faiss reads the rows in place: a numpy gather of
    both took 0.4 s for one 50k bench shard's 28k near rows (a third of finding its cells),
    faiss 0.012 s."""
    c = np.ascontiguousarray(centroids, np.float32)
    a, b = np.ascontiguousarray(a, np.int64), np.ascontiguousarray(b, np.int64)
    out = np.empty(len(a), np.float32)
    faiss.pairwise_indexed_L2sqr(c.shape[1], len(a), faiss.swig_ptr(c), faiss.swig_ptr(a), faiss.swig_ptr(c),
                                 faiss.swig_ptr(b), faiss.swig_ptr(out))
    return np.sqrt(out)


def _descend(children: np.ndarray, bounds: np.ndarray, x: np.ndarray, probe: np.ndarray, keep: int):
    """(scores, ids) of the `keep` best of `children` of each row's `probe` nodes (-1: none):
    one matrix product per node over the rows that probe it, then one sort of every node's
    best few per row (merging them node by node cost as much as the products at 10M)."""
    flat = probe.ravel()
    order = np.argsort(flat, kind="stable")
    nodes, starts = np.unique(flat[order], return_index=True)
    found_rows, found_ids, found_scores = [], [], []
    for node, s0, s1 in zip(nodes.tolist(), starts.tolist(), [*starts[1:].tolist(), len(order)]):
        lo, hi = (int(b) for b in bounds[node:node + 2]) if node >= 0 else (0, 0)
        if hi == lo:
            continue
        rows = order[s0:s1] // probe.shape[1]
        s = np.take(x, rows, axis=0) @ children[lo:hi].T
        top = np.argpartition(-s, keep - 1, axis=1)[:, :keep] if hi - lo > keep else np.tile(np.arange(hi - lo), (len(rows), 1))
        found_rows.append(np.repeat(rows, top.shape[1]))
        found_ids.append((top + lo).ravel())
        found_scores.append(np.take_along_axis(s, top, axis=1).ravel())
    best = np.full((len(x), keep), -np.inf, np.float32)
    ids = np.full((len(x), keep), -1, np.int64)
    if found_rows:
        rows, found, scores = (np.concatenate(f) for f in (found_rows, found_ids, found_scores))
        by = np.lexsort((found, -scores, rows))  # by row, best first (ties: the lower id)
        rows, found, scores = rows[by], found[by], scores[by]
        rank = np.arange(len(rows)) - np.searchsorted(rows, rows)
        first = rank < keep
        best[rows[first], rank[first]] = scores[first]
        ids[rows[first], rank[first]] = found[first]
    return best, ids


def _kmeans(vectors, threshold, emit, progress, margin=VISIT_MARGIN):
    n, d = vectors.shape
    centroids = train_centroids(vectors, cell_count(n))
    k = len(centroids.fine)
    first, second = nearest_cells(centroids, vectors, margin)
    visits = np.flatnonzero(second >= 0)
    members = group(first, np.arange(n), k)
    visitors = group(second[visits], visits, k)
    for c in range(k):
        scan(vectors, members[c], members[c], threshold, emit, triangle=True)
        scan(vectors, visitors[c], members[c], threshold, emit)
        progress(len(members[c]))
    sizes = np.array([len(m) for m in members])
    return {"index": "faiss.Kmeans spherical", "k": k, "levels": len(centroids.levels), "niter": KMEANS_NITER,
            "visit_margin": margin, "visitors": len(visits), "largest_cell": int(sizes.max()),
            "cell_pairs_computed": float((sizes.astype(np.float64) ** 2).sum() / 2)}


def group(labels, rows, k):
    order = np.argsort(labels, kind="stable")
    return np.split(rows[order], np.cumsum(np.bincount(labels, minlength=k))[:-1])


def _ivf(vectors, threshold, emit, progress, nprobe=IVF_NPROBE):
    n, d = vectors.shape
    nlist = max(1, round(4 * math.sqrt(n)))
    # fp16 codes: half the memory of IndexIVFFlat, and exact for float16 input.
    index = faiss.IndexIVFScalarQuantizer(faiss.IndexFlatIP(d), d, nlist, faiss.ScalarQuantizer.QT_fp16,
                                          faiss.METRIC_INNER_PRODUCT)
    sample = _train_sample(n, 64 * nlist)
    index.train(f32(vectors, sample))
    step = 65_536
    for r0 in range(0, n, step):
        index.add(f32(vectors, slice(r0, r0 + step)))
    index.nprobe = min(nprobe, nlist)
    for r0 in range(0, n, step):
        lims, sim, found = index.range_search(f32(vectors, slice(r0, r0 + step)), threshold)
        emit(np.repeat(np.arange(r0, r0 + len(lims) - 1), np.diff(lims).astype(np.int64)), found, sim)
        progress(len(lims) - 1)
    return {"index": "IndexIVFScalarQuantizer fp16", "nlist": nlist, "nprobe": index.nprobe,
            "train_rows": len(sample)}
