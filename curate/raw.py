"""Reading stored images back out of a dataset's raw WebDataset shards."""

import functools
import hashlib
import io
import tarfile
from pathlib import Path

from PIL import Image

from curate.errors import UserError
from curate.manifest import refetch
from curate.workspace import Workspace

TAR_ERRORS = (tarfile.TarError, OSError, ValueError, EOFError)  # ValueError: a garbled header field

IMAGE_EXTENSIONS = ("jpg", "png", "webp")


def iter_shard_images(ws: Workspace, shard: str, keys=None):
    """(key, stored image bytes) in tar order, for a raw shard (only `keys`, when given)."""
    wanted = None if keys is None else set(keys)
    path = ws.raw / f"{shard}.tar"
    try:
        with tarfile.open(path) as tf:
            for info in tf:
                key, _, ext = info.name.partition(".")
                if ext in IMAGE_EXTENSIONS and info.isfile() and (wanted is None or key in wanted):
                    yield key, tf.extractfile(info).read()
    except TAR_ERRORS as err:
        raise damaged(path, f"damaged ({err})") from None


def damaged(path: Path, what: str) -> UserError:
    """A raw shard that is missing or no longer reads: the file, and how to fetch it again."""
    return UserError(f"raw shard {path} is {what}; {refetch(Path(path).name.removesuffix('.tar'))}")


def read_shard_images(ws: Workspace, shard: str, keys=None) -> dict[str, bytes]:
    return dict(iter_shard_images(ws, shard, keys))


def images_by_id(ws: Workspace, ids) -> dict[str, bytes]:
    """The stored bytes of each id (its first ok images row: byte copies share them), each raw
    shard read once, for the reports that show a few images of a dataset."""
    from curate.manifest import read_table

    wanted, where = set(ids), {}
    for r in read_table(ws, "images").select(["id", "shard", "key", "status"]).to_pylist():
        if r["status"] == "ok" and r["id"] in wanted:
            where.setdefault(r["id"], (r["shard"], r["key"]))
    keys: dict[str, set[str]] = {}
    for shard, key in where.values():
        keys.setdefault(shard, set()).add(key)
    data = {(s, k): b for s, ks in keys.items() for k, b in read_shard_images(ws, s, ks).items()}
    return {id_: data[at] for id_, at in where.items()}


def member_offsets(path: Path) -> dict[str, tuple[int, int]]:
    """key -> (data offset, size) of each image in a WebDataset tar (cached until it changes)."""
    path = Path(path)
    return _member_offsets(str(path), path.stat().st_mtime_ns)


@functools.lru_cache(maxsize=4096)
def _member_offsets(path: str, _mtime_ns: int) -> dict[str, tuple[int, int]]:
    # Read off the 512-byte ustar headers: readers (audit, training) take a few images from
    # many shards, and tarfile builds a member object per header: ~0.2 s a 1,000-member shard,
    # this ~5 ms. Anything but plain file headers (pax, GNU long names) goes through tarfile.
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


def read_at(path: Path, offset: int, size: int) -> bytes:
    with open(path, "rb") as fh:
        fh.seek(offset)
        return fh.read(size)


def read_member(path: Path, key: str) -> bytes:
    """The stored image bytes of `key` in a WebDataset tar, read by seeking to it."""
    return read_at(path, *member_offsets(path)[key])


def read_stored(ws: Workspace, shard: str, key: str, id_: str) -> bytes:
    """An ingested image's stored bytes, checked against its id (the sha256 of those bytes):
    a raw shard damaged after ingest must not pass its damage on to shards or audits."""
    path = ws.raw / f"{shard}.tar"
    if not path.exists():
        raise damaged(path, "missing")
    try:
        data = read_member(path, key)
    except KeyError:
        raise damaged(path, f"without its image {key}") from None
    except TAR_ERRORS as err:
        raise damaged(path, f"damaged ({err})") from None
    if hashlib.sha256(data).hexdigest() != id_:
        raise damaged(path, f"damaged: the bytes of its image {key} no longer match their id")
    return data


def decode(data: bytes, draft: tuple[int, int] | None = None) -> Image.Image:
    """Decoded image; with `draft`, a JPEG is decoded straight at the smallest DCT scale
    (1/2, 1/4, 1/8) that stays at least that size: several times less work for an embedder."""
    image = Image.open(io.BytesIO(data))
    if draft:
        image.draft("RGB", draft)
    image.load()
    return image


def to_rgb(image: Image.Image) -> Image.Image:
    """RGB, with transparency matted on white (as img2dataset does when it re-encodes)."""
    if image.mode in ("RGBA", "LA") or (image.mode == "P" and "transparency" in image.info):
        image = image.convert("RGBA")
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image, mask=image.getchannel("A"))
        return background
    return image if image.mode == "RGB" else image.convert("RGB")
