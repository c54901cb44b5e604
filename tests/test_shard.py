"""`curate shard`: curated WebDataset tars of the images a query picks, with their captions;
reruns keep finished tars, a lost one is rewritten, a changed query replaces the set."""

import hashlib
import json
import shutil
import tarfile

import pytest

from curate import corpus
from curate.manifest import read_table
from curate.workspace import Workspace
from tests.helpers import corpus_folder, curate

PICTURES = ["cv_baboon.jpg", "sk_coffee.jpg", "sk_chelsea.jpg", "sk_rocket.jpg", "cv_fruits.jpg",
            "sk_astronaut.jpg", "cv_text_hotel.jpg", "oc_blueman_waving.png", "cv_messi5.jpg", "sk_lfw_face00.png"]


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("shard")
    src = corpus_folder(root / "src", PICTURES, {n: f"caption of {n}" for n in PICTURES})
    shutil.copy(corpus.images_dir() / PICTURES[0], src / "same-bytes-again.jpg")  # one image, two rows
    assert curate("ingest", root / "ds", "--folder", src, "--number-sample-per-shard", 4) == 0
    return root / "ds"


def _cut(dataset, tmp_path, *args) -> Workspace:
    copy = tmp_path / "ds"
    shutil.copytree(dataset, copy)
    assert curate("shard", copy, "--per-shard", 4, *args) == 0
    return Workspace(copy)


def _rows(ws: Workspace) -> list[dict]:
    return sorted(read_table(ws, "train_shards").to_pylist(), key=lambda r: (r["shard_set"], r["key"]))


def test_tars_are_webdataset_with_stored_bytes_and_captions(dataset, tmp_path):
    ws = _cut(dataset, tmp_path)
    rows = _rows(ws)
    assert len(rows) == len(PICTURES) and len({r["id"] for r in rows}) == len(PICTURES)  # one per distinct image
    tars = sorted((ws.shards / "train").glob("*.tar"))
    assert [t.name for t in tars] == ["00000.tar", "00001.tar", "00002.tar"]
    for path in tars:
        with tarfile.open(path) as tf:
            members = {m.name: tf.extractfile(m).read() for m in tf}
        keys = sorted({name.partition(".")[0] for name in members})
        for key in keys:
            image = next(v for k, v in members.items() if k.startswith(key + ".") and k.rsplit(".")[-1] in ("jpg", "png"))
            meta = json.loads(members[f"{key}.json"])
            assert hashlib.sha256(image).hexdigest() == meta["id"]  # the stored bytes, not re-encoded
            assert members[f"{key}.txt"].decode() == meta["short"] == meta["dense"] == f"caption of {meta['url'].rsplit('/', 1)[1]}"
            assert meta["caption_used"] == "images.text"
    for r in rows:  # the manifest's offsets point at each image's bytes
        with open(ws.root / r["shard_path"], "rb") as fh:
            fh.seek(r["offset"])
            assert hashlib.sha256(fh.read(r["size"])).hexdigest() == r["id"]


def test_rerun_writes_nothing_and_a_lost_tar_or_partition_is_redone(dataset, tmp_path, capsys):
    ws = _cut(dataset, tmp_path)
    before = _rows(ws)
    tars = sorted((ws.shards / "train").glob("*.tar"))
    stamps = [t.stat().st_mtime_ns for t in tars]
    capsys.readouterr()
    assert curate("shard", ws.root, "--per-shard", 4) == 0
    assert json.loads(capsys.readouterr().out)["written"] == 0
    assert [t.stat().st_mtime_ns for t in tars] == stamps
    # as a killed run leaves it: one tar gone, another tar without its manifest partition
    tars[1].unlink()
    ws.partition("train_shards", "train-00002").unlink()
    assert curate("shard", ws.root, "--per-shard", 4) == 0
    assert json.loads(capsys.readouterr().out)["written"] == 2
    assert _rows(ws) == before and tars[0].stat().st_mtime_ns == stamps[0]


def test_a_changed_query_replaces_the_set_and_named_sets_coexist(dataset, tmp_path, capsys):
    ws = _cut(dataset, tmp_path)
    assert curate("shard", ws.root, "--per-shard", 4, "--where", "width < 500") == 0
    assert curate("shard", ws.root, "--name", "big", "--where", "width >= 500") == 0
    capsys.readouterr()
    assert curate("query", ws.root, "SELECT shard_set, count(*) AS n, count(DISTINCT shard_path) AS tars "
                                    "FROM train_shards GROUP BY 1 ORDER BY 1", "--format", "json") == 0
    got = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    widths = {r["id"]: r["width"] for r in read_table(ws, "images").to_pylist() if r["status"] == "ok"}
    small = sum(w < 500 for w in widths.values())
    assert 0 < small <= 4 < len(widths)  # so the replaced set has fewer tars than the first
    assert got == [{"shard_set": "big", "n": len(widths) - small, "tars": 1},
                   {"shard_set": "train", "n": small, "tars": 1}]
    assert sorted(p.name for p in (ws.shards / "train").glob("*.tar")) == ["00000.tar"]  # old tars gone
    assert json.loads((ws.shards / "train" / "plan.json").read_text())["where"] == "width < 500"


@pytest.mark.parametrize("args,needle", [
    (["--where", "nonsense_column > 1"], "query failed"),
    (["--where", "false"], "selects no images"),
    (["--name", "../elsewhere"], "letters, digits"),
    (["--per-shard", "0"], "out of range: >= 1 and <= 9999"),
])
def test_bad_input_is_one_line_exit_2(dataset, capsys, args, needle):
    assert curate("shard", dataset, *args) == 2
    err = capsys.readouterr().err
    assert needle in err and len(err.strip().splitlines()) == 1


def test_a_missing_raw_shard_is_one_line_exit_2(dataset, tmp_path, capsys):
    copy = tmp_path / "ds"
    shutil.copytree(dataset, copy)
    next(Workspace(copy).raw.glob("*.tar")).unlink()
    assert curate("shard", copy) == 2
    assert "is missing" in capsys.readouterr().err
    assert not [p for p in (copy / "shards").rglob("*") if ".tmp-" in p.name]  # no half-written tar
