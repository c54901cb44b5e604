"""Opt-in, never a default: an `aesthetic` score from a head you supply, over the vectors
`curate embed` stored, for example LAION's improved aesthetic predictor
(`sac+logos+ava1-l14-linearMSE.pth`, an MLP over open_clip ViT-L-14 OpenAI embeddings). No
aesthetic weights ship with curate: none is on a reachable registry.

A head is a torch state dict of Linear layers applied in order with nothing between them (the
LAION MLP's dropouts do nothing at inference), ending in one output: keys `<prefix>.weight` /
`<prefix>.bias` ordered by the number in the prefix (`layers.0` ... `layers.7`), or a bare
`weight`/`bias` (a linear head). It is read with weights_only: no pickled code runs.
"""

import functools
import re
from pathlib import Path

import numpy as np

from curate.errors import UserError


@functools.cache
def load_head(path: str) -> list[tuple[np.ndarray, np.ndarray]]:
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise UserError(f"--aesthetic {path}: no such file") from None
    except Exception as err:  # noqa: BLE001 - torch raises many kinds for a file that is not a state dict
        raise UserError(f"--aesthetic {path}: not a torch state dict ({type(err).__name__})") from None
    state = state.get("state_dict", state) if isinstance(state, dict) else state
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise UserError(f"--aesthetic {path}: expected a state dict of tensors")
    prefixes = sorted({k.rsplit(".", 1)[0] if "." in k else "" for k in state},
                      key=lambda p: [int(n) for n in re.findall(r"\d+", p)])
    layers = []
    for p in prefixes:
        w, b = state.get(f"{p}.weight" if p else "weight"), state.get(f"{p}.bias" if p else "bias")
        if w is None or b is None or w.ndim != 2 or b.shape != (w.shape[0],):
            raise UserError(f"--aesthetic {path}: {p or 'the head'} is not a Linear layer (weight [out, in] and bias [out])")
        layers.append((w.float().numpy().astype(np.float64), b.float().numpy().astype(np.float64)))
    if not layers or layers[-1][0].shape[0] != 1 or any(a[0].shape[0] != z[0].shape[1] for a, z in zip(layers, layers[1:])):
        raise UserError(f"--aesthetic {path}: the Linear layers must chain and end in one output")
    return layers


def scores(path: str, vectors: np.ndarray) -> np.ndarray:
    """The head's output for each row of `vectors` [N, dim]."""
    layers = load_head(path)
    if vectors.shape[1] != layers[0][0].shape[1]:
        raise UserError(f"--aesthetic {path} takes {layers[0][0].shape[1]}-d vectors; the embeddings are "
                        f"{vectors.shape[1]}-d (pick their embedder with --embedder)")
    x = vectors.astype(np.float64)
    for w, b in layers:
        x = x @ w.T + b
    return x[:, 0]


def name(path: str, embedder: str) -> str:
    return f"opt-in head {Path(path).name} on {embedder} embeddings"
