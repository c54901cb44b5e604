"""`curate run CONFIG.yaml`: stages from a YAML file, parsed by their verbs' own parsers, checked
before anything runs, rerunnable."""

from pathlib import Path

import pytest
import yaml

from curate.cli import build_parser
from curate.manifest import read_table
from curate.run_config import load, plan
from curate.workspace import Workspace
from tests.helpers import corpus_folder, curate


def _config(tmp_path, stages: dict, **top) -> str:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"dataset": str(tmp_path / "ds"), **top, "stages": stages}))
    return str(path)


def test_a_config_runs_its_stages_and_a_rerun_changes_nothing(tmp_path):
    src = corpus_folder(tmp_path / "src", ["sk_coffee.jpg", "sk_rocket.jpg", "cv_fruits.jpg", "sk_chelsea.jpg", "cv_baboon.jpg"])
    # listed out of order on purpose: stages run in pipeline order
    config = _config(tmp_path, {"shard": {"per-shard": 2, "where": "width > 300"},
                                "ingest": {"folder": str(src), "number_sample_per_shard": 2, "image_size": 256}})
    assert curate("run", config) == 0
    ws = Workspace(tmp_path / "ds")
    images = read_table(ws, "images").to_pylist()
    assert len(images) == 5 and {min(r["width"], r["height"]) for r in images} == {256}  # the option reached img2dataset
    assert len(ws.partitions("images")) == 3
    rows = read_table(ws, "train_shards").to_pylist()
    assert len(rows) == sum(r["width"] > 300 for r in images) == 3 and len(ws.partitions("train_shards")) == 2
    stamps = {p: p.stat().st_mtime_ns for t in ("images", "train_shards") for p in ws.partitions(t)}
    assert curate("run", config) == 0
    assert {p: p.stat().st_mtime_ns for t in ("images", "train_shards") for p in ws.partitions(t)} == stamps
    assert len(read_table(ws, "images")) == 5


def test_options_chain_and_the_scheduler_reaches_per_shard_stages(tmp_path):
    config = _config(tmp_path, {"embed": {}, "train": {"out": "m", "steps": 5}, "sample": {"prompt": "a cat", "out": "s"},
                                "audit": {}}, scheduler="local:2")
    runs = plan(config, load(config), build_parser(strict=True), None, None)
    by_verb = {a.verb: a for a in runs}
    assert [a.verb for a in runs] == ["embed", "train", "sample", "audit"]
    assert by_verb["embed"].scheduler == "local:2" and by_verb["train"].steps == 5
    assert by_verb["sample"].model_dir == "m" and by_verb["audit"].samples == "s"
    only = plan(config, load(config), build_parser(strict=True), ["embed"], "tcp://h:8786")
    assert [(a.verb, a.scheduler) for a in only] == [("embed", "tcp://h:8786")]


@pytest.mark.parametrize("stages,top,needle", [
    ({"scrape": {}}, {}, "unknown stage 'scrape'"),
    ({"ingest": {"folder": "x", "colour": "blue"}}, {}, "stages.ingest: unknown option 'colour'"),
    ({"ingest": {"folder": "x", "image_size": "big"}}, {}, "expected an integer, not 'big'"),
    ({"ingest": {}}, {}, "one of the arguments --urls --folder --tar is required"),
    ({"caption": {"report": "yes"}}, {}, "is a switch"),
    ({"sample": {"prompt": "a cat", "out": "s"}}, {}, "needs model_dir"),
    ({"embed": []}, {}, "must be a mapping"),
    ({"embed": {}}, {"workers": 3}, "unknown key 'workers'"),
])
def test_a_bad_config_is_one_line_exit_2_before_any_stage_runs(tmp_path, capsys, stages, top, needle):
    src = tmp_path / "src"
    src.mkdir()
    config = _config(tmp_path, {"ingest": {"folder": str(src)}, **stages} if "ingest" not in stages else stages, **top)
    assert curate("run", config) == 2
    err = capsys.readouterr().err
    assert needle in err and len(err.strip().splitlines()) == 1, err
    assert not (tmp_path / "ds").exists()  # not even the first stage ran


def test_a_missing_or_unreadable_config_is_one_line_exit_2(tmp_path, capsys):
    assert curate("run", tmp_path / "nope.yaml") == 2
    assert "No such file" in capsys.readouterr().err
    (tmp_path / "bad.yaml").write_text("dataset: [unclosed\n")
    assert curate("run", tmp_path / "bad.yaml") == 2
    assert "not valid YAML" in capsys.readouterr().err
    config = _config(tmp_path, {"embed": {}})
    assert curate("run", config, "--stages", "train") == 2
    assert "--stages train: not in" in capsys.readouterr().err


def test_the_readme_example_config_is_valid(tmp_path):
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    example = readme.split("### Run a config", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "pipeline.yaml").write_text(example)
    config = str(tmp_path / "pipeline.yaml")
    runs = plan(config, load(config), build_parser(strict=True), None, None)
    assert [a.verb for a in runs] == ["ingest", "embed", "dedupe", "caption", "score", "shard", "train", "sample", "audit"]
    assert runs[0].scheduler == "local:4" and runs[-1].samples == "samples" and runs[-2].model_dir == "model"
