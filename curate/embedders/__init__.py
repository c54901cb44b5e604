"""Image embedders: a name, a dimension, and vectors that are L2-normalised float32.

`preprocess` (CPU work on one decoded image) is apart from `embed_batch` (the model on a
stacked batch) so that the embed stage can run preprocessing in threads while the model runs.
Names: `efficientnet-lite0` (default), `-lite1`, `-lite2`; `open_clip:ARCH:PRETRAINED`;
`hf:LOCAL_DIR`. The name is stored with every vector, so an index never mixes two.
"""

import functools
import re
from typing import Protocol

import numpy as np
from PIL import Image

from curate.errors import UserError

DEFAULT = "efficientnet-lite0"


class Embedder(Protocol):
    name: str
    dim: int

    def preprocess(self, image: Image.Image) -> np.ndarray: ...

    def embed_batch(self, batch: np.ndarray) -> np.ndarray: ...


def embed_images(embedder: Embedder, images: list[Image.Image]) -> np.ndarray:
    """Convenience for small lists: preprocess and embed in one go."""
    return embedder.embed_batch(np.stack([embedder.preprocess(im) for im in images]))


def slug(name: str) -> str:
    """A file-name-safe form of an embedder name (for index/ and partition names)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_")


def normalise(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    return vectors / np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)


def load(name: str, threads: int | None = None) -> Embedder:
    """The embedder for a name; an unknown name or missing weights is a UserError."""
    if name.startswith("efficientnet-lite"):
        from curate.embedders.efficientnet import EfficientNetLite

        return EfficientNetLite(name, threads)
    if name.startswith("open_clip:"):
        from curate.embedders.open_clip import OpenClip

        return OpenClip(name)
    if name.startswith("hf:"):
        from curate.embedders.hf import HFClip

        return HFClip(name)
    raise UserError(f"unknown embedder {name!r}; use efficientnet-lite0/1/2, open_clip:ARCH:PRETRAINED or hf:LOCAL_DIR")


@functools.cache
def cached(name: str, threads: int | None = None) -> Embedder:
    """One loaded model per process and name: stages reuse it across shards."""
    return load(name, threads)
