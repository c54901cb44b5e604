"""A transformers CLIP or SigLIP folder: `hf:LOCAL_DIR`, loaded offline (local_files_only)."""

import functools
from pathlib import Path

import numpy as np
from PIL import Image

from curate import torchvision_compat  # noqa: F401 (before transformers' vision code)
from curate.embedders import normalise
from curate.raw import to_rgb
from curate.errors import UserError


def _features(output):
    """get_*_features return a tensor, or (transformers 5) an output whose pooler_output is it."""
    return getattr(output, "pooler_output", output)


class HFClip:
    def __init__(self, name: str):
        import torch
        from transformers import AutoImageProcessor, AutoModel

        folder = Path(name.removeprefix("hf:"))
        if not (folder / "config.json").is_file():
            raise UserError(f"embedder {name!r}: {folder} is not a transformers model folder (no config.json)")
        try:
            self.model = AutoModel.from_pretrained(folder, local_files_only=True).eval()
            self.processor = AutoImageProcessor.from_pretrained(folder, local_files_only=True)
        except Exception as err:  # noqa: BLE001 - any loading failure is the folder's fault
            raise UserError(f"embedder {name!r}: cannot load ({type(err).__name__}: {err})") from None
        if not hasattr(self.model, "get_image_features"):
            raise UserError(f"embedder {name!r}: {type(self.model).__name__} is not a CLIP/SigLIP-style model")
        self.name, self.folder, self.torch = name, folder, torch
        self.dim = int(self.model.config.projection_dim if hasattr(self.model.config, "projection_dim")
                       else self.model.config.text_config.hidden_size)

    def preprocess(self, image: Image.Image) -> np.ndarray:
        return self.processor(images=to_rgb(image), return_tensors="np")["pixel_values"][0]

    def embed_batch(self, batch: np.ndarray) -> np.ndarray:
        with self.torch.no_grad():
            out = self.model.get_image_features(pixel_values=self.torch.from_numpy(batch))
        return normalise(_features(out).numpy())

    @functools.cached_property
    def tokenizer(self):
        """Loaded on first use: image embedding needs no tokenizer files."""
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(self.folder, local_files_only=True)

    def embed_texts(self, texts: list[str]) -> np.ndarray:
        tokens = self.tokenizer(texts, padding="max_length", truncation=True, return_tensors="pt")
        with self.torch.no_grad():
            out = self.model.get_text_features(**tokens)
        return normalise(_features(out).numpy())
