"""Executors run a stage's per-shard tasks: a local process pool or a Dask cluster.

A task is a picklable function of one item (a shard name) that writes its own outputs
atomically; executors only schedule, retry and report. `map` yields (item, result) as
tasks finish, in any order.
"""

import concurrent.futures as cf
import ctypes
import logging
import multiprocessing
import os
import signal

log = logging.getLogger(__name__)

_PR_SET_PDEATHSIG = 1
WORKER_PRELOAD = "curate.torchvision_compat"


def _init_local_worker() -> None:
    # Die with the parent: a killed `curate` must not leave workers writing shards that the
    # rerun is rewriting.
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:
        pass


class LocalExecutor:
    """A process pool; when a worker dies, the pool is rebuilt and unfinished tasks rerun.
    With one worker, tasks run in the calling process."""

    def __init__(self, workers: int | None = None, retries: int = 2):
        self.workers = max(1, workers or os.cpu_count() or 1)
        self.retries = retries

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def map(self, fn, items):
        items = list(items)
        if self.workers == 1:
            # One worker: run in this process. Stages whose task already uses every core (the
            # embedder) ask for this, and skip a process start and a second model load.
            for item in items:
                yield item, fn(item)
            return
        pending = set(range(len(items)))
        stalled = 0  # pool breaks in a row with no task finished: a task that kills every worker
        context = multiprocessing.get_context("spawn")
        while pending:
            finished = 0
            with cf.ProcessPoolExecutor(
                min(self.workers, len(pending)), mp_context=context, initializer=_init_local_worker
            ) as pool:
                futures = {pool.submit(fn, items[i]): i for i in sorted(pending)}
                try:
                    for future in cf.as_completed(futures):
                        i = futures[future]
                        result = future.result()
                        pending.discard(i)
                        finished += 1
                        yield items[i], result
                except cf.process.BrokenProcessPool:
                    stalled = 0 if finished else stalled + 1
                    if stalled > self.retries:
                        names = ", ".join(repr(items[i]) for i in sorted(pending))
                        raise RuntimeError(f"workers keep dying on {names}; giving up") from None
                    log.warning("a worker process died; retrying %d unfinished task(s)", len(pending))


class DaskExecutor:
    """Tasks on a Dask cluster: `tcp://host:port` joins one, `local:N` starts N worker processes.

    Workers of a cluster you start yourself need `--preload curate.torchvision_compat`.
    Dask reruns the task of a worker that died (up to `distributed.scheduler.allowed-failures`).
    """

    def __init__(self, address: str, retries: int = 2):
        self.address = address
        self.retries = retries
        self.client = None
        self.cluster = None

    def __enter__(self):
        from dask.distributed import Client, LocalCluster

        if self.address.startswith("local:"):
            n = int(self.address.split(":", 1)[1])
            self.cluster = LocalCluster(
                n_workers=n, threads_per_worker=1, processes=True,
                dashboard_address=None, preload=[WORKER_PRELOAD], silence_logs=logging.WARNING,
            )
            self.client = Client(self.cluster)
        else:
            self.client = Client(self.address, timeout="20s")
        return self

    def __exit__(self, *exc):
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()
        return False

    def map(self, fn, items):
        from dask.distributed import as_completed

        items = list(items)
        futures = self.client.map(fn, items, pure=False, retries=self.retries)
        index = {future.key: i for i, future in enumerate(futures)}
        for future in as_completed(futures):
            yield items[index[future.key]], future.result()


def make_executor(scheduler: str | None, workers: int | None = None):
    """`None` or `local` -> process pool; `local:N` or `tcp://...` -> Dask."""
    from curate.errors import UserError

    if scheduler in (None, "", "local"):
        return LocalExecutor(workers)
    if scheduler.startswith("tcp://") or (scheduler.startswith("local:") and scheduler[6:].isdigit()):
        return DaskExecutor(scheduler)
    raise UserError(f"--scheduler {scheduler!r}: expected 'local', 'local:N' (N Dask workers) or 'tcp://host:port'")
