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


BENCHES = {"ingest": bench_ingest}


def run_bench(name: str, args) -> None:
    from curate import progress

    progress.setup(quiet=True)  # bars and logs would interleave with the timings
    result = BENCHES[name](args)
    width = max(map(len, result))
    print(f"curate bench {name}")
    for key, value in result.items():
        print(f"  {key:<{width}}  {value}")
