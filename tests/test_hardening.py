"""Hostile data and hostile workspaces (issue 17): SQL smuggled through --where, crafted and
damaged checkpoints, symbolic links in a workspace, a shard cut while training runs, damaged
manifests, indexes and tars. Each case builds its hostile file itself and checks the message,
the exit code, and that nothing outside the workspace changed."""

import json
import os
import pickle
import shutil
import signal
import subprocess
import sys
import tarfile
import time

import pytest
import torch

from curate import manifest, query
from curate.errors import UserError
from curate.workspace import Workspace
from curate_model import checkpoint
from tests.helpers import curate, ingest_corpus

PICTURES = {"cv_baboon.jpg": "a baboon", "sk_coffee.jpg": "a cup of coffee", "sk_chelsea.jpg": "a cat",
            "sk_rocket.jpg": "a rocket"}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return ingest_corpus(tmp_path_factory.mktemp("hardening") / "ds", PICTURES, PICTURES, per_shard=2)


@pytest.fixture(scope="module")
def embedded(dataset, tmp_path_factory):
    copy = tmp_path_factory.mktemp("embedded") / "ds"
    shutil.copytree(dataset, copy)
    assert curate("embed", copy) == 0
    return copy


@pytest.fixture(scope="module")
def trained(dataset, tmp_path_factory):
    """A two-step training run with a checkpoint after each step: (dataset, model folder)."""
    root = tmp_path_factory.mktemp("trained")
    shutil.copytree(dataset, root / "ds")
    assert curate("train", root / "ds", "--out", root / "model", "--steps", 2, "--checkpoint-every", 1) == 0
    return root / "ds", root / "model"


def _copy(src, tmp_path, name="ds"):
    shutil.copytree(src, tmp_path / name)
    return tmp_path / name


def _tree(root) -> dict:
    """Every path under root with its size and mtime, links not followed."""
    out = {}
    for folder, dirs, files in os.walk(root):
        for name in dirs + files:
            path = os.path.join(folder, name)
            st = os.lstat(path)
            out[os.path.relpath(path, root)] = (st.st_size, st.st_mtime_ns)
    return out


def _one_line_error(capsys, verb: str, needle: str, only: bool = True) -> str:
    """The error line; `only`: stderr holds nothing else (no traceback, no warning)."""
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith(f"curate {verb}: error:")]
    assert len(errors) == 1 and needle in errors[0] and "Traceback" not in err, err
    assert len(lines) == 1 or not only, err
    return errors[0]


# 1. --where is one SQL expression; project queries run locked ---------------------------------

def _payloads(tmp_path) -> list[str]:
    pwn = tmp_path / "pwn.csv"
    return [
        f"true); COPY (SELECT 'x') TO '{pwn}'; SELECT * FROM images WHERE (true",
        f"true) UNION ALL SELECT * FROM images WHERE (true",
        "(SELECT count(*) FROM read_text('/etc/hostname')) > 0",
        "id IN (SELECT content FROM read_text('/etc/hostname'))",
        "true) --",
        "true; SELECT 1",
        "",
    ]


@pytest.mark.parametrize("n", range(7))
def test_where_must_be_one_expression(dataset, tmp_path, capsys, n):
    ds = _copy(dataset, tmp_path)
    before = _tree(tmp_path)
    assert curate("shard", ds, "--where", _payloads(tmp_path)[n]) == 2
    _one_line_error(capsys, "shard", "--where")
    assert _tree(tmp_path) == before  # nothing written, in the workspace or beside it
    assert not (tmp_path / "pwn.csv").exists()


def test_where_from_plan_json_and_run_config_and_train_is_checked(dataset, tmp_path, capsys):
    ds = _copy(dataset, tmp_path)
    pwn = tmp_path / "pwn.csv"
    payload = f"true); COPY (SELECT 'x') TO '{pwn}'; SELECT * FROM images WHERE (true"
    # a plan.json in a dataset someone sent: train (without --where) selects by the set's plan
    (ds / "shards" / "train").mkdir(parents=True)
    (ds / "shards" / "train" / "plan.json").write_text(json.dumps({"where": payload}))
    before = _tree(tmp_path)
    assert curate("train", ds, "--out", tmp_path / "model", "--steps", 1) == 2
    _one_line_error(capsys, "train", "plan.json")
    assert _tree(tmp_path) == before
    # a config: refused before its first stage (an ingest into a new folder) runs
    config = tmp_path / "run.yaml"
    config.write_text(f"dataset: {tmp_path / 'new'}\nstages:\n  ingest: {{folder: {ds}}}\n"
                      f"  shard: {{where: \"{payload}\"}}\n")
    assert curate("run", config) == 2
    _one_line_error(capsys, "run", "stages.shard")
    assert not (tmp_path / "new").exists()
    # training selects through the same check
    assert curate("train", ds, "--out", tmp_path / "model", "--where", payload) == 2
    _one_line_error(capsys, "train", "--where")
    assert not (tmp_path / "model").exists() and not pwn.exists()


def test_project_queries_cannot_touch_files_but_curate_query_can(dataset, tmp_path, capsys):
    ws = Workspace.open(dataset)
    pwn = tmp_path / "pwn.csv"
    for sql in ("SELECT content FROM read_text('/etc/hostname')", f"COPY (SELECT 1) TO '{pwn}'",
                "SET enable_external_access = true", "INSTALL httpfs"):
        with pytest.raises(UserError, match="query failed"):
            query.fetch(ws, sql)
    assert not pwn.exists()
    assert query.fetch(ws, "SELECT count(*) AS n FROM images").to_pylist() == [{"n": len(PICTURES)}]
    # the user's own SQL keeps all of DuckDB (README 'Query')
    note = tmp_path / "note.txt"
    note.write_text("mine")
    capsys.readouterr()
    assert curate("query", dataset, f"SELECT content FROM read_text('{note}')", "--format", "json") == 0
    assert '"mine"' in capsys.readouterr().out


# 2. checkpoints load without pickle ----------------------------------------------------------

class _Marker:
    """Unpickled, it would create a file: the proof that loading ran code."""

    path = None

    def __reduce__(self):
        return (open, (str(self.path), "w"))


def test_a_pickle_in_a_checkpoints_place_runs_nothing(trained, tmp_path, capsys):
    """Checkpoints are safetensors: a pickle named as one does not parse (damaged: the run falls
    back to the one before it), and a torch pickle of the older format is refused unread."""
    ds, model = _copy(trained[0], tmp_path), _copy(trained[1], tmp_path, "model")
    marker = tmp_path / "MARKER"
    _Marker.path = marker
    crafted = model / "checkpoints" / "step-9999999.safetensors"
    crafted.write_bytes(pickle.dumps({"step": 1, "x": _Marker()}, protocol=2))
    capsys.readouterr()
    assert curate("train", ds, "--out", model, "--steps", 3, "--resume") == 0
    assert any("step-9999999.safetensors is damaged" in line for line in capsys.readouterr().err.splitlines())
    assert not marker.exists()
    for path in (model / "checkpoints").iterdir():
        path.unlink()
    torch.save({"step": 1, "unet": {}, "x": _Marker()}, model / "checkpoints" / "step-0000001.pt")
    assert curate("train", ds, "--out", model, "--steps", 4, "--resume") == 2
    _one_line_error(capsys, "train", "not loaded")
    assert not marker.exists()


def test_a_truncated_last_checkpoint_falls_back_to_the_one_before(trained, tmp_path, capsys):
    ds, model = _copy(trained[0], tmp_path), _copy(trained[1], tmp_path, "model")
    first, last = sorted((model / "checkpoints").glob("step-*.safetensors"))
    last.write_bytes(last.read_bytes()[: last.stat().st_size // 2])
    capsys.readouterr()
    assert curate("train", ds, "--out", model, "--steps", 2, "--resume") == 0
    warned = [line for line in capsys.readouterr().err.splitlines() if "damaged" in line]
    assert len(warned) == 1 and last.name in warned[0]
    # resumed from step 1 and trained step 2 again: a new, whole step-2 checkpoint
    state = checkpoint.read(last)
    assert state["step"] == 2 and len(state["losses"]) == 2
    # with every checkpoint damaged: one line, exit 2
    for path in (first, last):
        path.write_bytes(b"PK\x03\x04 not a whole archive")
    assert curate("train", ds, "--out", model, "--steps", 3, "--resume") == 2
    _one_line_error(capsys, "train", "all damaged", only=False)  # after a line per damaged checkpoint


def test_a_checkpoint_without_the_shard_fingerprint_is_refused(trained, tmp_path, capsys):
    ds, model = _copy(trained[0], tmp_path), _copy(trained[1], tmp_path, "model")
    last = sorted((model / "checkpoints").glob("step-*.safetensors"))[-1]
    state = checkpoint.read(last)
    del state["shards_fingerprint"]
    last.unlink()
    checkpoint.save(model, state)
    assert curate("train", ds, "--out", model, "--steps", 3, "--resume") == 2
    _one_line_error(capsys, "train", "does not record the shard set")


# 3. no symbolic link the workspace did not make ------------------------------------------------

def test_a_lock_linked_outside_is_refused_and_left_alone(dataset, tmp_path, capsys):
    ds = _copy(dataset, tmp_path)
    outside = tmp_path / "precious.txt"
    outside.write_text("keep me")
    (ds / ".lock").unlink(missing_ok=True)
    (ds / ".lock").symlink_to(outside)
    assert curate("shard", ds) == 2
    _one_line_error(capsys, "shard", "symbolic link")
    assert outside.read_text() == "keep me" and not (ds / "shards" / "train").exists()
    # the lock itself never follows a link, even one made after the workspace was checked
    with pytest.raises(UserError, match="symbolic link"):
        with Workspace(ds).lock():
            pass
    assert outside.read_text() == "keep me"


@pytest.mark.parametrize("link", ["manifests/train_shards", "shards", "shards/train", "index", "raw"])
def test_a_workspace_folder_linked_outside_is_refused(dataset, tmp_path, capsys, link):
    ds = _copy(dataset, tmp_path)
    outside = tmp_path / "elsewhere"
    target = ds / link
    if target.exists():
        shutil.move(target, outside)
    else:
        outside.mkdir()
    target.parent.mkdir(parents=True, exist_ok=True)
    target.symlink_to(outside, target_is_directory=True)
    before = _tree(outside)
    verb = "ingest" if link == "raw" else "shard"
    argv = ["--folder", dataset.with_name("ds-src")] if verb == "ingest" else []  # ingest_corpus's source
    assert curate(verb, ds, *argv) == 2
    _one_line_error(capsys, verb, "symbolic link")
    assert _tree(outside) == before


# 6. training holds the dataset ------------------------------------------------------------------

def test_shard_is_refused_while_train_runs(dataset, tmp_path, capsys):
    ds = _copy(dataset, tmp_path)
    ws = Workspace.open(ds)
    with ws.lock():  # reentrant in one process: train cuts its set inside its own lock
        assert curate("shard", ds) == 0
    out = tmp_path / "model"
    command = [sys.executable, "-m", "curate.cli", "--quiet", "train", str(ds), "--out", str(out),
               "--steps", "100000", "--checkpoint-every", "1"]
    proc = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while not list((out / "checkpoints").glob("step-*.safetensors")):  # in its training loop
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.05)
        plan = (ws.shards / "train" / "plan.json").read_text()
        capsys.readouterr()
        assert curate("shard", ds, "--where", "width > 0") == 2
        _one_line_error(capsys, "shard", "another curate process is working on")
        assert (ws.shards / "train" / "plan.json").read_text() == plan  # the set in use is untouched
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    assert curate("shard", ds, "--where", "width > 0") == 0  # the lock died with it (and its worker let go)


# 7. damaged manifests, indexes and tars ----------------------------------------------------------

def _truncate(path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def test_a_truncated_manifest_partition_names_itself(embedded, tmp_path, capsys):
    ds = _copy(embedded, tmp_path)
    part = Workspace(ds).partition("images", "00001")
    _truncate(part)
    for verb, argv in (("dedupe", []), ("shard", []), ("query", ["SELECT count(*) FROM images"])):
        assert curate(verb, ds, *argv) == 2
        line = _one_line_error(capsys, verb, str(part))
        assert "rerun `curate ingest`" in line
    embeddings = manifest.damaged(Workspace(ds).partition("embeddings", "x"), "short")
    assert "rerun `curate embed`" in str(embeddings)


def test_a_truncated_index_is_named_by_audit_and_rebuilt_by_embed(embedded, tmp_path, capsys, real_images):
    from curate import index

    ds = _copy(embedded, tmp_path)
    ws = Workspace(ds)
    faiss_path, _ids = index.paths(ws, "efficientnet-lite0")
    count = index.load(ws, "efficientnet-lite0")[2]["count"]
    _truncate(faiss_path)
    samples = tmp_path / "samples"
    samples.mkdir()
    shutil.copy(real_images[0], samples / "s0.jpg")
    assert curate("audit", ds, "--samples", samples, "--no-text-noise") == 2
    line = _one_line_error(capsys, "audit", str(faiss_path))
    assert "rerun `curate embed" in line
    assert curate("embed", ds) == 0
    assert "rebuilding the efficientnet-lite0 index" in capsys.readouterr().err
    assert index.load(ws, "efficientnet-lite0")[2]["count"] == count


def _first_image_member(tar_path):
    with tarfile.open(tar_path) as tf:
        return next(m for m in tf if m.name.endswith((".jpg", ".png")))


def test_bytes_changed_in_a_raw_tar_stop_the_cut(dataset, tmp_path, capsys):
    ds = _copy(dataset, tmp_path)
    raw = sorted(Workspace(ds).raw.glob("*.tar"))[0]
    member = _first_image_member(raw)
    with open(raw, "r+b") as fh:  # flip bytes in the middle of the image: the tar still reads
        fh.seek(member.offset_data + member.size // 2)
        fh.write(b"\xde\xad\xbe\xef")
    assert curate("shard", ds) == 2
    line = _one_line_error(capsys, "shard", str(raw))
    assert "no longer match their id" in line and "rerun `curate ingest`" in line
    assert not [p for p in (ds / "shards").rglob("*.tar")]  # no tar holds the damaged bytes


def test_a_truncated_raw_tar_names_itself(embedded, tmp_path, capsys):
    ds = _copy(embedded, tmp_path)
    ws = Workspace(ds)
    raw = sorted(ws.raw.glob("*.tar"))[0]
    shard = raw.name.removesuffix(".tar")
    _truncate(raw)
    for part in ws.partitions("embeddings"):  # so that embed reads the tar again
        part.unlink()
    assert curate("embed", ds) == 2
    _one_line_error(capsys, "embed", f"raw shard {raw}")
    assert curate("shard", ds) == 2
    _one_line_error(capsys, "shard", f"part-{shard}.parquet")
