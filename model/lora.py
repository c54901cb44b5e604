"""`--lora RANK`: low-rank adapters (peft) on the UNet's attention projections instead of
training every weight: a small file that leaves the base model as it was.

Saved twice, both safetensors:
- `pytorch_lora_weights.safetensors`, diffusers' format: `pipe.load_lora_weights(DIR)` loads it.
- `lora_kohya.safetensors`, the single-file kohya-ss/A1111 convention ComfyUI and A1111 read:
  `lora_unet_<diffusers module path, dots as underscores>.lora_down.weight` (rank x in),
  `.lora_up.weight` (out x rank) and `.alpha` (scalar; the update is up @ down * alpha / rank),
  as kohya's networks/lora.py names modules of a diffusers-layout UNet (SD 1.x/2.x).
"""

from pathlib import Path

import torch

from curate.errors import UserError

TARGETS = ["to_q", "to_k", "to_v", "to_out.0"]  # self- and cross-attention of every transformer block
WEIGHTS = "pytorch_lora_weights.safetensors"
KOHYA = "lora_kohya.safetensors"
ADAPTER = "curate"


def check_rank(rank: int | None) -> None:
    if rank is not None and rank <= 0:
        raise UserError(f"--lora {rank}: the rank must be a positive integer (4-64 is usual)")


def add(unet, rank: int) -> None:
    """Freeze the UNet and give its attention projections trainable rank-`rank` adapters. alpha =
    rank, so the update is up @ down unscaled; up starts at zero (peft's default), so step 0 is
    the base model exactly."""
    from peft import LoraConfig

    unet.requires_grad_(False)
    unet.add_adapter(LoraConfig(r=rank, lora_alpha=rank, init_lora_weights=True, target_modules=TARGETS),
                     adapter_name=ADAPTER)


def _peft_state(unet) -> dict[str, torch.Tensor]:
    from peft.utils import get_peft_model_state_dict

    return {k: v.detach().float().cpu().contiguous() for k, v in get_peft_model_state_dict(unet, adapter_name=ADAPTER).items()}


def kohya_state(unet) -> dict[str, torch.Tensor]:
    """The adapters under kohya's key names (see the module docstring)."""
    from diffusers.utils import convert_state_dict_to_kohya

    state = convert_state_dict_to_kohya({f"unet.{k}": v for k, v in _peft_state(unet).items()})
    return {k: v.float().contiguous() for k, v in state.items()}  # alpha too: A1111 reads it as a float


def save(out: Path, unet, base: str, rank: int) -> list[Path]:
    """Both LoRA files into `out`; the kohya one carries its network's settings as metadata."""
    from diffusers import StableDiffusionPipeline
    from safetensors.torch import save_file

    out.mkdir(parents=True, exist_ok=True)
    StableDiffusionPipeline.save_lora_weights(out, unet_lora_layers=_peft_state(unet), weight_name=WEIGHTS,
                                              safe_serialization=True)
    metadata = {"ss_network_module": "networks.lora", "ss_network_dim": str(rank), "ss_network_alpha": str(rank),
                "ss_base_model": str(base), "ss_training_comment": "curate train --lora"}
    save_file(kohya_state(unet), out / KOHYA, metadata=metadata)
    return [out / WEIGHTS, out / KOHYA]


def apply(pipe, folder, scale: float = 1.0) -> None:
    """Load a `curate train --lora` folder (or any diffusers-format LoRA folder) into a pipeline
    at `scale`: through diffusers' own loader where the pipeline has one, else into its UNet."""
    folder = Path(folder)
    if not (folder / WEIGHTS).is_file():
        raise UserError(f"--lora {folder}: no {WEIGHTS} there (a `curate train --lora` output folder)")
    try:
        if hasattr(pipe, "load_lora_weights"):
            pipe.load_lora_weights(folder, weight_name=WEIGHTS, adapter_name=ADAPTER)
            pipe.set_adapters([ADAPTER], adapter_weights=[scale])
        else:
            pipe.unet.load_lora_adapter(folder, weight_name=WEIGHTS, prefix="unet", adapter_name=ADAPTER)
            pipe.unet.set_adapters([ADAPTER], weights=[scale])
    except (ValueError, RuntimeError, KeyError) as err:
        raise UserError(f"--lora {folder} does not fit this model ({' '.join(str(err).split())[:200]})") from None
