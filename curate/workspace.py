"""The dataset workspace (docs/contracts.md section 2): one folder holds a dataset's every stage output.

A workspace can come from someone else, so it never follows a symbolic link it did not make:
a link among its own folders and files (one to /etc, say) would have a stage read or write
outside it. `open` and `create` check the tree once, and the lock file is opened without
following links.
"""

import contextlib
import fcntl
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import yaml

from curate.errors import UserError


def require_parent(path) -> Path:
    """`path` resolved, refused when its parent folder does not exist: a mistyped path would
    otherwise grow a tree of folders somewhere. Every verb's output folder goes through it."""
    resolved = Path(path).resolve()
    if not resolved.parent.is_dir():
        raise UserError(f"{path}: its parent folder {resolved.parent} does not exist; create it first")
    return resolved


@dataclass(frozen=True)
class Workspace:
    root: Path

    def __post_init__(self):
        object.__setattr__(self, "root", Path(self.root))  # tasks get the root as a str

    @classmethod
    def create(cls, path) -> "Workspace":
        ws = cls(require_parent(path))
        ws.root.mkdir(exist_ok=True)
        ws.check_tree()
        for sub in (ws.raw, ws.manifests, ws.index, ws.shards):
            sub.mkdir(exist_ok=True)
        return ws

    @classmethod
    def open(cls, path) -> "Workspace":
        ws = cls(Path(path).resolve())
        if not ws.manifests.is_dir():
            raise UserError(f"{path} is not a dataset (no manifests/ folder); run `curate ingest {path} ...` first")
        ws.check_tree()
        return ws

    def check_tree(self) -> None:
        """Refuse a workspace whose own folders (raw, manifests, index, shards, reports and what
        is in them) or files (.lock, dataset.yaml) are symbolic links, or are not what they should
        be: every later write goes through these paths (temp files included)."""
        for path in [self.root / name for name in TOP_FILES] + list(self.root.glob("dataset.tmp-*")):
            _refuse_link(path, self.root)
        for name in FOLDERS:
            top = self.root / name
            if not os.path.lexists(top):
                continue
            _refuse_link(top, self.root)
            if not top.is_dir():
                raise UserError(f"{top} is not a folder; a dataset's {name}/ must be one (move it away)")
            for folder, dirs, files in os.walk(top):  # never follows links, and sees them all
                for entry in dirs + files:
                    _refuse_link(Path(folder) / entry, self.root)

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
        folder = self.table_dir(table)
        if os.path.lexists(folder) and not folder.is_dir():
            raise UserError(f"{folder} is not a folder; a manifest table must be one (move it away)")
        return sorted(folder.glob("part-*.parquet"))

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
        """One writer at a time: two stages writing the same shards would corrupt them.

        Reentrant within a process: `curate train` holds the lock for its whole run and cuts its
        shard set inside it (a second flock on another descriptor of the same file would fail)."""
        if self.root in _HELD:
            fd, depth = _HELD[self.root]
            _HELD[self.root] = (fd, depth + 1)
            try:
                yield
            finally:
                _HELD[self.root] = (fd, depth)
            return
        fd = _open_lock(self.root / ".lock")
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise UserError(f"another curate process is working on {self.root}; wait for it to finish") from None
            _HELD[self.root] = (fd, 1)
            try:
                yield
            finally:
                del _HELD[self.root]
        finally:
            os.close(fd)  # releases the flock


FOLDERS = ("raw", "manifests", "index", "shards", "reports")
TOP_FILES = (".lock", "dataset.yaml")
_HELD: dict[Path, tuple[int, int]] = {}  # root -> (lock file descriptor, depth) this process holds


def _forget_locks() -> None:
    """In a forked child (a DataLoader worker): the parent's locks are not the child's to hold. A
    child outliving a killed parent by a few seconds would otherwise keep the dataset locked."""
    for fd, _depth in _HELD.values():
        os.close(fd)  # the parent's descriptor, and its lock, stay
    _HELD.clear()


os.register_at_fork(after_in_child=_forget_locks)


def _refuse_link(path: Path, root: Path) -> None:
    if path.is_symlink():
        raise UserError(f"{path} is a symbolic link; a dataset never follows links it did not make "
                        f"(replace it with a real file or folder inside {root})")


def _open_lock(path: Path) -> int:
    """The lock file, never through a link (O_NOFOLLOW) and never truncated: a .lock pointing at
    another file must not have that file emptied by every locking verb."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    except OSError as err:
        if os.path.islink(path):
            _refuse_link(path, path.parent)
        raise UserError(f"cannot open the lock file {path}: {err.strerror}") from None
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise UserError(f"{path} is not a regular file; remove it and rerun")
    return fd
