"""Small helpers the tests share."""

import os
import shutil
import subprocess
from pathlib import Path

from PIL import Image

import pyarrow.parquet as pq
import pytest

from curate import corpus
from curate.cli import main
from curate.manifest import read_table
from curate.workspace import Workspace

# Columns that differ between two correct runs of the same inputs.
RUN_DEPENDENT = {"shard", "key"}


def curate(*argv) -> int:
    return main(["--quiet", *map(str, argv)])


def images(dataset) -> list[dict]:
    return sorted(read_table(Workspace.open(dataset), "images").to_pylist(), key=lambda r: (r["url"], r["key"]))


def by_url(dataset) -> dict[str, dict]:
    return {r["url"]: r for r in images(dataset)}


def comparable(rows: list[dict], drop=RUN_DEPENDENT) -> list[dict]:
    return [{k: v for k, v in r.items() if k not in drop} for r in rows]


def parquet_rows(path) -> list[dict]:
    return pq.read_table(path).to_pylist()


def corpus_folder(folder, names, captions: dict | None = None) -> Path:
    """Bundled corpus images copied into `folder`, each with its caption beside it as a .txt
    where `captions` (name -> text) gives one: a folder to ingest."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        shutil.copy(corpus.images_dir() / name, folder / name)
        if captions:
            (folder / name).with_suffix(".txt").write_text(captions[name])
    return folder


def ingest_corpus(dataset, names, captions: dict | None = None, per_shard: int = 4) -> Path:
    """A dataset ingested from those corpus images (through `corpus_folder`), `per_shard` a raw shard."""
    dataset = Path(dataset)
    src = corpus_folder(dataset.with_name(dataset.name + "-src"), names, captions)
    assert curate("ingest", dataset, "--folder", src, "--number-sample-per-shard", per_shard) == 0
    return dataset


def screenshot(page: Path, png: Path, size=(1280, 2000)) -> Image.Image:
    """Debian's chromium, headless, renders the page to a PNG. Where it is not installed the test
    is skipped, saying so; CI installs it and sets CURATE_NEED_CHROMIUM, so there it never is."""
    if shutil.which("chromium") is None:
        if os.environ.get("CURATE_NEED_CHROMIUM"):
            pytest.fail("chromium is not installed, and CURATE_NEED_CHROMIUM says it must be")
        pytest.skip("Debian's chromium is not installed (apt-get install chromium): the report is not rendered")
    subprocess.run(["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    f"--window-size={size[0]},{size[1]}", f"--screenshot={png}", page.as_uri()],
                   check=True, capture_output=True, timeout=120)
    return Image.open(png).convert("RGB")
