"""The FAISS index of a dataset's vectors, one per embedder: index/<embedder>.faiss plus
index/<embedder>.ids.parquet (row i of the index is ids[i]; the index settings and the shards
it holds are in that file's metadata).

Exact inner product (IndexFlatIP) up to FLAT_MAX vectors; past that an IVF index with 8-bit
scalar quantisation (a quarter of the memory, recall ~0.99 at the recorded nprobe). Updates
add only the vectors of shards not yet in the index; a flat index that outgrows FLAT_MAX is
rebuilt once as IVF.
"""

import json
import logging
import os

import faiss
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from curate import embedders, manifest
from curate.errors import UserError
from curate.workspace import Workspace

FLAT_MAX = 100_000
log = logging.getLogger("curate.index")


class DamagedIndex(UserError):
    """An index or id map that no longer reads (truncated, garbled, out of step): `curate embed`
    rebuilds it from manifests/embeddings; the stages that only read it name it."""


def damaged(ws: Workspace, path, why: str, embedder: str | None = None) -> DamagedIndex:
    option = f" --embedder {embedder}" if embedder else ""
    return DamagedIndex(f"index file {path} is damaged ({' '.join(why.split())}); rerun "
                        f"`curate embed {ws.root}{option}`, which rebuilds it from manifests/embeddings")


def paths(ws: Workspace, embedder: str):
    name = embedders.slug(embedder)
    return ws.index / f"{name}.faiss", ws.index / f"{name}.ids.parquet"


def embedding_partition(ws: Workspace, embedder: str, shard: str):
    """Embeddings are partitioned by embedder and shard: part-<embedder>-<shard>.parquet."""
    return ws.partition("embeddings", f"{embedders.slug(embedder)}-{shard}")


def embedded_shards(ws: Workspace, embedder: str) -> dict[str, object]:
    """shard -> its embeddings partition, for one embedder."""
    prefix = embedding_partition(ws, embedder, "").name.removesuffix(".parquet")
    return {p.name.removeprefix(prefix).removesuffix(".parquet"): p
            for p in ws.partitions("embeddings") if p.name.startswith(prefix)}


def read_vectors(ws: Workspace, embedder: str, shards) -> tuple[list[str], np.ndarray]:
    """(ids, float32 vectors) of the given shards' embeddings, in shard order."""
    parts = embedded_shards(ws, embedder)
    ids, blocks = [], []
    for shard in sorted(shards):
        table = manifest.read_partition(parts[shard], columns=["id", "vector"])
        if table.num_rows:
            ids.extend(table.column("id").to_pylist())
            flat = table.column("vector").combine_chunks().flatten().to_numpy(zero_copy_only=False)
            blocks.append(flat.reshape(table.num_rows, -1).astype(np.float32, copy=False))
    return ids, (np.concatenate(blocks) if blocks else np.zeros((0, 1), np.float32))


def _first_of_each(ids: list[str], vectors: np.ndarray, seen: set) -> tuple[list[str], np.ndarray]:
    """Drop ids already in `seen` (and repeats): byte-identical images get one index row."""
    keep = []
    for i, x in enumerate(ids):
        if x not in seen:
            seen.add(x)
            keep.append(i)
    return [ids[i] for i in keep], vectors[keep]


def _new_index(vectors: np.ndarray):
    n, dim = vectors.shape
    if n <= FLAT_MAX:
        return faiss.IndexFlatIP(dim), {"type": "IndexFlatIP"}
    nlist = max(1, min(int(4 * np.sqrt(n)), n // 39))  # faiss wants >= 39 training points per list
    quantizer = faiss.IndexFlatIP(dim)
    index = faiss.IndexIVFScalarQuantizer(quantizer, dim, nlist, faiss.ScalarQuantizer.QT_8bit,
                                          faiss.METRIC_INNER_PRODUCT)
    sample = vectors[np.random.default_rng(0).choice(n, min(n, 64 * nlist), replace=False)]
    index.train(sample)
    index.nprobe = 16
    return index, {"type": "IndexIVFScalarQuantizer", "nlist": nlist, "nprobe": 16, "quantizer": "QT_8bit"}


def _save(ws: Workspace, embedder: str, index, ids: list[str], meta: dict) -> None:
    faiss_path, ids_path = paths(ws, embedder)
    faiss_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = faiss_path.with_name(f".{faiss_path.name}.tmp-{os.getpid()}")
    faiss.write_index(index, str(tmp))
    table = pa.table({"id": pa.array(ids, pa.string())}).replace_schema_metadata({"curate.index": json.dumps(meta)})
    os.replace(tmp, faiss_path)
    manifest.write_atomic(table, ids_path)


def load(ws: Workspace, embedder: str):
    """(index, ids, meta); a missing index, or one built with another embedder, is a UserError."""
    faiss_path, ids_path = paths(ws, embedder)
    if not (faiss_path.exists() and ids_path.exists()):
        built = sorted(p.name.removesuffix(".faiss") for p in ws.index.glob("*.faiss"))
        raise UserError(f"no {embedder} index in {ws.index} (indexes here: {', '.join(built) or 'none'}); "
                        f"run `curate embed {ws.root} --embedder {embedder}`")
    try:
        table = pq.read_table(ids_path)
        meta = json.loads(table.schema.metadata[b"curate.index"])
        built_with = meta["embedder"]
    except (pa.ArrowException, OSError, ValueError, KeyError, TypeError) as err:
        raise damaged(ws, ids_path, str(err) or type(err).__name__, embedder) from None
    if built_with != embedder:
        raise UserError(f"index {faiss_path.name} was built with {built_with}, not {embedder}")
    try:
        index = faiss.read_index(str(faiss_path))
    except RuntimeError as err:  # faiss reports a short or garbled file this way
        raise damaged(ws, faiss_path, str(err).strip().splitlines()[0] if str(err).strip() else "unreadable",
                      embedder) from None
    if index.ntotal != table.num_rows:
        raise damaged(ws, faiss_path, f"{index.ntotal} vectors for {table.num_rows} ids", embedder)
    if "nprobe" in meta:
        index.nprobe = meta["nprobe"]
    return index, table.column("id").to_pylist(), meta


def update(ws: Workspace, embedder: str) -> dict:
    """Add the vectors of shards not yet indexed (rebuilding only a flat index that outgrew FLAT_MAX)."""
    try:
        index, ids, meta = load(ws, embedder)
    except UserError as err:  # none yet, another embedder's, or damaged: built again from the manifests
        if isinstance(err, DamagedIndex):
            log.warning("rebuilding the %s index: %s", embedder, str(err).split(";")[0])
        index, ids, meta = None, [], {"shards": []}
    todo = sorted(set(embedded_shards(ws, embedder)) - set(meta["shards"]))
    if not todo:
        return meta
    new_ids, vectors = _first_of_each(*read_vectors(ws, embedder, todo), set(ids))
    if index is None or (meta["type"] == "IndexFlatIP" and len(ids) + len(new_ids) > FLAT_MAX):
        ids, vectors = _first_of_each(*read_vectors(ws, embedder, meta["shards"] + todo), set())
        index, settings = _new_index(vectors)
    else:
        ids = ids + new_ids
        settings = {k: meta[k] for k in meta if k not in ("embedder", "dim", "count", "shards")}
    index.add(vectors)
    meta = {"embedder": embedder, "dim": int(index.d), **settings, "count": len(ids),
            "shards": sorted(meta["shards"] + todo)}
    _save(ws, embedder, index, ids, meta)
    return meta
