"""`curate bench audit`: samples audited per second against 10k and 100k training images.

The index, its id map and the images and duplicates manifests are full size, with synthetic
vectors (curate/dedupe/bench_semantic.py: topics, duplicate groups). Every row has its own stored
image in raw shards of 1,000, as ingest lays them out, cycling through 1,000 real corpus images
at 128 px; each row's bytes end with its row number after the JPEG's end marker (decoders ignore
it), so every row has bytes of its own and its id is their sha256, as ingest writes it (an audit
reads only the k neighbours of each sample, and checks their bytes against their ids). The
samples are real corpus images at 32 px (the tiny model's size), embedded with the real default
embedder. Timed: the whole `audit()` call (index load, sample embedding,
search, pixel reads, tiled L2, cluster sizes, manifest and report), against embedding the
same samples alone, its floor.
"""

import hashlib
import io
import shutil
import statistics
import tarfile
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
from PIL import Image

from curate import corpus, embedders, index, manifest
from curate.audit import audit, tiles
from curate.dedupe.bench_semantic import synthetic
from curate.workspace import Workspace

SHARD_SIZE = 1_000  # curate's default shard size
DISTINCT = 1_000  # distinct stored images, cycled through the shards
PARTITION_ROWS = 50_000


def _corpus_images() -> list[Image.Image]:
    files = sorted(p for p in corpus.images_dir().iterdir() if p.suffix in (".jpg", ".png"))
    return [Image.open(p).convert("RGB") for p in files]


def _encoded(images: list[Image.Image]) -> list[bytes]:
    """DISTINCT JPEGs at 128 px on the long side."""
    out = []
    for i in range(DISTINCT):
        image = images[i % len(images)].copy()
        image.thumbnail((128 - i // len(images), 128))
        buf = io.BytesIO()
        image.save(buf, "JPEG", quality=90)
        out.append(buf.getvalue())
    return out


def _raw_shards(ws: Workspace, n: int, blobs: list[bytes]) -> list[str]:
    """The raw shards, and the id (sha256) of each row's stored bytes."""
    ids = []
    for s0 in range(0, n, SHARD_SIZE):
        with tarfile.open(ws.raw / f"{s0 // SHARD_SIZE:05d}.tar", "w") as tf:
            for i in range(s0, min(n, s0 + SHARD_SIZE)):
                data = blobs[i % DISTINCT] + i.to_bytes(8, "big")
                ids.append(hashlib.sha256(data).hexdigest())
                info = tarfile.TarInfo(f"{i:09d}.jpg")
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
    return ids


def build(root: Path, n: int, blobs: list[bytes]) -> Workspace:
    ws = Workspace.create(root)
    ids = _raw_shards(ws, n, blobs)
    vectors, groups = synthetic(n)
    for p0 in range(0, n, PARTITION_ROWS):
        part = f"{p0 // PARTITION_ROWS:05d}"
        rows = range(p0, min(n, p0 + PARTITION_ROWS))
        manifest.write_partition(ws, "images", part, [
            {"id": ids[i], "source": "bench", "url": f"bench://{i}", "text": f"image {i}", "width": 128, "height": 128,
             "status": "ok", "shard": f"{i // SHARD_SIZE:05d}", "key": f"{i:09d}"} for i in rows])
        table = manifest.to_table("embeddings", [{"id": ids[i], "embedder": embedders.DEFAULT} for i in rows])
        flat = vectors[p0:p0 + len(rows)].astype(np.float32)
        flat /= np.linalg.norm(flat, axis=1, keepdims=True)
        lists = pa.ListArray.from_arrays(np.arange(0, flat.size + 1, flat.shape[1], dtype=np.int32), flat.ravel())
        table = table.set_column(table.schema.get_field_index("vector"), table.schema.field("vector"), lists)
        manifest.write_atomic(table, index.embedding_partition(ws, embedders.DEFAULT, part))
    index.update(ws, embedders.DEFAULT)
    sizes = np.bincount(groups[groups >= 0]) if (groups >= 0).any() else np.zeros(0, int)
    manifest.write_partition(ws, "duplicates", "dataset", [
        {"id": ids[i], "cluster": ids[i], "kind": None, "similarity": None,
         "cluster_size": int(sizes[groups[i]]) if groups[i] >= 0 else 1, "copies": 1, "keep": True} for i in range(n)])
    return ws


def bench(sizes=(10_000, 100_000), samples: int = 200, rounds: int = 3) -> list[dict]:
    images = _corpus_images()
    blobs = _encoded(images)
    embedder = embedders.cached(embedders.DEFAULT)
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "samples"
        folder.mkdir()
        drawn = [tiles.fit(images[(7 * i) % len(images)], (32, 32)) for i in range(samples)]
        for i, image in enumerate(drawn):
            image.save(folder / f"s{i:04d}.png")
        floor = []
        for _ in range(rounds):
            start = time.perf_counter()
            embedders.embed_images(embedder, [Image.open(p).convert("RGB") for p in sorted(folder.glob("*.png"))])
            floor.append(time.perf_counter() - start)
        for n in sizes:
            ws = build(Path(tmp) / f"ds-{n}", n, blobs)
            times = []
            for r in range(rounds):
                start = time.perf_counter()
                audit(ws, folder, Path(tmp) / f"out-{n}-{r}", text_noise=False)
                times.append(time.perf_counter() - start)
            results.append({"n": n, "samples": samples, "seconds": statistics.median(times),
                            "samples_per_s": samples / statistics.median(times),
                            "embed_only_per_s": samples / statistics.median(floor)})
            shutil.rmtree(ws.root)
    return results
