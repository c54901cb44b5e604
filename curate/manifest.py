"""Parquet manifest partitions (one per table and shard, written atomically) and run lineage."""

import contextlib
import datetime as dt
import json
import os
import subprocess
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

import curate
from curate import manifests
from curate.errors import UserError
from curate.workspace import Workspace

# The stage that writes each table: what to rerun once a damaged partition is deleted.
STAGE = {"embeddings": "embed", "duplicates": "dedupe", "captions": "caption", "scores": "score", "train_shards": "shard",
         "samples": "sample", "audit": "audit"}


def write_atomic(table: pa.Table, path: Path) -> None:
    """Write to a temp file and rename: a killed writer leaves no half partition behind."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    pq.write_table(table, tmp)
    os.replace(tmp, path)


def to_table(name: str, rows: list[dict]) -> pa.Table:
    """Rows (dicts) as an Arrow table with the manifest schema; missing columns become NULL."""
    return pa.Table.from_pylist(rows, schema=manifests.schema(name))


def write_partition(ws: Workspace, table: str, shard: str, rows: list[dict]) -> Path:
    path = ws.partition(table, shard)
    write_atomic(to_table(table, rows), path)
    return path


def refetch(shard: str) -> str:
    """How to get an ingested shard written again: ingest fetches every planned shard that has
    no images partition."""
    return (f"delete manifests/images/part-{shard}.parquet and manifests/hashes/part-{shard}.parquet, "
            "then rerun `curate ingest` with the same source")


def damaged(path: Path, why: str) -> UserError:
    """A partition that no longer reads (a truncated copy, a full disk): the file, and what to rerun."""
    path = Path(path)
    table, name = path.parent.name, path.name.removeprefix("part-").removesuffix(".parquet")
    if table in ("images", "hashes"):
        fix = refetch(name)
    elif table in STAGE:
        fix = f"delete it and rerun `curate {STAGE[table]}`"
    else:
        fix = "delete it"
    return UserError(f"manifest {path} is damaged ({' '.join(why.split())}); {fix}")


def read_partition(path: Path, columns=None) -> pa.Table:
    try:
        return pq.read_table(path, columns=columns)
    except (pa.ArrowException, OSError) as err:
        raise damaged(path, str(err)) from None


def read_table(ws: Workspace, table: str) -> pa.Table:
    parts = ws.partitions(table)
    if not parts:
        return manifests.schema(table).empty_table()
    return pa.concat_tables([read_partition(p) for p in parts], promote_options="permissive")


def code_version() -> str:
    """The package version, plus the git commit when running from a checkout."""
    here = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(
            ["git", "-C", str(here), "rev-parse", "--short", "HEAD"],
            capture_output=True, text=True, timeout=5, check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return curate.__version__
    return f"{curate.__version__}+g{commit}"


class Run:
    """A stage run's lineage row; fill rows_in/rows_out as the stage goes."""

    def __init__(self, ws: Workspace, stage: str, params: dict):
        now = dt.datetime.now(dt.timezone.utc)
        self.ws = ws
        self.row = {
            "run_id": f"{now:%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:8]}",
            "stage": stage,
            "started": now,
            "finished": None,
            "params": json.dumps(params, default=str, sort_keys=True),
            "code_version": code_version(),
            "rows_in": 0,
            "rows_out": 0,
        }

    def add(self, rows_in: int = 0, rows_out: int = 0) -> None:
        self.row["rows_in"] += rows_in
        self.row["rows_out"] += rows_out

    def save(self) -> None:
        write_partition(self.ws, "runs", self.row["run_id"], [self.row])


@contextlib.contextmanager
def run(ws: Workspace, stage: str, params: dict):
    """Record a stage run in `runs` (finished stays NULL if the stage dies) and in dataset.yaml."""
    record = Run(ws, stage, params)
    record.save()
    ws.save_config(stage, params)
    yield record
    record.row["finished"] = dt.datetime.now(dt.timezone.utc)
    record.save()
