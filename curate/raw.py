"""Reading stored images back out of a dataset's raw WebDataset shards."""

import io
import tarfile

from PIL import Image

from curate.workspace import Workspace

IMAGE_EXTENSIONS = ("jpg", "png", "webp")


def iter_shard_images(ws: Workspace, shard: str, keys=None):
    """(key, stored image bytes) in tar order, for a raw shard (only `keys`, when given)."""
    wanted = None if keys is None else set(keys)
    with tarfile.open(ws.raw / f"{shard}.tar") as tf:
        for info in tf:
            key, _, ext = info.name.partition(".")
            if ext in IMAGE_EXTENSIONS and info.isfile() and (wanted is None or key in wanted):
                yield key, tf.extractfile(info).read()


def read_shard_images(ws: Workspace, shard: str, keys=None) -> dict[str, bytes]:
    return dict(iter_shard_images(ws, shard, keys))


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
