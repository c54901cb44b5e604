"""Training data: images picked by a SQL predicate over the manifests, read straight from the raw
WebDataset shards (seek to each member, nothing unpacked), in aspect-ratio buckets.

The order of batches is a pure function of (seed, epoch), and a stream can start at any
micro-batch: that is what lets `--resume` continue bit for bit.
"""

import math
import tarfile
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from curate.errors import UserError
from curate.query import fetch
from curate.raw import IMAGE_EXTENSIONS, decode, to_rgb
from curate.workspace import Workspace
from model.pipeline import pixels_to_tensor

ASPECTS = (0.5, 0.75, 1.0, 4 / 3, 2.0)  # width / height


@dataclass(frozen=True)
class Sample:
    shard: str
    key: str
    width: int
    height: int
    short: str
    dense: str


def select(ws: Workspace, where: str = "true") -> list[Sample]:
    """Stored images that pass `where`, one per distinct image, kept by dedupe when it has run."""
    kept = "AND keep" if ws.partitions("duplicates") else ""
    dups = "LEFT JOIN duplicates USING (id)" if ws.partitions("duplicates") else ""
    # captions, where the caption stage ran, give the training text and columns to select on
    # (people, faces, hands, fingers, text_in_image); else the ingested text is both levels
    captioned = bool(ws.partitions("captions"))
    caps = ("LEFT JOIN (SELECT id, short AS c_short, dense AS c_dense, people, faces, hands, fingers, text_in_image "
            "FROM captions) USING (id)") if captioned else ""
    texts = ("coalesce(c_short, text, '') AS short, coalesce(c_dense, text, '') AS dense" if captioned
             else "coalesce(text, '') AS short, coalesce(text, '') AS dense")
    sql = f"""
        WITH candidates AS (
            SELECT images.*, {texts}
                   {", keep, cluster_size" if dups else ""}
                   {", people, faces, hands, fingers, text_in_image" if captioned else ""}
            FROM images {dups} {caps}
            WHERE status = 'ok' {kept}
            QUALIFY row_number() OVER (PARTITION BY id ORDER BY shard, key) = 1
        )
        SELECT shard, key, width, height, short, dense FROM candidates WHERE ({where}) ORDER BY shard, key"""
    rows = fetch(ws, sql).to_pylist()
    if not rows:
        raise UserError(f"the query selects no images to train on (--where {where!r})")
    return [Sample(**r) for r in rows]


def member_offsets(ws: Workspace, samples: list[Sample]) -> dict[tuple[str, str], tuple[int, int]]:
    """(shard, key) -> (byte offset, size) of the image inside raw/<shard>.tar."""
    wanted = {(s.shard, s.key) for s in samples}
    offsets = {}
    for shard in sorted({s.shard for s in samples}):
        path = ws.raw / f"{shard}.tar"
        if not path.exists():
            raise UserError(f"shard {path} is missing; re-run `curate ingest` to fetch it again")
        with tarfile.open(path) as tf:
            for info in tf:
                key, _, ext = info.name.partition(".")
                if ext in IMAGE_EXTENSIONS and (shard, key) in wanted:
                    offsets[(shard, key)] = (info.offset_data, info.size)
    missing = wanted - offsets.keys()
    if missing:
        raise UserError(f"{len(missing)} selected images are not in their shards (first: {sorted(missing)[0]})")
    return offsets


def buckets(resolution: int) -> list[tuple[int, int]]:
    """(width, height) per aspect, about resolution**2 pixels, sides multiples of 8."""
    return [(max(8, round(resolution * math.sqrt(a) / 8) * 8), max(8, round(resolution / math.sqrt(a) / 8) * 8))
            for a in ASPECTS]


def bucket_of(width: int, height: int) -> int:
    return int(np.argmin([abs(math.log(width / height / a)) for a in ASPECTS]))


def epoch_batches(samples: list[Sample], batch_size: int, seed: int, epoch: int) -> list[list[int]]:
    rng = np.random.default_rng([seed, epoch])
    by_bucket = {}
    for i, s in enumerate(samples):
        by_bucket.setdefault(bucket_of(s.width, s.height), []).append(i)
    batches = []
    for b in sorted(by_bucket):
        order = rng.permutation(by_bucket[b])
        batches += [order[i:i + batch_size].tolist() for i in range(0, len(order), batch_size)]
    return [batches[i] for i in rng.permutation(len(batches))]


def fit(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """Resize to cover `size`, then centre-crop to it."""
    w, h = size
    scale = max(w / image.width, h / image.height)
    image = image.resize((max(w, round(image.width * scale)), max(h, round(image.height * scale))),
                         Image.Resampling.BICUBIC)
    left, top = (image.width - w) // 2, (image.height - h) // 2
    return image.crop((left, top, left + w, top + h))


class BatchStream(torch.utils.data.IterableDataset):
    """Micro-batches from micro-step `start` on: (step, pixels in [-1, 1], shorts, denses)."""

    def __init__(self, ws: Workspace, samples, offsets, batch_size: int, resolution: int, seed: int, start: int = 0):
        self.ws, self.samples, self.offsets = ws, samples, offsets
        self.batch_size, self.sizes, self.seed, self.start = batch_size, buckets(resolution), seed, start

    def _read(self, sample: Sample) -> Image.Image:
        offset, size = self.offsets[(sample.shard, sample.key)]
        with open(self.ws.raw / f"{sample.shard}.tar", "rb") as fh:
            fh.seek(offset)
            return to_rgb(decode(fh.read(size)))

    def __iter__(self):
        step, epoch = 0, 0
        while True:
            batches = epoch_batches(self.samples, self.batch_size, self.seed, epoch)
            for batch in batches:
                if step >= self.start:
                    chosen = [self.samples[i] for i in batch]
                    size = self.sizes[bucket_of(chosen[0].width, chosen[0].height)]
                    pixels = pixels_to_tensor([fit(self._read(s), size) for s in chosen])
                    yield step, pixels, [s.short for s in chosen], [s.dense for s in chosen]
                step += 1
            epoch += 1
