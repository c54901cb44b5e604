"""`curate sample`: prompts x seeds through a trained pipeline -> PNGs, a contact sheet and
manifests/samples in the output folder (itself a small workspace `curate query` can read).
Each row records the sample's `grain` (model.grain: residual pixel-scale noise), so speckle
shows in the manifest and can be compared with the training images' own."""

from pathlib import Path

import numpy as np
import torch
from diffusers import DDIMScheduler, DPMSolverMultistepScheduler
from PIL import Image, ImageDraw

from curate import manifest
from curate.errors import UserError
from curate.progress import bar
from curate.workspace import Workspace
from model.grain import grain

SCHEDULERS = {
    "ddim": lambda config: DDIMScheduler.from_config(config),
    "dpm": lambda config: DPMSolverMultistepScheduler.from_config(config, algorithm_type="dpmsolver++"),
}
CELL = 128


def parse_seeds(text: str) -> list[int]:
    """'0-7' -> 0..7; '3' -> [3]; '1,5,9' -> those."""
    try:
        if "-" in text.strip("-"):
            a, b = text.split("-", 1)
            return list(range(int(a), int(b) + 1))
        return [int(s) for s in text.split(",")]
    except ValueError:
        raise UserError(f"--seeds {text!r}: expected A-B, N or a comma-separated list") from None


def load_pipeline(model_dir):
    from model.pipeline import CuratePipeline

    folder = Path(model_dir)
    if not (folder / "model_index.json").is_file():
        raise UserError(f"{folder} is not a trained model (no model_index.json); run `curate train` first")
    pipe = CuratePipeline.from_pretrained(folder, low_cpu_mem_usage=False)  # no accelerate needed
    pipe.set_progress_bar_config(disable=True)
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


def sample(model_dir, prompts: list[str], seeds: list[int], out, negative: str = "", guidance: float = 3.0,
           steps: int = 50, scheduler: str = "ddim", size: tuple[int, int] | None = None) -> dict:
    """`size` (width, height): default the model's square; a model trained on one aspect bucket
    draws best at that bucket's size."""
    if not prompts:
        raise UserError("no prompts: pass --prompt TEXT or --prompts FILE")
    if scheduler not in SCHEDULERS:
        raise UserError(f"--scheduler {scheduler!r}: choose one of {', '.join(SCHEDULERS)}")
    pipe = load_pipeline(model_dir)
    pipe.scheduler = SCHEDULERS[scheduler](pipe.scheduler.config)
    ws = Workspace(Path(out).resolve())
    ws.root.mkdir(parents=True, exist_ok=True)
    rows, images = [], []
    with bar(total=len(prompts) * len(seeds), desc="sample", unit="img") as progress:
        for p, prompt in enumerate(prompts):
            for seed in seeds:
                generator = torch.Generator().manual_seed(seed)
                image = pipe(prompt, negative_prompt=negative, num_inference_steps=steps,
                             guidance_scale=guidance, generator=generator, width=size and size[0],
                             height=size and size[1]).images[0]
                sample_id = f"p{p:04d}-s{seed}"
                image.save(ws.root / f"{sample_id}.png")
                images.append(image)
                rows.append({"sample_id": sample_id, "prompt": prompt, "negative": negative, "seed": seed,
                             "guidance": guidance, "steps": steps, "scheduler": scheduler,
                             "model": str(Path(model_dir).resolve()), "path": f"{sample_id}.png",
                             "grain": grain(image)})
                progress.update()
    manifest.write_partition(ws, "samples", f"{len(ws.partitions('samples')):05d}", rows)
    sheet = ws.root / "contact_sheet.png"
    contact_sheet(images, [f"{r['seed']}: {r['prompt']}" for r in rows], len(seeds)).save(sheet)
    return {"samples": len(rows), "out": str(ws.root), "contact_sheet": str(sheet),
            "grain_median": round(float(np.median([r["grain"] for r in rows])), 4)}
