"""Manifest schemas: one DuckDB `CREATE TABLE` per table, in `<table>.sql` beside this file.

DuckDB DDL is the one definition: users query the manifests with DuckDB, and the Arrow schema
that partitions are written with is read off the same statement. Each file starts with a
`-- version: N` line; the version is stored in every partition's metadata.
"""

import functools
import re
from importlib import resources

import duckdb
import pyarrow as pa

TABLES = ("images", "hashes", "embeddings", "duplicates", "captions", "scores", "train_shards", "samples", "audit", "runs")


def ddl(table: str) -> str:
    if table not in TABLES:
        raise KeyError(f"unknown manifest table {table!r}; tables: {', '.join(TABLES)}")
    return resources.files(__name__).joinpath(f"{table}.sql").read_text()


def version(table: str) -> int:
    return int(re.search(r"^-- version: (\d+)", ddl(table), re.M).group(1))


@functools.cache
def schema(table: str) -> pa.Schema:
    con = duckdb.connect()
    con.execute(ddl(table))
    arrow_schema = con.sql(f"SELECT * FROM {table}").to_arrow_table().schema
    return arrow_schema.with_metadata({"curate.table": table, "curate.version": str(version(table))})
