"""`curate score`: the scores of each stored image, one manifests/scores partition per raw shard.

Run it after `curate caption` where both run: text_area then reads the caption's OCR boxes
instead of running OCR a second time (OCR is most of a caption's time)."""

import functools
import logging
import time

from curate import manifest
from curate.caption import ocr
from curate.progress import bar
from curate.raw import iter_shard_images
from curate.score.image import score_image
from curate.workspace import Workspace

log = logging.getLogger("curate.score")


def caption_boxes(ws: Workspace, shard: str) -> dict[str, list]:
    """id -> the caption stage's text boxes, for the images of `shard` whose text it read."""
    path = ws.partition("captions", shard)
    if not path.exists():
        return {}
    out = {}
    for r in manifest.read_partition(path, columns=["id", "caption"]).to_pylist():
        c = r["caption"]
        if c and (c.get("provenance") or {}).get("text") not in (None, "not run"):
            out[r["id"]] = [t["box"] for t in c["text"] or ()]
    return out


def score_shard(root: str, threads: int, shard: str) -> dict:
    ocr.use_threads(threads)
    ws = Workspace(root)
    rows = manifest.read_partition(ws.partition("images", shard), columns=["id", "key", "status"]).to_pylist()
    wanted = {}
    for r in rows:
        if r["status"] == "ok":
            wanted.setdefault(r["id"], r)  # byte-identical copies share their scores
    by_key = {r["key"]: r for r in wanted.values()}
    boxes = caption_boxes(ws, shard)
    out, seconds = [], {}
    started = time.perf_counter()
    for key, data in iter_shard_images(ws, shard, by_key):
        id_ = by_key[key]["id"]
        row = score_image(data, boxes.get(id_))
        for name, s in row.pop("seconds", {}).items():
            seconds[name] = seconds.get(name, 0.0) + s
        out.append({"id": id_, **row})
    manifest.write_partition(ws, "scores", shard, out)
    return {"images": len(out), "ocr_reused": sum(r["id"] in boxes for r in out), "seconds": seconds,
            "wall": time.perf_counter() - started}


def score(ws: Workspace, executor) -> dict:
    """Score each shard not scored yet (delete a partition to score its shard again)."""
    with ws.lock(), manifest.run(ws, "score", {}) as run:
        shards = ws.partition_names("images")
        todo = [s for s in shards if not ws.partition("scores", s).exists()]
        if len(todo) < len(shards):
            log.info("skipping %d shards already scored", len(shards) - len(todo))
        threads = max(1, getattr(executor, "workers", 1) // max(1, len(todo)))  # OCR's cores, as in caption
        task = functools.partial(score_shard, str(ws.root), threads)
        total, reused, seconds, task_seconds = 0, 0, {}, 0.0
        with executor as ex, bar(total=len(todo), desc="score", unit="shard") as progress:
            for _shard, result in ex.map(task, todo):
                total += result["images"]
                reused += result["ocr_reused"]
                task_seconds += result["wall"]
                for name, s in result["seconds"].items():
                    seconds[name] = seconds.get(name, 0.0) + s
                progress.update()
        run.add(rows_in=len(shards), rows_out=total)
    return {"shards_scored": len(todo), "scores": total, "ocr_reused": reused, "seconds": seconds,
            "task_seconds": task_seconds}
