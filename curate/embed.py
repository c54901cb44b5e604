"""`curate embed`: a vector per stored image (manifests/embeddings), one partition per shard and
embedder; then the FAISS index is brought up to date.

Within a shard task, a producer thread reads, decodes and preprocesses images while the model
runs on the previous batch (onnxruntime and Pillow both release the GIL).
"""

import functools
import logging
import os
import queue
import threading

import numpy as np
import pyarrow as pa

from curate import embedders, index, manifest
from curate.errors import UserError
from curate.progress import bar
from curate.raw import decode, iter_shard_images, to_rgb
from curate.workspace import Workspace

log = logging.getLogger("curate.embed")
BATCH = 32


def stored_images(ws: Workspace, shard: str) -> dict[str, str]:
    """key -> id of the shard's stored images, one key per distinct id (byte-identical copies
    share a vector)."""
    rows = manifest.read_partition(ws.partition("images", shard), columns=["id", "key", "status"]).to_pylist()
    first = {}
    for r in rows:
        if r["status"] == "ok":
            first.setdefault(r["id"], r["key"])
    return {key: id_ for id_, key in first.items()}


def _produce(ws: Workspace, shard: str, wanted: dict[str, str], embedder, out: queue.Queue) -> None:
    """Read, decode and preprocess in tar order; None marks the end, an exception is passed on
    to the consumer."""
    try:
        size = getattr(embedder, "size", None)
        for key, data in iter_shard_images(ws, shard, wanted):
            try:
                rgb = to_rgb(decode(data, draft=(size, size) if size else None))
            except (OSError, ValueError) as err:  # ingest decoded it once; a damaged shard file can still fail
                raise UserError(f"raw/{shard}.tar looks damaged: its image {key} no longer decodes ({err})") from None
            out.put((wanted[key], embedder.preprocess(rgb)))
        out.put(None)
    except BaseException as err:  # noqa: BLE001 - re-raised in the consumer
        out.put(err)


def _batches(prepared: queue.Queue):
    """Up to BATCH prepared images: whatever is ready when the model is free, so the model starts
    on the first images instead of idling until a full batch is decoded."""
    while True:
        items = [prepared.get()]
        while len(items) < BATCH and isinstance(items[-1], tuple):
            try:
                items.append(prepared.get_nowait())
            except queue.Empty:
                break
        *ready, last = items  # `last` may be the end (None) or the producer's exception
        if isinstance(last, BaseException):
            raise last
        if last is not None:
            ready.append(last)
        if ready:
            yield ready
        if last is None:
            return


def embed_shard(root: str, embedder_name: str, threads: int, shard: str) -> int:
    ws = Workspace(root)
    embedder = embedders.cached(embedder_name, threads)
    prepared: queue.Queue = queue.Queue(maxsize=2 * BATCH)
    producer = threading.Thread(target=_produce, args=(ws, shard, stored_images(ws, shard), embedder, prepared),
                                daemon=True)
    producer.start()
    ids, vectors = [], []
    for batch in _batches(prepared):
        vectors.append(embedder.embed_batch(np.stack([b[1] for b in batch])))
        ids += [b[0] for b in batch]
    table = manifest.to_table("embeddings", [{"id": i, "embedder": embedder_name} for i in ids])
    flat = np.concatenate(vectors).astype(np.float32) if vectors else np.zeros((0, 1), np.float32)
    lists = pa.ListArray.from_arrays(np.arange(0, flat.size + 1, flat.shape[1], dtype=np.int32), flat.ravel())
    table = table.set_column(table.schema.get_field_index("vector"), table.schema.field("vector"), lists)
    manifest.write_atomic(table, index.embedding_partition(ws, embedder_name, shard))
    return len(ids)


def embed(ws: Workspace, embedder_name: str, executor, workers: int, index_kind: str = "auto") -> dict:
    threads = max(1, (os.cpu_count() or 1) // max(1, workers))
    embedders.cached(embedder_name, threads)  # fail fast on a bad name or missing weights, before any task
    with ws.lock(), manifest.run(ws, "embed", {"embedder": embedder_name}) as run:
        shards = ws.partition_names("images")
        todo = [s for s in shards if not index.embedding_partition(ws, embedder_name, s).exists()]
        if len(todo) < len(shards):
            log.info("skipping %d shards already embedded with %s", len(shards) - len(todo), embedder_name)
        task = functools.partial(embed_shard, str(ws.root), embedder_name, threads)
        vectors = 0
        with executor as ex:
            with bar(total=len(todo), desc=f"embed {embedder_name}", unit="shard") as progress:
                for _shard, count in ex.map(task, todo):
                    vectors += count
                    progress.update()
            meta = index.update(ws, embedder_name, ex, index_kind)  # IVF parts are tasks too
        run.add(rows_in=len(shards), rows_out=vectors)
    # vectors_written: rows added to manifests/embeddings (one per distinct image of each shard);
    # the index holds one vector per distinct image of the dataset (byte copies in two shards once)
    return {"embedder": embedder_name, "shards_embedded": len(todo), "vectors_written": vectors, "index": meta}
