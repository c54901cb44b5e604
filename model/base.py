"""`curate train --base DIR`: start from a pretrained diffusers folder instead of a fresh UNet.

Three kinds of folder, told apart by model_index.json: a Stable Diffusion 1.x/2.x checkpoint
(`StableDiffusionPipeline`: UNet, VAE, CLIP text encoder, tokenizer, scheduler), an SDXL one
(`StableDiffusionXLPipeline`: two CLIP text encoders, the second's pooled output and the image's
size and crop as extra conditioning) or a model `curate train` wrote (`CuratePipeline`).
Training then runs in that pipeline's latent (or pixel) space, with its own text encoder(s) and
the prediction type and noise schedule its scheduler config names, and the result saves as the
same pipeline class, so plain diffusers loads it.
"""

import json
from pathlib import Path

import torch

from curate import progress
from curate.errors import UserError

PIPELINES = ("CuratePipeline", "StableDiffusionPipeline", "StableDiffusionXLPipeline")
TEXT_ENCODERS = ("text_encoder", "text_encoder_2")


def pipeline_class(folder):
    """The pipeline class a diffusers folder was saved as; one line when it is none we train."""
    folder = Path(folder)
    try:
        name = json.loads((folder / "model_index.json").read_text()).get("_class_name")
    except (OSError, ValueError, AttributeError):
        name = None
    if isinstance(name, list) and name:  # [module file, class]: a pipeline whose code travels with it
        name = name[-1]
    if name not in PIPELINES:
        what = f"a {name} folder" if isinstance(name, str) else "no readable model_index.json"
        raise UserError(f"{folder} is not a diffusers Stable Diffusion (XL) checkpoint or curate model ({what}); "
                        f"--base takes a local folder saved as one of {', '.join(PIPELINES)}")
    if name == "CuratePipeline":
        from curate_model.pipeline import CuratePipeline

        return CuratePipeline
    import diffusers

    return getattr(diffusers, name)


def load(folder, device: str):
    """The pipeline in a base folder, offline, on `device`; everything but the UNet frozen."""
    cls = pipeline_class(folder)
    progress.quiet_diffusers()
    try:
        # a curate model carries its pipeline file (curate_pipeline.py, this package's own code)
        pipe = cls.from_pretrained(folder, local_files_only=True, low_cpu_mem_usage=False,
                                   **({"trust_remote_code": True} if cls.__name__ == "CuratePipeline" else {}))
    except (OSError, ValueError, TypeError) as err:
        raise UserError(f"--base {folder}: cannot load it as a {cls.__name__} ({' '.join(str(err).split())[:200]})") from None
    pipe.set_progress_bar_config(disable=True)
    pipe.to(device)
    for part in [pipe.vae] + text_encoders(pipe):
        if part is not None:
            part.requires_grad_(False).eval()
    return pipe


def text_encoders(pipe) -> list:
    """The pipeline's text encoders, in the order its LoRA files name them (text_encoder, text_encoder_2)."""
    return [getattr(pipe, name) for name in TEXT_ENCODERS if getattr(pipe, name, None) is not None]


def latent_scale(vae) -> int:
    """Pixels per latent cell (1 in pixel space)."""
    return 1 if vae is None else 2 ** (len(vae.config.block_out_channels) - 1)


def encoder(pipe):
    """captions -> their conditioning, batched: {"states": token states, "mask": attention mask
    (curate), "pooled": the second encoder's pooled projection (SDXL)}, the way the pipeline's own
    sampler encodes a prompt, so training and sampling condition alike."""
    kind = type(pipe).__name__
    if kind == "CuratePipeline":
        def encode(captions):
            states, mask = pipe.encode_prompt(captions)
            return {"states": states, "mask": mask}
    elif kind == "StableDiffusionXLPipeline":
        def encode(captions):
            states, _, pooled, _ = pipe.encode_prompt(captions, device=pipe.device, num_images_per_prompt=1,
                                                      do_classifier_free_guidance=False)
            return {"states": states, "pooled": pooled}
    else:
        def encode(captions):
            states, _ = pipe.encode_prompt(captions, pipe.device, 1, False)
            return {"states": states}
    return encode


def unet_inputs(cond: dict, time_ids: torch.Tensor) -> dict:
    """The UNet's conditioning keywords: token states (and mask), and for SDXL the pooled text
    embedding with the size and crop ids (crop.sdxl_time_ids) as its added conditions."""
    inputs = {"encoder_hidden_states": cond["states"], "encoder_attention_mask": cond.get("mask")}
    if "pooled" in cond:
        inputs["added_cond_kwargs"] = {"text_embeds": cond["pooled"], "time_ids": time_ids.to(cond["pooled"])}
    return inputs


def training_target(noise_scheduler, clean: torch.Tensor, noise: torch.Tensor, timesteps) -> torch.Tensor:
    """What the UNet is trained to predict, by the scheduler's prediction type."""
    kind = noise_scheduler.config.prediction_type
    if kind == "epsilon":
        return noise
    if kind == "v_prediction":
        return noise_scheduler.get_velocity(clean, noise, timesteps)
    if kind == "sample":
        return clean
    raise UserError(f"the base's scheduler predicts {kind!r}; curate trains epsilon, v_prediction or sample")
