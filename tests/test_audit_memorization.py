"""The checker catches real memorisation (README 'Audit').

A tiny model trained with dedupe off on a set where four images are each duplicated COPIES
times (re-encoded at other sizes and qualities, as scraped duplicates are) draws them back when
prompted with their captions, and the audit must say `copy`, with a copy of the right image as
the nearest one. A model trained briefly on the same set after dedupe must draw novel samples.
"""

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from curate import corpus, manifest
from curate.workspace import Workspace
from tests.helpers import curate

DUPLICATED = {"sk_coffee.jpg": "a cup of coffee on a saucer", "sk_astronaut.jpg": "an astronaut in front of a flag",
              "cv_baboon.jpg": "a baboon face with a red and blue nose", "sk_rocket.jpg": "a rocket on the launch pad"}
COPIES = 24
SINGLES = 51  # distinct photos seen once each
SEEDS = "0-3"
STEPS_MEMORISED, STEPS_DEDUPED = 1500, 300


def _build(src):
    """The duplicated photos (square crops, re-encoded per copy) and SINGLES distinct photos."""
    for name, caption in DUPLICATED.items():
        image = Image.open(corpus.images_dir() / name).convert("RGB")
        side = min(image.size)
        image = image.crop(((image.width - side) // 2, (image.height - side) // 2,
                            (image.width + side) // 2, (image.height + side) // 2))
        for c in range(COPIES):
            out = src / f"dup_{name.split('.')[0]}_{c:02d}.jpg"
            image.resize((256 - 4 * c, 256 - 4 * c), Image.Resampling.BICUBIC).save(out, quality=95 - c)
            out.with_suffix(".txt").write_text(caption)
    rows = corpus.catalog()
    groups = {}
    for r in rows:
        groups[r["group"]] = groups.get(r["group"], 0) + 1
    singles = [r for r in rows if r["kind"] == "photo" and groups[r["group"]] == 1 and r["file"] not in DUPLICATED]
    for r in singles[:SINGLES]:
        shutil.copy(corpus.images_dir() / r["file"], src / r["file"])
        (src / r["file"]).with_suffix(".txt").write_text(r["caption"])
    return [r["caption"] for r in singles[:4]]


def _decisive(samples) -> list[dict]:
    rows = manifest.read_table(Workspace(samples), "audit").to_pylist()
    prompts = {r["sample_id"]: r["prompt"] for r in manifest.read_table(Workspace(samples), "samples").to_pylist()}
    return [r | {"prompt": prompts[r["sample_id"]]} for r in rows if r["decisive"]]


@pytest.fixture(scope="module")
def audited(tmp_path_factory):
    root = tmp_path_factory.mktemp("memorisation")
    (root / "src").mkdir()
    single_captions = _build(root / "src")
    ds = root / "ds"
    assert curate("ingest", ds, "--folder", root / "src", "--number-sample-per-shard", 64) == 0
    assert curate("embed", ds) == 0
    prompts = root / "prompts.txt"
    prompts.write_text("\n".join([*DUPLICATED.values(), *single_captions]) + "\n")
    assert curate("train", ds, "--out", root / "memorised", "--steps", STEPS_MEMORISED) == 0  # no dedupe yet
    assert curate("dedupe", ds) == 0
    assert curate("train", ds, "--out", root / "deduped", "--steps", STEPS_DEDUPED) == 0  # kept images only
    for model in ("memorised", "deduped"):
        assert curate("sample", root / model, "--prompts", prompts, "--seeds", SEEDS, "--steps", 25,
                      "--out", root / f"samples-{model}") == 0
        assert curate("audit", ds, "--samples", root / f"samples-{model}") == 0
    urls = {r["id"]: r["url"].rsplit("/", 1)[1] for r in manifest.read_table(Workspace(ds), "images").to_pylist()}
    return {m: _decisive(root / f"samples-{m}") for m in ("memorised", "deduped")}, urls


def _source(prompt: str) -> str:
    return next(f"dup_{n.split('.')[0]}_" for n, c in DUPLICATED.items() if c == prompt)


@pytest.mark.slow
def test_audit_catches_the_memorised_duplicates(audited):
    verdicts, urls = audited
    duplicated = [r for r in verdicts["memorised"] if r["prompt"] in DUPLICATED.values()]
    caught = [r for r in duplicated if r["verdict"] == "copy" and urls[r["nearest_id"]].startswith(_source(r["prompt"]))]
    wrong_image = [r for r in duplicated if r["verdict"] == "copy" and r not in caught]
    deduped = verdicts["deduped"]
    false_flags = [r for r in deduped if r["verdict"] != "novel"]
    singles = [r for r in verdicts["memorised"] if r["prompt"] not in DUPLICATED.values()]
    figures = {
        "detection_rate": len(caught) / len(duplicated),
        "copies_of_a_wrong_image": len(wrong_image),
        "false_positive_rate_deduped_model": len(false_flags) / len(deduped),
        "copy_rate_single_images_memorised_model": sum(r["verdict"] == "copy" for r in singles) / len(singles),
        "cluster_size_of_caught": sorted({r["nearest_cluster_size"] for r in caught}),
        "tile_l2_caught": sorted(round(r["tile_l2"], 3) for r in caught),
        "tile_l2_deduped": sorted(round(r["tile_l2"], 3) for r in deduped),
        "text_noise_duplicated": sorted(round(r["text_noise"], 1) for r in duplicated),
        "text_noise_singles": sorted(round(r["text_noise"], 1) for r in singles),
        "text_noise_deduped": sorted(round(r["text_noise"], 1) for r in deduped),
    }
    print(json.dumps(figures, indent=1))
    assert figures["detection_rate"] >= 0.5 and not wrong_image, figures
    assert figures["false_positive_rate_deduped_model"] == 0, figures
    assert all(size >= COPIES for size in figures["cluster_size_of_caught"]), figures
    # Duplication drives copying: the images seen once are not copied by the same model.
    assert figures["copy_rate_single_images_memorised_model"] < figures["detection_rate"], figures
    # The model-side score (no training set needed) is larger for the duplicated captions.
    assert np.median(figures["text_noise_duplicated"]) > np.median(figures["text_noise_singles"]), figures
