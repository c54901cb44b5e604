"""The bundled demo corpus: real images with caption, source and license per file.

`corpus.csv` lists each file of `images/`; `NOTICE.md` sums up the licenses;
tools/build_corpus.py rebuilds both from the package registries.
"""

import csv
from importlib import resources
from pathlib import Path


def images_dir() -> Path:
    return Path(str(resources.files(__name__).joinpath("images")))


def catalog() -> list[dict]:
    """Rows of corpus.csv: file, caption, kind, group, source, license, attribution."""
    with resources.files(__name__).joinpath("corpus.csv").open(newline="") as fh:
        return list(csv.DictReader(fh))
