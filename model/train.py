"""`curate train`: train the bundled pipeline on images picked by a manifest query.

Classifier-free guidance training (captions dropped to "" at --caption-dropout), dense or short
captions mixed at --dense-ratio, aspect-ratio buckets, EMA weights, gradient accumulation,
bf16 autocast (--mixed-precision), checkpoints every N steps and a --resume that continues bit for bit:
noise, timesteps and caption choices of micro-step m come from a generator seeded with
(seed, m), and the data order from (seed, epoch), so no random state needs saving.

The UNet predicts v (Salimans & Ho 2022), not the noise: at high noise an error in predicted
noise becomes an error in the image 30x larger (t=980 of the cosine schedule), so a noise
predictor learns little there, and that is where a caption decides what the picture shows. On
8 captioned images (the overfit test), v with the pooled caption in the time embedding (see
curate_model.presets) put 5 of 8 samples nearest their own image after 600 steps, and 8 of 8 after
1500; noise prediction put 2 of 8 after 600, with or without the pooled caption.
"""

import contextlib
import dataclasses
import json
import logging
import shutil
import time
from pathlib import Path

import torch
from diffusers import AutoencoderKL, DDIMScheduler, DDPMScheduler, UNet2DConditionModel
from diffusers.training_utils import EMAModel

from curate import reruns, shard, training_set
from curate.errors import UserError
from curate.progress import bar
from curate.train_config import TrainConfig
from curate.workspace import Workspace, require_parent
from curate_model import base, checkpoint, data, distributed, encodings, lora, regions
from curate_model.pipeline import CuratePipeline
from curate_model.presets import unet_config
from curate_model.text import load_text_encoder

log = logging.getLogger("curate.train")
WARMUP_STEPS = 3  # steps left out of seconds_per_step (allocator and data loader warm-up)


def micro_generator(seed: int, micro_step: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed * 1_000_003 + micro_step)


def _loss_curve(out: Path, losses: list[float]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=100)
    ax.plot(losses, lw=0.6, alpha=0.4, label="step")
    window = max(1, len(losses) // 50)
    smooth = [sum(losses[max(0, i - window):i + 1]) / len(losses[max(0, i - window):i + 1]) for i in range(len(losses))]
    ax.plot(smooth, lw=1.5, label=f"mean of {window}")
    ax.set(xlabel="step", ylabel="MSE on v", yscale="log", title="training loss")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "loss.png")
    plt.close(fig)


def _usage(out: Path, cfg: TrainConfig) -> str:
    """How to load what this run wrote."""
    if cfg.lora:
        where = "UNet attention and text encoder" if cfg.lora_text_encoder else "UNet attention"
        return (f"A rank-{cfg.lora} LoRA ({where}) on `{cfg.base}`, not a whole model: "
                f"`curate sample {cfg.base} --lora {out.name} --prompt ...`, or `pipe.load_lora_weights(\"{out.name}\")` "
                f"on the base pipeline; `{lora.KOHYA}` is the same LoRA for ComfyUI and A1111.")
    kind = base.pipeline_class(cfg.base).__name__ if cfg.base else None
    if kind and kind != "CuratePipeline":
        return (f"Fine-tuned from `{cfg.base}`. Weights are the EMA of the training weights. Load with "
                f"`diffusers.{kind}.from_pretrained(\"{out.name}\")` or `curate sample {out.name} --prompt ...`.")
    return ("Weights are the EMA of the training weights. The folder carries its pipeline code "
            "(`curate_pipeline.py`, torch and diffusers only), so plain diffusers loads it: "
            f"`DiffusionPipeline.from_pretrained(\"{out.name}\", trust_remote_code=True)`; or "
            f"`curate sample {out.name} --prompt ...`.")


def _model_card(out: Path, ws: Workspace, cfg: TrainConfig, samples: int, losses: list[float]) -> None:
    settings = json.dumps(dataclasses.asdict(cfg), indent=2)
    weighted = (f"The loss was weighted inside the captions' boxes ({cfg.region_weights}; 1 elsewhere, mean 1 "
                "per image).\n" if cfg.region_weights else "")
    (out / "README.md").write_text(f"""---
library_name: diffusers
pipeline_tag: text-to-image
tags: [curate]
---
# curate {'LoRA' if cfg.lora else 'fine-tuned' if cfg.base else cfg.preset} text-to-image model

Trained by `curate train` on the dataset `{ws.root}`: the {samples} images of its curated shard
set `shards/{cfg.shards}` (`manifests/train_shards`; their ids are in `{training_set.FILE}`, which
`curate audit` matches samples against), selected by

```sql
{cfg.where}
```

(stored images with status 'ok', one per distinct image, kept by dedupe when it had run).
{cfg.steps} steps; final loss {losses[-1] if losses else float('nan'):.4f} (loss curve: loss.png).
{weighted}{_usage(out, cfg)}

Training settings:

```json
{settings}
```
""")


def _fresh_pipeline(cfg: TrainConfig, device: str) -> CuratePipeline:
    """The preset's new UNet with the frozen --text-encoder and the optional --vae, predicting v
    on a cosine schedule."""
    tokenizer, text_encoder = load_text_encoder(cfg.text_encoder)
    vae = AutoencoderKL.from_pretrained(cfg.vae, local_files_only=True).eval() if cfg.vae else None
    torch.manual_seed(cfg.seed)  # the UNet's initial weights
    config = unet_config(cfg.preset, text_encoder.config.hidden_size, 3 if vae is None else vae.config.latent_channels)
    unet = UNet2DConditionModel(**{**config, "sample_size": cfg.resolution // base.latent_scale(vae)})
    scheduler = DDIMScheduler(num_train_timesteps=1000, beta_schedule="squaredcos_cap_v2", prediction_type="v_prediction")
    return CuratePipeline(unet=unet, scheduler=scheduler, text_encoder=text_encoder, tokenizer=tokenizer,
                          vae=vae).to(device)


def _trained_parts(pipe) -> dict:
    """The parts a run trains, by their name in the pipeline: the UNet, and a text encoder that
    has adapters (--lora-text-encoder)."""
    return {"unet": pipe.unet} | {name: getattr(pipe, name) for name in base.TEXT_ENCODERS
                                  if getattr(getattr(pipe, name, None), "peft_config", None)}


def _trained_state(parts: dict, cfg: TrainConfig) -> dict:
    """What a checkpoint keeps: all of the UNet, or with --lora only the adapters (of every part)."""
    state = {}
    for name, model in parts.items():
        trained = {n for n, p in model.named_parameters() if p.requires_grad}
        state |= {f"{name}.{k}": v for k, v in model.state_dict().items() if not cfg.lora or k in trained}
    return state


def _load_trained_state(parts: dict, state: dict, cfg: TrainConfig) -> None:
    for name, model in parts.items():
        own = {k.removeprefix(f"{name}."): v for k, v in state.items() if k.startswith(f"{name}.")}
        result = model.load_state_dict(own, strict=not cfg.lora)
        if result.unexpected_keys or not own:
            raise KeyError(f"weights that are not this run's {name}")
    if any(k.split(".", 1)[0] not in parts for k in state):
        raise KeyError("weights of parts this run does not train")


def _optimizer(name: str):
    if name == "adamw8bit":
        import bitsandbytes  # TrainConfig.resolved checked that it imports

        return bitsandbytes.optim.AdamW8bit
    return torch.optim.AdamW


def _encodings(ws: Workspace, cfg: TrainConfig, pipe) -> tuple:
    """(text, latents) caches (curate_model.encodings): text None when a text encoder trains,
    latents None in pixel space; on disk per shard set with --cache-encodings."""
    def place(kind, *modules):
        if not cfg.cache_encodings:
            return None
        return ws.root / "cache" / cfg.shards / f"{kind}-{encodings.identity(*modules)}.safetensors"

    encoders = base.text_encoders(pipe)
    text = None if cfg.lora_text_encoder else encodings.Encodings(place(f"text-{type(pipe).__name__}", *encoders))
    latents = None if pipe.vae is None else encodings.Encodings(place("latents", pipe.vae), keep=cfg.cache_encodings)
    return text, latents


RECORD = "training.json"  # in the model folder: the inputs it was trained from, and the run's summary
OURS = ("model_index.json", "checkpoints", RECORD)  # what makes a folder a curate model


def train(ws: Workspace, out, cfg: TrainConfig, resume: bool = False, overwrite: bool = False) -> dict:
    """Train into `out`, a function of the shard set and the settings: a finished model of the
    same inputs is kept as it is; one of other inputs is refused unless `overwrite` (train again
    from scratch) or `resume` (continue its checkpoints, e.g. to more --steps)."""
    if resume and overwrite:
        raise UserError("--resume continues the checkpoints that --overwrite would delete; give one of them")
    cfg = cfg.resolved()
    out = Path(out)
    require_parent(out)
    world = distributed.join()
    try:
        # Held by the main process for the whole run: a `curate shard` must not replace the set being read.
        with ws.lock() if world.main else contextlib.nullcontext():
            # Everything that can refuse runs before the set is cut: a refusal changes nothing.
            kept = {}  # the main process's checkpoint, read while checking it: the others read their own below

            def prepare():
                *broadcast, kept["resumed"] = _prepare(ws, out, cfg, resume, overwrite, world.device)
                return broadcast

            cfg, inputs, recorded = world.first(prepare)
            if recorded is not None:
                reruns.nothing_to_do("train", f"{out} was trained on the same shard set with the same settings")
                return recorded["result"] | {"up_to_date": True}
            fingerprint = inputs["shards_fingerprint"]
            resumed = kept["resumed"] if world.main else (
                checkpoint.resume_state(out, world.device, fingerprint, cfg.shards) if resume else None)
            world.barrier()  # all have read the checkpoint before the main process writes the next
            result = _train(ws, out, cfg, fingerprint, resumed, world)
            if world.main:
                reruns.write_record(out / RECORD, inputs, result)
            world.barrier()  # the others end once the model is written
            return result
    finally:
        world.leave()


def _prepare(ws: Workspace, out: Path, cfg: TrainConfig, resume: bool, overwrite: bool, device: str) -> tuple:
    """(cfg with its query, the run's inputs, the record of a finished model of them or None,
    the checkpoint to resume or None), the shard set cut; a UserError when the run is refused."""
    shards = shard.preview(ws, cfg.where, cfg.shards)
    cfg = dataclasses.replace(cfg, where=shards["where"])
    inputs = {"shards_fingerprint": shards["fingerprint"], "config": cfg.inputs()}
    recorded = _check_out(out, inputs, resume, overwrite)
    if recorded is not None:
        return cfg, inputs, recorded, None
    resumed = checkpoint.resume_state(out, device, shards["fingerprint"], cfg.shards) if resume else None
    if resume and resumed is None:
        log.info("no checkpoint in %s: starting from scratch", out)
    if overwrite and out.exists():
        shutil.rmtree(out)
    shard.cut(ws, cfg.where, cfg.shards)  # the set previewed: the lock kept the manifests as they were
    return cfg, inputs, None, resumed


def _check_out(out: Path, inputs: dict, resume: bool, overwrite: bool) -> dict | None:
    """The record of `out` when it is a finished model of these inputs; None when training may
    go on; a refusal otherwise."""
    if not out.exists() or (out.is_dir() and not any(out.iterdir())):
        return None
    if not out.is_dir() or not any((out / name).exists() for name in OURS):
        raise UserError(f"--out {out} is not empty and holds no curate model; train into a new or empty folder")
    if overwrite:
        return None
    recorded = reruns.read_record(out / RECORD)
    if recorded is not None and recorded["inputs"] == inputs:
        return recorded
    if resume:
        return None  # the checkpoints say whether they fit (checkpoint.resume_state)
    if recorded is not None:
        changed = ", ".join(reruns.differences(recorded["inputs"], inputs))
        raise UserError(f"{out} was trained on other inputs ({changed} differ); --overwrite to train it again, "
                        "--resume to continue its checkpoints (more --steps), or another --out")
    if (out / "model_index.json").exists():
        raise UserError(f"{out} holds a model that records no training inputs; --overwrite to train it again, "
                        "or another --out")
    raise UserError(f"{out} holds the checkpoints of an unfinished run; --resume to continue it, --overwrite to "
                    "start again, or another --out")


def _train(ws: Workspace, out: Path, cfg: TrainConfig, fingerprint: str, resumed: dict | None,
           world: distributed.World) -> dict:
    device = world.device
    samples = data.load(ws, cfg.shards)
    weights = regions.parse(cfg.region_weights)
    boxes = regions.load(ws, cfg.shards, [s.id for s in samples], weights) if weights else None
    pipe = base.load(cfg.base, device) if cfg.base else _fresh_pipeline(cfg, device)
    unet, vae = pipe.unet, pipe.vae
    cfg = dataclasses.replace(cfg, resolution=cfg.resolution or unet.config.sample_size * base.latent_scale(vae))
    noise_scheduler = DDPMScheduler.from_config(pipe.scheduler.config)  # the schedule and prediction type it samples with
    if cfg.lora:
        torch.manual_seed(cfg.seed)  # the adapters' initial weights
        lora.add(pipe, cfg.lora, cfg.lora_text_encoder)
    parts = _trained_parts(pipe)
    trained = [p for part in parts.values() for p in part.parameters() if p.requires_grad]
    if cfg.gradient_checkpointing:
        unet.enable_gradient_checkpointing()  # recompute activations in backward: less memory, same numbers
    optimizer = _optimizer(cfg.optimizer)(trained, lr=cfg.learning_rate, weight_decay=1e-2)
    ema = EMAModel(trained, decay=cfg.ema_decay, use_ema_warmup=True,
                   model_cls=UNet2DConditionModel, model_config=unet.config)
    step, losses = 0, []
    if resumed:
        try:
            _load_trained_state(parts, resumed["unet"], cfg)
            optimizer.load_state_dict(resumed["optimizer"])
            ema.load_state_dict(resumed["ema"])
        except (RuntimeError, KeyError, ValueError, TypeError) as err:
            raise UserError(f"the checkpoints in {out} do not fit this model ({' '.join(str(err).split())[:200]}); "
                            "resume with the settings of that run, or train into a new --out") from None
        step, losses = resumed["step"], resumed["losses"]
        log.info("resuming from step %d", step)
    stream = data.BatchStream(ws, samples, cfg.batch_size, cfg.resolution, cfg.seed, start=step * cfg.grad_accum,
                              regions=boxes, share=world.share if world.size > 1 else None)
    loader = torch.utils.data.DataLoader(stream, batch_size=None, num_workers=cfg.data_workers,
                                         prefetch_factor=4 if cfg.data_workers else None)
    kind = torch.device(device).type  # 'cuda' for cuda:N
    bf16 = cfg.mixed_precision == "bf16" or cfg.mixed_precision is None and kind == "cuda"
    autocast = torch.autocast(kind, dtype=torch.bfloat16, enabled=bf16)
    encode = base.encoder(pipe)
    # a text encoder in training encodes every batch anew, with gradients; frozen ones once per caption
    text, latents = _encodings(ws, cfg, pipe)
    timing = {"first": step + WARMUP_STEPS, "start": None}
    step_loss = 0.0
    unet.train()
    with bar(total=cfg.steps, initial=step, desc="train", unit="step", disable=not world.main) as progress:
        for micro_step, pixels, shorts, denses, maps, ids, time_ids, first, total in loader:
            if step >= cfg.steps:
                break
            # Drawn for the whole micro-batch, then this process's share: the same numbers in any number of processes.
            share = slice(first, first + len(ids))
            g = micro_generator(cfg.seed, micro_step)
            pick = torch.rand(total, generator=g)[share]
            drop = torch.rand(total, generator=g)[share]
            if ids:
                captions = ["" if d < cfg.caption_dropout else (dense if p < cfg.dense_ratio else short)
                            for short, dense, p, d in zip(shorts, denses, pick.tolist(), drop.tolist())]
                cond = encode(captions) if text is None else {k: v.to(device) for k, v in text.batch(
                    [encodings.caption_key(c) for c in captions],
                    lambda i: {k: v[0] for k, v in encode([captions[i]]).items()}).items()}
                target = pixels.to(device) if latents is None else latents.batch(
                    [f"{i}@{pixels.shape[-1]}x{pixels.shape[-2]}" for i in ids],
                    lambda i: {"latents": vae.encode(pixels[i:i + 1].to(device)).latent_dist.mean[0]
                               * vae.config.scaling_factor})["latents"].to(device)
                noise = torch.randn((total, *target.shape[1:]), generator=g)[share].to(device)
                timesteps = torch.randint(0, noise_scheduler.config.num_train_timesteps, (total,), generator=g)[share]
                noisy = noise_scheduler.add_noise(target, noise, timesteps.to(device))
                with autocast:
                    pred = unet(noisy, timesteps.to(device), **base.unet_inputs(cond, time_ids)).sample
                goal = base.training_target(noise_scheduler, target, noise, timesteps.to(device))
                weight = None if maps is None else regions.on_grid(maps, pred.shape[-2:]).to(device)
                # the share's part of the micro-batch's mean (1 in one process): the processes' sum is that mean
                loss = regions.weighted_mse(pred.float(), goal, weight) * (len(ids) / total) / cfg.grad_accum
                loss.backward()
                step_loss += loss.item()  # the mean over the step's micro-batches, once they are all in
            if (micro_step + 1) % cfg.grad_accum:
                continue
            if world.size > 1:
                step_loss = world.sum_gradients(trained, step_loss)
            torch.nn.utils.clip_grad_norm_(trained, 1.0)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            ema.step(trained)
            step += 1
            if step == timing["first"]:
                timing["start"] = time.perf_counter()
            losses.append(step_loss)
            progress.update()
            progress.set_postfix(loss=f"{step_loss:.4f}")
            step_loss = 0.0
            if world.main and (step % cfg.checkpoint_every == 0 or step == cfg.steps):
                for cache in (text, latents):
                    if cache is not None:
                        cache.save()
                checkpoint.save(out, {"step": step, "unet": _trained_state(parts, cfg), "optimizer": optimizer.state_dict(),
                                       "ema": ema.state_dict(), "losses": losses, "config": dataclasses.asdict(cfg),
                                       "shards_fingerprint": fingerprint})
    timed = step - timing["first"]
    seconds_per_step = (time.perf_counter() - timing["start"]) / timed if timing["start"] and timed > 0 else None
    ema.copy_to(trained)
    unet.eval()
    if world.main:  # the others hold the same weights
        if cfg.lora:
            lora.save(out, pipe, cfg.base, cfg.lora)
        else:
            pipe.save_pretrained(out)
        _loss_curve(out, losses)
        _model_card(out, ws, cfg, len(samples), losses)
        training_set.write(out, ws, cfg.shards, fingerprint)
    cached = {name: {"read": c.loaded, "computed": c.computed} for name, c in (("text", text), ("latents", latents))
              if c is not None and c.path is not None}
    return {"model": str(out), "images": len(samples), "steps": step, "final_loss": losses[-1] if losses else None,
            "seconds_per_step": seconds_per_step} | ({"encodings": cached} if cached else {})
