"""The bundled box detectors (NanoDet objects, MoveNet MultiPose people, handtrack hands) on real
corpus images, and the one-line error for a missing or corrupt model file.

Expected boxes were written down by looking at each image with the detections drawn on it."""

import numpy as np
import pytest
from PIL import Image

from curate import corpus
from curate.caption import boxes, handtrack, movenet, nanodet
from curate.caption.boxes import Detection, iou, nms
from curate.errors import UserError
from curate.raw import to_rgb


def rgb(name: str) -> np.ndarray:
    return np.asarray(to_rgb(Image.open(corpus.images_dir() / name)))


def best(found: list[Detection], name: str) -> Detection:
    hits = [d for d in found if d.name == name]
    assert hits, f"no {name} in {[(d.name, round(d.score, 2)) for d in found]}"
    return max(hits, key=lambda d: d.score)


def test_iou_and_class_aware_nms():
    a, b, c = [0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]
    assert iou(a, a) == 1.0 and iou(a, c) == 0.0 and iou(a, b) == pytest.approx(50 / 150)
    dets = [Detection("cat", a, 0.9), Detection("cat", [1, 0, 11, 10], 0.8), Detection("dog", [1, 0, 11, 10], 0.7)]
    assert [(d.name, d.score) for d in nms(dets, 0.5)] == [("cat", 0.9), ("dog", 0.7)]


def test_nanodet_names_objects_in_input_pixels():
    cat = best(nanodet.detect(rgb("sk_chelsea.jpg")), "cat")          # the cat's face fills the frame
    assert iou(cat.box, [0, 0, 451, 300]) > 0.8
    bike = best(nanodet.detect(rgb("sk_motorcycle_left.jpg")), "motorcycle")   # one red motorcycle
    assert iou(bike.box, [70, 60, 475, 313]) > 0.8
    cups = [d.box for d in nanodet.detect(rgb("sk_coffee.jpg"), min_score=0.3) if d.name == "cup"]
    assert any(iou(box, [145, 18, 355, 212]) > 0.7 for box in cups)      # the cup at the top centre
    # a larger copy gives the same boxes, scaled
    big = np.asarray(Image.fromarray(rgb("sk_chelsea.jpg")).resize((902, 600)))
    assert iou(best(nanodet.detect(big), "cat").box, [2 * v for v in cat.box]) > 0.9


def test_movenet_counts_people_with_keypoints():
    people = movenet.detect(rgb("sk_astronaut.jpg"))
    assert len(people) == 1
    nose = people[0].keypoints[movenet.KEYPOINTS.index("nose")]
    assert 190 < nose[0] < 250 and 80 < nose[1] < 140 and nose[2] > 0.3   # her nose, by looking
    assert len(movenet.detect(rgb("cv_basketball1.jpg"))) == 2             # two men in a corridor
    assert movenet.detect(rgb("sk_coffee.jpg")) == []


def test_handtrack_finds_drawn_hands():
    found = handtrack.detect(rgb("oc_friends_at_bar.png"))        # hands of the two women on the left
    hand = best(found, "hand")
    assert hand.score > 0.7 and iou(hand.box, [136, 87, 155, 106]) > 0.6
    assert all(d.name in handtrack.CLASSES for d in found)


@pytest.mark.parametrize("content", [None, b"not an onnx model"])
def test_missing_or_corrupt_model_is_one_clear_error(tmp_path, monkeypatch, content):
    if content is not None:
        (tmp_path / nanodet.MODEL).write_bytes(content)
    monkeypatch.setattr(boxes, "WEIGHTS", tmp_path)
    boxes.session.cache_clear()
    try:
        with pytest.raises(UserError, match=r"nanodet\.onnx is (missing|corrupt).*convert_human_models\.py"):
            nanodet.detect(rgb("sk_chelsea.jpg"))
    finally:
        boxes.session.cache_clear()
