"""`curate query`: DuckDB over a dataset's manifests, one view per table."""

import json
import sys

import duckdb
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from curate import manifests
from curate.errors import UserError
from curate.workspace import Workspace

FORMATS = ("table", "csv", "json", "parquet")


def connect(ws: Workspace) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with a view per manifest table (an empty table where none is written yet)."""
    con = duckdb.connect()
    for table in manifests.TABLES:
        if ws.partitions(table):
            pattern = str(ws.table_dir(table) / "part-*.parquet").replace("'", "''")
            con.execute(f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{pattern}', union_by_name = true)")
        else:
            con.execute(manifests.ddl(table))
    return con


def fetch(ws: Workspace, sql: str):
    """Run SQL; DuckDB's complaint about it becomes one line for the user."""
    try:
        rel = connect(ws).sql(sql)
        return None if rel is None else rel.to_arrow_table()
    except duckdb.Error as err:
        raise UserError(f"query failed: {' '.join(str(err).split())}") from None


def run_query(ws: Workspace, sql: str, fmt: str = "table", out=None) -> None:
    table = fetch(ws, sql)
    if table is None:
        return
    if fmt == "parquet":
        if out is None:
            raise UserError("--format parquet needs --out FILE")
        pq.write_table(table, out)
    elif fmt == "csv":
        pacsv.write_csv(table, out or sys.stdout.buffer)
    elif fmt == "json":
        lines = "".join(json.dumps(row, default=str) + "\n" for row in table.to_pylist())
        _write_text(lines, out)
    else:
        _write_text(str(duckdb.from_arrow(table)), out)


def _write_text(text: str, out) -> None:
    if out is None:
        sys.stdout.write(text)
    else:
        with open(out, "w") as fh:
            fh.write(text)
