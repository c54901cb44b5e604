import curate.torchvision_compat  # noqa: F401  (first: before anything imports torchvision)

import shutil
from pathlib import Path

import pytest

from curate import corpus
from curate.serve import serve_folder
from tests import hostile


@pytest.fixture(scope="session")
def real_images() -> list[Path]:
    """Real photos and drawings from the bundled corpus (first files, sorted)."""
    files = sorted(corpus.images_dir().iterdir())
    return [f for f in files if f.suffix in (".jpg", ".png")][:12]


@pytest.fixture
def fault_server(tmp_path, real_images):
    """A loopback server with broken files and a route for each way a scrape goes wrong.

    Yields (base URL, served folder, {broken file name: expected status}).
    """
    root = tmp_path / "site"
    root.mkdir()
    for f in real_images:
        shutil.copy(f, root / f.name)
    broken = hostile.write_files(root, real_images[0])
    with serve_folder(root, hostile.FaultHandler) as base:
        yield base, root, broken
