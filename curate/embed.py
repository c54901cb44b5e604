"""`curate embed`: a vector per stored image (manifests/embeddings) and the content fingerprints
for dedupe (manifests/hashes), one partition per shard; then the FAISS index is brought up to date.

Within a shard task, threads decode and preprocess the next batch while the model runs on the
current one (onnxruntime and Pillow both release the GIL).
"""

import concurrent.futures as cf
import functools
import logging
import os

import numpy as np
import pyarrow.parquet as pq

from curate import embedders, index, manifest
from curate.dedupe.fingerprints import fingerprints
from curate.embedders import to_rgb
from curate.progress import bar
from curate.raw import decode, read_shard_images
from curate.workspace import Workspace

log = logging.getLogger("curate.embed")
BATCH = 32
_LOADED: dict[str, embedders.Embedder] = {}  # one model per worker process, reused across shards


def _prepare(embedder, data: bytes):
    rgb = to_rgb(decode(data))
    return embedder.preprocess(rgb), fingerprints(rgb)


def stored_images(ws: Workspace, shard: str) -> list[dict]:
    """The shard's stored images, one per distinct id (byte-identical copies share a vector)."""
    rows = pq.read_table(ws.partition("images", shard), columns=["id", "key", "status"]).to_pylist()
    unique = {}
    for r in rows:
        if r["status"] == "ok":
            unique.setdefault(r["id"], r["key"])
    return [{"id": i, "key": k} for i, k in unique.items()]


def embed_shard(root: str, embedder_name: str, threads: int, shard: str) -> int:
    ws = Workspace(root)
    if embedder_name not in _LOADED:
        _LOADED[embedder_name] = embedders.load(embedder_name, threads)
    embedder = _LOADED[embedder_name]
    items = stored_images(ws, shard)
    data = read_shard_images(ws, shard, [r["key"] for r in items])
    vectors, hashes = [], []
    with cf.ThreadPoolExecutor(max(1, threads)) as pool:
        prepared = [pool.submit(_prepare, embedder, data[r["key"]]) for r in items[:BATCH]]
        for start in range(0, len(items), BATCH):
            batch = [f.result() for f in prepared]
            nxt = items[start + BATCH:start + 2 * BATCH]
            prepared = [pool.submit(_prepare, embedder, data[r["key"]]) for r in nxt]
            out = embedder.embed_batch(np.stack([b[0] for b in batch]))
            for r, (_, fp), vec in zip(items[start:start + BATCH], batch, out):
                vectors.append({"id": r["id"], "embedder": embedder_name, "vector": vec.tolist()})
                hashes.append({"id": r["id"], **fp})
    if not ws.partition("hashes", shard).exists():
        manifest.write_partition(ws, "hashes", shard, hashes)
    manifest.write_atomic(manifest.to_table("embeddings", vectors), index.embedding_partition(ws, embedder_name, shard))
    return len(vectors)


def embed(ws: Workspace, embedder_name: str, executor, workers: int) -> dict:
    embedders.load(embedder_name)  # fail fast on a bad name or missing weights, before any task
    with ws.lock(), manifest.run(ws, "embed", {"embedder": embedder_name}) as run:
        shards = [p.name.removeprefix("part-").removesuffix(".parquet") for p in ws.partitions("images")]
        todo = [s for s in shards if not index.embedding_partition(ws, embedder_name, s).exists()]
        if len(todo) < len(shards):
            log.info("skipping %d shards already embedded with %s", len(shards) - len(todo), embedder_name)
        threads = max(1, (os.cpu_count() or 1) // max(1, workers))
        task = functools.partial(embed_shard, str(ws.root), embedder_name, threads)
        vectors = 0
        with executor as ex, bar(total=len(todo), desc=f"embed {embedder_name}", unit="shard") as progress:
            for _shard, count in ex.map(task, todo):
                vectors += count
                progress.update()
        meta = index.update(ws, embedder_name)
        run.add(rows_in=len(shards), rows_out=vectors)
    return {"embedder": embedder_name, "shards_embedded": len(todo), "vectors": vectors, "index": meta}
