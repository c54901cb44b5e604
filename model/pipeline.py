"""CuratePipeline: text -> image with classifier-free guidance, as a diffusers pipeline.

Components: `unet` (UNet2DConditionModel), `scheduler`, `text_encoder` and `tokenizer`, and an
optional `vae` (latent space when present, pixel space when None), all stock diffusers and
transformers classes. The UNet predicts v (the scheduler config says so; see curate_model.train).

This file is self-contained (torch, diffusers and the standard library only): `save_pretrained`
copies it into the model folder as `curate_pipeline.py` and names it in `model_index.json`, so
plain diffusers loads the folder, with no curate installed:
`DiffusionPipeline.from_pretrained(folder, trust_remote_code=True)`.
"""

import json
import shutil
from pathlib import Path

import torch
from diffusers import DiffusionPipeline, ImagePipelineOutput

MAX_TOKENS = 32
PIPELINE_FILE = "curate_pipeline.py"  # a name of its own: diffusers imports it as a module of that name

GUIDANCE_POOL = 4  # image pixels: guidance acts on structure coarser than this (low_frequency_guidance)
GUIDANCE_UNTIL = 0.5  # guidance only at noise levels t <= this share of the training schedule (__call__)


class CuratePipeline(DiffusionPipeline):
    model_cpu_offload_seq = "text_encoder->unet->vae"
    _optional_components = ["vae"]

    def __init__(self, unet, scheduler, text_encoder, tokenizer, vae=None):
        super().__init__()
        self.register_modules(unet=unet, scheduler=scheduler, text_encoder=text_encoder, tokenizer=tokenizer, vae=vae)

    def save_pretrained(self, save_directory, **kwargs):
        """diffusers' folder, plus this file, named in model_index.json as [module, class]: the
        form diffusers resolves to a pipeline file inside the folder."""
        super().save_pretrained(save_directory, **kwargs)
        folder = Path(save_directory)
        shutil.copyfile(__file__, folder / PIPELINE_FILE)
        index = json.loads((folder / "model_index.json").read_text())
        index["_class_name"] = [Path(PIPELINE_FILE).stem, type(self).__name__]
        (folder / "model_index.json").write_text(json.dumps(index, indent=2, sort_keys=True) + "\n")

    @torch.no_grad()
    def encode_prompt(self, prompts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
        """Token states (batch, tokens, dim) and their attention mask."""
        tokens = self.tokenizer(prompts, padding="max_length", max_length=MAX_TOKENS, truncation=True,
                                return_tensors="pt").to(self.text_encoder.device)
        states = self.text_encoder(input_ids=tokens.input_ids, attention_mask=tokens.attention_mask).last_hidden_state
        return states.to(self.unet.dtype), tokens.attention_mask

    def to_images(self, samples: torch.Tensor) -> list:
        """PIL images of a batch of model outputs in [-1, 1]."""
        if self.vae is not None:
            samples = self.vae.decode(samples / self.vae.config.scaling_factor).sample
        return self.numpy_to_pil((samples.float() / 2 + 0.5).clamp(0, 1).permute(0, 2, 3, 1).cpu().numpy())

    @torch.no_grad()
    def __call__(self, prompt, negative_prompt=None, num_inference_steps: int = 50, guidance_scale: float = 3.0,
                 guidance_rescale: float = 0.7, guidance_pool: int = GUIDANCE_POOL,
                 guidance_until: float = GUIDANCE_UNTIL, generator=None,
                 height: int | None = None, width: int | None = None, output_type: str = "pil"):
        prompts = [prompt] if isinstance(prompt, str) else list(prompt)
        negatives = [negative_prompt or ""] * len(prompts) if not isinstance(negative_prompt, list) else negative_prompt
        cond, cond_mask = self.encode_prompt(prompts)
        uncond, uncond_mask = self.encode_prompt(negatives)
        scale = 1 if self.vae is None else 2 ** (len(self.vae.config.block_out_channels) - 1)
        size = self.unet.config.sample_size * scale
        shape = (len(prompts), self.unet.config.in_channels, (height or size) // scale, (width or size) // scale)
        generators = generator if isinstance(generator, list) else [generator] * len(prompts)
        latents = torch.cat([torch.randn((1, *shape[1:]), generator=g, dtype=self.unet.dtype) for g in generators])
        latents = latents.to(self.unet.device) * self.scheduler.init_noise_sigma
        self.scheduler.set_timesteps(num_inference_steps, device=self.unet.device)
        states = torch.cat([uncond, cond])
        mask = torch.cat([uncond_mask, cond_mask])
        pool = max(1, guidance_pool // scale)
        last_guided = guidance_until * self.scheduler.config.num_train_timesteps
        for t in self.progress_bar(self.scheduler.timesteps):
            # Guidance in a limited interval (Kynkaenniemi et al. 2024): at the highest noise levels the
            # conditional prediction alone decides the layout; guiding there shifted a memorised
            # picture's colours (a lake's sky drawn cyan: tiled L2 0.19-0.22 to it, 0.06-0.07 without).
            if t > last_guided:
                out = self.unet(self.scheduler.scale_model_input(latents, t), t, encoder_hidden_states=cond,
                                encoder_attention_mask=cond_mask).sample
            else:
                model_in = self.scheduler.scale_model_input(torch.cat([latents] * 2), t)
                out_uncond, out_cond = self.unet(model_in, t, encoder_hidden_states=states,
                                                 encoder_attention_mask=mask).sample.chunk(2)
                out = rescale_guidance(low_frequency_guidance(out_uncond, out_cond, guidance_scale, pool), out_cond,
                                       guidance_rescale)
            latents = self.scheduler.step(out, t, latents).prev_sample
        if output_type == "latent":
            return ImagePipelineOutput(images=latents)
        return ImagePipelineOutput(images=self.to_images(latents))


def low_frequency_guidance(uncond: torch.Tensor, cond: torch.Tensor, scale: float, pool: int) -> torch.Tensor:
    """Classifier-free guidance on the low spatial frequencies of (cond - uncond) only: its
    pool x pool block means, smoothly upsampled; finer than that the conditional prediction is
    kept as it is (guidance 1 there, as in Sadat et al. 2025, frequency-decoupled guidance).

    The pixel-scale part of the difference is mostly the two predictions' error, not the
    caption's content, and amplifying it 3x is where a small model's coloured speckle came from:
    on a planted set (tools/probe_memorization.py, README 'Train and sample') samples of
    memorised captions had 1.43x the grain of their training image with plain guidance 3, 1.14x
    with pool 4, 0.99x at guidance 1 (which loses caption fidelity)."""
    diff = cond - uncond
    if pool > 1:
        low = torch.nn.functional.avg_pool2d(diff, pool, ceil_mode=True)
        diff = torch.nn.functional.interpolate(low, size=diff.shape[-2:], mode="bilinear", align_corners=False)
    return cond + (scale - 1) * diff


def rescale_guidance(guided: torch.Tensor, cond: torch.Tensor, phi: float) -> torch.Tensor:
    """Lin et al. 2023, section 3.4: guidance inflates the prediction's spread, which with a v
    model burns the picture out; scale it back to the spread of the conditional prediction,
    by the fraction phi. On the 8-image overfit model at guidance 3, phi 0.7 took the samples
    nearest their own image from 2 of 8 to 7 of 8."""
    dims = list(range(1, guided.ndim))
    rescaled = guided * (cond.std(dim=dims, keepdim=True) / guided.std(dim=dims, keepdim=True))
    return phi * rescaled + (1 - phi) * guided

