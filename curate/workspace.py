"""The dataset workspace (DESIGN.md section 4): one folder holds a dataset's every stage output."""

import contextlib
import fcntl
import os
from dataclasses import dataclass
from pathlib import Path

import yaml

from curate.errors import UserError


@dataclass(frozen=True)
class Workspace:
    root: Path

    def __post_init__(self):
        object.__setattr__(self, "root", Path(self.root))  # tasks get the root as a str

    @classmethod
    def create(cls, path) -> "Workspace":
        ws = cls(Path(path).resolve())
        for sub in (ws.raw, ws.manifests, ws.index, ws.shards):
            sub.mkdir(parents=True, exist_ok=True)
        return ws

    @classmethod
    def open(cls, path) -> "Workspace":
        ws = cls(Path(path).resolve())
        if not ws.manifests.is_dir():
            raise UserError(f"{path} is not a dataset (no manifests/ folder); run `curate ingest {path} ...` first")
        return ws

    @property
    def raw(self) -> Path:
        return self.root / "raw"

    @property
    def manifests(self) -> Path:
        return self.root / "manifests"

    @property
    def index(self) -> Path:
        return self.root / "index"

    @property
    def shards(self) -> Path:
        return self.root / "shards"

    def table_dir(self, table: str) -> Path:
        return self.manifests / table

    def partition(self, table: str, shard: str) -> Path:
        return self.table_dir(table) / f"part-{shard}.parquet"

    def partitions(self, table: str) -> list[Path]:
        return sorted(self.table_dir(table).glob("part-*.parquet"))

    def partition_names(self, table: str) -> list[str]:
        """The names of a table's partitions: part-<name>.parquet -> <name>."""
        return [p.name.removeprefix("part-").removesuffix(".parquet") for p in self.partitions(table)]

    def save_config(self, stage: str, params: dict) -> None:
        """Record the resolved settings of the last run of each stage in dataset.yaml."""
        path = self.root / "dataset.yaml"
        config = yaml.safe_load(path.read_text()) if path.exists() else {}
        config[stage] = params
        tmp = path.with_suffix(f".tmp-{os.getpid()}")
        tmp.write_text(yaml.safe_dump(config, sort_keys=False))
        os.replace(tmp, path)

    @contextlib.contextmanager
    def lock(self):
        """One writer at a time: two stages writing the same shards would corrupt them."""
        with open(self.root / ".lock", "w") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise UserError(f"another curate process is working on {self.root}; wait for it to finish") from None
            yield
