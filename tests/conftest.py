import curate.torchvision_compat  # noqa: F401  (first: before anything imports torchvision)

import contextlib
import io
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from curate import corpus
from curate.serve import serve_folder
from tests import hostile
from tests.helpers import curate


@pytest.fixture(scope="session")
def real_images() -> list[Path]:
    """Real photos and drawings from the bundled corpus (first files, sorted)."""
    files = sorted(corpus.images_dir().iterdir())
    return [f for f in files if f.suffix in (".jpg", ".png")][:12]


@pytest.fixture(scope="session")
def demo(tmp_path_factory):
    """One `curate demo` run (about two minutes) that the demo, audit and notebook tests share:
    (dataset folder, what the demo printed)."""
    out = tmp_path_factory.mktemp("demo") / "demo"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        assert curate("demo", "--out", out) == 0
    return out, printed.getvalue()


@pytest.fixture(scope="session")
def dask_address():
    """A Dask cluster started as users start theirs: a `dask scheduler` and a `dask worker`
    process (two worker processes, one thread each) on loopback. Yields its tcp:// address."""
    from dask.distributed import Client

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    address = f"tcp://127.0.0.1:{port}"
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    procs = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                               "--port", str(port), "--no-dashboard"], **quiet)]
    procs.append(subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address, "--nworkers", "2",
                                   "--nthreads", "1", "--no-dashboard", "--preload", "curate.torchvision_compat"], **quiet))
    try:
        with Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=120)
        yield address
    finally:
        for proc in reversed(procs):
            proc.terminate()
            proc.wait(30)


@pytest.fixture
def fault_server(tmp_path, real_images):
    """A loopback server with broken files and a route for each way a scrape goes wrong.

    Yields (base URL, served folder, {broken file name: expected status}).
    """
    root = tmp_path / "site"
    root.mkdir()
    for f in real_images:
        shutil.copy(f, root / f.name)
    broken = hostile.write_files(root, real_images[0])
    with serve_folder(root, hostile.FaultHandler) as base:
        yield base, root, broken
