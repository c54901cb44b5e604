"""Small helpers the tests share."""

import pyarrow.parquet as pq

from curate.cli import main
from curate.manifest import read_table
from curate.workspace import Workspace

# Columns that differ between two correct runs of the same inputs.
RUN_DEPENDENT = {"shard", "key"}


def curate(*argv) -> int:
    return main(["--quiet", *map(str, argv)])


def images(dataset) -> list[dict]:
    return sorted(read_table(Workspace.open(dataset), "images").to_pylist(), key=lambda r: (r["url"], r["key"]))


def by_url(dataset) -> dict[str, dict]:
    return {r["url"]: r for r in images(dataset)}


def comparable(rows: list[dict], drop=RUN_DEPENDENT) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in drop} for r in rows]


def parquet_rows(path) -> list[dict]:
    return pq.read_table(path).to_pylist()
