"""How well a trained model predicts inside the caption boxes that `--region-weights` weights,
against outside them: the training target's squared error on every image of a shard set, at
fixed noise and timesteps, so two models (weighted or not, or one model at two step counts) are
compared on the same draws. Used by the region-weight test and tools/measure_adaptation.py."""

import torch
from diffusers import DDPMScheduler

from curate.workspace import Workspace
from curate_model import base, data, regions

TIMESTEPS = (100, 300, 500, 700)


@torch.no_grad()
def inside_outside(ws: Workspace, pipe, weights: dict[str, float], shard_set: str = "train", batch_size: int = 8,
                   seed: int = 0) -> tuple[float, float]:
    """Mean squared error of `pipe`'s UNet inside and outside the boxes of `weights`' regions."""
    samples = data.load(ws, shard_set)
    boxes = regions.load(ws, shard_set, [s.id for s in samples], weights)
    noise_scheduler = DDPMScheduler.from_config(pipe.scheduler.config)
    resolution = pipe.unet.config.sample_size * base.latent_scale(pipe.vae)
    stream = iter(data.BatchStream(ws, samples, batch_size, resolution, seed=99, regions=boxes))
    encode, vae = base.encoder(pipe), pipe.vae
    inside, outside = [], []
    g = torch.Generator().manual_seed(seed)
    for _ in range(len(data.epoch_batches(samples, batch_size, 99, 0))):
        batch = next(stream)
        clean = batch.pixels if vae is None else vae.encode(batch.pixels).latent_dist.mean * vae.config.scaling_factor
        boxed = (regions.on_grid(batch.maps, clean.shape[-2:]) > 1).expand(-1, clean.shape[1], -1, -1)
        cond = base.unet_inputs(encode(batch.shorts), batch.time_ids)
        for t in TIMESTEPS:
            noise = torch.randn(clean.shape, generator=g)
            timesteps = torch.full((len(batch.shorts),), t)
            pred = pipe.unet(noise_scheduler.add_noise(clean, noise, timesteps), timesteps, **cond).sample
            error = (pred - base.training_target(noise_scheduler, clean, noise, timesteps)) ** 2
            inside.append(error[boxed])
            outside.append(error[~boxed])
    return torch.cat(inside).mean().item(), torch.cat(outside).mean().item()
