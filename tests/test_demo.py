"""`curate demo` scrapes the whole bundled corpus from loopback; corpus licensing is complete."""

from curate import corpus
from curate.manifest import read_table
from curate.workspace import Workspace
from tests.helpers import curate, images

ALLOWED_LICENSES = {"public-domain", "CC0-1.0", "CC-BY-4.0", "CC-BY-2.0", "Apache-2.0", "BSD-3-Clause",
                    "Apache-2.0 AND BSD-3-Clause"}


def test_corpus_is_real_licensed_and_small():
    rows = corpus.catalog()
    files = {p.name for p in corpus.images_dir().iterdir()}
    assert len(rows) >= 300 and {r["file"] for r in rows} == files
    assert all(r["license"] in ALLOWED_LICENSES and r["source"] and r["caption"] for r in rows)
    assert not any(r["source"].startswith(("npm:emoji-datasource-apple", "npm:emoji-datasource-facebook")) for r in rows)
    assert sum(p.stat().st_size for p in corpus.images_dir().iterdir()) <= 15 << 20
    groups = {}
    for r in rows:
        groups.setdefault(r["group"], []).append(r)
    assert sum(len(g) > 1 for g in groups.values()) >= 10, "near-duplicate groups for the dedupe stage"


def test_demo_scrapes_every_corpus_image(demo, tmp_path):
    out, printed = demo
    rows = images(out)
    ok = [r for r in rows if r["status"] == "ok"]
    assert len(ok) == len(corpus.catalog())
    assert len(rows) - len(ok) == 2 and all(r["status"] == "download_failed" for r in rows if r not in ok)
    assert f"{len(ok)} ok, 2 download_failed" in printed
    for part in ("dedupe.html", "contact_sheet.png", "loss.png", "report.html"):
        assert part in printed
    assert (out / "reports" / "dedupe.html").exists() and (out / "samples" / "contact_sheet.png").exists()
    assert (out / "model" / "model_index.json").exists()
    assert (out / "samples" / "report.html").exists() and (out / "samples" / "manifests" / "audit").is_dir()
    # Trainer, text conditioning, sampler and audit together: every sample of a training caption
    # is its own picture drawn back (measured 24 of 24), and the audit says so.
    own = {r["short"]: r["id"] for r in read_table(Workspace(out), "train_shards").to_pylist()
           if r["shard_set"] == "demo_model"}
    prompts = {r["sample_id"]: r["prompt"] for r in read_table(Workspace(out / "samples"), "samples").to_pylist()}
    decisive = [r for r in read_table(Workspace(out / "samples"), "audit").to_pylist() if r["decisive"]]
    assert len(own) == 6 and len(decisive) == 24
    drawn_back = [r for r in decisive if r["verdict"] == "copy" and r["nearest_id"] == own[prompts[r["sample_id"]]]]
    assert len(drawn_back) >= 20, [(prompts[r["sample_id"]], r["verdict"]) for r in decisive if r not in drawn_back]
    # A rerun replaces the demo's own folder (checked on a stand-in: the session's demo stays)...
    from curate.demo import _fresh_workspace

    old = tmp_path / "old-demo"
    old.mkdir()
    (old / "dataset.yaml").write_text("demo: {}\n")
    (old / "leftover.txt").write_text("from the last demo")
    assert not (_fresh_workspace(old).root / "leftover.txt").exists()
    # ...and never a folder it did not make.
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "precious.txt").write_text("keep me")
    assert curate("demo", "--out", tmp_path / "mine") == 2
    assert (tmp_path / "mine" / "precious.txt").exists()
