"""Executors: the process pool and Dask give the same manifests; a dead worker's task is retried."""

import os
import sys

import pytest

from curate.errors import UserError
from curate.executors import DaskExecutor, LocalExecutor, make_executor
from tests.helpers import curate, images
from tests.test_ingest_urls import write_list


def die_once(marker_dir: str, item: int) -> int:
    """Kills its own worker process the first time it sees an item."""
    marker = os.path.join(marker_dir, f"seen-{item}")
    if not os.path.exists(marker):
        open(marker, "w").close()
        os._exit(1)
    return item * 10


def always_die(_item) -> int:
    os._exit(1)


def where_is_torchvision_fix(_item) -> bool:
    return "curate.torchvision_compat" in sys.modules


@pytest.mark.parametrize("executor", [LocalExecutor(2), DaskExecutor("local:2")], ids=["local", "dask"])
def test_a_dead_worker_gets_its_task_retried(tmp_path, executor):
    import functools

    with executor as ex:
        results = dict(ex.map(functools.partial(die_once, str(tmp_path)), [1, 2, 3]))
    assert results == {1: 10, 2: 20, 3: 30}


def test_a_task_that_always_kills_its_worker_is_given_up():
    with pytest.raises(RuntimeError, match="workers keep dying"):
        dict(LocalExecutor(2, retries=1).map(always_die, [1, 2]))


def test_dask_workers_preload_the_torchvision_fix():
    with DaskExecutor("local:1") as ex:
        assert [r for _, r in ex.map(where_is_torchvision_fix, [0])] == [True]


def test_dask_ingest_writes_the_same_manifest_as_local(tmp_path, fault_server, real_images):
    base, _, _ = fault_server
    write_list(tmp_path / "urls.csv", [f"{base}/{f.name}" for f in real_images] + [f"{base}/fault/404"])
    args = ["--urls", tmp_path / "urls.csv", "--number-sample-per-shard", 4]
    assert curate("ingest", tmp_path / "local", *args) == 0
    assert curate("ingest", tmp_path / "dask", *args, "--scheduler", "local:2") == 0
    assert images(tmp_path / "dask") == images(tmp_path / "local")


@pytest.mark.parametrize("spec", ["yarn", "local:x", "tcp:/nohost"])
def test_bad_scheduler_is_a_user_error(spec):
    with pytest.raises(UserError):
        make_executor(spec)
