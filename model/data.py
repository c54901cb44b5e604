"""Training data: the images of a curated shard set (`curate shard`), read straight from its
WebDataset tars by the byte offsets in manifests/train_shards (nothing unpacked), in
aspect-ratio buckets.

The order of batches is a pure function of (seed, epoch), and a stream can start at any
micro-batch: that is what lets `--resume` continue bit for bit.
"""

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import torch
from PIL import Image

from curate.query import fetch
from curate.raw import decode, read_at, to_rgb
from curate.workspace import Workspace
from curate_model import crop, regions

ASPECTS = (0.5, 0.75, 1.0, 4 / 3, 2.0)  # width / height


def pixels_to_tensor(images: list[Image.Image]) -> torch.Tensor:
    """PIL images -> (n, 3, h, w) in [-1, 1], the range the model is trained in."""
    arrays = np.stack([np.asarray(im.convert("RGB"), dtype=np.float32) for im in images])
    return torch.from_numpy(arrays).permute(0, 3, 1, 2) / 127.5 - 1


@dataclass(frozen=True)
class Sample:
    id: str        # images.id
    path: str      # curated tar, relative to the dataset folder
    offset: int    # where the image's bytes start in it
    size: int
    width: int
    height: int
    short: str
    dense: str


def load(ws: Workspace, shard_set: str) -> list[Sample]:
    """The images of a curated shard set, in the order they were cut. Call it after
    `curate.shard.cut`, which rewrites any tar of the set that is missing."""
    rows = fetch(ws, f"""SELECT id, shard_path AS path, "offset", size, width, height, short, dense FROM train_shards
                         WHERE shard_set = '{shard_set}' ORDER BY shard_path, key""").to_pylist()
    return [Sample(**r) for r in rows]


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
    scale, left, top = crop.cover(image.size, size)
    image = image.resize((max(w, round(image.width * scale)), max(h, round(image.height * scale))),
                         Image.Resampling.BICUBIC)
    return image.crop((left, top, left + w, top + h))


class Batch(NamedTuple):
    """One process's share of a micro-batch (all of it in one process): images `first` on of the
    micro-batch's `total`; `pixels` None when the share is empty. `maps`: (n, 1, h, w) loss
    weights, or None without region weights; `time_ids`: (n, 6) SDXL size and crop conditioning
    (curate_model.crop.sdxl_time_ids)."""
    step: int
    pixels: torch.Tensor  # (n, 3, h, w) in [-1, 1]
    shorts: list[str]
    denses: list[str]
    maps: torch.Tensor | None
    ids: list[str]
    time_ids: torch.Tensor | None
    first: int
    total: int


class BatchStream(torch.utils.data.IterableDataset):
    """Micro-batches (Batch) from micro-step `start` on; weight maps from `regions`
    (curate_model.regions.load, one list per sample) when given. `share` (curate_model.distributed.
    World.share) picks this process's images of each micro-batch; it reads only those."""

    def __init__(self, ws: Workspace, samples, batch_size: int, resolution: int, seed: int, start: int = 0,
                 regions: list | None = None, share=None):
        self.ws, self.samples, self.regions, self.share = ws, samples, regions, share
        self.batch_size, self.sizes, self.seed, self.start = batch_size, buckets(resolution), seed, start

    def _read(self, sample: Sample) -> Image.Image:
        return to_rgb(decode(read_at(self.ws.root / sample.path, sample.offset, sample.size)))

    def __iter__(self):
        step, epoch = 0, 0
        while True:
            batches = epoch_batches(self.samples, self.batch_size, self.seed, epoch)
            for batch in batches:
                if step >= self.start:
                    size = self.sizes[bucket_of(self.samples[batch[0]].width, self.samples[batch[0]].height)]
                    mine = self.share(len(batch)) if self.share else slice(0, len(batch))
                    total, batch = len(batch), batch[mine]
                    if not batch:  # fewer images than processes
                        yield Batch(step, None, [], [], None, [], None, mine.start, total)
                        step += 1
                        continue
                    chosen = [self.samples[i] for i in batch]
                    pixels = pixels_to_tensor([fit(self._read(s), size) for s in chosen])
                    maps = None if self.regions is None else torch.from_numpy(np.stack([
                        regions.pixel_map(self.regions[i], (self.samples[i].width, self.samples[i].height), size)
                        for i in batch]))[:, None]
                    time_ids = torch.tensor([crop.sdxl_time_ids((s.width, s.height), size) for s in chosen],
                                            dtype=torch.float32)
                    yield Batch(step, pixels, [s.short for s in chosen], [s.dense for s in chosen], maps,
                                [s.id for s in chosen], time_ids, mine.start, total)
                step += 1
            epoch += 1
