"""`curate query`: DuckDB over a dataset's manifests, one view per table.

Two kinds of connection. `curate query` runs the user's own SQL with DuckDB's full powers (it
can read and write any file the user can). The queries the project builds itself, and the
`--where` predicates users give shard and train (from the command line, a `curate run` config
or a set's plan.json, which may come with a dataset someone sent), run on a locked connection:
no file but the manifest partitions, no extension installed or loaded, no setting changed.
"""

import json
import re
import sys
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from curate import manifest, manifests
from curate.errors import UserError
from curate.workspace import Workspace

FORMATS = ("table", "csv", "json", "parquet")
LOCKED = ("SET enable_external_access = false", "SET autoinstall_known_extensions = false",
          "SET autoload_known_extensions = false", "SET lock_configuration = true")  # the last one last


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def connect(ws: Workspace, locked: bool = True) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with a view per manifest table (an empty table where none is written
    yet); `locked`, it reads the partitions those views name and nothing else."""
    con = duckdb.connect()
    files = []
    for table in manifests.TABLES:
        parts = [str(p) for p in ws.partitions(table)]
        if parts:
            con.execute(f"CREATE VIEW {table} AS SELECT * FROM "
                        f"read_parquet([{', '.join(map(_literal, parts))}], union_by_name = true)")
            files += parts
        else:
            con.execute(manifests.ddl(table))
    if locked:
        con.execute(f"SET allowed_paths = [{', '.join(map(_literal, files))}]")
        for setting in LOCKED:
            con.execute(setting)
    return con


def predicate(where: str) -> duckdb.Expression:
    """A user's --where as one SQL expression over a row's columns, refused (one line) when it
    is anything else: a second statement, a subquery, a stray parenthesis. It is never pasted
    into SQL text: it filters a relation."""
    try:
        expression = duckdb.SQLExpression(where)
        with duckdb.connect() as con:  # its own: DuckDB's default connection is the caller's
            tree = json.loads(con.execute("SELECT json_serialize_sql(?)", [f"SELECT 1 WHERE ({where})"]).fetchall()[0][0])
    except duckdb.Error as err:
        raise UserError(f"--where {where!r} is not one SQL expression: {_one_line(err)}") from None
    if tree.get("error") or len(tree["statements"]) != 1 or _has_subquery(tree["statements"][0]["node"]["where_clause"]):
        raise UserError(f"--where {where!r}: give one SQL expression over the columns (no subquery, no statement)")
    return expression


def _has_subquery(node) -> bool:
    if isinstance(node, dict):
        return node.get("class") == "SUBQUERY" or any(_has_subquery(v) for v in node.values())
    return isinstance(node, list) and any(_has_subquery(v) for v in node)


def _one_line(err: Exception) -> str:
    return " ".join(str(err).split())


def fetch(ws: Workspace, sql: str, where: str | None = None, locked: bool = True):
    """Run SQL (filtered by a user's `where` predicate when given); DuckDB's complaint about it
    becomes one line for the user, and a damaged partition names itself."""
    expression = None if where is None else predicate(where)  # refused before anything runs
    try:
        rel = connect(ws, locked).sql(sql)
        if expression is not None:
            rel = rel.filter(expression)
        return None if rel is None else rel.to_arrow_table()
    except duckdb.Error as err:
        named = re.search(r"file '([^']+\.parquet)'", str(err))
        if named and Path(named.group(1)).parent.parent == ws.manifests:
            raise manifest.damaged(Path(named.group(1)), str(err)) from None
        raise UserError(f"query failed: {_one_line(err)}") from None


def run_query(ws: Workspace, sql: str, fmt: str = "table", out=None) -> None:
    table = fetch(ws, sql, locked=False)  # the user's own SQL, with DuckDB's full powers
    if table is None:
        return
    if fmt == "parquet":
        if out is None:
            raise UserError("--format parquet needs --out FILE")
        pq.write_table(table, out)
    elif fmt == "csv":
        pacsv.write_csv(_flat(table), out or sys.stdout.buffer)
    elif fmt == "json":
        lines = "".join(json.dumps(row, default=str) + "\n" for row in table.to_pylist())
        _write_text(lines, out)
    else:
        _write_text(str(duckdb.from_arrow(table)), out)


def _flat(table: pa.Table) -> pa.Table:
    """CSV holds no structs or lists (the caption record, a vector): those cells become JSON text."""
    for i, field in enumerate(table.schema):
        if pa.types.is_nested(field.type):
            text = pa.array([None if v is None else json.dumps(v, default=str) for v in table.column(i).to_pylist()],
                            pa.string())
            table = table.set_column(i, pa.field(field.name, pa.string()), text)
    return table


def _write_text(text: str, out) -> None:
    if out is None:
        sys.stdout.write(text)
    else:
        with open(out, "w") as fh:
            fh.write(text)
