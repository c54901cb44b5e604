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


def test_a_painting_with_no_text_is_not_a_screenshot():
    """Starry Night: the probe's likeliest medium is a screenshot (0.83); no text is read in it,
    so it is its next likeliest, a painting. The screenshot with its words stays a screenshot."""
    starry, dialog = _load("starry_night.jpg"), _load("gimp_brushes_dialog.png")
    assert medium.classify(starry)[0] == "screenshot"
    assert medium.classify(starry, text=False)[0] == "painting"
    assert medium.classify(dialog, text=True)[0] == "screenshot"
    p = np.array([0.1, 0.0, 0.2, 0.0, 0.3, 0.4])  # document, then screenshot, then painting
    assert medium.decide(p, starry, text=False) == ("painting", pytest.approx(2 / 3))


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
