"""Novelty audits: match generated samples back to their nearest training images.

`curate audit DATASET --samples DIR`: each sample is embedded with the embedder of the
dataset's FAISS index, its k nearest training images are found in that index, and each pair
gets Carlini's tiled pixel L2 (tiles.py) and a verdict (verdict.py). Rows go to
<out>/manifests/audit (one per sample and neighbour), the page to <out>/report.html, and the
inputs they were made from to <out>/manifests/audit/inputs.json: the same audit again does
nothing; one of other inputs is refused unless `overwrite`.
"""

import logging
from dataclasses import asdict
from pathlib import Path

import numpy as np
from PIL import Image

from curate import embedders, index, manifest, reruns
from curate.audit import nearest, tiles
from curate.audit.inputs import choose_embedder, read_samples, training_set
from curate.audit.report import write_report
from curate.audit.verdict import Thresholds, severity, verdict
from curate.errors import UserError
from curate.progress import bar
from curate.raw import to_rgb
from curate.workspace import Workspace, require_parent

log = logging.getLogger("curate.audit")
K = 5
BATCH = 32
REMOVED = "removed_duplicate"  # `matched` of the second column: what dedupe removed from the training set
RECORD = "inputs.json"  # in <out>/manifests/audit


def _embed(embedder, images: list[Image.Image]) -> np.ndarray:
    with bar(total=len(images), desc=f"embed samples ({embedder.name})", unit="img") as progress:
        blocks = []
        for i in range(0, len(images), BATCH):
            blocks.append(embedders.embed_images(embedder, images[i:i + BATCH]))
            progress.update(len(images[i:i + BATCH]))
    return np.concatenate(blocks)


def pair_rows(samples, images, sims, neighbours, ids, training, thresholds, matched: str = "training") -> list[dict]:
    """One row per (sample, neighbour), tiled L2 on the sample's own size; the most severe
    verdict (then the smallest tiled L2) of a sample is its decisive row, among the images
    matched against (never a removed duplicate: the model did not see it)."""
    rows = []
    for s, image, sim_row, nb_row in zip(samples, images, sims, neighbours):
        size = tiles.common_size(image)
        mine = tiles.pixels(image, size)
        pairs = []
        for rank, (sim, row) in enumerate(zip(sim_row.tolist(), nb_row.tolist()), start=1):
            if row < 0:
                continue
            theirs = tiles.pixels(training[ids[row]], size)
            l2, coarse = tiles.tile_l2(mine, theirs), tiles.coarse_tile_l2(mine, theirs)
            pairs.append({"sample_id": s.sample_id, "nearest_id": ids[row], "rank": rank, "similarity": sim,
                          "tile_l2": l2, "coarse_l2": coarse,
                          "verdict": verdict(sim, l2, coarse, float(theirs.std()), thresholds), "decisive": False,
                          "matched": matched})
        if pairs and matched != REMOVED:
            min(pairs, key=lambda p: (-severity(p["verdict"]), p["tile_l2"]))["decisive"] = True
        rows += pairs
    return rows


def audit(ws: Workspace, samples_dir, out=None, embedder: str | None = None, k: int = K,
          thresholds: Thresholds = Thresholds(), text_noise: bool = True, against: str = "training",
          model_dir=None, overwrite: bool = False) -> dict:
    samples = read_samples(samples_dir)
    name = choose_embedder(ws, embedder)
    faiss_index, ids, _meta = index.load(ws, name)
    model = embedders.cached(name)
    if model.dim != faiss_index.d:
        raise UserError(f"embedder {name} gives {model.dim}-d vectors but index/{embedders.slug(name)}.faiss holds "
                        f"{faiss_index.d}-d ones; rebuild it with `curate embed {ws.root} --embedder {name}`")
    trained = training_set(ws, samples, model_dir) if against == "training" else None
    row_of = {id_: r for r, id_ in enumerate(ids)}
    if trained is None:
        searched, removed, matched = None, None, "index"
        against_text = f"every image in the index of {ws.root}" + (
            "" if against == "index" else " (the samples name no model: --model DIR names it)")
    else:
        searched = [row_of[i] for i in trained.ids if i in row_of]
        if not searched:
            raise UserError(f"none of {trained.describe()} is in the {name} index of {ws.root}; "
                            f"rerun `curate embed {ws.root}`")
        removed = [row_of[i] for i in nearest.removed_duplicates(ws, trained.ids) if i in row_of]
        matched, against_text = "training", trained.describe()
    out_ws = Workspace(require_parent(out) if out else Path(samples_dir).resolve())
    params = {"dataset": str(ws.root), "samples": str(samples_dir), "embedder": name, "k": k, **asdict(thresholds),
              "against": against_text}
    inputs = _inputs(ws, name, samples, params, text_noise, trained)
    record = out_ws.table_dir("audit") / RECORD
    recorded = reruns.read_record(record)
    report = out_ws.root / "report.html"
    if recorded is not None and not overwrite and out_ws.partition("audit", "audit").exists() and report.is_file():
        if recorded["inputs"] == inputs:
            reruns.nothing_to_do("audit", f"{out_ws.root} holds the audit of these {len(samples)} samples")
            return recorded["result"] | {"up_to_date": True}
        changed = ", ".join(reruns.differences(recorded["inputs"], inputs))
        raise UserError(f"{out_ws.root} holds an audit of other inputs ({changed} differ); --overwrite to audit "
                        "again, or another --out")
    result = _audit(ws, out_ws, samples, name, faiss_index, ids, model, k, thresholds, text_noise,
                    searched, removed, matched, against_text, params)
    reruns.write_record(record, inputs, result)
    return result


def _inputs(ws: Workspace, name: str, samples, params: dict, text_noise: bool, trained) -> dict:
    """What an audit's rows are a function of: the samples' images, the index searched and the
    dataset's duplicates, the model's training set, the settings."""
    return {**params, "text_noise": text_noise, "samples_digest": reruns.files_digest([s.path for s in samples]),
            "sample_ids": sorted(s.sample_id for s in samples),
            "index_digest": reruns.files_digest(index.paths(ws, name)),
            "duplicates_digest": reruns.files_digest(ws.partitions("duplicates")),
            "training_set": trained.fingerprint if trained else None}


def _audit(ws: Workspace, out_ws: Workspace, samples, name, faiss_index, ids, model, k, thresholds,
           text_noise, searched, removed, matched, against_text, params) -> dict:
    with manifest.run(out_ws, "audit", params) as run:
        images = []
        for s in samples:
            try:
                with Image.open(s.path) as im:
                    im.load()
                    images.append(to_rgb(im))
            except OSError as err:
                raise UserError(f"sample {s.path} does not decode ({err})") from None
        vectors = _embed(model, images)
        sims, neighbours = nearest.search(faiss_index, vectors, k, searched)
        if removed:  # the second column: the nearest image dedupe removed from the training set
            dup_sims, dup_neighbours = nearest.search(faiss_index, vectors, 1, removed)
        else:
            dup_sims, dup_neighbours = np.zeros((len(samples), 0)), np.zeros((len(samples), 0), np.int64)
        found = sorted({int(r) for r in np.concatenate([neighbours.ravel(), dup_neighbours.ravel()]) if r >= 0})
        where = nearest.locations(ws, {ids[r] for r in found})
        missing = sorted({ids[r] for r in found} - where.keys())
        if missing:
            raise UserError(f"index/{embedders.slug(name)}.faiss names images that manifests/images does not hold "
                            f"(first: {missing[0]}); rerun `curate embed {ws.root}`")
        side = max(max(tiles.common_size(im)) for im in images)
        training = nearest.read_images(ws, where, (side, side))
        rows = pair_rows(samples, images, sims, neighbours, ids, training, thresholds, matched)
        rows += pair_rows(samples, images, dup_sims, dup_neighbours, ids, training, thresholds, REMOVED)
        sizes = nearest.cluster_sizes(ws, faiss_index, ids, found)
        scores = {}
        if text_noise:
            from curate_model.memorization import text_noise_scores

            scores = text_noise_scores(samples)
        for r in rows:
            r |= {"nearest_cluster_size": sizes.get(r["nearest_id"]), "text_noise": scores.get(r["sample_id"]),
                  "embedder": name, "nearest_url": where[r["nearest_id"]]["url"],
                  "nearest_license": where[r["nearest_id"]]["license"]}
        manifest.write_partition(out_ws, "audit", "audit", rows)
        run.add(rows_in=len(samples), rows_out=len(rows))
    decisive = [r for r in rows if r["decisive"]]
    counts = {v: sum(r["verdict"] == v for r in decisive) for v in ("novel", "near", "copy")}
    report = write_report(ws, out_ws, samples, rows, where, thresholds, against_text)
    return {"samples": len(samples), "embedder": name, "k": k, "matched_against": against_text,
            "removed_duplicates_searched": len(removed or []), **counts,
            "novelty_rate": round(counts["novel"] / len(samples), 4), "audit": str(out_ws.table_dir("audit")),
            "report": str(report)}
