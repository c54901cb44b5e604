"""`curate train` in several processes (torchrun, as `accelerate launch --multi_gpu` starts them):
each takes a share of every micro-batch, gradients summed, the main process writes; the result
is the one-process run's up to float summation order."""

import json
import subprocess
import sys

import torch

from curate_model import checkpoint
from curate_model.sample import load_pipeline
from tests.helpers import curate, ingest_corpus

# Five pictures of three shapes (buckets): with --batch-size 2 some micro-batches hold one
# image, so one process's share is empty, and the other's is the whole micro-batch.
PICTURES = {
    "cv_baboon.jpg": "a baboon face with a red and blue nose",
    "sk_coffee.jpg": "a cup of coffee on a saucer",
    "sk_chelsea.jpg": "a tabby cat looking to the side",
    "sk_rocket.jpg": "a rocket on the launch pad",
    "oc_blueman_waving.png": "a blue man waving",
}
TIMEOUT = 240  # seconds a launch may take on 2 loaded cores (about 30 s alone)


def _arguments(dataset, out, *args) -> list[str]:
    return ["train", str(dataset), "--out", str(out), "--batch-size", "2", "--grad-accum", "2",
            "--checkpoint-every", "2", "--seed", "5", *map(str, args)]


def _launch(processes: int, *argv) -> list[str]:
    """Lines printed by `torchrun --nproc_per_node PROCESSES -m curate.cli ARGV` (gloo on CPU;
    --standalone: a rendezvous on a free local port)."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", str(processes),
               "-m", "curate.cli", "--quiet", *argv]
    done = subprocess.run(command, capture_output=True, text=True, timeout=TIMEOUT)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout.strip().splitlines()


def _distance(a: dict, b: dict) -> float:
    return sum(((a[k] - b[k]) ** 2).sum() for k in a).item() ** 0.5


def _state(out, step: int) -> dict:
    return checkpoint.read(out / "checkpoints" / f"step-{step:07d}.safetensors")


def test_two_processes_train_what_one_does_and_resume(tmp_path):
    dataset = ingest_corpus(tmp_path / "ds", PICTURES, PICTURES)
    assert curate(*_arguments(dataset, tmp_path / "one", "--steps", 4)) == 0
    assert len(_launch(2, *_arguments(dataset, tmp_path / "two", "--steps", 2))) == 1  # one line, not one per process
    printed = _launch(2, *_arguments(dataset, tmp_path / "two", "--steps", 4, "--resume"))
    assert len(printed) == 1 and json.loads(printed[0])["steps"] == 4

    one, two = _state(tmp_path / "one", 4), _state(tmp_path / "two", 4)
    start = _state(tmp_path / "one", 2)["unet"]
    # The same sums but for their order (two shares' gradients added, against one batch's; other
    # thread counts): float32 rounding, 1e-6 of each loss. In the weights Adam grows it where a
    # gradient is near 0 (its step is lr * g / (|g| + eps), about lr whatever the sign of a tiny
    # g): measured 1% of what the last two steps moved them, so 5% allowed, in L2 norm.
    assert torch.allclose(torch.tensor(one["losses"]), torch.tensor(two["losses"]), rtol=1e-4)
    moved = _distance(one["unet"], start)
    assert moved > 0.1 and _distance(one["unet"], two["unet"]) < 0.05 * moved

    pipe = load_pipeline(tmp_path / "two")  # the folder loads as a one-process run's does
    assert pipe.unet.state_dict().keys() == load_pipeline(tmp_path / "one").unet.state_dict().keys()
    assert json.loads((tmp_path / "two" / "training.json").read_text())["result"]["steps"] == 4


def _sum_in_buckets(rank: int, port: int, out) -> None:
    """One of two gloo processes: gradients of three parameters, in buckets of 5 elements."""
    import os

    import torch.distributed as dist

    from curate_model import distributed
    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    dist.init_process_group("gloo", rank=rank, world_size=2)
    distributed.BUCKET = 5
    params = [torch.zeros(3), torch.zeros(4), torch.zeros(2, 3), torch.zeros(1)]
    for i, p in enumerate(params[:3]):
        p.grad = torch.full_like(p, float(10 * i + rank + 1))
    if rank == 1:
        params[1].grad = None  # this process saw no gradient for it
    loss = distributed.World(rank, 2, "cpu").sum_gradients(params, loss=rank + 0.5)
    out.put((rank, [None if p.grad is None else p.grad.tolist() for p in params], loss))
    dist.destroy_process_group()


def test_gradients_summed_in_buckets():
    """Gradients split over several all-reduce buckets come back summed, each in its place;
    a parameter one process has no gradient for gets the other's; one none has stays None."""
    import socket

    import torch.multiprocessing as mp
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    workers = [ctx.Process(target=_sum_in_buckets, args=(rank, port, out)) for rank in range(2)]
    for w in workers:
        w.start()
    results = dict((rank, (grads, loss)) for rank, grads, loss in (out.get(timeout=120) for _ in workers))
    for w in workers:
        w.join(timeout=60)
        assert w.exitcode == 0
    for grads, loss in results.values():
        assert grads[0] == [3.0] * 3          # 1 + 2
        assert grads[1] == [11.0] * 4         # rank 0's alone
        assert grads[2] == [[43.0] * 3] * 2   # 21 + 22
        assert grads[3] is None
        assert loss == 2.0
