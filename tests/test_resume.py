"""A killed ingest resumes to exactly the rows of a clean run; a rerun does no work twice."""

import os
import signal
import subprocess
import sys
import time

from curate.workspace import Workspace
from tests.helpers import curate, images
from tests.test_ingest_urls import write_list


def test_sigkill_mid_run_then_rerun_matches_a_clean_run(tmp_path, fault_server, real_images):
    base, _, _ = fault_server
    urls = [f"{base}/delay/150/{real_images[i % len(real_images)].name}?n={i}" for i in range(60)]
    write_list(tmp_path / "urls.csv", urls)
    args = ["--urls", tmp_path / "urls.csv", "--number-sample-per-shard", 6, "--thread-count", 2,
            "--processes-count", 1]

    killed = tmp_path / "killed"
    proc = subprocess.Popen([sys.executable, "-m", "curate.cli", "--quiet", "ingest", str(killed), *map(str, args)])
    deadline = time.monotonic() + 120
    while len(Workspace(killed).partitions("images")) < 2:
        assert proc.poll() is None and time.monotonic() < deadline, "ingest ended before it could be killed"
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done_before = len(Workspace(killed).partitions("images"))
    assert 2 <= done_before < 10, "the kill must land mid-run"

    assert curate("ingest", killed, *args) == 0
    assert curate("ingest", tmp_path / "clean", *args) == 0

    resumed, clean = images(killed), images(tmp_path / "clean")
    assert len(resumed) == len(urls) == len({r["url"] for r in resumed})
    assert resumed == clean
    assert {r["status"] for r in resumed} == {"ok"}


def _stamps(dataset) -> dict:
    """Modification times of the data files (lineage, config and lock change on every run)."""
    return {p: p.stat().st_mtime_ns for p in dataset.rglob("*")
            if p.is_file() and "runs" not in p.parts and p.name not in ("dataset.yaml", ".lock")}


def test_second_run_does_no_work(tmp_path, fault_server, real_images, capsys):
    base, _, _ = fault_server
    write_list(tmp_path / "urls.csv", [f"{base}/{f.name}" for f in real_images])
    args = ["ingest", tmp_path / "ds", "--urls", tmp_path / "urls.csv", "--number-sample-per-shard", 5]
    assert curate(*args) == 0
    before = _stamps(tmp_path / "ds")
    capsys.readouterr()
    assert curate(*args) == 0
    assert '"shards_fetched": 0' in capsys.readouterr().out
    assert _stamps(tmp_path / "ds") == before
