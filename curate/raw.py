"""Reading stored images back out of a dataset's raw WebDataset shards."""

import io
import tarfile

from PIL import Image

from curate.workspace import Workspace

IMAGE_EXTENSIONS = ("jpg", "png", "webp")


def read_shard_images(ws: Workspace, shard: str, keys=None) -> dict[str, bytes]:
    """key -> stored image bytes for a raw shard (only `keys`, when given)."""
    wanted = None if keys is None else set(keys)
    images = {}
    with tarfile.open(ws.raw / f"{shard}.tar") as tf:
        for info in tf:
            key, _, ext = info.name.partition(".")
            if ext in IMAGE_EXTENSIONS and info.isfile() and (wanted is None or key in wanted):
                images[key] = tf.extractfile(info).read()
    return images


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image
