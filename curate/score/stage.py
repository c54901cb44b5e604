"""`curate score`: the scores of each stored image, one manifests/scores partition per raw shard.

Run it after `curate caption` where both run: text_area then reads the caption's OCR boxes
instead of running OCR a second time (OCR is most of a caption's time)."""

import functools
import logging
import time

import numpy as np

from curate import index, manifest
from curate.caption import ocr
from curate.errors import UserError
from curate.progress import bar
from curate.raw import iter_shard_images
from curate.score import aesthetic as aesthetic_head
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


def add_aesthetic(ws: Workspace, shard: str, rows: list[dict], head: str, embedder: str) -> None:
    """The opt-in head's score on each row's stored vector (NULL where the image has none)."""
    path = index.embedding_partition(ws, embedder, shard)
    table = manifest.read_partition(path, columns=["id", "vector"]).to_pylist() if path.exists() else []
    vectors = {r["id"]: r["vector"] for r in table}
    have = [r for r in rows if r["id"] in vectors and r["status"] == "ok"]
    if have:
        values = aesthetic_head.scores(head, np.array([vectors[r["id"]] for r in have], np.float32))
        for r, v in zip(have, values):
            r["aesthetic"] = float(v)
    for r in rows:
        if r.get("provenance"):
            r["provenance"]["aesthetic"] = aesthetic_head.name(head, embedder)


def score_shard(root: str, threads: int, aesthetic: tuple[str, str] | None, shard: str) -> dict:
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
    if aesthetic:
        add_aesthetic(ws, shard, out, *aesthetic)
    manifest.write_partition(ws, "scores", shard, out)
    return {"images": len(out), "ocr_reused": sum(r["id"] in boxes for r in out), "seconds": seconds,
            "wall": time.perf_counter() - started}


def _done(ws: Workspace, shard: str, aesthetic: tuple[str, str] | None) -> bool:
    """Scored already, with the opt-in head asked for now where one is (else it is scored again)."""
    path = ws.partition("scores", shard)
    if not path.exists():
        return False
    if not aesthetic:
        return True
    wanted = aesthetic_head.name(*aesthetic)
    made = {p.get("aesthetic") for p in manifest.read_partition(path, ["provenance"]).column("provenance").to_pylist() if p}
    return made <= {wanted}


def score(ws: Workspace, executor, aesthetic: tuple[str, str] | None = None) -> dict:
    """Score each shard not scored yet (delete a partition to score its shard again).
    `aesthetic`: (head file, embedder), the opt-in aesthetic head on that embedder's vectors."""
    if aesthetic:
        parts = [p for s in ws.partition_names("images") if (p := index.embedding_partition(ws, aesthetic[1], s)).exists()]
        if not parts:
            raise UserError(f"--aesthetic needs {aesthetic[1]} embeddings: run `curate embed --embedder {aesthetic[1]}` first")
        first = manifest.read_partition(parts[0], ["vector"]).slice(0, 1).to_pylist()
        dim = len(first[0]["vector"]) if first else aesthetic_head.load_head(aesthetic[0])[0][0].shape[1]
        aesthetic_head.scores(aesthetic[0], np.zeros((1, dim)))  # a bad head or a wrong size fails before any task
    params = {"aesthetic": list(aesthetic) if aesthetic else None}
    with ws.lock(), manifest.run(ws, "score", params) as run:
        shards = ws.partition_names("images")
        todo = [s for s in shards if not _done(ws, s, aesthetic)]
        if len(todo) < len(shards):
            log.info("skipping %d shards already scored", len(shards) - len(todo))
        threads = max(1, getattr(executor, "workers", 1) // max(1, len(todo)))  # OCR's cores, as in caption
        task = functools.partial(score_shard, str(ws.root), threads, aesthetic)
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
