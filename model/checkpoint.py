"""Training checkpoints as safetensors: `checkpoints/step-NNNNNNN.safetensors`, every tensor of
the state (trained weights, optimizer moments, EMA weights) stored as a tensor, everything else
(step, losses, settings, the optimizer's hyper-parameters, the nesting) as JSON in the file's
metadata. Reading one unpickles nothing, so a crafted file cannot run code; a damaged one does
not parse and is skipped for the one before it.
"""

import json
import logging
import os
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save_file

from curate.errors import UserError

log = logging.getLogger("curate.train")
PARTS = {"step": int, "unet": dict, "optimizer": dict, "ema": dict, "losses": list}
KEY = "curate_checkpoint"  # the metadata entry that holds the JSON skeleton
KEEP = 2


def paths(out: Path) -> list[Path]:
    return sorted((out / "checkpoints").glob("step-*.safetensors"))


def _flatten(value, path: str, tensors: dict):
    """The JSON skeleton of `value`, its tensors moved into `tensors` under their path. Dicts
    keep their keys' types (an optimizer's state is keyed by int)."""
    if isinstance(value, torch.Tensor):
        tensors[path] = value.detach().cpu().contiguous()
        return {"t": path}
    if isinstance(value, dict):
        return {"d": [[k, _flatten(v, f"{path}/{k}", tensors)] for k, v in value.items()]}
    if isinstance(value, (list, tuple)):
        return {"l": [_flatten(v, f"{path}/{i}", tensors) for i, v in enumerate(value)]}
    if value is None or isinstance(value, (bool, int, float, str)):
        return {"v": value}
    raise TypeError(f"a checkpoint holds tensors and plain data, not {type(value).__name__}")


def _unflatten(node, tensors: dict):
    if "t" in node:
        return tensors[node["t"]]
    if "d" in node:
        return {k: _unflatten(v, tensors) for k, v in node["d"]}
    if "l" in node:
        return [_unflatten(v, tensors) for v in node["l"]]
    return node["v"]


def save(out: Path, state: dict) -> None:
    """Atomically (temp file + rename), keeping the last KEEP."""
    path = out / "checkpoints" / f"step-{state['step']:07d}.safetensors"
    path.parent.mkdir(parents=True, exist_ok=True)
    tensors = {}
    skeleton = _flatten(state, "", tensors)
    # safetensors refuses tensors that share memory; bitsandbytes' 8-bit AdamW gives every
    # parameter's state the same quantization maps. Each copy is stored (and restored) on its own.
    seen = set()
    for name, tensor in tensors.items():
        storage = tensor.untyped_storage().data_ptr()
        if storage in seen:
            tensors[name] = tensor.clone()
        seen.add(storage)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    save_file(tensors, tmp, metadata={KEY: json.dumps(skeleton)})
    os.replace(tmp, path)
    for old in paths(out)[:-KEEP]:
        old.unlink()


def read(path: Path, device: str = "cpu") -> dict | None:
    """A checkpoint's state; None when the file is damaged (truncated, garbled, not ours)."""
    try:
        with safe_open(path, "pt", device=device) as fh:
            tensors = {k: fh.get_tensor(k) for k in fh.keys()}
            skeleton = json.loads((fh.metadata() or {})[KEY])
        state = _unflatten(skeleton, tensors)
    except (SafetensorError, OSError, ValueError, KeyError, TypeError):
        return None
    if not isinstance(state, dict) or any(not isinstance(state.get(k), t) for k, t in PARTS.items()):
        return None
    return state


def resume_state(out: Path, device: str, fingerprint: str, shard_set: str) -> dict | None:
    """The newest checkpoint that reads (falling back past damaged ones, a line each), if it was
    trained on this selection of the shard set."""
    found = paths(out)
    legacy = sorted((out / "checkpoints").glob("step-*.pt"))
    if legacy and not found:
        raise UserError(f"checkpoint {legacy[-1]} is a torch pickle (an older curate's format); it was not loaded: "
                        "train into a new --out, or --overwrite")
    for path in reversed(found):
        state = read(path, device)
        if state is None:
            log.warning("checkpoint %s is damaged; %s", path.name,
                        "trying the one before it" if path != found[0] else "no earlier checkpoint")
            continue
        if not isinstance(state.get("shards_fingerprint"), str):
            # without it, nothing says the checkpoint was trained on this selection
            raise UserError(f"checkpoint {path} does not record the shard set it was trained on; "
                            "train into a new --out")
        if state["shards_fingerprint"] != fingerprint:
            # another selection (a new query, dedupe or caption run) would not continue the same run
            raise UserError(f"the shard set {shard_set!r} has changed since the checkpoints in {out} were written; "
                            "train into a new --out, or resume with the query and manifests of that run")
        return state
    if found:
        raise UserError(f"no checkpoint in {out / 'checkpoints'} reads (all damaged); delete them to start "
                        "from scratch, or train into a new --out")
    return None
