"""Scraping a loopback server with fault routes through the real img2dataset."""

import collections
import csv
import json

import pytest

from tests import hostile
from tests.helpers import by_url, curate


def write_list(path, urls, captions=True):
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["url", "caption", "license"] if captions else ["url"])
        for i, u in enumerate(urls):
            w.writerow([u, f"caption {i}", "CC0-1.0"] if captions else [u])


def test_every_url_becomes_a_row_with_a_clear_status(tmp_path, fault_server, real_images, capsys):
    base, root, broken = fault_server
    expected = {f"{base}/{f.name}": "ok" for f in real_images}
    expected |= {f"{base}/{name}": status for name, status in broken.items()}
    expected |= {f"{base}/fault/{kind}": status for kind, status in hostile.FAULTS.items()}
    write_list(tmp_path / "urls.csv", sorted(expected))
    before = set(tmp_path.iterdir())

    rc = curate("ingest", tmp_path / "ds", "--urls", tmp_path / "urls.csv", "--timeout", 2,
                "--number-sample-per-shard", 8, "--processes-count", 2)

    assert rc == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["status"] == dict(collections.Counter(expected.values()))  # the run's rows by status
    assert set(tmp_path.iterdir()) - before == {tmp_path / "ds"}, "wrote outside the workspace"
    rows = by_url(tmp_path / "ds")
    assert {u: r["status"] for u, r in rows.items()} == expected
    for url, row in rows.items():
        if row["status"] == "ok":
            assert len(row["id"]) == 64 and row["width"] > 0 and row["format"] in ("jpeg", "png")
            assert row["text"].startswith("caption ") and row["license"] == "CC0-1.0"
        else:
            assert row["id"] is None and row["error"], url
    assert "X-Robots-Tag" in rows[f"{base}/fault/noai"]["error"]
    assert "too large" in rows[f"{base}/bomb.png"]["error"]
    assert rows[f"{base}/fault/redirect"]["id"] == rows[f"{base}/{hostile.good_name(root)}"]["id"]


def test_noai_can_be_switched_off(tmp_path, fault_server):
    base, _, _ = fault_server
    write_list(tmp_path / "urls.txt", [], captions=False)
    (tmp_path / "urls.txt").write_text(f"{base}/fault/noai\n")
    assert curate("ingest", tmp_path / "ds", "--urls", tmp_path / "urls.txt", "--disallowed-header-directives", "") == 0
    assert [r["status"] for r in by_url(tmp_path / "ds").values()] == ["ok"]


@pytest.mark.parametrize("suffix", [".tsv", ".jsonl", ".parquet"])
def test_list_formats(tmp_path, fault_server, real_images, suffix):
    import pyarrow as pa
    import pyarrow.csv as pacsv
    import pyarrow.json  # noqa: F401
    import pyarrow.parquet as pq

    base, _, _ = fault_server
    table = pa.table({"link": [f"{base}/{f.name}" for f in real_images[:3]], "alt": ["a", "b", "c"]})
    path = tmp_path / f"list{suffix}"
    if suffix == ".tsv":
        pacsv.write_csv(table, path, pacsv.WriteOptions(delimiter="\t"))
    elif suffix == ".jsonl":
        path.write_text("".join(f'{{"link": "{u}", "alt": "{a}"}}\n' for u, a in zip(*table.to_pydict().values())))
    else:
        pq.write_table(table, path)
    assert curate("ingest", tmp_path / "ds", "--urls", path, "--url-col", "link") == 0
    rows = by_url(tmp_path / "ds")
    assert sorted(r["text"] for r in rows.values()) == ["a", "b", "c"]
    assert {r["status"] for r in rows.values()} == {"ok"}


def test_rerun_with_more_urls_fetches_only_the_new_ones(tmp_path, fault_server, real_images):
    base, _, _ = fault_server
    urls = [f"{base}/{f.name}" for f in real_images]
    write_list(tmp_path / "urls.csv", urls[:6])
    assert curate("ingest", tmp_path / "ds", "--urls", tmp_path / "urls.csv", "--number-sample-per-shard", 4) == 0
    first = by_url(tmp_path / "ds")
    write_list(tmp_path / "urls.csv", urls)
    assert curate("ingest", tmp_path / "ds", "--urls", tmp_path / "urls.csv", "--number-sample-per-shard", 4) == 0
    second = by_url(tmp_path / "ds")
    assert sorted(second) == sorted(urls)
    assert all(second[u] == first[u] for u in first), "old rows must stay as they were"
    assert {second[u]["shard"] for u in urls[6:]}.isdisjoint({first[u]["shard"] for u in first})
    # A third run has nothing to do.
    assert curate("ingest", tmp_path / "ds", "--urls", tmp_path / "urls.csv") == 0
    assert by_url(tmp_path / "ds") == second
