"""The model-side memorisation score of Wen et al. ("Detecting, Explaining, and Mitigating
Memorization in Diffusion Models", ICLR 2024): at the first denoising step, a memorised prompt
pulls the noise prediction far from the unconditional one, so ||eps(x_T, prompt) - eps(x_T, '')||
is large. It needs no training set, only the model and the prompt.

Computed by the audit from each sample's manifest row (model folder, prompt, seed, steps,
scheduler) rather than stored by the sampler: x_T is a pure function of the seed, so the number
is the one the sampler would have seen, samples made before this score existed get it too, and
sampling stays one UNet call per step. It costs one batched UNet call per model.
"""

import logging
from pathlib import Path

import torch
from PIL import Image

from curate_model.sample import SCHEDULERS, load_pipeline

log = logging.getLogger("curate.audit")


@torch.no_grad()
def first_step_text_noise(pipe, prompts: list[str], seeds: list[int], steps: int, scheduler: str,
                          size: tuple[int, int]) -> list[float]:
    """||eps(x_T, prompt) - eps(x_T, '')|| (L2 over the whole prediction) for each prompt and seed,
    with x_T drawn as CuratePipeline draws it. A v-predicting model's outputs are turned into
    noise predictions first: eps = sqrt(abar_t) v + sqrt(1 - abar_t) x_t, so the difference is
    sqrt(abar_t) times the difference of the v's."""
    sched = SCHEDULERS[scheduler](pipe.scheduler.config)
    sched.set_timesteps(steps, device=pipe.unet.device)
    t = sched.timesteps[0]
    scale = 1 if pipe.vae is None else 2 ** (len(pipe.vae.config.block_out_channels) - 1)
    shape = (1, pipe.unet.config.in_channels, size[1] // scale, size[0] // scale)
    latents = torch.cat([torch.randn(shape, generator=torch.Generator().manual_seed(s), dtype=pipe.unet.dtype)
                         for s in seeds]).to(pipe.unet.device) * sched.init_noise_sigma
    cond, cond_mask = pipe.encode_prompt(prompts)
    uncond, uncond_mask = pipe.encode_prompt([""] * len(prompts))
    model_in = sched.scale_model_input(torch.cat([latents] * 2), t)
    out_uncond, out_cond = pipe.unet(model_in, t, encoder_hidden_states=torch.cat([uncond, cond]),
                                     encoder_attention_mask=torch.cat([uncond_mask, cond_mask])).sample.chunk(2)
    diff = (out_cond - out_uncond).float()
    if sched.config.prediction_type == "v_prediction":
        diff = diff * sched.alphas_cumprod[int(t)].sqrt()
    return diff.flatten(1).norm(dim=1).tolist()


def text_noise_scores(samples) -> dict[str, float]:
    """sample_id -> score, for the samples whose manifest names a model folder that still exists."""
    groups = {}
    for s in samples:
        if s.model and s.prompt is not None and s.seed is not None:
            size = Image.open(s.path).size
            groups.setdefault((s.model, s.steps, s.scheduler, size), []).append(s)
    scores, pipes = {}, {}
    for (model_dir, steps, scheduler, size), group in groups.items():
        if not (Path(model_dir) / "model_index.json").is_file():
            log.warning("model %s is gone: no text-noise score for its %d samples", model_dir, len(group))
            continue
        if model_dir not in pipes:
            pipes[model_dir] = load_pipeline(model_dir)
        values = first_step_text_noise(pipes[model_dir], [s.prompt for s in group], [s.seed for s in group],
                                       steps, scheduler, size)
        scores.update(zip((s.sample_id for s in group), values))
    return scores
