"""What the frozen encoders make of the training set, computed once: the text conditioning of
each caption and, with a VAE, the latents of each image at its bucket's size.

Entries are computed one at a time (a batch would make the numbers depend on which captions or
images came together first, and a resumed run would drift from an uninterrupted one), so a run
that reads them gives the same numbers as one that computes them. With `--cache-encodings`
they are also kept on disk per shard set, `DATASET/cache/<set>/<kind>-<encoder>.safetensors`,
keyed by what they encode (an image's id, the sha256 of its bytes, at a bucket size; a caption's
sha256), so a second run, or a --resume, of the same encoder reads them instead of running the
VAE and text encoders again. `<encoder>` is a hash of the encoder's weights and config: another
base never reads them. A file is read whole into memory.
"""

import hashlib
import json
import os
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file


def identity(*modules) -> str:
    """A short hash of modules' classes, configs and weights."""
    digest = hashlib.sha256()
    for module in modules:
        config = getattr(module, "config", None)
        config = config.to_dict() if hasattr(config, "to_dict") else dict(config or {})
        digest.update(type(module).__name__.encode() + json.dumps(config, sort_keys=True, default=str).encode())
        for name, tensor in sorted(module.state_dict().items()):
            digest.update(name.encode())
            digest.update(tensor.detach().cpu().contiguous().view(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()[:16]


def caption_key(caption: str) -> str:
    return hashlib.sha256(caption.encode()).hexdigest()[:32]


class Encodings:
    """key -> {field: tensor}. `keep`: hold what was computed (a cache); `path`: and read it
    from and write it to that file."""

    def __init__(self, path: Path | None = None, keep: bool = True):
        self.path, self.keep, self.computed = path, keep or path is not None, 0
        self.entries: dict[str, dict[str, torch.Tensor]] = {}
        if path is not None and path.is_file():
            try:
                flat = load_file(path)
            except (SafetensorError, OSError):
                flat = {}  # a damaged cache is computed again
            for name, tensor in flat.items():
                key, _, field = name.rpartition(".")
                self.entries.setdefault(key, {})[field] = tensor
        self.loaded, self.dirty = len(self.entries), False

    @torch.no_grad()
    def batch(self, keys: list[str], compute) -> dict[str, torch.Tensor]:
        """Each field stacked over `keys`; compute(i) -> {field: tensor} for keys[i] not held."""
        rows = []
        for i, key in enumerate(keys):
            row = self.entries.get(key)
            if row is None:
                row = {k: v.detach().cpu().contiguous() for k, v in compute(i).items()}
                self.computed += 1
                if self.keep:
                    self.entries[key], self.dirty = row, True
            rows.append(row)
        return {k: torch.stack([r[k] for r in rows]) for k in rows[0]}

    def save(self) -> None:
        """Write what is new (temp file + rename); a no-op without a path or anything new."""
        if self.path is None or not self.dirty:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.tmp-{os.getpid()}")
        save_file({f"{k}.{f}": t for k, row in self.entries.items() for f, t in row.items()}, tmp)
        os.replace(tmp, self.path)
        self.dirty = False
