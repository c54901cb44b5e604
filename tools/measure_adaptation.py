"""The cheap-adaptation figures of README 'Train and sample', on the bundled tiny model (CPU).

concept: the tiny model trained on eight corpus photos ("a photo of a {name}"), none of them
the held-out subject (a man holding a chessboard, eight calibration photos of him); then a LoRA
on the held-out photos only. Samples of every prompt (8 seeds) from the base and from base +
LoRA, compared with the photos as the model sees them (32 px): the cosine of the project's image
embedding (efficientnet-lite0) to the most similar of the prompt's own photos, whole-image RMS and
tiled L2 (curate.audit.tiles) to the nearest; how far each seed's sample moved; and how often a
held-out sample is nearer one of his photos than any other. Mean, std and range over seeds.
Training runs are kept under ROOT by their settings, so a rerun with another LoRA setting reuses
the base.

regions: ten photos and drawings of people in which `curate caption --detectors people,hands`
finds hands (40 corpus pictures of people tried; its hand recall is low), captioned by it;
the tiny model trained with and without `--region-weights hands=W`, continued with --resume
stage by stage, and after each stage the v error inside and outside the hand boxes
(curate_model.region_loss, fixed noise and timesteps): both curves.

    PYTHONPATH=. python tools/measure_adaptation.py concept /tmp/adapt --lora-steps 1200 --lora-learning-rate 1e-3 --prior
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
from curate import embedders
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


def draw(pipe, prompt: str, seeds) -> list[Image.Image]:
    return [pipe(prompt, num_inference_steps=25, guidance_scale=3.0, generator=torch.Generator().manual_seed(s)).images[0]
            for s in seeds]


def spread(values) -> dict:
    """Mean, standard deviation and range over seeds."""
    v = np.asarray(values, dtype=np.float64)
    return {"mean": round(float(v.mean()), 3), "std": round(float(v.std()), 3),
            "min": round(float(v.min()), 3), "max": round(float(v.max()), 3)}


def rms(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sqrt(np.mean((a - b) ** 2)))


def distances(samples, refs) -> dict:
    """Per sample, to the nearest reference: tiled L2 (the audit's copy distance: its worst tile),
    whole-image RMS (32 px, pixels in [0, 1]), and the cosine of the project's image embedding.
    `samples` and `refs` are (pixels, vector) pairs."""
    return {"tiled_l2": [min(tiles.tile_l2(x, r) for r, _ in refs) for x, _ in samples],
            "rms": [min(rms(x, r) for r, _ in refs) for x, _ in samples],
            "cosine": [max(float(v @ w) for _, w in refs) for _, v in samples]}


def others(photos: dict, prompt: str) -> list:
    return [r for p, refs in photos.items() if p != prompt for r in refs]


def nearer_own(samples, own, rest) -> dict:
    """How many samples are nearer one of `own` than any of `rest`, by each metric."""
    a, b = distances(samples, own), distances(samples, rest)
    nearer = {"tiled_l2": lambda x, y: x < y, "rms": lambda x, y: x < y, "cosine": lambda x, y: x > y}
    return {k: f"{sum(map(closer, a[k], b[k]))} of {len(samples)}" for k, closer in nearer.items()}


def leave_one_out(refs) -> dict:
    """Each reference's distances to the nearest of the others: how near 'near' is for this subject."""
    rows = [distances([r], refs[:i] + refs[i + 1:]) for i, r in enumerate(refs)]
    return {k: [row[k][0] for row in rows] for k in rows[0]}


def concept(root: Path, base_steps: int, lora_steps: int, rank: int, lora_lr: float, prior: bool, seeds) -> dict:
    base_captions = {n: TEMPLATE.format(s) for n, s in BASE.items()}
    base_ds = dataset(root / "base-ds", base_captions)
    his = {n: TEMPLATE.format(CONCEPT) for n in CONCEPT_IMAGES}
    # prior: the base's photos join his as regularization images (DreamBooth's prior preservation,
    # kohya's reg images), so the adapters learn him without redrawing every other prompt
    concept_ds = dataset(root / ("concept-prior-ds" if prior else "concept-ds"), his | (base_captions if prior else {}))
    model = root / f"base-{base_steps}"
    adapter = root / f"lora-{base_steps}-r{rank}-lr{lora_lr:g}-{lora_steps}{'-prior' if prior else ''}"
    curate("train", base_ds, "--out", model, "--steps", base_steps, "--checkpoint-every", base_steps)
    curate("train", concept_ds, "--out", adapter, "--base", model, "--lora", rank, "--steps", lora_steps,
           "--learning-rate", lora_lr, "--checkpoint-every", lora_steps)
    embedder = embedders.load(embedders.DEFAULT, threads=torch.get_num_threads())

    def encode(images: list[Image.Image]) -> list[tuple[np.ndarray, np.ndarray]]:
        small = [tiles.fit(im.convert("RGB"), (32, 32)) for im in images]  # photos as the model sees them
        return list(zip([tiles.pixels(im, (32, 32)) for im in small], embedders.embed_images(embedder, small)))

    photo = lambda name: Image.open(corpus.images_dir() / name)  # noqa: E731
    held = TEMPLATE.format(CONCEPT)
    photos = {TEMPLATE.format(s): encode([photo(n)]) for n, s in BASE.items()}
    photos[held] = encode([photo(n) for n in CONCEPT_IMAGES])
    before, after = load_pipeline(model), load_pipeline(model, str(adapter), 1.0)
    rows = {}
    for prompt, refs in photos.items():
        a, b = encode(draw(before, prompt, seeds)), encode(draw(after, prompt, seeds))
        da, db = distances(a, refs), distances(b, refs)
        rows[prompt] = {f"{k}_to_own_{when}": spread(d[k]) for when, d in (("before", da), ("after", db)) for k in d}
        rows[prompt] |= {"moved_tiled_l2": spread([tiles.tile_l2(x, y) for (x, _), (y, _) in zip(a, b)]),
                         "moved_rms": spread([rms(x, y) for (x, _), (y, _) in zip(a, b)]),
                         "moved_cosine": spread([float(v @ w) for (_, v), (_, w) in zip(a, b)])}
        if prompt == held:
            rows[prompt] |= {f"nearest_photo_is_his_{when}": nearer_own(s, refs, others(photos, held))
                             for when, s in (("before", a), ("after", b))}
    held_out = rows.pop(held)
    his = photos[held]
    reference = {"his_photos_to_his_others": leave_one_out(his),
                 "his_photos_to_the_base_photos": distances(his, others(photos, held))}
    reference = {name: {k: spread(v) for k, v in d.items()} for name, d in reference.items()}
    mean_of_means = {k: round(float(np.mean([r[k]["mean"] for r in rows.values()])), 3) for k in next(iter(rows.values()))}
    return {"held_out": held_out, "others_mean": mean_of_means, "others": rows, "reference": reference,
            "settings": {"base_steps": base_steps, "lora_steps": lora_steps, "rank": rank, "lora_learning_rate": lora_lr,
                         "lora_images": "his 8 photos" + (" and the base's 8 (prior preservation)" if prior else ""),
                         "seeds": list(seeds),
                         "threads": torch.get_num_threads(),
                         "metrics": "tiled L2 (curate.audit.tiles) and RMS at 32 px (lower is nearer), cosine of "
                                    f"{embedders.DEFAULT} vectors (higher is nearer), each sample to the nearest "
                                    "of the prompt's own photos; moved: a seed's sample before vs after the LoRA"}}


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
    parser.add_argument("--base-steps", type=int, default=1500)
    parser.add_argument("--lora-steps", type=int, default=400)
    parser.add_argument("--rank", type=int, default=8)
    parser.add_argument("--lora-learning-rate", type=float, default=3e-4)
    parser.add_argument("--prior", action="store_true", help="concept: the LoRA also trains on the base's photos")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--every", type=int, default=100)
    parser.add_argument("--weight", type=float, default=3.0)
    parser.add_argument("--seeds", type=int, default=8, help="concept: sample seeds per prompt")
    # 1, not the 2 cores: on the shared machine at load 6-8, two OpenMP threads waited on each other
    # at every op (a LoRA step 5 s instead of 0.3 s with one thread)
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    args.root.mkdir(parents=True, exist_ok=True)
    if args.what == "concept":
        result = concept(args.root, args.base_steps, args.lora_steps, args.rank, args.lora_learning_rate, args.prior,
                         range(args.seeds))
    else:
        result = region_curves(args.root, args.steps, args.every, args.weight)
    print(json.dumps(result, indent=1))
