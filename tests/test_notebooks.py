"""The notebooks in notebooks/ run top to bottom on the demo dataset, so they never rot."""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def _outputs(book) -> str:
    texts = []
    for cell in book.cells:
        for out in cell.get("outputs", []):
            texts.append(out.get("text", "") + str(out.get("data", {}).get("text/plain", "")))
    return "\n".join(texts)


@pytest.mark.parametrize("name,expected", [
    ("query_manifests", ["download_failed", "perceptual", "fingers", "text_in_image", "kept_with_caption"]),
    ("read_audit", ["novelty_rate", "efficientnet-lite0", "report.html"]),
])
def test_notebook_runs_on_the_demo(demo, tmp_path, monkeypatch, name, expected):
    dataset, _ = demo
    monkeypatch.setenv("CURATE_DATASET", str(dataset))  # the kernel inherits the environment
    book = nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)
    NotebookClient(book, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    text = _outputs(book)
    for needle in expected:
        assert needle in text, (needle, text[-2000:])
    assert not any(out.get("output_type") == "error" for c in book.cells for out in c.get("outputs", []))
