"""An IVF index built as executor tasks, its inverted lists on disk (faiss OnDiskInvertedLists).

The recipe of faiss's demo_ondisk_ivf.py: the driver trains the IVF index once, on a sample it
reads shard by shard, and saves it empty (<name>.trained); a task per shard adds that shard's
vectors to a copy and writes it (<name>.parts/<shard>.index); the driver merges every part's
inverted lists into one <name>.<digest>.ivfdata (faiss merge_ondisk: a list at a time from
memory-mapped parts, so no process holds the vectors) and writes <name>.faiss, which names it.
Readers map the .ivfdata file (read_index): the lists stay on disk, the page cache keeps what a
search touches. A new shard adds a part and a merge; the training is not redone.

Codecs (`curate embed --index`): `ivf` stores 8-bit scalar-quantised vectors (a quarter of
float32), `ivf-sq4` 4-bit ones (an eighth). Product quantisation (IVF,PQ) was tried and left
out: faiss 1.15 took 160 s here to train it on 6,000 128-d vectors.
"""

import contextlib
import functools
import hashlib
import math
import os
import sys
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

CODECS = {"ivf": "SQ8", "ivf-sq4": "SQ4"}
TRAIN_ROWS = 200_000  # at most this many training vectors in the driver (1 GB at 1280-d)
NPROBE = 16


def nlist_for(n: int) -> int:
    """sqrt(n) lists, each with the >= 39 training points faiss asks for."""
    return max(1, min(round(math.sqrt(n)), n // 39, TRAIN_ROWS // 39))


def train(vectors: np.ndarray, n: int, codec: str) -> faiss.Index:
    """An empty IVF index for about n vectors, trained on `vectors` (float32)."""
    dim = vectors.shape[1]
    nlist = min(nlist_for(n), max(1, len(vectors) // 39))
    spec = f"IVF{nlist},{CODECS[codec]}"
    index = faiss.index_factory(dim, spec, faiss.METRIC_INNER_PRODUCT)
    index.train(np.ascontiguousarray(vectors, dtype=np.float32))
    index.nprobe = min(NPROBE, nlist)
    return index


@dataclass(frozen=True)
class Build:
    """Where one index's files live (picklable: the tasks get it)."""

    folder: str
    name: str

    def path(self, suffix: str) -> Path:
        return Path(self.folder) / f"{self.name}{suffix}"

    def part(self, shard: str) -> Path:
        return self.path(".parts") / f"{shard}.index"


def add_part(build: Build, read, rows: dict, shard: str) -> str:
    """Task: the trained index plus one shard's vectors, as <name>.parts/<shard>.index.
    `read(shard)` -> its vectors; rows[shard] = (rows of them to add, their index positions)."""
    out = build.part(shard)
    if not out.exists():
        index = faiss.read_index(str(build.path(".trained")))
        local, positions = rows[shard]
        vectors = read(shard)
        index.add_with_ids(np.ascontiguousarray(vectors[np.asarray(local, np.int64)], dtype=np.float32),
                           np.asarray(positions, np.int64))
        tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
        faiss.write_index(index, str(tmp))
        os.replace(tmp, out)
    return shard


def fill(build: Build, read, rows: dict, executor) -> faiss.Index:
    """Add every shard of `rows` as a part (tasks on `executor`), then merge all parts on disk
    and write <name>.faiss; returns the merged index (its lists memory-mapped)."""
    from faiss.contrib.ondisk import merge_ondisk

    build.path(".parts").mkdir(parents=True, exist_ok=True)
    for _ in executor.map(functools.partial(add_part, build, read, rows), sorted(rows)):
        pass
    parts = sorted(build.path(".parts").glob("*.index"))
    digest = hashlib.sha256("\n".join(p.name for p in parts).encode()).hexdigest()[:12]
    data = build.path(f".{digest}.ivfdata")
    data.unlink(missing_ok=True)  # a merge killed halfway
    index = faiss.read_index(str(build.path(".trained")))
    with _stdout_to_stderr():
        merge_ondisk(index, [str(p) for p in parts], str(data))
    tmp = build.path(f".faiss.tmp-{os.getpid()}")
    faiss.write_index(index, str(tmp))
    os.replace(tmp, build.path(".faiss"))
    for old in Path(build.folder).glob(f"{build.name}.*.ivfdata"):
        if old != data:
            old.unlink()
    return read_index(build.path(".faiss"))


@contextlib.contextmanager
def _stdout_to_stderr():
    """faiss's C++ prints progress lines to stdout, where `curate` prints its results."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def read_index(path: Path) -> faiss.Index:
    """The lists stay in the .ivfdata file, which OnDiskInvertedLists maps read-only (adding
    IO_FLAG_MMAP, meant for in-memory lists, crashes faiss 1.15's search on them); found beside
    the index file when the workspace was moved."""
    try:
        return faiss.read_index(str(path))
    except RuntimeError:
        with _stdout_to_stderr():
            return faiss.read_index(str(path), faiss.IO_FLAG_ONDISK_SAME_DIR)


def save_trained(build: Build, index: faiss.Index) -> None:
    tmp = build.path(f".trained.tmp-{os.getpid()}")
    faiss.write_index(index, str(tmp))
    os.replace(tmp, build.path(".trained"))


def remove(build: Build) -> None:
    """Every file of one on-disk index (before a rebuild as another kind)."""
    for p in [*build.path(".parts").glob("*.index"), build.path(".trained"),
              *Path(build.folder).glob(f"{build.name}.*.ivfdata")]:
        p.unlink(missing_ok=True)
