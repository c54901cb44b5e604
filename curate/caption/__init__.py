"""`curate caption`: a hierarchical caption per stored image (manifests/captions, the record of
docs/contracts.md section 4), one partition per raw shard, grounded in detectors; a VLM, when
given, writes only the summary and never overrides a detector's count."""

import functools
import logging
import time


from curate import manifest, reruns
from curate.caption import ocr
from curate.caption.detect import DETECTORS
from curate.caption.image import caption_image
from curate.errors import UserError
from curate.progress import bar
from curate.raw import iter_shard_images
from curate.workspace import Workspace

log = logging.getLogger("curate.caption")


def parse_detectors(text: str | None) -> tuple[str, ...]:
    if not text:
        return DETECTORS
    names = tuple(x.strip() for x in text.split(",") if x.strip())
    unknown = [n for n in names if n not in DETECTORS]
    if unknown:
        raise UserError(f"unknown detector {', '.join(unknown)}; choose from {', '.join(DETECTORS)}")
    return names


def captioner_name(detectors, vlm_dir: str | None) -> str:
    return (f"vlm:{vlm_dir}" if vlm_dir else "template") + "+" + ",".join(detectors)


@functools.cache
def _vlm(vlm_dir: str | None):
    if vlm_dir is None:
        return None
    from curate.caption.vlm import load

    return load(vlm_dir)


def _kept_ids(ws: Workspace) -> set[str]:
    if not ws.partitions("duplicates"):
        raise UserError("--kept-only needs a dedupe first: run `curate dedupe` on this dataset")
    return {r["id"] for r in manifest.read_table(ws, "duplicates").select(["id", "keep"]).to_pylist() if r["keep"]}


def caption_shard(root: str, detectors: tuple[str, ...], vlm_dir: str | None, kept_only: bool, threads: int,
                  shard: str) -> dict:
    ocr.use_threads(threads)
    ws = Workspace(root)
    rows = manifest.read_partition(ws.partition("images", shard), columns=["id", "key", "text", "status"]).to_pylist()
    kept = _kept_ids(ws) if kept_only else None
    wanted = {}
    for r in rows:
        if r["status"] == "ok" and (kept is None or r["id"] in kept):
            wanted.setdefault(r["id"], r)  # byte-identical copies share a caption
    by_key = {r["key"]: r for r in wanted.values()}
    out, seconds = [], {}
    started = time.perf_counter()
    for key, data in iter_shard_images(ws, shard, by_key):
        image = by_key[key]
        row = caption_image(data, image["text"], detectors, _vlm(vlm_dir))
        for name, s in row.pop("seconds", {}).items():
            seconds[name] = seconds.get(name, 0.0) + s
        out.append({"id": image["id"], "captioner": captioner_name(detectors, vlm_dir), **row})
    manifest.write_partition(ws, "captions", shard, out)
    return {"images": len(out), "seconds": seconds, "wall": time.perf_counter() - started}


def _refuse_other_captioners(ws: Workspace, shards: list[str], wanted: str) -> None:
    """Captions of other detectors or another VLM beside these would mix two captioners in one
    table: refused (--overwrite captions every shard again)."""
    made = {c for s in shards
            for c in manifest.read_partition(ws.partition("captions", s), columns=["captioner"]).column("captioner").to_pylist()}
    if made - {wanted}:
        raise UserError(f"the captions were made by {', '.join(sorted(made))}, not {wanted}; "
                        "rerun with --overwrite to caption every shard again")


def caption(ws: Workspace, executor, detectors=DETECTORS, vlm_dir: str | None = None, kept_only: bool = False,
            overwrite: bool = False) -> dict:
    """Caption each shard not captioned yet. `kept_only` captions only the images dedupe kept
    (what training reads); a later run without it does not go back to fill in the rest."""
    if vlm_dir is not None:
        _vlm(vlm_dir)  # fail fast on a bad checkpoint folder, before any task
    if kept_only:
        _kept_ids(ws)
    params = {"detectors": list(detectors), "vlm": vlm_dir, "kept_only": kept_only}
    with ws.lock(), manifest.run(ws, "caption", params) as run:
        shards = ws.partition_names("images")
        done = [s for s in shards if ws.partition("captions", s).exists()]
        if overwrite:
            for s in done:
                ws.partition("captions", s).unlink()
        else:
            _refuse_other_captioners(ws, done, captioner_name(detectors, vlm_dir))
        todo = [s for s in shards if not ws.partition("captions", s).exists()]
        if not todo:
            reruns.nothing_to_do("caption", f"every shard is captioned by {captioner_name(detectors, vlm_dir)}")
            run.add(rows_in=len(shards), rows_out=0)
            return {"shards_captioned": 0, "captions": 0, "seconds": {}, "task_seconds": 0.0}
        if len(todo) < len(shards):
            log.info("skipping %d shards already captioned", len(shards) - len(todo))
        # Fewer shards than local workers (a small dataset, or img2dataset's 10k-image shards):
        # give each task's OCR, most of the time, the cores that would sit idle.
        threads = max(1, getattr(executor, "workers", 1) // max(1, len(todo)))
        task = functools.partial(caption_shard, str(ws.root), tuple(detectors), vlm_dir, kept_only, threads)
        total, seconds, task_seconds = 0, {}, 0.0
        with executor as ex, bar(total=len(todo), desc="caption", unit="shard") as progress:
            for _shard, result in ex.map(task, todo):
                total += result["images"]
                task_seconds += result["wall"]
                for name, s in result["seconds"].items():
                    seconds[name] = seconds.get(name, 0.0) + s
                progress.update()
        run.add(rows_in=len(shards), rows_out=total)
    return {"shards_captioned": len(todo), "captions": total, "seconds": seconds, "task_seconds": task_seconds}
