"""The training images nearest to each sample: FAISS k-NN over the dataset's index, then the
neighbours' pixels read back from the raw shards, and how often each was duplicated."""

import functools
import tarfile

import numpy as np

from curate.dedupe.tiers import Thresholds as DedupeThresholds
from curate.query import fetch
from curate.raw import IMAGE_EXTENSIONS, decode, to_rgb
from curate.workspace import Workspace


def search(index, vectors: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """(cosines, index rows), (n, k) each, best first; rows are -1 past the end of a small index."""
    return index.search(np.ascontiguousarray(vectors, dtype=np.float32), min(k, index.ntotal))


def locations(ws: Workspace, ids: set[str]) -> dict[str, dict]:
    """id -> its first-ingested images row (shard, key, url, text) and its byte copies."""
    if not ids:
        return {}
    wanted = ", ".join("'" + i.replace("'", "''") + "'" for i in sorted(ids))
    rows = fetch(ws, f"""
        SELECT id, shard, key, url, text, count(*) OVER (PARTITION BY id) AS copies FROM images
        WHERE status = 'ok' AND id IN ({wanted})
        QUALIFY row_number() OVER (PARTITION BY id ORDER BY shard, key) = 1""").to_pylist()
    return {r["id"]: r for r in rows}


@functools.lru_cache(maxsize=4096)
def _member_offsets(path: str, _mtime_ns: int) -> dict[str, tuple[int, int]]:
    """key -> (data offset, size) of each image in a raw shard, read off its 512-byte ustar
    headers. An audit reads a few images from up to one shard per neighbour; tarfile builds a
    member object per header and takes ~0.2 s a 1,000-member shard, this ~5 ms. Anything but
    plain file headers (pax, GNU long names) goes through tarfile."""
    offsets, pos = {}, 0
    with open(path, "rb") as fh:
        while True:
            fh.seek(pos)
            header = fh.read(512)
            if len(header) < 512 or not header.strip(b"\0"):
                return offsets
            if header[156:157] not in (b"0", b"\0") or header[124] & 0x80 or header[345]:
                return _tarfile_offsets(path)
            size = int(header[124:136].strip(b"\0 ") or b"0", 8)
            key, _, ext = header[:100].split(b"\0", 1)[0].decode().partition(".")
            if ext in IMAGE_EXTENSIONS:
                offsets[key] = (pos + 512, size)
            pos += 512 + -(-size // 512) * 512


def _tarfile_offsets(path: str) -> dict[str, tuple[int, int]]:
    with tarfile.open(path) as tf:
        return {info.name.partition(".")[0]: (info.offset_data, info.size) for info in tf
                if info.isfile() and info.name.partition(".")[2] in IMAGE_EXTENSIONS}


def stored_bytes(ws: Workspace, where: dict[str, dict]) -> dict[str, bytes]:
    """id -> the stored image's bytes, for ids located by `locations`."""
    out = {}
    for id_, row in where.items():
        path = ws.raw / f"{row['shard']}.tar"
        offset, size = _member_offsets(str(path), path.stat().st_mtime_ns)[row["key"]]
        with open(path, "rb") as fh:
            fh.seek(offset)
            out[id_] = fh.read(size)
    return out


def read_images(ws: Workspace, where: dict[str, dict], draft: tuple[int, int]) -> dict[str, object]:
    """id -> decoded RGB image (JPEGs decoded at the smallest scale that still covers `draft`)."""
    return {id_: to_rgb(decode(data, draft=draft)) for id_, data in stored_bytes(ws, where).items()}


def cluster_sizes(ws: Workspace, index, ids: list[str], rows: list[int]) -> dict[str, int]:
    """How many `images` rows were in each training image's duplicate cluster before dedupe
    (the images at index `rows`).

    From manifests/duplicates when dedupe has run. Without it, estimated the way dedupe's
    semantic tier would see it: the images within the dedupe cosine threshold of the image in
    the index (one hop, no union-find), each counted with its byte-identical copies.
    """
    if ws.partitions("duplicates"):
        wanted = ", ".join("'" + ids[r].replace("'", "''") + "'" for r in rows)
        found = fetch(ws, f"SELECT id, cluster_size FROM duplicates WHERE id IN ({wanted})").to_pylist()
        return {r["id"]: r["cluster_size"] for r in found}
    copies = {r["id"]: r["n"] for r in
              fetch(ws, "SELECT id, count(*) AS n FROM images WHERE status = 'ok' GROUP BY id").to_pylist()}
    if hasattr(index, "make_direct_map"):  # IVF indexes reconstruct only through a direct map
        index.make_direct_map()
    vectors = np.stack([index.reconstruct(int(r)) for r in rows])
    lims, _, members = index.range_search(vectors, DedupeThresholds().semantic)
    return {ids[r]: int(sum(copies.get(ids[m], 1) for m in members[lims[n]:lims[n + 1]]))
            for n, r in enumerate(rows)}
