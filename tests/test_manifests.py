"""Manifest schemas come from the DDL in manifests/; partitions are atomic and typed."""

import pyarrow.parquet as pq
import pytest

from curate import manifest, manifests
from curate.workspace import Workspace


def test_schema_is_read_off_the_ddl():
    schema = manifests.schema("images")
    assert schema.field("width").type == "int32" and schema.field("bytes").type == "int64"
    assert schema.metadata[b"curate.version"] == str(manifests.version("images")).encode()
    with pytest.raises(KeyError):
        manifests.schema("nope")


def test_partition_round_trip_keeps_schema(tmp_path):
    ws = Workspace.create(tmp_path / "ds")
    path = manifest.write_partition(ws, "images", "00000", [{"id": "a", "width": 3}])
    table = pq.read_table(path)
    assert table.schema.equals(manifests.schema("images"), check_metadata=False)
    assert table.to_pylist()[0]["width"] == 3 and table.to_pylist()[0]["url"] is None
    assert [p.name for p in ws.table_dir("images").iterdir()] == ["part-00000.parquet"], "no temp files left"


def test_wrong_type_is_refused(tmp_path):
    ws = Workspace.create(tmp_path / "ds")
    with pytest.raises(Exception):
        manifest.write_partition(ws, "images", "00000", [{"width": "wide"}])
    assert not ws.partition("images", "00000").exists()


def test_run_lineage_marks_unfinished_runs(tmp_path):
    ws = Workspace.create(tmp_path / "ds")
    with pytest.raises(RuntimeError):
        with manifest.run(ws, "ingest", {"x": 1}) as run:
            run.add(rows_in=5)
            raise RuntimeError("killed")
    with manifest.run(ws, "ingest", {"x": 2}) as run:
        run.add(rows_in=3, rows_out=3)
    rows = sorted(manifest.read_table(ws, "runs").to_pylist(), key=lambda r: r["started"])
    assert [r["finished"] is None for r in rows] == [True, False]
    assert rows[1]["rows_out"] == 3 and rows[1]["code_version"].startswith("0.1.0")
    assert "ingest" in (ws.root / "dataset.yaml").read_text()
