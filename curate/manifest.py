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
from curate.workspace import Workspace


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


def read_table(ws: Workspace, table: str) -> pa.Table:
    parts = ws.partitions(table)
    if not parts:
        return manifests.schema(table).empty_table()
    return pa.concat_tables([pq.read_table(p) for p in parts], promote_options="permissive")


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
