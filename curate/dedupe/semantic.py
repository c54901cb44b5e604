"""Semantic near-duplicate pairs: every pair of L2-normalised embeddings with cosine >= threshold.

Three searches, one answer shape. `exact` multiplies blocks of the matrix against itself;
`kmeans` (SemDeDup-style) splits the set into k-means cells and runs the exact search inside
each cell, which is what makes millions fit on one machine: both the assignment and the
in-cell search are dense matrix products. Cells are sqrt(n) up to CELL_ROWS**2 rows and keep
CELL_ROWS rows above (more in a blob that small cells would only cut), so the in-cell work grows
as n; past FLAT_CELLS cells a row meets only the cells inside its two nearest of sqrt(K) coarse
cells. A duplicate pair straddling a cell
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
# uneven), so it fell 8x, while finding the cell costs more (sqrt(K) coarse cells). Measured on
# 400k bench vectors: in-cell dot products per row 1,998 -> 250, assignment ~2x.
CELL_ROWS = 250
FLAT_CELLS = 1_000  # more cells than this: two levels
# Two levels: the driver trains sqrt(k) coarse centroids on COARSE_POINTS rows each; each coarse
# cell's fine centroids are trained on its own rows of a sample of FINE_POINTS rows per fine cell
# (cells.py: a task per group of coarse cells). With 8 rows per cell, trained in the driver, the
# cells came out uneven (3M bench: largest cell 6x the target, in-cell pairs per row 490 -> 1,109).
COARSE_POINTS = 256
FINE_POINTS = 32
SPLIT_ROWS = 2 * FINE_POINTS  # a fine cell drawing more training rows than this is split
COARSE_PROBE = 2
# A coarse cell whose held-out training rows would be visitors past this share gets fewer,
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
    not n**1.5 (past FLAT_CELLS found through coarse cells, _two_level)."""
    return max(1, round(max(math.sqrt(n), n / CELL_ROWS)))


def coarse_count(k: int) -> int:
    return max(2, round(math.sqrt(k)))


def train_sample(n: int, k: int) -> np.ndarray:
    """The rows the driver trains on (sorted): the flat centroids, or the coarse ones."""
    return _train_sample(n, 128 * k if k <= FLAT_CELLS else COARSE_POINTS * coarse_count(k))


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
    """Cell centroids; past FLAT_CELLS they come in coarse groups: fine[bounds[c]:bounds[c + 1]]
    are the cells inside coarse cell c, and a row is only compared with the fine centroids of
    its COARSE_PROBE nearest coarse cells."""

    fine: np.ndarray
    coarse: np.ndarray  # (0, d) when flat
    bounds: np.ndarray

    @classmethod
    def flat(cls, sample: np.ndarray, k: int) -> "Centroids":
        d = sample.shape[1]
        return cls(_spherical_kmeans(sample, k, 128), np.zeros((0, d), np.float32), np.zeros(0, np.int64))

    @classmethod
    def two_level(cls, coarse: np.ndarray, fine: list[np.ndarray]) -> "Centroids":
        """`fine[c]`: the fine centroids of coarse cell c (train_fine)."""
        bounds = np.concatenate([[0], np.cumsum([len(f) for f in fine])]).astype(np.int64)
        return cls(np.concatenate(fine), coarse, bounds)

    def save(self, path) -> None:
        np.savez(path, fine=self.fine, coarse=self.coarse, bounds=self.bounds)

    @classmethod
    def load(cls, path) -> "Centroids":
        with np.load(path) as z:
            return cls(z["fine"], z["coarse"], z["bounds"])


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


def train_coarse(sample: np.ndarray, k: int) -> np.ndarray:
    return _spherical_kmeans(sample, coarse_count(k), COARSE_POINTS)


def train_fine(rows: np.ndarray) -> np.ndarray:
    """The fine centroids of one coarse cell, from its rows of the fine-training sample: one per
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
    centroids = _spherical_kmeans(x, max(1, round(len(x) / per)), FINE_POINTS)
    owner = nearest(centroids, x)
    out = []
    for c, count in enumerate(np.bincount(owner, minlength=len(centroids)).tolist()):
        if count > SPLIT_ROWS * per // FINE_POINTS:
            out.append(_spherical_kmeans(x[owner == c], math.ceil(count / per), FINE_POINTS))
        elif count:
            out.append(centroids[c:c + 1])
    return np.concatenate(out)


def _visiting(centroids: np.ndarray, x: np.ndarray) -> float:
    """The share of rows `x` that would visit a second cell among `centroids`."""
    flat = Centroids(centroids, np.zeros((0, x.shape[1]), np.float32), np.zeros(0, np.int64))
    return float((nearest_cells(flat, x)[1] >= 0).mean())


def train_centroids(vectors, k: int) -> Centroids:
    """In one process, what cells.py trains as tasks: the same samples, the same centroids."""
    n = len(vectors)
    sample = f32(vectors, train_sample(n, k))
    if k <= FLAT_CELLS:
        return Centroids.flat(sample, k)
    coarse = train_coarse(sample, k)
    x = f32(vectors, fine_rows(0, n, n, k))
    owner = nearest(coarse, x)
    return Centroids.two_level(coarse, [train_fine(x[owner == c]) for c in range(len(coarse))])


def nearest_cells(centroids: Centroids, vectors, margin: float = VISIT_MARGIN):
    """(cell of each row, second cell of each row or -1 when it does not visit one).

    Members: rows whose nearest centroid is the cell. Visitors: rows within `margin` of the
    boundary with their second-nearest cell; they are compared with the members, not with each
    other. (With one cell faiss pads the second column with id -1, so nobody visits.)"""
    fine = centroids.fine
    reach = 2 * float(np.sqrt(np.einsum("kd,kd->k", fine, fine).max()))
    index = faiss.IndexFlatIP(fine.shape[1])
    index.add(centroids.coarse if len(centroids.coarse) else fine)
    step = 65_536
    first, second = [], []
    for r0 in range(0, len(vectors), step):
        x = f32(vectors, slice(r0, r0 + step))
        if not len(centroids.coarse):
            scores, ids = index.search(x, 2)
        else:
            scores, ids = _two_level(centroids, index, x)
        gap = scores[:, 0] - scores[:, 1]
        # Two centroids are at most reach apart: only the rows within margin * reach of their
        # second cell need the spacing, a gather of two centroids each (most rows at 300k).
        near = np.flatnonzero((ids[:, 1] >= 0) & (gap <= margin * reach))
        near = near[gap[near] <= margin * _spacing(fine, ids[near, 0], ids[near, 1])]
        first.append(ids[:, 0])
        visit = np.full(len(x), -1, ids.dtype)
        visit[near] = ids[near, 1]
        second.append(visit)
    return np.concatenate(first), np.concatenate(second)


def _spacing(centroids: np.ndarray, a: np.ndarray, b: np.ndarray, step: int = 8_192) -> np.ndarray:
    """|centroids[a] - centroids[b]| per row, a block at a time (a gather of every row is GBs)."""
    out = np.empty(len(a), np.float32)
    for r0 in range(0, len(a), step):
        diff = centroids[a[r0:r0 + step]] - centroids[b[r0:r0 + step]]
        out[r0:r0 + step] = np.sqrt(np.einsum("nd,nd->n", diff, diff))
    return out


def _two_level(centroids: Centroids, coarse_index, x: np.ndarray):
    """Best two fine centroids of each row among those of its nearest coarse cells."""
    best = np.full((len(x), 2), -np.inf, np.float32)
    ids = np.full((len(x), 2), -1, np.int64)
    probe = coarse_index.search(x, COARSE_PROBE)[1]
    for c in np.unique(probe).tolist():
        lo, hi = centroids.bounds[c], centroids.bounds[c + 1]
        rows = np.flatnonzero((probe == c).any(axis=1))
        if hi == lo or not len(rows):
            continue
        s = x[rows] @ centroids.fine[lo:hi].T
        top = np.argpartition(-s, 1, axis=1)[:, :2] if hi - lo > 2 else np.argsort(-s, axis=1)
        scores = np.take_along_axis(s, top, axis=1)
        if top.shape[1] == 1:
            top, scores = np.pad(top, ((0, 0), (0, 1))), np.pad(scores, ((0, 0), (0, 1)), constant_values=-np.inf)
        both_s = np.concatenate([best[rows], scores], axis=1)
        both_i = np.concatenate([ids[rows], top + lo], axis=1)
        order = np.argsort(-both_s, axis=1)[:, :2]
        best[rows] = np.take_along_axis(both_s, order, axis=1)
        ids[rows] = np.take_along_axis(both_i, order, axis=1)
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
    return {"index": "faiss.Kmeans spherical", "k": k, "niter": KMEANS_NITER,
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
