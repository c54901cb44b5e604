"""`curate query`: views over manifests, output formats, one-line errors."""

import json

import pyarrow.parquet as pq
import pytest

from curate import manifest
from curate.workspace import Workspace
from tests.helpers import curate


@pytest.fixture
def dataset(tmp_path):
    ws = Workspace.create(tmp_path / "ds")
    rows = [{"id": f"{i:064x}", "url": f"http://x/{i}.jpg", "status": "ok" if i % 3 else "download_failed",
             "shard": f"{i // 4:05d}"} for i in range(10)]
    for shard in sorted({r["shard"] for r in rows}):
        manifest.write_partition(ws, "images", shard, [r for r in rows if r["shard"] == shard])
    return ws.root


def test_group_by_status_as_json(dataset, capsys):
    assert curate("query", dataset, "SELECT status, count(*) AS n FROM images GROUP BY 1 ORDER BY 1",
                  "--format", "json") == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert lines == [{"status": "download_failed", "n": 4}, {"status": "ok", "n": 6}]


def test_csv_table_and_parquet(dataset, tmp_path, capsys):
    assert curate("query", dataset, "SELECT url FROM images ORDER BY url LIMIT 2", "--format", "csv") == 0
    assert capsys.readouterr().out.splitlines() == ['"url"', '"http://x/0.jpg"', '"http://x/1.jpg"']
    assert curate("query", dataset, "SELECT count(*) AS n FROM images") == 0
    assert "10" in capsys.readouterr().out
    out = tmp_path / "ok.parquet"
    assert curate("query", dataset, "SELECT * FROM images WHERE status = 'ok'", "--format", "parquet",
                  "--out", out) == 0
    assert pq.read_table(out).num_rows == 6


def test_tables_without_partitions_are_empty_views(dataset, capsys):
    assert curate("query", dataset, "SELECT count(*) AS n FROM runs", "--format", "json") == 0
    assert json.loads(capsys.readouterr().out) == {"n": 0}


@pytest.mark.parametrize("sql,needle", [
    ("SELEC * FROM images", "syntax error"),
    ("SELECT nope FROM images", "nope"),
    ("SELECT * FROM missing_table", "missing_table"),
])
def test_bad_sql_is_one_line_and_exit_2(dataset, capsys, sql, needle):
    assert curate("query", dataset, sql) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("curate query: error: query failed:") and needle in err


def test_not_a_dataset(tmp_path, capsys):
    assert curate("query", tmp_path / "nothing", "SELECT 1") == 2
    assert "is not a dataset" in capsys.readouterr().err


def test_a_reader_that_stops_early_is_not_an_error(dataset):
    """`curate query ... | head -1`: once head has what it wants, curate ends quietly, as cat does."""
    import subprocess
    import sys

    sql = "SELECT repeat(url, 2000) AS u FROM images, range(50)"  # ~14 MB, far past the pipe's buffer
    with subprocess.Popen([sys.executable, "-m", "curate.cli", "query", str(dataset), sql, "--format", "csv"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
        assert proc.stdout.readline() == b'"u"\n'
        proc.stdout.close()
        err = proc.stderr.read().decode()
        assert proc.wait() == 0 and "Traceback" not in err, err
