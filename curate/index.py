"""The FAISS index of a dataset's vectors, one per embedder: index/<embedder>.faiss plus
index/<embedder>.ids.parquet (row i of the index is ids[i]; the index settings and the shards
it holds are in that file's metadata).

Exact inner product (IndexFlatIP) up to FLAT_MAX vectors, built in this process; past that (or
with kind `ivf` / `ivf-sq4`) an IVF index built as tasks with its lists on disk, read memory-mapped
(index_ondisk.py). Updates add only the vectors of shards not yet in the index; a flat index
that outgrows FLAT_MAX is rebuilt once as IVF, and asking for another kind rebuilds it.
"""

import functools
import json
import logging
import os

import faiss
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from curate import embedders, index_ondisk, manifest
from curate.errors import UserError
from curate.executors import LocalExecutor
from curate.workspace import Workspace

FLAT_MAX = 100_000
KINDS = ("auto", "flat", *index_ondisk.CODECS)
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
        table = manifest.read_partition(parts[shard], columns=["id", "embedder", "vector"])
        others = set(table.column("embedder").unique().to_pylist()) - {embedder}
        if others:  # a partition copied or renamed from another embedder's: its vectors do not compare
            raise UserError(f"{parts[shard]} holds vectors of {', '.join(sorted(map(str, others)))}, not {embedder}; "
                            f"delete it and run `curate embed {ws.root} --embedder {embedder}`")
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


def _save(ws: Workspace, embedder: str, index) -> None:
    faiss_path, _ = paths(ws, embedder)
    faiss_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = faiss_path.with_name(f".{faiss_path.name}.tmp-{os.getpid()}")
    faiss.write_index(index, str(tmp))
    os.replace(tmp, faiss_path)


def _write_ids(ws: Workspace, embedder: str, ids: list[str], meta: dict) -> None:
    table = pa.table({"id": pa.array(ids, pa.string())}).replace_schema_metadata({"curate.index": json.dumps(meta)})
    manifest.write_atomic(table, paths(ws, embedder)[1])


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
        index = index_ondisk.read_index(faiss_path) if meta.get("ondisk") else faiss.read_index(str(faiss_path))
    except RuntimeError as err:  # faiss reports a short or garbled file this way
        raise damaged(ws, faiss_path, str(err).strip().splitlines()[0] if str(err).strip() else "unreadable",
                      embedder) from None
    if index.ntotal != table.num_rows:
        raise damaged(ws, faiss_path, f"{index.ntotal} vectors for {table.num_rows} ids", embedder)
    if "nprobe" in meta:
        index.nprobe = meta["nprobe"]
    return index, table.column("id").to_pylist(), meta


def _shard_vectors(root: str, embedder: str, shard: str) -> np.ndarray:
    return read_vectors(Workspace(root), embedder, [shard])[1]


def _positions(ws: Workspace, embedder: str, shards: list[str], ids: list[str]):
    """Each shard's rows that are new ids, and the index positions they get after `ids` (which
    grows): {shard: (local rows, positions)}. Reads the id columns only."""
    parts, seen, rows = embedded_shards(ws, embedder), set(ids), {}
    for shard in sorted(shards):
        local = []
        for r, i in enumerate(manifest.read_partition(parts[shard], ["id"]).column("id").to_pylist()):
            if i not in seen:
                seen.add(i)
                ids.append(i)
                local.append(r)
        rows[shard] = (local, list(range(len(ids) - len(local), len(ids))))
    return rows


def _train_sample(ws: Workspace, embedder: str, rows: dict) -> np.ndarray:
    """At most index_ondisk.TRAIN_ROWS vectors, an even share of each shard, read one shard at a time."""
    total = sum(len(local) for local, _ in rows.values())
    share = min(1.0, index_ondisk.TRAIN_ROWS / max(1, total))
    rng, blocks = np.random.default_rng(0), []
    for shard, (local, _) in sorted(rows.items()):
        if local:
            pick = np.sort(rng.choice(local, max(1, round(share * len(local))), replace=False))
            blocks.append(_shard_vectors(str(ws.root), embedder, shard)[pick])
    return np.concatenate(blocks)


def _kind_of(meta: dict) -> str | None:
    return meta.get("kind") or ("flat" if meta.get("type") == "IndexFlatIP" else None)


def update(ws: Workspace, embedder: str, executor=None, kind: str = "auto") -> dict:
    """Add the vectors of shards not yet indexed (rebuilding only a flat index that outgrew
    FLAT_MAX, or an index of another kind than `kind` asks for); IVF parts are tasks on `executor`."""
    if kind not in KINDS:
        raise UserError(f"--index {kind!r}: choose one of {', '.join(KINDS)}")
    try:
        index, ids, meta = load(ws, embedder)
    except UserError as err:  # none yet, another embedder's, or damaged: built again from the manifests
        if isinstance(err, DamagedIndex):
            log.warning("rebuilding the %s index: %s", embedder, str(err).split(";")[0])
        index, ids, meta = None, [], {"shards": []}
    shards = sorted(embedded_shards(ws, embedder))
    todo = sorted(set(shards) - set(meta["shards"]))
    old = _kind_of(meta)
    if not todo and index is not None and kind in ("auto", old):
        return meta
    grown = list(ids)
    rows = _positions(ws, embedder, todo, grown)
    want = kind if kind != "auto" else old if old in index_ondisk.CODECS else "flat" if len(grown) <= FLAT_MAX else "ivf"
    if index is None or want != old:
        ids, grown = [], []
        rows = _positions(ws, embedder, shards, grown)
    if want == "flat":
        new_ids, vectors = _first_of_each(*read_vectors(ws, embedder, sorted(rows)), set(ids))
        if not ids:
            index = faiss.IndexFlatIP(vectors.shape[1])
        index.add(vectors)
        settings = {"type": "IndexFlatIP"}
        _save(ws, embedder, index)
    else:
        build = index_ondisk.Build(str(ws.index), embedders.slug(embedder))
        if not ids:
            index_ondisk.remove(build)
            ws.index.mkdir(parents=True, exist_ok=True)
            index_ondisk.save_trained(build, index_ondisk.train(_train_sample(ws, embedder, rows), len(grown), want))
        with executor or LocalExecutor(1) as ex:
            index = index_ondisk.fill(build, functools.partial(_shard_vectors, str(ws.root), embedder), rows, ex)
        ivf = faiss.extract_index_ivf(index)
        settings = {"type": type(index).__name__, "ondisk": True, "nlist": int(ivf.nlist), "nprobe": int(ivf.nprobe),
                    "code_bytes": int(ivf.code_size)}
    meta = {"embedder": embedder, "dim": int(index.d), "kind": want, **settings, "count": len(grown),
            "shards": shards}
    _write_ids(ws, embedder, grown, meta)
    return meta
