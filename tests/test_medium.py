"""The medium probe on a few images of the hand-labelled caption set (tests/data/caption_labels)."""

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from curate.caption import medium
from curate.errors import UserError

LABELS = Path(__file__).parent / "data" / "caption_labels"
CASES = ["cows.jpg", "castle_clinton.jpg", "family_drawing.png", "pere_tanguy.jpg", "text_page.png"]


def _load(name):
    return np.asarray(Image.open(LABELS / "images" / name).convert("RGB"))


def test_labelled_media():
    truth = {x["file"]: x["medium"] for x in json.loads((LABELS / "labels.json").read_text())}
    for name in CASES:
        got, p = medium.classify(_load(name))
        assert (name, got) == (name, truth[name])
        assert 0.0 < p <= 1.0


def test_grey_copy_of_a_photo_is_a_grayscale_photo():
    grey = np.repeat(np.asarray(Image.open(LABELS / "images" / "dog.jpg").convert("L"))[..., None], 3, 2)
    assert medium.classify(grey)[0] == "grayscale photo"


def test_corrupt_weights_are_one_clear_error(tmp_path, monkeypatch):
    bad = tmp_path / "medium.npz"
    bad.write_bytes(b"not a zip")
    monkeypatch.setattr(medium, "WEIGHTS", bad)
    medium._probe.cache_clear()
    try:
        with pytest.raises(UserError, match="medium.npz"):
            medium.classify(_load("cows.jpg"))
    finally:
        medium._probe.cache_clear()
