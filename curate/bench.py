"""`curate bench NAME`: throughput ratios against a baseline run in the same process.

Machines here are shared and noisy, so a bench alternates the two sides for several rounds
and reports the ratio of medians rather than absolute speeds.
"""

import contextlib
import csv
import os
import statistics
import tempfile
import time
from pathlib import Path

from curate import corpus


@contextlib.contextmanager
def _silenced():
    """img2dataset prints and draws bars from its worker processes; keep the bench output readable."""
    saved = [os.dup(1), os.dup(2)]
    with open(os.devnull, "w") as null:
        for fd in (1, 2):
            os.dup2(null.fileno(), fd)
        try:
            yield
        finally:
            for fd, copy in zip((1, 2), saved):
                os.dup2(copy, fd)
                os.close(copy)


def bench_ingest(args) -> dict:
    """The same loopback URL list through `curate ingest` and through plain img2dataset.download."""
    from img2dataset import download

    from curate.executors import LocalExecutor
    from curate.ingest import ingest
    from curate.ingest.fetch import FetchOptions
    from curate.ingest.sources import read_url_list
    from curate.serve import serve_folder
    from curate.workspace import Workspace

    files = [r["file"] for r in corpus.catalog()]
    processes = os.cpu_count() or 1
    opts = FetchOptions(number_sample_per_shard=max(1, args.urls // processes), thread_count=32)
    times = {"img2dataset": [], "curate": []}
    with tempfile.TemporaryDirectory() as tmp, serve_folder(corpus.images_dir()) as base:
        url_list = Path(tmp) / "urls.csv"
        with url_list.open("w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["url", "caption"])
            # Distinct URLs (the query string), real images: every request is a real fetch.
            writer.writerows([f"{base}/{files[i % len(files)]}?n={i}", f"image {i}"] for i in range(args.urls))
        for round_ in range(args.rounds):
            start = time.perf_counter()
            with _silenced():
                download(
                    url_list=str(url_list), input_format="csv", url_col="url", caption_col="caption",
                    output_format="webdataset", output_folder=f"{tmp}/plain-{round_}", processes_count=processes,
                    thread_count=opts.thread_count, number_sample_per_shard=opts.number_sample_per_shard,
                    image_size=opts.image_size, resize_mode=opts.resize_mode,
                    resize_only_if_bigger=opts.resize_only_if_bigger, skip_reencode=opts.skip_reencode,
                    encode_format=opts.encode_format, encode_quality=opts.encode_quality,
                    timeout=opts.timeout, extract_exif=False, compute_hash=None,
                )
            times["img2dataset"].append(time.perf_counter() - start)
            start = time.perf_counter()
            ws = Workspace.create(f"{tmp}/curate-{round_}")
            ingest(ws, read_url_list(url_list), opts, LocalExecutor(processes), {"bench": "ingest"})
            times["curate"].append(time.perf_counter() - start)
    rate = {side: args.urls / statistics.median(t) for side, t in times.items()}
    return {
        "urls": args.urls, "rounds": args.rounds, "processes": processes,
        "img2dataset_images_per_s": round(rate["img2dataset"], 1),
        "curate_images_per_s": round(rate["curate"], 1),
        "ratio": round(rate["curate"] / rate["img2dataset"], 3),
        "goal": ">= 0.9",
    }


def _corpus_dataset(root: Path):
    """The bundled corpus ingested from its folder: the input of the embed bench."""
    from curate.executors import LocalExecutor
    from curate.ingest import ingest
    from curate.ingest.fetch import FetchOptions
    from curate.ingest.sources import read_folder
    from curate.workspace import Workspace

    ws = Workspace.create(root)
    ingest(ws, read_folder(corpus.images_dir()), FetchOptions(), LocalExecutor(),
           {"bench": "embed"})
    return ws


def bench_embed(args) -> dict:
    """`curate embed` end to end (read shards, decode, fingerprint, embed, write, index) against
    the bare model on tensors decoded and preprocessed beforehand, same model, same batch."""
    import numpy as np

    from curate import embedders
    from curate.embed import BATCH, embed
    from curate.executors import LocalExecutor
    from curate.raw import decode, read_shard_images, to_rgb

    model = embedders.cached(args.embedder, os.cpu_count() or 1)
    times = {"bare": [], "curate": []}
    with tempfile.TemporaryDirectory() as tmp:
        ws = _corpus_dataset(Path(tmp) / "ds")
        shards = ws.partition_names("images")
        images = [decode(b) for s in shards for b in read_shard_images(ws, s).values()]
        tensors = np.stack([model.preprocess(to_rgb(im)) for im in images])
        for _ in range(args.rounds):
            start = time.perf_counter()
            for i in range(0, len(tensors), BATCH):
                model.embed_batch(tensors[i:i + BATCH])
            times["bare"].append(time.perf_counter() - start)
            for path in [*ws.partitions("embeddings"), *ws.index.iterdir()]:
                path.unlink()
            start = time.perf_counter()
            embed(ws, args.embedder, LocalExecutor(1), 1)
            times["curate"].append(time.perf_counter() - start)
    rate = {side: len(images) / statistics.median(t) for side, t in times.items()}
    return {"embedder": args.embedder, "images": len(images), "rounds": args.rounds,
            "bare_images_per_s": round(rate["bare"], 1), "curate_images_per_s": round(rate["curate"], 1),
            "ratio": round(rate["curate"] / rate["bare"], 3), "goal": "ratio >= 0.8, curate >= 25 images/s"}


def bench_caption(args) -> dict:
    """`curate caption` on the bundled corpus with the default detectors and executor: images/s,
    the share of detector time per detector, and how much of the tasks' time the detectors
    themselves used (the rest is decoding, records and writing)."""
    from curate.caption import caption
    from curate.executors import LocalExecutor

    with tempfile.TemporaryDirectory() as tmp:
        ws = _corpus_dataset(Path(tmp) / "ds")
        executor = LocalExecutor()
        start = time.perf_counter()
        result = caption(ws, executor)
        wall = time.perf_counter() - start
    detector_s = sum(result["seconds"].values())
    return {"images": result["captions"], "shards": result["shards_captioned"], "workers": executor.workers,
            "seconds": round(wall, 1),
            "images_per_s": round(result["captions"] / wall, 2),
            "share": ", ".join(f"{k} {v / detector_s:.0%}" for k, v in sorted(result["seconds"].items(), key=lambda kv: -kv[1])),
            "detector_share_of_task_time": round(detector_s / result["task_seconds"], 3),
            "goal": "images_per_s >= 3 on 2 cores, every default detector"}


def bench_score(args) -> dict:
    """`curate caption` then `curate score` on the bundled corpus, default executor: the extra
    time per image the scores cost once captions ran (text_area reuses their OCR boxes), and
    images/s of the two stages together against caption's goal."""
    from curate.caption import caption
    from curate.executors import LocalExecutor
    from curate.score.stage import score

    with tempfile.TemporaryDirectory() as tmp:
        ws = _corpus_dataset(Path(tmp) / "ds")
        executor = LocalExecutor()
        start = time.perf_counter()
        captioned = caption(ws, executor)
        caption_s = time.perf_counter() - start
        start = time.perf_counter()
        result = score(ws, executor)
        score_s = time.perf_counter() - start
    n = result["scores"]
    work = sum(result["seconds"].values())
    return {"images": n, "workers": executor.workers, "ocr_reused": result["ocr_reused"],
            "caption_images_per_s": round(captioned["captions"] / caption_s, 2),
            "score_images_per_s": round(n / score_s, 2),
            "extra_ms_per_image": round(1000 * score_s / n, 1),
            "score_cpu_ms_per_image": ", ".join(f"{k} {1000 * v / n:.1f}" for k, v in
                                                sorted(result["seconds"].items(), key=lambda kv: -kv[1])),
            "score_share_of_task_time": round(work / result["task_seconds"], 3),
            "caption_and_score_images_per_s": round(n / (caption_s + score_s), 2),
            "goal": "caption_and_score_images_per_s >= 3 on 2 cores"}


def bench_dedupe(args) -> dict:
    """Semantic dedupe as tasks on synthetic 1280-d vectors drawn per shard (curate/dedupe/bench_semantic.py)."""
    from curate.dedupe.bench_semantic import TOPICS, bench

    sizes = tuple(int(float(s)) for s in args.vectors.split(","))
    topic_rows = args.topic_rows or None
    rows = bench(sizes=sizes, scheduler=args.scheduler or "local:2", topic_rows=topic_rows)
    result = {"scheduler": args.scheduler or "local:2",
              "topics": f"{topic_rows} rows each at every size" if topic_rows else f"{TOPICS} whatever the size"}
    for r in rows:
        workers = ", ".join(f"{w:.2f}" for w in r["worker_peak_gb"]) or "(not a Dask run: unmeasured)"
        phases = ", ".join(f"{k} {v:.0f}" for k, v in r["params"]["seconds"].items())
        # Where each phase's time goes, summed over its tasks (so over both workers of local:2).
        parts = "; ".join(f"{phase} " + ", ".join(f"{k} {v:.0f}" for k, v in p.items())
                          for phase, p in r["params"].get("task_seconds", {}).items())
        result[f"n={r['n']}"] = (f"{r['wall_s']:.1f} s ({phases}; cluster start {r['startup_s']:.0f} s), "
                                 f"{r['cpu_s']:.0f} CPU s, "
                                 f"driver peak {r['driver_peak_gb']:.2f} GB, workers peak {workers} GB, recall {r['recall']:.4f} of {r['planted']} planted pairs, "
                                 f"{r['pairs']} pairs, k {r['params']['k']}, {r['params']['tasks']['search']} "
                                 f"search tasks (task seconds: {parts}), work files {r['work_gb']:.1f} GB, load average {r['load'][0]} -> "
                                 f"{r['load'][1]}")
    for a, b in zip(rows, rows[1:]):
        result[f"time {a['n']}->{b['n']}"] = (f"x{b['wall_s'] / a['wall_s']:.1f} wall, x{b['cpu_s'] / a['cpu_s']:.1f} "
                                              f"CPU for x{b['n'] / a['n']:.0f} vectors")
    result["goal"] = "10M < 30 min on 2 cores, driver < 4 GB, recall >= 0.98, time at most 1.2x faster than n"
    return result


def bench_train_lora(args) -> dict:
    """`curate train --base M --lora RANK` step time against full fine-tuning of the same base M
    (--base, else a tiny curate model trained here first), same data, batch and steps, rounds
    alternating."""
    from curate_model.train import TrainConfig, train

    times = {"full": [], "lora": []}
    with tempfile.TemporaryDirectory() as tmp:
        ws = _corpus_dataset(Path(tmp) / "ds")
        base = args.base or train(ws, Path(tmp) / "base", TrainConfig(steps=2, checkpoint_every=10**9))["model"]
        for round_ in range(args.rounds):
            for side, rank in (("full", None), ("lora", args.lora)):
                cfg = TrainConfig(steps=args.steps, checkpoint_every=10**9, base=str(base), lora=rank)
                times[side].append(train(ws, Path(tmp) / f"{side}{round_}", cfg)["seconds_per_step"])
    step = {side: statistics.median(t) for side, t in times.items()}
    return {"base": str(args.base or "tiny curate model"), "rank": args.lora, "steps": args.steps,
            "rounds": args.rounds, "full_s_per_step": round(step["full"], 4), "lora_s_per_step": round(step["lora"], 4),
            "speedup": round(step["full"] / step["lora"], 3)}


def bench_train(args) -> dict:
    """`curate train` step time against a bare diffusers loop on tensors loaded beforehand: the
    same UNet config, batch, optimizer and EMA, so the difference is the data pipeline. With
    --lora RANK: LoRA against full fine-tuning instead (bench_train_lora)."""
    if getattr(args, "lora", None):
        return bench_train_lora(args)
    from curate_model.presets import PRESETS, unet_config  # first: the model package installs the torchvision fix
    from curate_model.text import load_text_encoder
    from curate_model.train import TrainConfig, train

    import torch
    from diffusers import DDPMScheduler, UNet2DConditionModel
    from diffusers.training_utils import EMAModel

    preset = PRESETS["tiny"]
    batch, steps = preset["batch_size"], args.steps
    times = {"bare": [], "curate": []}
    with tempfile.TemporaryDirectory() as tmp:
        ws = _corpus_dataset(Path(tmp) / "ds")
        tokenizer, encoder = load_text_encoder("minilm")
        tokens = tokenizer(["a photo"] * batch, padding="max_length", max_length=32, return_tensors="pt")
        with torch.no_grad():
            states = encoder(**tokens).last_hidden_state
        pixels = torch.rand(batch, 3, preset["resolution"], preset["resolution"]) * 2 - 1
        scheduler = DDPMScheduler(num_train_timesteps=1000, beta_schedule="squaredcos_cap_v2")
        for round_ in range(args.rounds):
            result = train(ws, Path(tmp) / f"m{round_}", TrainConfig(steps=steps, checkpoint_every=10**9))
            times["curate"].append(result["seconds_per_step"])
            unet = UNet2DConditionModel(**unet_config("tiny", encoder.config.hidden_size))
            optimizer = torch.optim.AdamW(unet.parameters(), lr=preset["learning_rate"], weight_decay=1e-2)
            ema = EMAModel(unet.parameters(), decay=0.999, use_ema_warmup=True)
            for i in range(steps):
                if i == 3:  # same warm-up as train()'s seconds_per_step
                    start = time.perf_counter()
                noise = torch.randn_like(pixels)
                t = torch.randint(0, 1000, (batch,))
                pred = unet(scheduler.add_noise(pixels, noise, t), t, encoder_hidden_states=states,
                            encoder_attention_mask=tokens.attention_mask).sample
                torch.nn.functional.mse_loss(pred, noise).backward()
                torch.nn.utils.clip_grad_norm_(unet.parameters(), 1.0)
                optimizer.step()
                optimizer.zero_grad(set_to_none=True)
                ema.step(unet.parameters())
            times["bare"].append((time.perf_counter() - start) / (steps - 3))
    step = {side: statistics.median(t) for side, t in times.items()}
    return {"preset": "tiny", "batch": batch, "steps": steps, "rounds": args.rounds,
            "bare_s_per_step": round(step["bare"], 4), "curate_s_per_step": round(step["curate"], 4),
            "ratio": round(step["bare"] / step["curate"], 3), "goal": ">= 0.95"}


def bench_audit(args) -> dict:
    """Samples audited per second against 10k and 100k training images (curate/audit/bench.py)."""
    from curate.audit.bench import bench

    result = {}
    for r in bench():
        result[f"n={r['n']}"] = (f"{r['samples_per_s']:.1f} samples/s ({r['samples']} samples in {r['seconds']:.1f} s; "
                                 f"embedding them alone: {r['embed_only_per_s']:.1f}/s)")
    result["goal"] = ">= 50 samples/s on 2 cores at 100k"
    return result


BENCHES = {"ingest": bench_ingest, "embed": bench_embed, "caption": bench_caption, "score": bench_score, "dedupe": bench_dedupe, "train": bench_train, "audit": bench_audit}


def run_bench(name: str, args) -> None:
    from curate import progress

    progress.setup(quiet=True)  # bars and logs would interleave with the timings
    result = BENCHES[name](args)
    width = max(map(len, result))
    print(f"curate bench {name}")
    for key, value in result.items():
        print(f"  {key:<{width}}  {value}")
