"""The command line: help that explains, one-line errors with exit 2, the bench runs."""

import importlib.util
import subprocess
import sys

import pytest

from curate.cli import main
from tests.helpers import curate


# The command line of docs/contracts.md section 1
DESIGN_VERBS = ("demo", "run", "ingest", "embed", "dedupe", "caption", "shard", "query", "train", "sample", "audit",
                "bench")


def test_help_lists_the_verbs(capsys):
    out = subprocess.run([sys.executable, "-m", "curate.cli", "--help"], capture_output=True, text=True).stdout
    listed = {line.split()[0] for line in out.splitlines() if line.startswith("    ") and line.split()}
    assert set(DESIGN_VERBS) <= listed, listed
    for verb in DESIGN_VERBS:  # each explains itself
        assert main([verb, "--help"]) == 0 and capsys.readouterr().out.startswith(f"usage: curate {verb}")


@pytest.mark.parametrize("argv,needle", [
    (["ingest", "{tmp}/ds", "--urls", "{tmp}/missing.csv"], "does not exist"),
    (["ingest", "{tmp}/ds", "--urls", "{tmp}/list.xlsx"], "unknown format"),
    (["ingest", "{tmp}/ds", "--urls", "{tmp}/nourl.csv"], "no 'url' column"),
    (["ingest", "{tmp}/ds", "--folder", "{tmp}/nowhere"], "does not exist"),
    (["ingest", "{tmp}/ds", "--tar", "{tmp}/*.tar"], "no archive matches"),
    (["ingest", "{tmp}/ds", "--urls", "{tmp}/nourl.csv", "--scheduler", "yarn"], "no 'url' column"),
    (["query", "{tmp}/ds", "SELECT 1", "--format", "parquet"], "is not a dataset"),
    (["ingest", "{tmp}/ds", "--folder", "{tmp}", "--encode-format", "png"], "img2dataset options"),
])
def test_user_errors_are_one_line_and_exit_2(tmp_path, capsys, argv, needle):
    (tmp_path / "list.xlsx").write_text("x")
    (tmp_path / "nourl.csv").write_text("link,caption\nhttp://x/a.jpg,a\n")
    assert curate(*[a.format(tmp=tmp_path) for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and needle in err, err


def test_bench_ingest_reports_a_ratio(capsys):
    assert curate("bench", "ingest", "--urls", 40, "--rounds", 1) == 0
    out = capsys.readouterr().out
    assert "ratio" in out and "img2dataset_images_per_s" in out


@pytest.mark.parametrize("argv,keys", [
    (["embed", "--rounds", 1], ["bare_images_per_s", "curate_images_per_s", "ratio"]),
    (["dedupe", "--vectors", "20000"], ["n=20000", "500 rows each at every size", "recall 1.0000", "workers peak", "goal"]),
    (["dedupe", "--vectors", "20000", "--topic-rows", "0"], ["2000 whatever the size", "recall 1.0000"]),
    pytest.param(["train", "--lora", 2, "--steps", 5, "--rounds", 1], ["full_s_per_step", "lora_s_per_step", "speedup"],
                 marks=pytest.mark.skipif(not importlib.util.find_spec("peft"), reason="peft is not installed")),
])
def test_benches_report(capsys, argv, keys):
    assert curate("bench", *argv) == 0
    out = capsys.readouterr().out
    assert all(k in out for k in keys), out


@pytest.mark.parametrize("argv,needle", [
    (["train", "ds", "--out", "m", "--steps", "0"], "argument --steps: 0 is out of range: >= 1"),
    (["train", "ds", "--out", "m", "--caption-dropout", "1.5"], "argument --caption-dropout"),
    (["train", "ds", "--out", "m", "--learning-rate", "0"], "argument --learning-rate"),
    (["train", "ds", "--out", "m", "--resume", "--overwrite"], "not allowed with argument --resume"),
    (["sample", "m", "--prompt", "a", "--seeds", "5-1", "--out", "s"], "the range is empty"),
    (["sample", "m", "--prompt", "a", "--seeds", "-3", "--out", "s"], "seeds are integers >= 0"),
    (["sample", "m", "--prompt", "a", "--steps", "0", "--out", "s"], "argument --steps"),
    (["dedupe", "ds", "--threshold", "2"], "argument --threshold: 2 is out of range"),
    (["dedupe", "ds", "--perceptual-bits", "65"], "argument --perceptual-bits"),
    (["embed", "ds", "--processes-count", "0"], "argument --processes-count: 0 is out of range"),
    (["ingest", "ds", "--folder", "x", "--thread-count", "0"], "argument --thread-count"),
    (["ingest", "ds", "--folder", "x", "--max-aspect-ratio", "nan"], "argument --max-aspect-ratio"),
    (["shard", "ds", "--per-shard", "x"], "expected an integer, not 'x'"),
    (["audit", "ds", "--samples", "s", "--k", "0"], "argument --k"),
])
def test_numeric_options_out_of_range_are_one_line_exit_2(tmp_path, monkeypatch, capsys, argv, needle):
    monkeypatch.chdir(tmp_path)  # relative paths: nothing may be made there
    assert curate(*argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and needle in err, err
    assert not list(tmp_path.iterdir())


def test_inputs_that_would_do_nothing_or_something_else_are_refused(tmp_path, capsys):
    (tmp_path / "empty.txt").write_text("\n\n")
    (tmp_path / "ds" / "manifests").mkdir(parents=True)
    (tmp_path / "model").mkdir()
    (tmp_path / "model" / "model_index.json").write_text("{}")
    (tmp_path / "model" / "loss.png").write_bytes(b"")
    for argv, needle in [
        (["ingest", tmp_path / "new", "--urls", tmp_path / "empty.txt"], "no inputs in it"),
        (["ingest", tmp_path / "no" / "such" / "ds", "--folder", corpus_dir()], "does not exist; create it first"),
        (["train", tmp_path / "ds", "--out", tmp_path / "no" / "such" / "model"], "does not exist; create it first"),
        (["sample", tmp_path / "model", "--prompt", "a cat", "--out", tmp_path / "no" / "such"],
         "does not exist; create it first"),
        (["audit", tmp_path / "ds", "--samples", tmp_path / "model"], "is a model folder, not samples"),
    ]:
        assert curate(*argv) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and needle in err, err
    assert not (tmp_path / "new").exists() and not (tmp_path / "no").exists()


def corpus_dir():
    from curate import corpus

    return corpus.images_dir()


def test_csv_of_struct_and_list_columns_is_json_text(tmp_path, capsys):
    (tmp_path / "ds" / "manifests").mkdir(parents=True)
    assert curate("query", tmp_path / "ds", "SELECT 1 AS n, [0.5, 1.0]::FLOAT[] AS vector, {'summary': 'a cat', 'counts': "
                  "{'people': 0}} AS caption", "--format", "csv") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == '"n","vector","caption"'
    assert out[1] == '1,"[0.5, 1.0]","{""summary"": ""a cat"", ""counts"": {""people"": 0}}"'
