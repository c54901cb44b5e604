"""Data-parallel training over the processes that `accelerate launch --multi_gpu` or torchrun
start (they set RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT).

Each process takes a contiguous share of every micro-batch, and gradients are summed across
processes once per optimizer step (not per micro-batch, as DDP would without no_sync): the
loss of a share is scaled by its size over the micro-batch's, so the sum is the mean loss of
the whole micro-batch, whatever the number of processes and however unevenly a short last
batch splits. An explicit all-reduce rather than a DDP wrapper, because it covers every
trained part alike (the UNet, text encoder adapters), a share may be empty (no forward at
all), and save_pretrained and peft see the plain modules.
"""

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from curate.errors import UserError


@dataclass(frozen=True)
class World:
    rank: int
    size: int
    device: str

    @property
    def main(self) -> bool:
        return self.rank == 0

    def share(self, n: int) -> slice:
        """This process's items of n."""
        return slice(n * self.rank // self.size, n * (self.rank + 1) // self.size)

    def barrier(self) -> None:
        if self.size > 1:
            dist.barrier()

    def first(self, fn):
        """fn() run by the main process alone (the others wait), its result handed to all; a
        UserError it raises is raised in every process, so none waits for the others forever."""
        if self.size == 1:
            return fn()
        box = [None]
        if self.main:
            try:
                box[0] = ("ok", fn())
            except UserError as err:
                box[0] = ("error", str(err))
        dist.broadcast_object_list(box, src=0)
        kind, value = box[0]
        if kind == "error":
            raise UserError(value)
        return value

    def sum_gradients(self, params: list[torch.Tensor], loss: float) -> float:
        """Sum every parameter's gradient over the processes (a process without one adds
        zeros; a parameter no process has a gradient for keeps None, as in one process) and
        return the summed loss."""
        has = torch.tensor([p.grad is not None for p in params], dtype=torch.int32, device=self.device)
        dist.all_reduce(has, op=dist.ReduceOp.MAX)
        synced = [p for p, h in zip(params, has.tolist()) if h]
        for p in synced:
            if p.grad is None:
                p.grad = torch.zeros_like(p)
        for bucket in _buckets(synced):
            flat = torch.cat([p.grad.reshape(-1) for p in bucket])
            dist.all_reduce(flat)
            offset = 0
            for p in bucket:
                p.grad.copy_(flat[offset:offset + p.numel()].view_as(p.grad))
                offset += p.numel()
        total = torch.tensor([loss], dtype=torch.float64, device=self.device)
        dist.all_reduce(total)
        return total.item()

    def leave(self) -> None:
        if self.size > 1:
            dist.destroy_process_group()


# Gradients travel in buckets of at most this many elements (DDP's are 25 MB): one flat copy
# of every gradient would double their memory, 3.4 GB more for a full SD 1.5 UNet.
BUCKET = 1 << 22


def _buckets(params: list[torch.Tensor]):
    """params in order, grouped so each group holds at most BUCKET elements (or one larger)."""
    group, size = [], 0
    for p in params:
        if group and size + p.numel() > BUCKET:
            yield group
            group, size = [], 0
        group.append(p)
        size += p.numel()
    if group:
        yield group


def join() -> World:
    """This process's place: alone (no launcher) on cuda or cpu as before, else one of
    WORLD_SIZE processes (NCCL on its own GPU, gloo on CPU)."""
    size = int(os.environ.get("WORLD_SIZE", "1"))
    if size == 1:
        return World(0, 1, "cuda" if torch.cuda.is_available() else "cpu")
    if not os.environ.get("MASTER_ADDR"):
        raise UserError(f"WORLD_SIZE is {size} but no launcher set MASTER_ADDR: start the processes with "
                        "`accelerate launch --multi_gpu --num_processes N -m curate.cli train ...` or torchrun")
    cuda = torch.cuda.is_available() and os.environ.get("ACCELERATE_USE_CPU", "").lower() not in ("1", "true")
    device = "cpu"
    if cuda:
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        device = f"cuda:{local}"
    if not dist.is_initialized():
        dist.init_process_group("nccl" if cuda else "gloo")
    return World(dist.get_rank(), dist.get_world_size(), device)


def is_main() -> bool:
    """Whether this process reports for the launch (the CLI prints one result, not one per process)."""
    return int(os.environ.get("RANK", "0")) == 0
