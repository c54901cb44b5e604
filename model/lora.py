"""`--lora RANK`: low-rank adapters (peft) on the UNet's attention projections, and with
`--lora-text-encoder` on the CLIP text encoder(s) too, instead of training every weight: a small
file that leaves the base model as it was.

Saved twice, both safetensors:
- `pytorch_lora_weights.safetensors`, diffusers' format: `pipe.load_lora_weights(DIR)` loads it.
  Keys `unet.<module>.lora_A.weight` / `.lora_B.weight`, and `text_encoder.text_model.<module>...`
  (SDXL: also `text_encoder_2.text_model.<module>...`).
- `lora_kohya.safetensors`, the single-file kohya-ss/A1111 convention ComfyUI and A1111 read:
  `lora_unet_<diffusers module path, dots as underscores>.lora_down.weight` (rank x in),
  `.lora_up.weight` (out x rank) and `.alpha` (scalar; the update is up @ down * alpha / rank),
  as kohya's networks/lora.py names modules of a diffusers-layout UNet; the text encoder's as
  `lora_te_text_model_<module path>` (SD 1.x/2.x, one encoder) or `lora_te1_` / `lora_te2_`
  (SDXL's two).
"""

from pathlib import Path

import torch

from curate.errors import UserError
from curate_model import base

TARGETS = ["to_q", "to_k", "to_v", "to_out.0"]  # self- and cross-attention of every transformer block
# The bundled UNet has attention at its 8x8 level only: adapters there alone did not learn a new
# subject (tools/measure_adaptation.py concept: loss 0.31 after 400 steps, its samples noise), so
# on it they also cover the rest of each transformer block and the ResNet blocks, as kohya's
# LoCon / conv_dim networks do (loss 0.14, the subject drawn).
BUNDLED_TARGETS = TARGETS + ["proj_in", "proj_out", "ff.net.0.proj", "ff.net.2", "conv1", "conv2", "time_emb_proj"]
TEXT_TARGETS = ["q_proj", "k_proj", "v_proj", "out_proj"]  # self-attention of every CLIP text layer
WEIGHTS = "pytorch_lora_weights.safetensors"
KOHYA = "lora_kohya.safetensors"
ADAPTER = "curate"


def check_rank(rank: int | None) -> None:
    if rank is not None and rank <= 0:
        raise UserError(f"--lora {rank}: the rank must be a positive integer (4-64 is usual)")


def add(pipe, rank: int, text_encoder: bool = False) -> None:
    """Freeze the UNet (and text encoders) and give the attention projections (on the bundled
    model: BUNDLED_TARGETS) trainable rank-`rank` adapters. alpha = rank, so the update is up @ down unscaled; up starts at zero
    (peft's default), so step 0 is the base model exactly."""
    from peft import LoraConfig

    targets = BUNDLED_TARGETS if type(pipe).__name__ == "CuratePipeline" else TARGETS
    pipe.unet.requires_grad_(False)
    pipe.unet.add_adapter(LoraConfig(r=rank, lora_alpha=rank, init_lora_weights=True, target_modules=targets),
                          adapter_name=ADAPTER)
    if text_encoder:
        for encoder in base.text_encoders(pipe):
            encoder.add_adapter(LoraConfig(r=rank, lora_alpha=rank, init_lora_weights=True,
                                           target_modules=TEXT_TARGETS), adapter_name=ADAPTER)


def _peft_state(model) -> dict[str, torch.Tensor]:
    from peft.utils import get_peft_model_state_dict

    return {k: v.detach().float().cpu().contiguous() for k, v in get_peft_model_state_dict(model, adapter_name=ADAPTER).items()}


def _adapted(pipe) -> dict[str, dict[str, torch.Tensor]]:
    """The adapters per part, by the part's name in the pipeline (unet, text_encoder, text_encoder_2).
    Text encoder modules keep CLIP's `text_model.` path, which transformers 5 dropped from its
    module names: the name every other LoRA tool knows (diffusers reads both)."""
    adapted = {"unet": _peft_state(pipe.unet)}
    for name in base.TEXT_ENCODERS:
        if getattr(getattr(pipe, name, None), "peft_config", None):
            state = _peft_state(getattr(pipe, name))
            adapted[name] = {k if k.startswith(("text_model.", "text_projection.")) else f"text_model.{k}": v
                             for k, v in state.items()}
    return adapted


def kohya_state(pipe) -> dict[str, torch.Tensor]:
    """The adapters under kohya's key names (see the module docstring)."""
    from diffusers.utils import convert_state_dict_to_kohya

    adapted = _adapted(pipe)
    state = convert_state_dict_to_kohya({f"{part}.{k}": v for part, s in adapted.items() for k, v in s.items()})
    if "text_encoder_2" not in adapted:  # one text encoder: kohya's SD 1.x/2.x name is lora_te_, not lora_te1_
        state = {k.replace("lora_te1_", "lora_te_", 1) if k.startswith("lora_te1_") else k: v for k, v in state.items()}
    return {k: v.float().contiguous() for k, v in state.items()}  # alpha too: A1111 reads it as a float


def save(out: Path, pipe, base_dir: str, rank: int) -> list[Path]:
    """Both LoRA files into `out`; the kohya one carries its network's settings as metadata."""
    from diffusers import StableDiffusionPipeline, StableDiffusionXLPipeline
    from safetensors.torch import save_file

    out.mkdir(parents=True, exist_ok=True)
    saver = StableDiffusionXLPipeline if type(pipe).__name__ == "StableDiffusionXLPipeline" else StableDiffusionPipeline
    saver.save_lora_weights(out, weight_name=WEIGHTS, safe_serialization=True,
                            **{f"{part}_lora_layers": state for part, state in _adapted(pipe).items()})
    metadata = {"ss_network_module": "networks.lora", "ss_network_dim": str(rank), "ss_network_alpha": str(rank),
                "ss_base_model": str(base_dir), "ss_training_comment": "curate train --lora"}
    save_file(kohya_state(pipe), out / KOHYA, metadata=metadata)
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
