"""The checker catches real memorisation (README 'Audit', end to end).

A planted set as a user would build it: every caption from one template that differs only in the
picture's name, four photos each duplicated COPIES times (square crops re-encoded at other sizes
and qualities: other bytes, as scraped duplicates are) among SINGLES photos seen once, dedupe
off. The tiny model trained on it draws the duplicated photos back when prompted with their
captions, and the audit must say `copy` with a copy of the right photo nearest; the samples of
single photos' captions must not be flagged, nor those of a model trained after dedupe.
"""

import json
import shutil

import numpy as np
import pytest
from PIL import Image

from curate import corpus, manifest
from curate.workspace import Workspace
from tests.helpers import curate

TEMPLATE = "an archive picture of the {}"
DUPLICATED = ("cv_butterfly.jpg", "cv_dog.jpg", "cv_lake.jpg", "cv_robin.jpg")
COPIES = 12
SINGLES = 36  # distinct photos seen once each
SEEDS = "0-3"
STEPS_MEMORISED, STEPS_DEDUPED = 1500, 300


def _caption(name: str) -> str:
    return TEMPLATE.format(name.split(".")[0].split("_", 1)[1].replace("_", " "))


def _build(src) -> list[str]:
    """The duplicated photos and SINGLES distinct ones, a caption beside each; the captions of
    the first four singles (the prompts of photos seen once)."""
    for name in DUPLICATED:
        image = Image.open(corpus.images_dir() / name).convert("RGB")
        side = min(image.size)
        image = image.crop(((image.width - side) // 2, (image.height - side) // 2,
                            (image.width + side) // 2, (image.height + side) // 2))
        for c in range(COPIES):
            out = src / f"dup_{name.split('.')[0]}_{c:02d}.jpg"
            image.resize((256 - 8 * c, 256 - 8 * c), Image.Resampling.BICUBIC).save(out, quality=95 - 2 * c)
            out.with_suffix(".txt").write_text(_caption(name))
    rows = corpus.catalog()
    groups = {}
    for r in rows:
        groups[r["group"]] = groups.get(r["group"], 0) + 1
    singles = [r["file"] for r in rows if r["kind"] == "photo" and groups[r["group"]] == 1 and r["file"] not in DUPLICATED]
    for name in singles[:SINGLES]:
        shutil.copy(corpus.images_dir() / name, src / name)
        (src / name).with_suffix(".txt").write_text(_caption(name))
    return [_caption(n) for n in singles[:4]]


def _decisive(samples) -> list[dict]:
    rows = manifest.read_table(Workspace(samples), "audit").to_pylist()
    made = {r["sample_id"]: r for r in manifest.read_table(Workspace(samples), "samples").to_pylist()}
    return [r | {"prompt": made[r["sample_id"]]["prompt"], "grain": made[r["sample_id"]]["grain"]}
            for r in rows if r["decisive"]]


@pytest.fixture(scope="module")
def audited(tmp_path_factory):
    root = tmp_path_factory.mktemp("memorisation")
    (root / "src").mkdir()
    single_captions = _build(root / "src")
    ds = root / "ds"
    assert curate("ingest", ds, "--folder", root / "src", "--number-sample-per-shard", 64) == 0
    assert curate("embed", ds) == 0
    prompts = root / "prompts.txt"
    prompts.write_text("\n".join([*map(_caption, DUPLICATED), *single_captions]) + "\n")
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
    return next(f"dup_{n.split('.')[0]}_" for n in DUPLICATED if _caption(n) == prompt)


@pytest.mark.slow
def test_audit_catches_the_memorised_duplicates(audited):
    verdicts, urls = audited
    duplicated_captions = set(map(_caption, DUPLICATED))
    duplicated = [r for r in verdicts["memorised"] if r["prompt"] in duplicated_captions]
    caught = [r for r in duplicated if r["verdict"] == "copy" and urls[r["nearest_id"]].startswith(_source(r["prompt"]))]
    wrong_image = [r for r in duplicated if r["verdict"] == "copy" and r not in caught]
    deduped = verdicts["deduped"]
    singles = [r for r in verdicts["memorised"] if r["prompt"] not in duplicated_captions]
    figures = {
        "detection_rate": len(caught) / len(duplicated),
        "copies_of_a_wrong_image": len(wrong_image),
        "flag_rate_single_images_memorised_model": sum(r["verdict"] != "novel" for r in singles) / len(singles),
        "flag_rate_deduped_model": sum(r["verdict"] != "novel" for r in deduped) / len(deduped),
        "cluster_size_of_caught": sorted({r["nearest_cluster_size"] for r in caught}),
        "tile_l2_duplicated": sorted(round(r["tile_l2"], 3) for r in duplicated),
        "coarse_l2_duplicated": sorted(round(r["coarse_l2"], 3) for r in duplicated),
        "tile_l2_singles": sorted(round(r["tile_l2"], 3) for r in singles),
        "tile_l2_deduped": sorted(round(r["tile_l2"], 3) for r in deduped),
        "grain_duplicated": float(np.median([r["grain"] for r in duplicated])),
        "text_noise_duplicated": sorted(round(r["text_noise"], 1) for r in duplicated),
        "text_noise_singles": sorted(round(r["text_noise"], 1) for r in singles),
    }
    print(json.dumps(figures, indent=1))
    # Measured 16 of 16 (2026-12-01) since guidance stops above t = 500 (11 of 16 before: guided
    # high-noise steps drew the lake's sky cyan, tiled L2 0.19-0.22); the floor leaves a margin.
    assert figures["detection_rate"] >= 0.8 and not wrong_image, figures
    assert figures["flag_rate_single_images_memorised_model"] <= 0.05, figures
    assert figures["flag_rate_deduped_model"] == 0, figures
    assert all(size >= COPIES for size in figures["cluster_size_of_caught"]), figures
    # The model-side score (no training set needed) is larger for the duplicated captions.
    assert np.median(figures["text_noise_duplicated"]) > np.median(figures["text_noise_singles"]), figures
