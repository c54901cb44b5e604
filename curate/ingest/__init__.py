"""`curate ingest`: plan new inputs into shards, then fetch each shard as an executor task.

Planning runs in the driver: inputs whose URL is already in a shard plan
(raw/<shard>.input.parquet) are skipped, the rest are cut into new numbered shards. Each
plan file is written atomically before any fetching, so a killed run resumes with the same
shards, and a rerun with a longer URL list fetches only the new URLs.
"""

import collections
import dataclasses
import functools
import logging

import pyarrow as pa
import pyarrow.parquet as pq

from curate import manifest
from curate.errors import UserError
from curate.ingest import records
from curate.ingest.fetch import PLAN_COLUMNS, FetchOptions, ingest_shard, input_path, make_resizer
from curate.progress import bar
from curate.workspace import Workspace

log = logging.getLogger("curate.ingest")


def planned_shards(ws: Workspace) -> list[str]:
    return sorted(p.name.split(".")[0] for p in ws.raw.glob("*.input.parquet"))


def plan(ws: Workspace, inputs: list[dict], per_shard: int) -> int:
    """Write plan files for inputs not planned before; returns how many were new."""
    shards = planned_shards(ws)
    seen = set()
    for shard in shards:
        seen.update(pq.read_table(input_path(ws, shard), columns=["url"]).column("url").to_pylist())
    new = [row for row in inputs if row["url"] not in seen]
    if len(new) < len(inputs):
        log.info("skipping %d inputs already ingested or planned", len(inputs) - len(new))
    next_id = int(shards[-1]) + 1 if shards else 0
    schema = pa.schema([(c, pa.string()) for c in PLAN_COLUMNS])
    for start in range(0, len(new), per_shard):
        shard = f"{next_id:0{records.SHARD_DIGITS}d}"
        table = pa.Table.from_pylist(new[start:start + per_shard], schema=schema)
        manifest.write_atomic(table, input_path(ws, shard))
        next_id += 1
    return len(new)


def check(inputs: list[dict], opts: FetchOptions, params: dict) -> None:
    """Refuse, before any folder is made, what would fetch nothing or fail later: a bad option
    combination, or a source with no inputs."""
    make_resizer(opts)
    if not inputs:
        given = " ".join(f"--{k} {v}" for k, v in params.items() if k in ("urls", "folder", "tar") and v)
        raise UserError(f"{given}: no inputs in it (no URLs, images or archive members); nothing to ingest")


def ingest(ws: Workspace, inputs: list[dict], opts: FetchOptions, executor, params: dict) -> dict:
    """Plan inputs into shards and fetch every shard that has no images partition yet."""
    check(inputs, opts, params)
    with ws.lock(), manifest.run(ws, "ingest", {**params, **dataclasses.asdict(opts)}) as run:
        new = plan(ws, inputs, opts.number_sample_per_shard)
        todo = [s for s in planned_shards(ws) if not ws.partition("images", s).exists()]
        done = len(planned_shards(ws)) - len(todo)
        if done:
            log.info("skipping %d shards whose images partition exists", done)
        task = functools.partial(ingest_shard, str(ws.root), opts)
        rows, status = 0, collections.Counter()
        with executor as ex, bar(total=len(todo), desc="ingest", unit="shard") as progress:
            for shard, count in ex.map(task, todo):
                rows += count
                status.update(pq.read_table(ws.partition("images", shard), columns=["status"]).column("status").to_pylist())
                progress.update()
        run.add(rows_in=len(inputs), rows_out=rows)
    # inputs = inputs_known (in a shard plan already: skipped) + inputs_planned (new shards now);
    # rows_written counts the images rows of every shard fetched, a resumed run's earlier plans
    # too; status, like img2dataset's stats, what became of the rows this run wrote
    return {"inputs": len(inputs), "inputs_known": len(inputs) - new, "inputs_planned": new,
            "shards_fetched": len(todo), "rows_written": rows, "status": dict(status.most_common())}
