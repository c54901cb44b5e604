"""`curate demo`: the pipeline on the bundled corpus, scraped from a loopback server like the web."""

import csv
import logging
import shutil
import time
from pathlib import Path

import yaml

from curate import corpus, embedders
from curate.audit import audit
from curate.caption import caption
from curate.caption.sheet import write_sheet
from curate.dedupe import dedupe
from curate.dedupe.report import write_report
from curate.embed import embed
from curate.errors import UserError
from curate.executors import make_executor
from curate.ingest import ingest
from curate.ingest.fetch import FetchOptions
from curate.ingest.sources import read_url_list
from curate.query import fetch
from curate.serve import serve_folder
from curate.shard import cut
from curate.workspace import Workspace

log = logging.getLogger("curate.demo")
# Two URLs the server does not have: the demo shows that failures are rows, not crashes.
MISSING = ("missing/deleted-photo.jpg", "missing/moved-drawing.png")
# The model is trained on a few distinct pictures, long enough that prompted with their captions
# it draws them (600 steps on all 245 kept images drew colour noise): a 2-core demo has minutes,
# not the GPU-days a model that generalises needs. The audit then finds those samples `copy`,
# as it should for a model that has memorised its training set. All six are 4:3 pictures, one
# aspect bucket, so every step's batch holds all of them (six buckets of one image each trained
# at a batch of one and took several times longer per image seen).
MODEL_IMAGES = ("sk_chelsea", "sk_coffee", "cv_butterfly", "cv_robin", "cv_text_hotel", "cv_lake")
TRAIN_STEPS = 800


def _fresh_workspace(out: Path) -> Workspace:
    """The demo rebuilds its own folder from scratch, and refuses to touch anything else."""
    config = out / "dataset.yaml"
    if out.exists() and any(out.iterdir()):
        if not config.exists() or "demo" not in (yaml.safe_load(config.read_text()) or {}):
            raise UserError(f"{out} exists and is not a demo dataset; pass another --out")
        log.info("replacing the previous demo dataset in %s", out)
        shutil.rmtree(out)
    return Workspace.create(out)


def write_url_list(base_url: str, path: Path) -> int:
    rows = [{"url": f"{base_url}/{r['file']}", "caption": r["caption"], "license": r["license"]}
            for r in corpus.catalog()]
    rows += [{"url": f"{base_url}/{m}", "caption": "an image that is no longer there", "license": ""}
             for m in MISSING]
    with path.open("w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=["url", "caption", "license"])
        writer.writeheader()
        writer.writerows(rows)
    return len(rows)


def run_demo(out, scheduler=None, workers=None) -> None:
    started = time.monotonic()
    ws = _fresh_workspace(Path(out).resolve())
    ws.save_config("demo", {"corpus": str(corpus.images_dir())})
    url_list = ws.root / "demo-urls.csv"
    with serve_folder(corpus.images_dir()) as base_url:
        n = write_url_list(base_url, url_list)
        log.info("serving %d corpus images on %s; scraping them with img2dataset", n - len(MISSING), base_url)
        opts = FetchOptions(number_sample_per_shard=64, thread_count=16)
        ingest(ws, read_url_list(url_list), opts, make_executor(scheduler, workers), {"urls": str(url_list)})
    log.info("embedding with %s (real ImageNet weights) and indexing in FAISS", embedders.DEFAULT)
    embed(ws, embedders.DEFAULT, make_executor(scheduler, workers or 1), workers or 1)
    log.info("deduplicating: exact, perceptual and semantic tiers")
    deduped = dedupe(ws)
    report = write_report(ws, deduped)
    log.info("captioning the %d kept images: people, faces, arms, hands, fingers, text", deduped["kept"])
    captioned = caption(ws, make_executor(scheduler, workers), kept_only=True)
    sheet = write_sheet(ws)
    log.info("cutting curated training shards of the kept images with their captions")
    shards = cut(ws)
    from curate_model.data import bucket_of, buckets
    from curate_model.sample import sample
    from curate_model.train import TrainConfig, train

    model_dir = ws.root / "model"
    # one kept image of each picture (dedupe keeps one of a near-duplicate pair, say a _small copy)
    where = " OR ".join(f"url LIKE '%/{stem}%'" for stem in MODEL_IMAGES)
    log.info("training the tiny model on %d of the curated images (%d steps on the CPU)", len(MODEL_IMAGES),
             TRAIN_STEPS)
    config = TrainConfig(where=where, shards="demo_model", steps=TRAIN_STEPS, checkpoint_every=TRAIN_STEPS,
                         dense_ratio=0.0).resolved()
    trained = train(ws, model_dir, config)
    prompts = [r["short"] for r in fetch(ws, "SELECT short FROM train_shards WHERE shard_set = 'demo_model' "
                                             "ORDER BY short").to_pylist()]
    sampled = sample(model_dir, prompts, list(range(4)), ws.root / "samples", steps=25,
                     size=buckets(config.resolution)[bucket_of(4, 3)])  # the aspect it was trained on
    log.info("auditing the samples against the training images (novel, near or copy?)")
    audited = audit(ws, ws.root / "samples")
    status = fetch(ws, "SELECT status, count(*) AS n FROM images GROUP BY 1 ORDER BY 2 DESC").to_pylist()
    print(f"\ncurate demo: dataset in {ws.root} ({time.monotonic() - started:.0f} s)")
    print("  images:  " + ", ".join(f"{r['n']} {r['status']}" for r in status))
    print(f"  dedupe:  {deduped['kept']} of {deduped['distinct']} distinct images kept "
          f"({deduped['byte_copies']} byte copies among the {deduped['images']}); removed "
          + ", ".join(f"{n} {tier}" for tier, n in deduped["removed"].items()))
    print(f"  report:  {report}  (the largest duplicate clusters, side by side)")
    print(f"  captions: {captioned['captions']} images; {sheet}  (boxes drawn on the images). A few:")
    for r in fetch(ws, "SELECT short FROM captions WHERE hands > 0 OR text_in_image <> '' OR people > 1 "
                       "ORDER BY people + hands DESC, id LIMIT 4").to_pylist():
        print(f"    - {r['short']}")
    print(f"  shards:  {shards['folder']}  ({shards['images']} images in {shards['shards']} WebDataset tar"
          f"{'s' if shards['shards'] > 1 else ''}, listed in manifests/train_shards)")
    print(f"  model:   {model_dir}  ({trained['images']} images, {trained['steps']} steps, final loss "
          f"{trained['final_loss']:.3f}; "
          f"loss curve {model_dir / 'loss.png'})")
    print(f"  samples: {sampled['contact_sheet']}  ({len(prompts)} training captions x 4 seeds; grain "
          f"{sampled['grain_median']:.3f})")
    print(f"  audit:   {audited['report']}  ({audited['novel']} novel, {audited['near']} near, "
          f"{audited['copy']} copy of {audited['samples']} samples)")
    print(f"  raw:     {ws.raw}   manifests: {ws.manifests}   index: {ws.index}")
    print(f"  try:     curate query {ws.root} \"SELECT kind, count(*) FROM duplicates GROUP BY 1\"")
    print(f"           curate query {ws.root} \"SELECT short FROM captions WHERE hands > 0\"")
