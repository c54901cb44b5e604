"""A small planted set for the sampler and conditioning figures of README 'Train and sample'.

Eight corpus photos, captioned from one template that differs only in the subject's name; the
first four are duplicated COPIES times (square crops re-encoded at other sizes and qualities).
Trains the tiny model on them (dedupe off), samples every caption with four seeds, and prints
per caption: grain ratio (curate_model.grain: sample / its own training image at the same size), tiled
L2 to its own image, and whether its own image is the nearest of the eight (tiled L2).

    PYTHONPATH=. python tools/probe_memorization.py /tmp/probe --steps 1500
    PYTHONPATH=. python tools/probe_memorization.py /tmp/probe --reuse          # sample again only
"""

import argparse
import json
import shutil
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from curate import corpus
from curate.audit import tiles
from curate.cli import main
from curate_model.grain import grain

TEMPLATE = "a photo of a {}, studio lighting"
NAMES = {"sk_coffee.jpg": "coffee cup", "sk_astronaut.jpg": "astronaut", "cv_baboon.jpg": "baboon",
         "sk_rocket.jpg": "rocket", "sk_chelsea.jpg": "cat", "cv_fruits.jpg": "fruit bowl",
         "cv_butterfly.jpg": "butterfly", "sk_motorcycle_left.jpg": "motorcycle"}
COPIES = 6


def square(image: Image.Image) -> Image.Image:
    side = min(image.size)
    return image.crop(((image.width - side) // 2, (image.height - side) // 2,
                       (image.width + side) // 2, (image.height + side) // 2))


def build(src: Path) -> dict[str, Image.Image]:
    src.mkdir(parents=True, exist_ok=True)
    originals = {}
    for n, (name, subject) in enumerate(NAMES.items()):
        image = square(Image.open(corpus.images_dir() / name).convert("RGB"))
        originals[TEMPLATE.format(subject)] = image
        for c in range(COPIES if n < 4 else 1):
            out = src / f"{name.split('.')[0]}_{c:02d}.jpg"
            image.resize((256 - 8 * c, 256 - 8 * c), Image.Resampling.BICUBIC).save(out, quality=95 - 2 * c)
            out.with_suffix(".txt").write_text(TEMPLATE.format(subject))
    return originals


def measure(pipe, originals: dict[str, Image.Image], seeds=range(4), **call) -> dict:
    captions = list(originals)
    refs = [tiles.pixels(originals[c], (32, 32)) for c in captions]
    ref_grain = [grain(r) for r in refs]
    rows = []
    for i, caption in enumerate(captions):
        for seed in seeds:
            image = pipe(caption, num_inference_steps=call.get("steps", 25), guidance_scale=call.get("guidance", 3.0), **call.get("extra", {}),
                         generator=torch.Generator().manual_seed(seed)).images[0]
            mine = tiles.pixels(image, (32, 32))
            l2 = [tiles.tile_l2(mine, r) for r in refs]
            rows.append({"caption": i, "duplicated": i < 4, "grain_ratio": grain(mine) / ref_grain[i],
                         "tile_l2_own": l2[i], "nearest_own": int(np.argmin(l2)) == i})
    out = {}
    for part, chosen in (("duplicated", [r for r in rows if r["duplicated"]]),
                         ("single", [r for r in rows if not r["duplicated"]])):
        out[part] = {"grain_ratio_median": round(float(np.median([r["grain_ratio"] for r in chosen])), 2),
                     "tile_l2_own": sorted(round(r["tile_l2_own"], 3) for r in chosen),
                     "nearest_own_share": sum(r["nearest_own"] for r in chosen) / len(chosen)}
    return out


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("root", type=Path)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--reuse", action="store_true", help="sample the model already trained in ROOT")
    parser.add_argument("--train-args", default="", help="more `curate train` options, space-separated")
    parser.add_argument("--guidance", type=float, default=3.0)
    args = parser.parse_args()
    originals = build(args.root / "src") if not args.reuse else None
    if not args.reuse:
        shutil.rmtree(args.root / "ds", ignore_errors=True)
        shutil.rmtree(args.root / "model", ignore_errors=True)
        assert main(["--quiet", "ingest", str(args.root / "ds"), "--folder", str(args.root / "src"),
                     "--number-sample-per-shard", "64"]) == 0
        assert main(["--quiet", "train", str(args.root / "ds"), "--out", str(args.root / "model"), "--steps",
                     str(args.steps), *args.train_args.split()]) == 0
    else:
        originals = build(args.root / "src")
    from curate_model.sample import load_pipeline

    print(json.dumps(measure(load_pipeline(args.root / "model"), originals, guidance=args.guidance), indent=1))
