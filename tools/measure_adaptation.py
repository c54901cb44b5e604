"""The cheap-adaptation figures of README 'Train and sample', on the bundled tiny model (CPU).

concept: the tiny model trained on eight corpus photos ("a photo of a {name}"), none of them
the held-out subject (a man holding a chessboard, eight calibration photos of him); then a LoRA
on the held-out photos only. Samples of every prompt (4 seeds) from the base and from base +
LoRA: how much nearer the held-out prompt's samples come to its photos (tiled L2 to the nearest
of them, curate.audit.tiles at 32 px), and how much the other prompts' samples move (tiled L2
between the two samples of a seed; and to their own photo, before and after).

regions: ten photos and drawings of people in which `curate caption --detectors people,hands`
finds hands (40 corpus pictures of people tried; its hand recall is low), captioned by it;
the tiny model trained with and without `--region-weights hands=W`, continued with --resume
stage by stage, and after each stage the v error inside and outside the hand boxes
(curate_model.region_loss, fixed noise and timesteps): both curves.

    PYTHONPATH=. python tools/measure_adaptation.py concept /tmp/adapt --base-steps 800 --lora-steps 300
    PYTHONPATH=. python tools/measure_adaptation.py regions /tmp/regions --steps 600 --every 100
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
from curate.workspace import Workspace
from curate_model import regions
from curate_model.region_loss import inside_outside
from curate_model.sample import load_pipeline

TEMPLATE = "a photo of a {}"
BASE = {"sk_coffee.jpg": "coffee cup", "sk_astronaut.jpg": "astronaut", "cv_baboon.jpg": "baboon",
        "sk_rocket.jpg": "rocket", "sk_chelsea.jpg": "cat", "cv_fruits.jpg": "fruit bowl",
        "cv_butterfly.jpg": "butterfly", "sk_motorcycle_left.jpg": "motorcycle"}
CONCEPT = "man holding a chessboard"
CONCEPT_IMAGES = [f"cv_chessboard_left{i:02d}.jpg" for i in (1, 2, 3, 4, 5, 6, 7, 8)]
HANDS = ["cv_messi5.jpg", "oc_fitness.png", "oc_presentation_people.png", "oc_man_counting_coins.png",  # hands found
         "oc_business_woman.png", "oc_kid.png", "oc_ballerina.png", "oc_girl_ball.png", "oc_man_singing.png",
         "oc_woman_chemist.png"]


def curate(*argv) -> None:
    code = main(["--quiet", *map(str, argv)])
    if code:
        raise SystemExit(f"curate {' '.join(map(str, argv))} exited {code}")


def dataset(root: Path, captions: dict[str, str]) -> Path:
    """A dataset ingested from corpus images, each with its caption as alt-text."""
    src, ds = root.with_name(root.name + "-src"), root
    if not ds.exists():
        src.mkdir(parents=True, exist_ok=True)
        for name, caption in captions.items():
            shutil.copy(corpus.images_dir() / name, src / name)
            (src / name).with_suffix(".txt").write_text(caption)
        curate("ingest", ds, "--folder", src)
    return ds


def draw(pipe, prompt: str, seeds) -> list[np.ndarray]:
    return [tiles.pixels(pipe(prompt, num_inference_steps=25, guidance_scale=3.0,
                              generator=torch.Generator().manual_seed(s)).images[0], (32, 32)) for s in seeds]


def concept(root: Path, base_steps: int, lora_steps: int, rank: int, seeds=range(4)) -> dict:
    base_ds = dataset(root / "base-ds", {n: TEMPLATE.format(s) for n, s in BASE.items()})
    concept_ds = dataset(root / "concept-ds", {n: TEMPLATE.format(CONCEPT) for n in CONCEPT_IMAGES})
    model, adapter = root / "base", root / "lora"
    curate("train", base_ds, "--out", model, "--steps", base_steps, "--checkpoint-every", base_steps)
    curate("train", concept_ds, "--out", adapter, "--base", model, "--lora", rank, "--steps", lora_steps,
           "--learning-rate", 1e-3, "--checkpoint-every", lora_steps)
    photos = {TEMPLATE.format(s): [tiles.pixels(Image.open(corpus.images_dir() / n).convert("RGB"), (32, 32))]
              for n, s in BASE.items()}
    photos[TEMPLATE.format(CONCEPT)] = [tiles.pixels(Image.open(corpus.images_dir() / n).convert("RGB"), (32, 32))
                                        for n in CONCEPT_IMAGES]
    before, after = load_pipeline(model), load_pipeline(model, str(adapter), 1.0)
    rows = {}
    for prompt, refs in photos.items():
        a, b = draw(before, prompt, seeds), draw(after, prompt, seeds)
        nearest = lambda images: float(np.median([min(tiles.tile_l2(x, r) for r in refs) for x in images]))  # noqa: E731
        rows[prompt] = {"to_own_photos_before": round(nearest(a), 3), "to_own_photos_after": round(nearest(b), 3),
                        "moved": round(float(np.median([tiles.tile_l2(x, y) for x, y in zip(a, b)])), 3)}
    held_out = rows.pop(TEMPLATE.format(CONCEPT))
    others = list(rows.values())
    return {"held_out": held_out,
            "others_median": {k: round(float(np.median([r[k] for r in others])), 3) for k in others[0]},
            "others": rows, "settings": {"base_steps": base_steps, "lora_steps": lora_steps, "rank": rank,
                                         "seeds": list(seeds), "metric": "tiled L2 at 32 px (curate.audit.tiles), median over seeds"}}


def region_curves(root: Path, steps: int, every: int, weight: float) -> dict:
    ds = dataset(root / "ds", {n: "" for n in HANDS})
    ws = Workspace.open(ds)
    if not ws.partitions("captions"):
        curate("caption", ds, "--detectors", "people,hands")
    hands = {"hands": weight}
    curves = {}
    for name, extra in (("plain", []), (f"hands={weight:g}", ["--region-weights", f"hands={weight:g}"])):
        out, curves[name] = root / name, []
        for stage in range(every, steps + 1, every):
            curate("train", ds, "--out", out, "--steps", stage, "--checkpoint-every", every, "--seed", 3, *extra,
                   *(["--resume"] if stage > every else []))
            inside, outside = inside_outside(ws, load_pipeline(out), hands)
            curves[name].append({"step": stage, "inside": round(inside, 4), "outside": round(outside, 4)})
            print(name, curves[name][-1], flush=True)
    boxed = sum(bool(p) for p in regions.load(ws, "train", [i["id"] for i in _ids(ws)], hands))
    return {"images": len(_ids(ws)), "images_with_hand_boxes": boxed, "curves": curves}


def _ids(ws: Workspace) -> list[dict]:
    from curate.query import fetch

    return fetch(ws, "SELECT id FROM train_shards WHERE shard_set = 'train'").to_pylist()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("what", choices=["concept", "regions"])
    parser.add_argument("root", type=Path)
    parser.add_argument("--base-steps", type=int, default=800)
    parser.add_argument("--lora-steps", type=int, default=300)
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--every", type=int, default=100)
    parser.add_argument("--weight", type=float, default=3.0)
    args = parser.parse_args()
    args.root.mkdir(parents=True, exist_ok=True)
    if args.what == "concept":
        result = concept(args.root, args.base_steps, args.lora_steps, args.rank)
    else:
        result = region_curves(args.root, args.steps, args.every, args.weight)
    print(json.dumps(result, indent=1))
