"""Reruns, run as a user runs them: the same inputs again change nothing and say so; other inputs
are refused (one line, exit 2) before anything changes, or replace the output with --overwrite."""

import hashlib
import json

import pytest

from curate.manifest import read_table
from curate.workspace import Workspace
from tests.helpers import curate, ingest_corpus

PICTURES = {"sk_coffee.jpg": "a cup of coffee", "sk_rocket.jpg": "a rocket", "cv_fruits.jpg": "fruits on a table",
            "sk_chelsea.jpg": "a tabby cat"}
TRAIN = ["--steps", 2, "--checkpoint-every", 1]


def hashes(folder) -> dict:
    """sha256 of every file under `folder` (lineage rows and the lock aside: every run adds those)."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*"))
            if p.is_file() and "runs" not in p.parts and p.name not in (".lock", "dataset.yaml")}


def one_line(capsys) -> str:
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1, err
    return err


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return ingest_corpus(tmp_path_factory.mktemp("reruns") / "ds", PICTURES, PICTURES)


@pytest.fixture(scope="module")
def model(dataset):
    out = dataset.parent / "model"
    assert curate("train", dataset, "--out", out, *TRAIN) == 0
    return out


def test_train_again_on_the_same_inputs_does_nothing(dataset, model, capsys):
    before = hashes(model)
    capsys.readouterr()
    assert curate("train", dataset, "--out", model, *TRAIN) == 0
    assert "nothing to do" in one_line(capsys)
    assert hashes(model) == before


def test_train_on_other_inputs_is_refused_and_changes_nothing(dataset, model, tmp_path, capsys):
    model_before, set_before = hashes(model), hashes(dataset / "shards") | hashes(dataset / "manifests")
    capsys.readouterr()
    assert curate("train", dataset, "--out", model, "--steps", 3, "--checkpoint-every", 1) == 2
    assert "config.steps differ" in one_line(capsys)
    # a refused resume (another selection) must not have recut the set first
    assert curate("train", dataset, "--out", model, *TRAIN, "--resume", "--where", "width >= 500") == 2
    assert "has changed since the checkpoints" in one_line(capsys)
    assert hashes(model) == model_before
    assert hashes(dataset / "shards") | hashes(dataset / "manifests") == set_before
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("mine")
    assert curate("train", dataset, "--out", tmp_path / "notes", *TRAIN) == 2
    assert "holds no curate model" in one_line(capsys)


def test_resume_continues_and_overwrite_replaces(dataset, model, tmp_path, capsys):
    import shutil

    copy = tmp_path / "model"
    shutil.copytree(model, copy)
    assert curate("train", dataset, "--out", copy, "--steps", 3, "--checkpoint-every", 1, "--resume") == 0
    assert '"steps": 3' in capsys.readouterr().out
    assert curate("train", dataset, "--out", copy, *TRAIN, "--overwrite") == 0
    assert '"steps": 2' in capsys.readouterr().out
    assert sorted(p.name for p in (copy / "checkpoints").iterdir()) == ["step-0000001.safetensors", "step-0000002.safetensors"]


def _samples(folder) -> list[dict]:
    return read_table(Workspace(folder), "samples").to_pylist()


def test_sample_reruns_keep_one_row_per_sample(model, tmp_path, capsys):
    out = tmp_path / "samples"
    request = ["sample", model, "--prompt", "a cup of coffee", "--seeds", "0-1", "--steps", 2, "--out", out]
    assert curate(*request) == 0
    first, first_ids = hashes(out), {r["sample_id"] for r in _samples(out)}
    capsys.readouterr()
    assert curate(*request) == 0
    assert "nothing to do" in one_line(capsys)
    assert hashes(out) == first and len(_samples(out)) == 2

    other = ["sample", model, "--prompt", "a rocket", "--seeds", "0-1", "--steps", 2, "--out", out]
    assert curate(*other) == 2
    assert "--overwrite" in one_line(capsys)
    assert hashes(out) == first
    assert curate(*other, "--overwrite") == 0
    rows = _samples(out)
    assert [r["prompt"] for r in rows] == ["a rocket"] * 2 and len(Workspace(out).partitions("samples")) == 1
    # ids (and file names) differ from the first prompt's: no old row can point at a new image
    assert not {r["sample_id"] for r in rows} & first_ids
    assert sorted(p.name for p in out.glob("*.png")) == sorted([r["path"] for r in rows] + ["contact_sheet.png"])


def test_sample_ids_are_unique_per_setting(model, tmp_path):
    out = tmp_path / "s"
    assert curate("sample", model, "--prompt", "a cat", "--seeds", "3", "--steps", 2, "--out", out) == 0
    ids = {_samples(out)[0]["sample_id"]}
    for i, change in enumerate((["--steps", 3], ["--guidance", 2], ["--negative", "blurry"], ["--scheduler", "dpm"])):
        argv = {"--steps": 2} | dict(zip(change[::2], change[1::2]))
        flags = [x for k, v in argv.items() for x in (k, v)]
        assert curate("sample", model, "--prompt", "a cat", "--seeds", "3", *flags, "--out", out / str(i)) == 0
        ids.add(_samples(out / str(i))[0]["sample_id"])
    assert len(ids) == 5


def test_the_same_config_twice_changes_nothing_the_second_time(tmp_path, capsys):
    import yaml

    from tests.helpers import corpus_folder

    src = corpus_folder(tmp_path / "src", PICTURES, PICTURES)
    config = tmp_path / "pipeline.yaml"
    config.write_text(yaml.safe_dump({"dataset": str(tmp_path / "ds"), "stages": {
        "ingest": {"folder": str(src), "number_sample_per_shard": 2}, "embed": {}, "dedupe": {}, "shard": {},
        "train": {"out": str(tmp_path / "model"), "steps": 2}, "audit": {},
        "sample": {"prompt": "a cup of coffee", "seeds": "0-1", "steps": 2, "out": str(tmp_path / "samples")}}}))
    assert curate("run", config) == 0
    first = {name: hashes(tmp_path / name) for name in ("ds", "model", "samples")}
    rows = {t: read_table(Workspace(tmp_path / "ds"), t).to_pylist() for t in ("images", "duplicates", "train_shards")}
    capsys.readouterr()
    assert curate("run", config) == 0
    assert {name: hashes(tmp_path / name) for name in ("ds", "model", "samples")} == first
    assert {t: read_table(Workspace(tmp_path / "ds"), t).to_pylist() for t in rows} == rows
    assert len(read_table(Workspace(tmp_path / "samples"), "samples")) == 2
    said = capsys.readouterr().err
    assert all(f"curate {verb}:" in said for verb in ("dedupe", "train", "sample", "audit")), said


def snapshot(folder) -> dict:
    """`hashes` and each file's mtime: a rerun with nothing to do must not even rewrite a file."""
    return {name: (digest, (folder / name).stat().st_mtime_ns) for name, digest in hashes(folder).items()}


def test_dedupe_and_audit_again_do_nothing_and_other_settings_are_refused(dataset, tmp_path, capsys):
    import shutil

    ds = tmp_path / "ds"
    shutil.copytree(dataset, ds)
    assert curate("embed", ds) == 0
    assert curate("dedupe", ds, "--report") == 0
    before = snapshot(ds)
    capsys.readouterr()
    assert curate("dedupe", ds, "--report") == 0
    assert "curate dedupe:" in one_line(capsys) and snapshot(ds) == before
    assert curate("dedupe", ds, "--threshold", 0.9, "--keep", "earliest") == 2
    assert "(--keep, --threshold differ); --overwrite" in one_line(capsys) and snapshot(ds) == before
    assert curate("dedupe", ds, "--threshold", 0.9, "--overwrite") == 0
    assert json.loads((ds / "manifests" / "duplicates" / "inputs.json").read_text())["inputs"]["settings"]["semantic"] == 0.9

    model, samples = tmp_path / "model", tmp_path / "samples"
    assert curate("train", ds, "--out", model, *TRAIN) == 0
    assert curate("sample", model, "--prompt", "a rocket", "--seeds", "0-1", "--steps", 2, "--out", samples) == 0
    assert curate("audit", ds, "--samples", samples, "--no-text-noise") == 0
    audited = snapshot(samples)
    capsys.readouterr()
    assert curate("audit", ds, "--samples", samples, "--no-text-noise") == 0
    assert "curate audit:" in one_line(capsys) and snapshot(samples) == audited
    assert curate("audit", ds, "--samples", samples, "--no-text-noise", "--k", 2) == 2
    assert "(k differ); --overwrite" in one_line(capsys) and snapshot(samples) == audited
    assert curate("audit", ds, "--samples", samples, "--no-text-noise", "--k", 2, "--overwrite") == 0
    assert {r["rank"] for r in read_table(Workspace(samples), "audit").to_pylist()} <= {1, 2}
