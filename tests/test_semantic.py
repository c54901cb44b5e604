"""Semantic pair search: exact equals brute force, the fast modes keep recall, clusters are transitive."""

import numpy as np
import pytest

from curate.dedupe.bench_semantic import synthetic
from curate.dedupe import semantic
from curate.dedupe.semantic import clusters, semantic_pairs

THRESHOLD = 0.9


@pytest.fixture(scope="module")
def data():
    vectors, groups = synthetic(6_000, dim=128)
    return vectors, groups


@pytest.fixture(scope="module")
def exact(data):
    return semantic_pairs(data[0], THRESHOLD, "exact")


def _pairs(res):
    return set(zip(res.i.tolist(), res.j.tolist()))


def test_exact_equals_numpy_brute_force():
    rng = np.random.default_rng(3)
    base = rng.standard_normal((300, 64)).astype(np.float32)
    x = np.concatenate([base, base[:100] + 0.25 * rng.standard_normal((100, 64)).astype(np.float32)])
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    sim = x @ x.T
    i, j = np.nonzero(np.triu(sim >= THRESHOLD, k=1))
    res = semantic_pairs(x, THRESHOLD, "exact")
    assert _pairs(res) == set(zip(i.tolist(), j.tolist()))
    assert np.allclose(res.sim, sim[res.i, res.j], atol=1e-5)
    assert res.params["mode"] == "exact"


def test_pairs_are_ordered_unique_and_above_threshold(exact):
    assert len(exact.i) > 100  # the synthetic set really has duplicates
    assert (exact.i < exact.j).all()
    assert len(_pairs(exact)) == len(exact.i)
    assert (exact.sim >= THRESHOLD).all()
    assert exact.i.dtype == exact.j.dtype == np.int64 and exact.sim.dtype == np.float32


def test_near_misses_stay_below_threshold(data, exact):
    """Members of one synthetic group with cosine < threshold (near misses) are not paired."""
    vectors, groups = data
    x = vectors.astype(np.float32)
    sim = (x[exact.i] * x[exact.j]).sum(1)
    assert (sim >= THRESHOLD - 1e-3).all()
    same = groups[exact.i] == groups[exact.j]
    assert same.mean() > 0.95


@pytest.mark.parametrize("mode", ["ivf", "kmeans", "auto"])
def test_fast_modes_recall(data, exact, mode):
    res = semantic_pairs(data[0], THRESHOLD, mode)
    found, truth = _pairs(res), _pairs(exact)
    assert len(found & truth) / len(truth) >= 0.98
    assert (res.sim >= THRESHOLD - 1e-3).all()
    assert res.params["mode"] in ("exact", "ivf", "kmeans")


@pytest.mark.parametrize("branch,levels", [(40, 2), (5, 3)])
def test_tree_cells_keep_recall(data, exact, monkeypatch, branch, levels):
    """Past CELL_ROWS**2 rows cells have a fixed size and are found through a tree of centroids,
    deeper as the cells outnumber BRANCH**levels."""
    monkeypatch.setattr(semantic, "CELL_ROWS", 60)
    monkeypatch.setattr(semantic, "FLAT_CELLS", 20)
    monkeypatch.setattr(semantic, "BRANCH", branch)
    res = semantic_pairs(data[0], THRESHOLD, "kmeans")
    assert res.params["levels"] == levels
    assert res.params["k"] > 80 and res.params["largest_cell"] < 400
    found, truth = _pairs(res), _pairs(exact)
    assert len(found & truth) / len(truth) >= 0.98 and found <= truth


def test_fine_cells_stay_near_their_target_size(monkeypatch):
    """Fine centroids trained per coarse cell on 32 of its rows each, oversized ones split: on
    20k rows in cells of 60, trained on 8 rows a cell in one sample, the largest cell held 286
    rows and a row met 45 others in its cell; now at most 3x the target and under 40."""
    monkeypatch.setattr(semantic, "CELL_ROWS", 60)
    monkeypatch.setattr(semantic, "FLAT_CELLS", 20)
    vectors = synthetic(20_000, dim=64)[0]
    params = semantic_pairs(vectors, THRESHOLD, "kmeans").params
    assert params["largest_cell"] < 3 * 60 and params["cell_pairs_computed"] / len(vectors) < 40


def test_a_blob_without_structure_gets_fewer_larger_fine_cells():
    """Cells of 32 training rows cut an isotropic blob anywhere, so most rows lie near a boundary
    (the bench's topics at 3M): such a coarse cell gets fewer cells; 20 separate groups keep 20."""
    rng = np.random.default_rng(5)

    def around(centres, cos):
        noise = rng.standard_normal(centres.shape).astype(np.float32)
        x = np.sqrt(cos) * centres + np.sqrt(1 - cos) * noise / np.linalg.norm(noise, axis=1, keepdims=True)
        return x / np.linalg.norm(x, axis=1, keepdims=True)

    centres = around(np.zeros((20, 256), np.float32), 0.0)
    groups = around(np.repeat(centres, 32, axis=0), 0.8)
    blob = around(np.repeat(centres[:1], 640, axis=0), 0.6)
    assert semantic._visiting(semantic._spherical_kmeans(blob[0::2], 20, 32), blob[1::2]) > semantic.MAX_VISITORS
    assert len(semantic.train_fine(groups)) == 20
    assert len(semantic.train_fine(blob)) <= 10


def test_fine_training_rows_of_shards_are_those_of_the_whole():
    """Each shard's task picks its own rows of the fine-training sample, without the whole list."""
    n, k = 100_000, 400
    whole = semantic.fine_rows(0, n, n, k)
    cuts = [0, 1, 33_333, 50_000, 99_999, n]
    assert np.array_equal(np.concatenate([semantic.fine_rows(a, b, n, k) for a, b in zip(cuts, cuts[1:])]), whole)
    assert abs(len(whole) - semantic.FINE_POINTS * k) < 0.05 * semantic.FINE_POINTS * k
    assert len(semantic.fine_rows(0, 10, 10, 400)) == 10  # a sample bigger than the set is the set


def test_kmeans_records_params_and_progress(data):
    done = []
    res = semantic_pairs(data[0], THRESHOLD, "kmeans", progress=done.append)
    assert sum(done) == len(data[0])
    assert {"k", "visit_margin", "visitors"} <= res.params.keys()


def test_float16_and_float32_agree(data):
    vectors = data[0][:2_000]
    half = _pairs(semantic_pairs(vectors, THRESHOLD, "exact"))
    full = _pairs(semantic_pairs(vectors.astype(np.float32), THRESHOLD, "exact"))
    assert half == full and half


def test_higher_threshold_gives_subset(data, exact):
    strict = semantic_pairs(data[0], 0.95, "exact")
    assert _pairs(strict) < _pairs(exact)
    assert (strict.sim >= 0.95).all()


def test_clusters_are_transitive():
    labels = clusters(6, np.array([0, 1, 4]), np.array([1, 2, 5]))
    assert labels[0] == labels[1] == labels[2]
    assert labels[4] == labels[5]
    assert len({labels[0], labels[3], labels[4]}) == 3


def test_empty_and_tiny_inputs():
    res = semantic_pairs(np.eye(3, 8, dtype=np.float32), THRESHOLD, "kmeans")
    assert len(res.i) == 0
    assert (clusters(3, res.i, res.j) == [0, 1, 2]).all()


def test_constant_density_topics_stay_near_their_chunk():
    """`topic_rows`: chunk k draws from the topics of chunks k-1..k+1 only, so a topic keeps about
    topic_rows rows however many chunks there are (the bench's same density at every size)."""
    from curate.dedupe.bench_semantic import CHUNK, chunk

    def singles(k, rows):
        vectors, groups = chunk(k * CHUNK, CHUNK, dim=128, topic_rows=500)
        return vectors[groups < 0][rows].astype(np.float32)

    x = singles(0, slice(0, 1000))

    def nearest(other):
        return float(np.median((x @ other.T).max(1)))

    same, neighbour, far = nearest(singles(0, slice(1000, 5000))), nearest(singles(1, slice(0, 4000))), \
        nearest(singles(10, slice(0, 4000)))
    assert same > 0.6 and neighbour > 0.6, (same, neighbour)  # same-topic rows at cosine 0.5-0.85
    assert far < 0.5, far  # only the broad themes are shared (0.41 here)


def test_uneven_nodes_are_split():
    """A row's descent costs the size of the nodes it probes, so one that draws most rows is split:
    of four well separated groups, one holding 85% of the rows, four centroids become seven, none
    drawing more than SPLIT times its share."""
    rng = np.random.default_rng(7)
    centres = rng.standard_normal((4, 64)).astype(np.float32)
    centres /= np.linalg.norm(centres, axis=1, keepdims=True)
    x = np.concatenate([c + rng.standard_normal((size, 64)).astype(np.float32) / 16
                        for c, size in zip(centres, [1700, 100, 100, 100])])
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    assert np.bincount(semantic.nearest(semantic._spherical_kmeans(x, 4, 256), x)).max() == 1700
    nodes = semantic._even(x, 4, 256, len(x) / 4)
    assert len(nodes) == 7 and np.bincount(semantic.nearest(nodes, x)).max() <= semantic.SPLIT * len(x) / 4
