"""OpenCLIP models: `open_clip:ARCH:PRETRAINED`, PRETRAINED a hub tag (online users), a local
weights file, or `local-dir:/folder`. No CLIP weights install offline here: bring your own."""

import logging
from pathlib import Path

import numpy as np
from PIL import Image

from curate import torchvision_compat  # noqa: F401 (before open_clip imports torchvision)
from curate.embedders import normalise
from curate.raw import to_rgb
from curate.errors import UserError


class OpenClip:
    def __init__(self, name: str):
        import open_clip
        import torch

        parts = name.split(":", 2)
        if len(parts) != 3 or not parts[1] or not parts[2]:
            # No default for PRETRAINED: an untrained model would embed noise.
            raise UserError(f"embedder {name!r}: expected open_clip:ARCH:PRETRAINED, PRETRAINED a hub tag, "
                            f"a weights file or local-dir:FOLDER (e.g. open_clip:ViT-B-32:/models/vit-b-32.bin)")
        _, arch, pretrained = parts
        local = pretrained.removeprefix("local-dir:")
        if (local != pretrained or "/" in pretrained) and not Path(local).exists():
            raise UserError(f"embedder {name!r}: cannot load: {local} does not exist")
        logging.disable(logging.ERROR)  # open_clip logs its failures on the root logger as well
        try:
            model, _, self.transform = open_clip.create_model_and_transforms(arch, pretrained=pretrained)
            self.tokenizer = open_clip.get_tokenizer(arch)
        except Exception as err:  # noqa: BLE001 - hub, file and config errors all mean "cannot load"
            raise UserError(f"embedder {name!r}: cannot load ({type(err).__name__}: {err})") from None
        finally:
            logging.disable(logging.NOTSET)
        self.name, self.model, self.torch = name, model.eval(), torch
        with torch.no_grad():
            self.dim = int(model.encode_text(self.tokenizer(["a"])).shape[-1])

    def preprocess(self, image: Image.Image) -> np.ndarray:
        return self.transform(to_rgb(image)).numpy()

    def embed_batch(self, batch: np.ndarray) -> np.ndarray:
        with self.torch.no_grad():
            return normalise(self.model.encode_image(self.torch.from_numpy(batch)).numpy())

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        with self.torch.no_grad():
            return normalise(self.model.encode_text(self.tokenizer(texts)).numpy())
