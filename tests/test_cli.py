"""The command line: help that explains, one-line errors with exit 2, the bench runs."""

import importlib.util
import subprocess
import sys

import pytest

from curate.cli import main
from tests.helpers import curate


# The command line of DESIGN.md section 3
DESIGN_VERBS = ("demo", "run", "ingest", "embed", "dedupe", "caption", "shard", "query", "train", "sample", "audit",
                "bench")


def test_help_lists_the_verbs(capsys):
    out = subprocess.run([sys.executable, "-m", "curate.cli", "--help"], capture_output=True, text=True).stdout
    listed = {line.split()[0] for line in out.splitlines() if line.startswith("    ") and line.split()}
    assert set(DESIGN_VERBS) <= listed, listed
    for verb in DESIGN_VERBS:  # each explains itself
        with pytest.raises(SystemExit) as done:
            main([verb, "--help"])
        assert done.value.code == 0 and capsys.readouterr().out.startswith(f"usage: curate {verb}")


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
    (["dedupe", "--sizes", "20000"], ["n=20000", "goal"]),
    pytest.param(["train", "--lora", 2, "--steps", 5, "--rounds", 1], ["full_s_per_step", "lora_s_per_step", "speedup"],
                 marks=pytest.mark.skipif(not importlib.util.find_spec("peft"), reason="peft is not installed")),
])
def test_benches_report(capsys, argv, keys):
    assert curate("bench", *argv) == 0
    out = capsys.readouterr().out
    assert all(k in out for k in keys), out
