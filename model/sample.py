"""`curate sample`: prompts x seeds through a trained pipeline -> PNGs, a contact sheet and
manifests/samples in the output folder (itself a small workspace `curate query` can read).
Each row records the sample's `grain` (curate_model.grain: residual pixel-scale noise), so speckle
shows in the manifest and can be compared with the training images' own."""

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
import torch
from diffusers import DDIMScheduler, DPMSolverMultistepScheduler
from PIL import Image, ImageDraw

from curate import manifest, reruns
from curate.errors import UserError
from curate import progress
from curate.progress import bar
from curate.workspace import Workspace, require_parent
from curate_model.grain import grain

SCHEDULERS = {
    "ddim": lambda config: DDIMScheduler.from_config(config),
    "dpm": lambda config: DPMSolverMultistepScheduler.from_config(config, algorithm_type="dpmsolver++"),
}
CELL = 128


def parse_seeds(text: str) -> list[int]:
    """'0-7' -> 0..7; '3' -> [3]; '1,5,9' -> those. Seeds are non-negative (torch's generators)."""
    try:
        if "-" in text.strip("-"):
            a, b = text.split("-", 1)
            seeds = list(range(int(a), int(b) + 1))
            if not seeds:
                raise UserError(f"--seeds {text!r}: the range is empty (A-B needs A <= B)")
        else:
            seeds = [int(s) for s in text.split(",")]
    except ValueError:
        raise UserError(f"--seeds {text!r}: expected A-B, N or a comma-separated list") from None
    if min(seeds) < 0:
        raise UserError(f"--seeds {text!r}: seeds are integers >= 0")
    return list(dict.fromkeys(seeds))  # a seed given twice is one sample


def model_folder(model_dir) -> Path:
    folder = Path(model_dir)
    if not (folder / "model_index.json").is_file():
        raise UserError(f"{folder} is not a trained model (no model_index.json); run `curate train` first")
    return folder


def load_pipeline(model_dir, lora: str | None = None, lora_scale: float = 1.0):
    """The folder's pipeline, loaded the way plain diffusers loads it (a curate model's own
    pipeline file, a Stable Diffusion folder's class), with a `curate train --lora` folder
    applied at `lora_scale`."""
    from diffusers import DiffusionPipeline

    progress.quiet_diffusers()
    folder = model_folder(model_dir)
    pipe = DiffusionPipeline.from_pretrained(folder, trust_remote_code=True, low_cpu_mem_usage=False)  # no accelerate
    pipe.set_progress_bar_config(disable=True)
    if lora:
        from curate_model.lora import apply

        apply(pipe, lora, lora_scale)
    return pipe.to("cuda" if torch.cuda.is_available() else "cpu")


def contact_sheet(images: list[Image.Image], labels: list[str], columns: int) -> Image.Image:
    rows = -(-len(images) // columns)
    sheet = Image.new("RGB", (columns * CELL, rows * (CELL + 14)), "white")
    draw = ImageDraw.Draw(sheet)
    for i, (image, label) in enumerate(zip(images, labels)):
        x, y = (i % columns) * CELL, (i // columns) * (CELL + 14)
        sheet.paste(image.resize((CELL, CELL), Image.Resampling.NEAREST), (x, y))
        draw.text((x + 2, y + CELL), label[:22], fill="black")
    return sheet


def model_fingerprint(model_dir) -> str:
    """sha256 of what the sampler loads (weights and configs; not checkpoints, card or loss
    curve): a model trained again into the same folder is another model."""
    folder = Path(model_dir)
    digest = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        relative = path.relative_to(folder)
        if relative.parts[0] in ("checkpoints", "README.md", "loss.png", "training.json"):
            continue
        digest.update(str(relative).encode() + b"\0")
        with path.open("rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def sample_id(model: str, prompt: str, negative: str, seed: int, steps: int, scheduler: str, guidance: float,
              size: tuple[int, int] | None = None) -> str:
    """Unique per (model, prompt, seed, steps, scheduler, guidance, negative, size): also the PNG's
    name, so samples of two requests never share a file."""
    key = json.dumps([model, prompt, negative, seed, steps, scheduler, guidance] + ([list(size)] if size else []))
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def _clear(ws: Workspace, rows: list[dict]) -> None:
    """A samples folder's samples, and the audit of them, before another request replaces them."""
    for r in rows:
        (ws.root / r["path"]).unlink(missing_ok=True)
    for table in ("samples", "audit"):
        shutil.rmtree(ws.table_dir(table), ignore_errors=True)
    for name in ("contact_sheet.png", "report.html"):
        (ws.root / name).unlink(missing_ok=True)


def sample(model_dir, prompts: list[str], seeds: list[int], out, negative: str = "", guidance: float = 3.0,
           steps: int = 50, scheduler: str = "ddim", overwrite: bool = False, lora: str | None = None,
           lora_scale: float = 1.0, size: tuple[int, int] | None = None) -> dict:
    """Prompts x seeds into `out`, a function of the model (and LoRA) and the request: the same
    request again changes nothing; another one (model, prompts, seeds or settings) is refused
    unless `overwrite`, which replaces the folder's samples and their audit. `size` (width,
    height): default the model's square; a model trained on one aspect bucket draws best at
    that bucket's size."""
    if not prompts:
        raise UserError("no prompts: pass --prompt TEXT or --prompts FILE")
    if not seeds:
        raise UserError("no seeds: pass --seeds A-B, N or a comma-separated list")
    if scheduler not in SCHEDULERS:
        raise UserError(f"--scheduler {scheduler!r}: choose one of {', '.join(SCHEDULERS)}")
    prompts = list(dict.fromkeys(prompts))  # a prompt given twice is one row of the sheet
    folder = model_folder(model_dir)
    model, fingerprint = str(folder.resolve()), model_fingerprint(folder)
    if lora:  # another adapter or scale is another model
        model += f" + lora {Path(lora).resolve()} x{lora_scale:g}"
        fingerprint = hashlib.sha256(f"{fingerprint} {model_fingerprint(lora)} {lora_scale!r}".encode()).hexdigest()
    ws = Workspace(require_parent(out))
    wanted = [{"sample_id": sample_id(fingerprint, prompt, negative, seed, steps, scheduler, guidance, size),
               "prompt": prompt, "negative": negative, "seed": seed, "guidance": guidance, "steps": steps,
               "scheduler": scheduler, "model": model} for prompt in prompts for seed in seeds]
    for r in wanted:
        r["path"] = f"{r['sample_id']}.png"
    sheet = ws.root / "contact_sheet.png"
    summary = {"samples": len(wanted), "out": str(ws.root), "contact_sheet": str(sheet)}
    existing = manifest.read_table(ws, "samples").to_pylist()
    same = {r["sample_id"] for r in existing} == {r["sample_id"] for r in wanted}
    if not overwrite and same and all((ws.root / r["path"]).is_file() for r in existing) and sheet.is_file():
        reruns.nothing_to_do("sample", f"{ws.root} holds these {len(wanted)} samples of this model")
        return summary | {"up_to_date": True}
    if existing and not same and not overwrite:
        raise UserError(f"{ws.root} holds {len(existing)} samples of another request (model, prompts, seeds or "
                        "settings); --overwrite to replace them and their audit, or another --out")
    pipe = load_pipeline(folder, lora, lora_scale)
    pipe.scheduler = SCHEDULERS[scheduler](pipe.scheduler.config)
    ws.root.mkdir(parents=True, exist_ok=True)
    _clear(ws, existing)
    images = []
    with bar(total=len(wanted), desc="sample", unit="img") as progress:
        for r in wanted:
            generator = torch.Generator().manual_seed(r["seed"])
            image = pipe(r["prompt"], negative_prompt=negative, num_inference_steps=steps, guidance_scale=guidance,
                         generator=generator, width=size and size[0], height=size and size[1]).images[0]
            image.save(ws.root / r["path"])
            r["grain"] = grain(image)
            images.append(image)
            progress.update()
    contact_sheet(images, [f"{r['seed']}: {r['prompt']}" for r in wanted], len(seeds)).save(sheet)
    manifest.write_partition(ws, "samples", "samples", wanted)  # last: a folder with it is complete
    return summary | {"grain_median": round(float(np.median([r["grain"] for r in wanted])), 4)}
