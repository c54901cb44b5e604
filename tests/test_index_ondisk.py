"""The IVF index built as tasks with its lists on disk: recall against the flat index, the same
index from any executor, incremental shards, and `curate audit` searching it."""

import shutil

import faiss
import numpy as np
import pyarrow as pa
import pytest

from curate import index, manifest
from curate.dedupe.bench_semantic import synthetic
from curate.executors import LocalExecutor
from curate.workspace import Workspace
from tests.helpers import curate

EMBEDDER = "efficientnet-lite0"
SHARDS = 4
ROWS = 1_500  # a shard


def _write_shard(ws: Workspace, shard: str, ids: list[str], vectors: np.ndarray) -> None:
    table = manifest.to_table("embeddings", [{"id": i, "embedder": EMBEDDER} for i in ids])
    flat = vectors.astype(np.float32)
    lists = pa.ListArray.from_arrays(np.arange(0, flat.size + 1, flat.shape[1], dtype=np.int32), flat.ravel())
    table = table.set_column(table.schema.get_field_index("vector"), table.schema.field("vector"), lists)
    manifest.write_atomic(table, index.embedding_partition(ws, EMBEDDER, shard))


@pytest.fixture(scope="module")
def vectors():
    return synthetic(SHARDS * ROWS, dim=128)[0].astype(np.float32)


def _workspace(root, vectors, shards=SHARDS) -> Workspace:
    ws = Workspace.create(root)
    for s in range(shards):
        ids = [f"{n:06d}" for n in range(s * ROWS, (s + 1) * ROWS)]
        if s == 1:
            ids[0] = "000000"  # a byte copy of shard 0's first image: one index row
        _write_shard(ws, f"{s:05d}", ids, vectors[s * ROWS:(s + 1) * ROWS])
    return ws


def _neighbours(ws, queries, k=10):
    faiss_index, ids, meta = index.load(ws, EMBEDDER)
    _, rows = faiss_index.search(queries, k)
    return [[ids[r] for r in row] for row in rows], meta


@pytest.mark.parametrize("kind,floor", [("ivf", 0.97), ("ivf-sq4", 0.88)])
def test_ondisk_ivf_recall_against_flat(vectors, tmp_path, kind, floor):
    """recall@10 of the on-disk index against the exact one, on 6,000 128-d bench vectors;
    measured 0.992 for ivf (8-bit codes, 16 of 77 lists probed) and 0.906 for ivf-sq4 (4-bit)."""
    flat_ws = _workspace(tmp_path / "flat", vectors)
    assert index.update(flat_ws, EMBEDDER, kind="flat")["type"] == "IndexFlatIP"
    ws = _workspace(tmp_path / kind, vectors)
    meta = index.update(ws, EMBEDDER, LocalExecutor(1), kind)
    assert meta["ondisk"] and meta["kind"] == kind and meta["count"] == SHARDS * ROWS - 1
    assert list(ws.index.glob("*.ivfdata")) and (ws.index / "efficientnet-lite0.parts").is_dir()
    queries = vectors[::60]
    exact, _ = _neighbours(flat_ws, queries)
    found, _ = _neighbours(ws, queries)
    recall = np.mean([len(set(a) & set(b)) / len(a) for a, b in zip(exact, found)])
    print(kind, "recall@10", round(float(recall), 3), meta["code_bytes"], "bytes a vector")
    assert recall >= floor


def test_same_index_from_any_executor_and_incremental_shards(vectors, tmp_path):
    """One process and a pool of two build the same index; a shard added later joins the merged
    lists without training again, and the index reads after the workspace is moved."""
    one = _workspace(tmp_path / "one", vectors)
    index.update(one, EMBEDDER, LocalExecutor(1), "ivf")
    pool = _workspace(tmp_path / "pool", vectors)
    with LocalExecutor(2) as ex:
        index.update(pool, EMBEDDER, ex, "ivf")
    queries = vectors[::50]
    assert _neighbours(one, queries)[0] == _neighbours(pool, queries)[0]
    trained = (pool.index / "efficientnet-lite0.trained").stat().st_mtime_ns
    extra = synthetic(ROWS, dim=128, seed=1)[0].astype(np.float32)
    _write_shard(pool, f"{SHARDS:05d}", [f"x{n:05d}" for n in range(ROWS)], extra)
    meta = index.update(pool, EMBEDDER, LocalExecutor(1))  # auto keeps the kind
    assert meta["kind"] == "ivf" and meta["count"] == (SHARDS + 1) * ROWS - 1
    assert (pool.index / "efficientnet-lite0.trained").stat().st_mtime_ns == trained
    assert len(list(pool.index.glob("*.ivfdata"))) == 1  # the previous merge's file is gone
    moved = tmp_path / "moved"
    shutil.move(str(pool.root), moved)
    found, _ = _neighbours(Workspace(moved), extra[::50], k=1)
    assert np.mean([row[0] == f"x{n:05d}" for row, n in zip(found, range(0, ROWS, 50))]) >= 0.95


def test_flat_then_ivf_on_request_and_bad_kind(vectors, tmp_path):
    ws = _workspace(tmp_path / "ws", vectors, shards=2)
    assert index.update(ws, EMBEDDER)["kind"] == "flat"  # auto, 2,999 vectors
    meta = index.update(ws, EMBEDDER, kind="ivf")  # another kind: rebuilt from the manifests
    faiss_index, ids, _ = index.load(ws, EMBEDDER)
    assert meta["kind"] == "ivf" and faiss_index.ntotal == len(ids) == 2 * ROWS - 1
    assert isinstance(faiss.extract_index_ivf(faiss_index).invlists, faiss.InvertedLists)
    with pytest.raises(index.UserError, match="--index 'hnsw'"):
        index.update(ws, EMBEDDER, kind="hnsw")


def test_audit_searches_the_ondisk_index(tmp_path):
    """`curate embed --index ivf` turns the audit test's dataset's flat index into an on-disk
    one (no image embedded again); the audit finds the same nearest images and verdicts."""
    from tests.test_audit import TRAINING, UNSEEN, _drawn
    from tests.helpers import ingest_corpus

    ds = tmp_path / "ds"
    ingest_corpus(ds, TRAINING)
    assert curate("embed", ds) == 0
    samples = tmp_path / "samples"
    samples.mkdir()
    _drawn("sk_coffee.jpg").save(samples / "copy_coffee.png")
    _drawn(UNSEEN[0]).save(samples / "new.png")
    results = {}
    for kind in ("flat", "ivf"):
        assert curate("embed", ds, "--index", kind) == 0
        assert index.load(Workspace(ds), EMBEDDER)[2]["kind"] == kind
        assert curate("audit", ds, "--samples", samples, "--out", tmp_path / kind) == 0
        rows = manifest.read_table(Workspace(tmp_path / kind), "audit").to_pylist()
        results[kind] = sorted((r["sample_id"], r["rank"], r["nearest_id"], r["verdict"]) for r in rows)
    assert results["flat"] == results["ivf"] and any(r[3] == "copy" for r in results["ivf"])
