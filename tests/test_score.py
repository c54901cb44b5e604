"""`curate score`: each score moves the right way on degraded copies of real photos; the stage
writes a queryable, resumable scores table that reuses the caption's OCR boxes; `curate shard
--where` picks by scores without deleting anything; the report renders in headless Chromium."""

import io
import json
import re
import shutil

import numpy as np
import pytest
from PIL import Image

from curate import corpus
from curate.manifest import read_table
from curate.query import fetch
from curate.score import evaluate
from curate.score.image import score_image
from curate.caption.boxes import union_area
from curate.workspace import Workspace
from tests.helpers import curate, ingest_corpus, screenshot


NAMES = ["cv_text_hotel.jpg", "sk_coffee.jpg", "cv_basketball1.jpg", "sk_chelsea.jpg", "emoji_google_1f44d.png"]


@pytest.fixture(scope="module")
def ingested(tmp_path_factory):
    """NAMES ingested once (two raw shards); each test works on its own copy."""
    return ingest_corpus(tmp_path_factory.mktemp("score") / "ds", NAMES, per_shard=3)


def _copy(ingested, tmp_path) -> Workspace:
    return Workspace.open(shutil.copytree(ingested, tmp_path / "ds"))


def _png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, "PNG")
    return buf.getvalue()


def test_union_area_counts_overlaps_once_and_clips():
    assert union_area([], 100, 100) == 0.0
    assert union_area([[0, 0, 10, 10]], 100, 100) == pytest.approx(0.01)
    assert union_area([[0, 0, 10, 10], [5, 5, 15, 15]], 100, 100) == pytest.approx(175 / 10_000)
    assert union_area([[-50, -50, 200, 50]], 100, 100) == pytest.approx(0.5)  # clipped to the image
    assert union_area([[10, 10, 10, 40]], 100, 100) == 0.0                   # empty box


@pytest.mark.parametrize("name", ["sk_coffee.jpg", "cv_fruits.jpg"])
def test_scores_move_the_right_way_on_degraded_copies(name):
    image = Image.open(corpus.images_dir() / name).convert("RGB")
    clean = score_image((corpus.images_dir() / name).read_bytes())
    blurred = score_image(_png(evaluate.blurred(image)), [])
    jpeg = score_image(_png(evaluate.jpeg(image)), [])
    overlay = score_image(_png(evaluate.burned(image, "SALE 50% OFF TODAY")))
    assert blurred["sharpness"] < clean["sharpness"] / 3 and blurred["blur"] > clean["blur"] + 0.1
    assert blurred["quality"] > clean["quality"] + 30 and jpeg["quality"] > clean["quality"] + 30
    assert clean["text_area"] == 0 and overlay["text_area"] > 0.03
    assert clean["nsfw"] < 0.2 and clean["nsfw_neutral"] > 0.5  # ordinary photos: safe by the threshold
    assert abs(sum(clean[f"nsfw_{c}"] for c in ("drawing", "hentai", "neutral", "porn", "sexy")) - 1) < 1e-3
    assert clean["provenance"]["nsfw"].startswith("nsfwjs 4.3.0") and "BRISQUE" in clean["provenance"]["quality"]


def test_undecodable_and_tiny_images_get_a_status():
    assert score_image(b"not an image")["status"] == "undecodable"
    tiny = score_image(_png(Image.new("RGB", (8, 40))))
    assert tiny["status"] == "too_small" and "quality" not in tiny


def test_score_stage_reuses_ocr_boxes_resumes_and_feeds_shard(ingested, tmp_path, capsys):
    ws = _copy(ingested, tmp_path)
    # text only: enough to give the caption's boxes, and quick
    assert curate("caption", ws.root, "--detectors", "text", "--processes-count", "1") == 0
    capsys.readouterr()
    assert curate("score", ws.root, "--processes-count", "1") == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["scores"] == len(NAMES) and summary["ocr_reused"] == len(NAMES)
    assert len(ws.partitions("scores")) == 2
    rows = {r["url"].rsplit("/", 1)[1]: r for r in fetch(
        ws, "SELECT i.url, s.* FROM scores s JOIN images i USING (id)").to_pylist()}
    assert rows["cv_text_hotel.jpg"]["text_area"] > 0.02 and rows["sk_coffee.jpg"]["text_area"] == 0
    assert rows["cv_text_hotel.jpg"]["provenance"]["text_area"].endswith("boxes from captions")
    assert all(r["status"] == "ok" and r["nsfw"] is not None for r in rows.values())
    # shard picks by score columns; every image stays in the manifests
    assert curate("shard", ws.root, "--where", "nsfw < 0.2 AND quality < 40 AND text_area < 0.01") == 0
    cut = json.loads(capsys.readouterr().out)
    expected = sum(r["nsfw"] < 0.2 and r["quality"] < 40 and r["text_area"] < 0.01 for r in rows.values())
    assert 0 < cut["images"] == expected < len(NAMES)
    assert len(read_table(ws, "images")) == len(NAMES) and len(read_table(ws, "scores")) == len(NAMES)
    # the partitions open in Hugging Face datasets as they are, with their types
    from datasets import Dataset

    table = Dataset.from_parquet([str(f) for f in ws.partitions("scores")], cache_dir=str(tmp_path / "hf"))
    assert len(table) == len(NAMES) and table.features["nsfw"].dtype == "float32"
    assert set(table.features["provenance"]) >= {"nsfw", "quality", "text_area"}
    # a lost partition is redone; the other is kept as it is
    first, second = ws.partitions("scores")
    kept = second.stat().st_mtime_ns
    first.unlink()
    assert curate("score", ws.root, "--processes-count", "1") == 0
    assert json.loads(capsys.readouterr().out)["shards_scored"] == 1
    assert second.stat().st_mtime_ns == kept and len(read_table(ws, "scores")) == len(NAMES)


def test_scores_report_renders_histograms_and_examples_in_chromium(ingested, tmp_path):
    ws = _copy(ingested, tmp_path)
    assert curate("score", ws.root, "--report", "--processes-count", "1") == 0  # no captions: OCR runs here
    page = ws.root / "reports" / "scores.html"
    text = page.read_text()
    assert all(f"id='{n}'" in text for n in ("nsfw", "quality", "text_area", "sharpness", "blur"))
    assert text.count("<img src='data:image/jpeg") >= 4 * 5
    # the histogram bars are one orange (#e8590c): the page without its SVGs shows none of it
    bare = tmp_path / "bare.html"
    bare.write_text(re.sub(r"<svg.*?</svg>", "", text, flags=re.S))
    orange = [int((np.abs(np.asarray(screenshot(p, tmp_path / f"{p.stem}.png", (1280, 1400))).astype(int)
                          - (232, 89, 12)).sum(-1) < 40).sum()) for p in (page, bare)]
    assert orange[0] > orange[1] + 2000, orange


def test_score_is_a_stage_of_a_run_config(tmp_path):
    from curate.cli import build_parser
    from curate.run_config import load, plan

    config = tmp_path / "run.yaml"
    config.write_text("dataset: ds\nstages:\n  shard: {where: 'nsfw < 0.2'}\n  score: {report: true}\n  caption: {}\n")
    runs = plan(str(config), load(str(config)), build_parser(strict=True), None, "local:2")
    assert [a.verb for a in runs] == ["caption", "score", "shard"]
    assert runs[1].report and runs[1].scheduler == "local:2" and runs[1].fn.__name__ == "cmd_score"


def test_missing_score_model_is_one_clear_error(tmp_path, monkeypatch):
    from curate.caption import boxes
    from curate.errors import UserError
    from curate.score import brisque, models, nsfw

    monkeypatch.setattr(models, "WEIGHTS", tmp_path)
    boxes.session.cache_clear()
    models.load_npz.cache_clear()
    rgb = np.zeros((64, 64, 3), np.uint8)
    try:
        with pytest.raises(UserError, match=r"nsfw_mobilenet_v2\.onnx is missing.*convert_nsfwjs\.py"):
            nsfw.probabilities(rgb)
        with pytest.raises(UserError, match=r"brisque_svr\.npz is missing or damaged.*export_brisque\.py"):
            brisque.score(rgb)
    finally:
        boxes.session.cache_clear()
        models.load_npz.cache_clear()


def test_opt_in_aesthetic_head_reads_stored_vectors(ingested, tmp_path, capsys):
    import torch

    ws = _copy(ingested, tmp_path)
    assert curate("embed", ws.root) == 0
    torch.manual_seed(0)
    head = torch.nn.Sequential(torch.nn.Linear(1280, 8), torch.nn.Dropout(0.2), torch.nn.Linear(8, 1))
    torch.save({"layers." + k: v for k, v in head.state_dict().items()}, tmp_path / "head.pth")
    assert curate("score", ws.root, "--processes-count", "1") == 0  # default: no aesthetic column
    assert all(r["aesthetic"] is None for r in read_table(ws, "scores").to_pylist())
    capsys.readouterr()
    assert curate("score", ws.root, "--processes-count", "1", "--aesthetic", tmp_path / "head.pth") == 0
    assert json.loads(capsys.readouterr().out)["shards_scored"] == 2  # asked for a head: scored again
    rows = fetch(ws, "SELECT s.aesthetic, s.provenance.aesthetic AS made, e.vector FROM scores s "
                     "JOIN embeddings e USING (id)").to_pylist()
    head.eval()
    with torch.no_grad():
        expected = head(torch.tensor([r["vector"] for r in rows])).squeeze(1).numpy()
    assert np.allclose([r["aesthetic"] for r in rows], expected, atol=1e-5)
    assert all("head.pth on efficientnet-lite0" in r["made"] for r in rows)
    torch.save({"weight": torch.zeros(1, 512), "bias": torch.zeros(1)}, tmp_path / "clip.pth")
    assert curate("score", ws.root, "--processes-count", "1", "--aesthetic", tmp_path / "clip.pth") == 2
    assert "takes 512-d vectors; the embeddings are 1280-d" in capsys.readouterr().err
