"""The semantic search as tasks (cells.py): the pairs of semantic_pairs, on any executor, resumed per task."""

import functools
import json
import multiprocessing
import os
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from curate.dedupe import Verifier, bands, cells, labelled, semantic
from curate.dedupe.bench_semantic import synthetic
from curate.dedupe.semantic import clusters, semantic_pairs
from curate.dedupe.tiers import Thresholds, find_edges, hash_edges, join
from curate.executors import DaskExecutor, LocalExecutor

THRESHOLD = 0.9


@dataclass(frozen=True)
class Memory:
    """A source over an array in memory, cut into shards of uneven sizes."""

    vectors: np.ndarray
    shards: list
    starts: np.ndarray

    @classmethod
    def of(cls, vectors, cuts):
        starts = np.array([0, *cuts, len(vectors)], np.int64)
        return cls(vectors, [f"s{n:02d}" for n in range(len(starts) - 1)], starts)

    def read(self, shard):
        s = self.shards.index(shard)
        return self.vectors[self.starts[s]:self.starts[s + 1]]


@pytest.fixture(scope="module")
def source():
    return Memory.of(synthetic(6_000, dim=128)[0], [1_000, 2_600, 4_100])


def _pairs(res):
    return set(zip(res.i.tolist(), res.j.tolist()))


def _read(parts):
    out = set()
    for p in parts:
        t = pq.read_table(p)
        out |= set(zip(t["i"].to_pylist(), t["j"].to_pylist()))
    return out


@pytest.mark.parametrize("mode,margin,levels", [("exact", 0.04, 1), ("kmeans", 0.04, 1), ("kmeans", 0.2, 1),
                                                ("kmeans", 0.04, 2), ("kmeans", 0.04, 3)])
def test_tasks_find_the_pairs_of_semantic_pairs(source, tmp_path, monkeypatch, mode, margin, levels):
    """Several cells per task and several tasks; a wide margin makes many pairs meet on both
    sides of a boundary, each kept once; cells found through a tree of two or three levels alike."""
    monkeypatch.setattr(cells, "GROUP_ROWS", 700)
    if levels > 1:
        for name, value in [("CELL_ROWS", 60), ("FLAT_CELLS", 20), ("BRANCH", {2: 40, 3: 5}[levels])]:
            monkeypatch.setattr(semantic, name, value)
    monkeypatch.setattr(semantic._kmeans, "__defaults__", (margin,))
    reference = semantic_pairs(source.vectors, THRESHOLD, mode)
    with LocalExecutor(1) as ex:
        parts, params = cells.pairs(source, THRESHOLD, tmp_path, ex, mode, margin=margin)
    found = [(i, j) for p in parts for i, j in zip(*(pq.read_table(p)[c].to_pylist() for c in "ij"))]
    assert len(found) == len(set(found)) == len(reference.i) > 1000  # no pair written twice
    assert params.get("levels", 1) == levels
    assert not (tmp_path / "shards").exists()  # the shards kept for assign are deleted once assigned
    assert set(found) == _pairs(reference)
    assert params["tasks"]["assign"] == 4
    # Where the time went, per part of each kind of task (the bench prints these).
    assert set(params["task_seconds"]["assign"]) == {"read", "find", "write"}
    assert set(params["task_seconds"]["search"]) == {"read", "scan", "write"}
    assert ("rows" in params["task_seconds"]) == (levels > 1)
    if mode == "kmeans":
        assert params["tasks"]["search"] > 2
        assert params["k"] == reference.params["k"] and params["visitors"] == reference.params["visitors"] > 0
    rows = np.array([0, 999, 1000, 5999, 2600])
    assert np.array_equal(cells.vectors_of(tmp_path, source.shards, source.starts, params["k"], rows),
                          source.vectors[rows].astype(np.float32))


@dataclass(frozen=True)
class DiesOnce(Memory):
    """Kills its worker process the first time a worker reads shard s01 (a marker file
    remembers); the driver, which reads shards for the k-means sample, is spared."""

    marker: str = ""

    def read(self, shard):
        if shard == "s01" and multiprocessing.parent_process() and not os.path.exists(self.marker):
            open(self.marker, "w").close()
            os._exit(1)
        return super().read(shard)


def test_local_pool_and_dask_give_the_same_pairs_when_a_worker_dies(source, tmp_path):
    runs = {}
    for name, executor in [("one", LocalExecutor(1)), ("pool", LocalExecutor(2)), ("dask", DaskExecutor("local:2"))]:
        dying = source if name == "one" else DiesOnce(source.vectors, source.shards, source.starts,
                                                        str(tmp_path / f"{name}-died"))
        with executor as ex:
            parts, _ = cells.pairs(dying, THRESHOLD, tmp_path / name, ex, "kmeans")
        runs[name] = _read(parts)
    assert (tmp_path / "pool-died").exists() and (tmp_path / "dask-died").exists()
    assert runs["one"] == runs["pool"] == runs["dask"] and runs["one"]


class StopAfter:
    """An executor that runs `tasks` tasks and then dies, like a killed driver."""

    def __init__(self, tasks):
        self.left = tasks

    def map(self, fn, items):
        for item in items:
            if not self.left:
                raise KeyboardInterrupt
            self.left -= 1
            yield item, fn(item)


def test_a_killed_run_resumes_per_task(source, tmp_path, monkeypatch):
    monkeypatch.setattr(cells, "GROUP_ROWS", 1_500)
    with LocalExecutor(1) as ex:
        clean, _ = cells.pairs(source, THRESHOLD, tmp_path / "clean", ex, "kmeans")
    work = tmp_path / "killed"
    with pytest.raises(KeyboardInterrupt):
        cells.pairs(source, THRESHOLD, work, StopAfter(6), "kmeans")  # 4 assign tasks, 2 search tasks
    done = {p: p.stat().st_mtime_ns for p in [*work.glob("assign/*"), *work.glob("edges/*"), work / "centroids.npz"]}
    assert len(list(work.glob("edges/*"))) == 2
    with LocalExecutor(1) as ex:
        resumed, params = cells.pairs(source, THRESHOLD, work, ex, "kmeans")
    assert all(p.stat().st_mtime_ns == t for p, t in done.items())  # nothing finished was redone
    assert _read(resumed) == _read(clean) and params["candidates"] == len(_read(clean))


@pytest.mark.slow
def test_labelled_set_gives_the_same_edges_as_tasks(tmp_path):
    """The labelled near-duplicate set: the in-memory tiers (find_edges) and the task path
    (hash band tasks, cells.pairs with the Verifier, float16 work files) join the same pairs, in
    exact and k-means mode."""
    data = labelled.build()
    feats = labelled.features(data)
    thresholds = Thresholds()

    crops, thumbs = labelled.loaders(data, feats)
    n = len(data)
    for mode in ("exact", "kmeans"):
        reference = find_edges(feats.pixel, feats.phash, feats.dhash, feats.vectors, thresholds, crops, thumbs, mode)
        exact, perceptual, refused = hash_edges(feats.pixel, feats.phash, feats.dhash, thresholds, thumbs,
                                                functools.partial(bands.perceptual_pairs, executor=LocalExecutor(2),
                                                                  work=tmp_path))
        np.save(tmp_path / f"{mode}-joined.npy", np.unique(np.concatenate([exact[0] * n + exact[1],
                                                                            perceptual[0] * n + perceptual[1]])))
        verifier = Verifier(str(tmp_path / f"{mode}-joined.npy"), n, thresholds, crops, thumbs)
        with LocalExecutor(1) as ex:
            parts, params = cells.pairs(Memory.of(feats.vectors, [300, 700]), thresholds.candidate, tmp_path / mode,
                                        ex, mode, verifier)
        semantic = np.array(sorted(_read(parts)), np.int64).reshape(-1, 2)
        edges = join(exact, perceptual, (semantic[:, 0], semantic[:, 1]), params)
        assert edges.pairs() == reference.pairs(), mode
        # The work files hold float16 vectors: only the candidates that float16 rounding moves
        # across the candidate threshold may come or go (and be refused again by the verification).
        x32, x16 = feats.vectors.astype(np.float32), feats.vectors.astype(np.float16).astype(np.float32)
        found32, found16 = (np.triu(x @ x.T >= thresholds.candidate, k=1) for x in (x32, x16))
        moved = int((found32 != found16).sum())
        shift = params["candidates"] - reference.params["candidates"]
        assert shift == int(found16.sum()) - int(found32.sum()) if mode == "exact" else abs(shift) <= moved, mode
        assert abs(params["refused_by_pixels"] + refused - reference.params["refused_by_pixels"]) <= moved
        assert (clusters(n, edges.i, edges.j) == clusters(n, reference.i, reference.j)).all()
        print(mode, json.dumps({k: v for k, v in params.items() if k != "tasks"}))


def test_vectors_of_two_embedders_are_refused_in_one_line(tmp_path, capsys):
    """A partition named for one embedder that holds another's vectors (copied or renamed by
    hand) is refused by dedupe and by the index, before any task runs."""
    import shutil

    from tests.helpers import curate, ingest_corpus

    ds = ingest_corpus(tmp_path / "ds", ["sk_coffee.jpg", "sk_astronaut.jpg", "cv_baboon.jpg", "sk_rocket.jpg",
                                         "cv_fruits.jpg"])
    assert curate("embed", ds) == 0
    parts = sorted((ds / "manifests" / "embeddings").glob("part-*.parquet"))
    assert len(parts) == 2
    table = pq.read_table(parts[1])
    lite1 = table.set_column(table.schema.get_field_index("embedder"), "embedder",
                             pa.array(["efficientnet-lite1"] * table.num_rows))
    pq.write_table(lite1, parts[1])
    shutil.rmtree(ds / "index")
    capsys.readouterr()
    for args in (["dedupe", ds], ["embed", ds]):
        assert curate(*args) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "holds vectors of efficientnet-lite1, not efficientnet-lite0" in err[0], err
