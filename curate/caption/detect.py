"""Every detector on one image, once each, in the order their inputs need: what they saw, raw
(`Seen`). Turning that into the caption's facts is fuse.py's job, and writing it down is
describe.py's. Each detector's time is recorded for `curate bench caption`.

objects  NanoDet (COCO-80): object boxes, and the person boxes that drive the people search
labels   the ImageNet head of EfficientNet-Lite0: names for the whole image and each object box
         (the medium probe reads the same pass's features, so it costs nothing more)
people   mediapipe faces, and mediapipe pose top-down on each person box, then on the rest
hands    hand-tracker boxes and wrists as proposals, mediapipe hand landmarks on each
text     rapidocr
"""

import functools
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np

from curate.caption import hands as hand_search
from curate.caption import handtrack, imagenet, medium, nanodet, ocr
from curate.caption.boxes import Detection, area, iou, nms
from curate.caption.people import CONFIRM_BELOW, MAX_CROPS, Body, bodies, confirmed, faces, inside, pose_in_box
from curate.caption.records import TextLine
from curate.progress import native_stderr_silenced

DETECTORS = ("objects", "labels", "people", "hands", "text")
HAND_CLASSES = ("hand", "fist", "pinch", "point")  # the hand tracker's classes that are hands (not faces or tips)
OBJECT_FLOOR = 0.35  # boxes from here up to the detector's own threshold are kept to be noted as uncertain
SMALL = 0.7          # two things of a class shorter than this share of the image: look again in tiles for more
                     # (at 1/3 the four seated Irish musicians and the back row of the singers were missed)
SAME_THING = 0.7     # boxes of two classes overlapping this much are one thing seen twice: the likelier wins
PERSON_SURE = 0.6    # a person box under this score may be an animal to the ImageNet head (a swan can be a 'person')
HELD_CROPS = 8       # the largest person boxes, of any score, shown to the head for what they hold (a violin)


@dataclass
class Seen:
    """The raw outputs of the detectors on one image."""
    medium: str = ""
    medium_score: float = 0.0
    detections: list[Detection] = field(default_factory=list)       # NanoDet, every class
    tiled: set[str] = field(default_factory=set)                     # classes looked for again in tiles
    merged: list[tuple[Detection, Detection]] = field(default_factory=list)  # (box dropped, the box it duplicated)
    label_probs: np.ndarray | None = None                           # ImageNet on the whole image
    crop_probs: dict[int, np.ndarray] = field(default_factory=dict)  # ImageNet on a box: index in detections -> scores
    faces: list[tuple[list[int], float, bool]] = field(default_factory=list)  # box, score, confirmed by a second model
    bodies: list[tuple[Body, int | None]] = field(default_factory=list)       # pose, index of its person box
    sharpness: list[float] = field(default_factory=list)            # mean |Laplacian| in each person box
    hand_hits: list = field(default_factory=list)                   # hands.Hit, merged over all views
    hand_owners: list[tuple[int, int]] = field(default_factory=list)  # (body, side) of each wrist region searched
    hand_regions: list = field(default_factory=list)
    text: list[TextLine] = field(default_factory=list)
    mirrored_text: list[TextLine] = field(default_factory=list)   # lines that read only flipped
    seconds: dict[str, float] = field(default_factory=dict)

    @functools.cached_property
    def labels(self) -> list:
        """The whole image's ImageNet labels (imagenet.labels), computed once: fusion asks for
        them once per box."""
        return imagenet.labels(self.label_probs) if self.label_probs is not None else []

    @property
    def person_boxes(self) -> list[Detection]:
        return [d for d in self.detections if d.name == "person"]

    @property
    def object_boxes(self) -> list[Detection]:
        return [d for d in self.detections if d.name != "person"]


@contextmanager
def _timed(seconds: dict, name: str):
    t = time.perf_counter()
    with native_stderr_silenced():
        yield
    seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - t


def detect(image: np.ndarray, detectors=DETECTORS) -> Seen:
    """What each chosen detector sees in an RGB uint8 image."""
    seen = Seen()
    if {"objects", "people", "labels"} & set(detectors):
        with _timed(seen.seconds, "objects"):
            seen.detections = nanodet.detect(image, OBJECT_FLOOR)
            small = [d.name for d in seen.detections
                     if d.score >= nanodet.MIN_SCORE and d.box[3] - d.box[1] < SMALL * image.shape[0]]
            groups = {name for name in small if small.count(name) >= 2}
            if groups:  # a group of small people or animals: there are likely more
                seen.detections, seen.tiled = _with_tiles(image, seen.detections, groups), groups
        if "objects" not in detectors:  # run for its person boxes only
            seen.detections = seen.person_boxes
        seen.detections, seen.merged = _one_name_per_thing(seen.detections)
    labels = "labels" in detectors
    with _timed(seen.seconds, "labels and medium" if labels else "medium"):
        largest = sorted((i for i, d in enumerate(seen.detections) if d.name == "person"),
                         key=lambda i: -area(seen.detections[i].box))[:HELD_CROPS]
        shown = [i for i, d in enumerate(seen.detections)
                 if d.name != "person" or d.score < PERSON_SURE or i in largest] if labels else []
        pooled, probs = imagenet.probabilities(image, [seen.detections[i].box for i in shown])
        if labels:
            seen.label_probs, seen.crop_probs = probs[0], dict(zip(shown, probs[1:]))
    # Text before the medium (a screenshot or page with no text is neither), and the medium before
    # people and hands, whose rules differ for drawings and paintings.
    if "text" in detectors:
        with _timed(seen.seconds, "text"):
            seen.text, seen.mirrored_text = ocr.read_both(image)
    with _timed(seen.seconds, "labels and medium" if labels else "medium"):
        seen.medium, seen.medium_score = medium.classify(
            image, pooled, text="text" not in detectors or bool(seen.text or seen.mirrored_text))
    if {"people", "hands"} & set(detectors):
        with _timed(seen.seconds, "people"):
            _people(seen, image)
    if "hands" in detectors:
        with _timed(seen.seconds, "hands"):
            _hands(seen, image)
    return seen


def _sharpness(image: np.ndarray, box) -> float:
    import cv2

    x0, y0, x1, y1 = box
    grey = cv2.cvtColor(np.ascontiguousarray(image[y0:y1, x0:x1]), cv2.COLOR_RGB2GRAY)
    return float(np.abs(cv2.Laplacian(grey, cv2.CV_32F)).mean()) if grey.size else 0.0


def _one_name_per_thing(found: list[Detection]) -> tuple[list[Detection], list[tuple[Detection, Detection]]]:
    """NanoDet's NMS is per class, so one dog can come back as a dog and a cat (a ball as a ball
    and a glove): of boxes of different classes that overlap SAME_THING, the best stays. Done
    before any box is cropped or posed, so every later list is over the same boxes."""
    kept, merged = [], []
    for d in sorted(found, key=lambda d: -d.score):
        twin = next((k for k in kept if k.name != d.name and iou(k.box, d.box) >= SAME_THING), None)
        if twin is None:
            kept.append(d)
        else:
            merged.append((d, twin))
    return [d for d in found if any(d is k for k in kept)], merged


def _with_tiles(image: np.ndarray, found: list[Detection], classes: set[str]) -> list[Detection]:
    """Small people (a crowd, a band on a stage) and herds are below NanoDet's 416 px view: it is
    run again on four overlapping quarter tiles, each seen twice as large, for the classes of the
    group. A tile's box cut by the tile's inner edge is dropped (the whole thing is in the frame
    or another tile); the rest join the full-frame boxes through NMS."""
    h, w = image.shape[:2]
    th, tw = (h * 5) // 8, (w * 5) // 8
    extra = []
    for y0 in (0, h - th):
        for x0 in (0, w - tw):
            for d in nanodet.detect(np.ascontiguousarray(image[y0:y0 + th, x0:x0 + tw]), OBJECT_FLOOR):
                bx0, by0, bx1, by1 = d.box
                cut = (bx0 <= 1 and x0 > 0) or (by0 <= 1 and y0 > 0) or (bx1 >= tw - 1 and x0 + tw < w) \
                    or (by1 >= th - 1 and y0 + th < h)
                if d.name in classes and not cut:
                    extra.append(Detection(d.name, [bx0 + x0, by0 + y0, bx1 + x0, by1 + y0], d.score))
    return nms(found + extra, nanodet.NMS_IOU)


def _people(seen: Seen, image: np.ndarray) -> None:
    seen.sharpness = [_sharpness(image, d.box) for d in seen.person_boxes]
    boxes = sorted(enumerate(seen.person_boxes), key=lambda ib: -(ib[1].box[2] - ib[1].box[0]) * (ib[1].box[3] - ib[1].box[1]))
    for i, det in boxes[:MAX_CROPS]:
        body = pose_in_box(image, det.box)
        if body is not None:
            seen.bodies.append((body, i))
    seen.bodies += [(b, None) for b in bodies(image, [d.box for d in seen.person_boxes])]
    # a weak face outside every person in a photo gets a second opinion (the apple, the word
    # "riser" and 12 px of a rocket were faces); clip-art faces are weak and real, and the
    # second model misses half of them, so drawings skip the check
    people = [d.box for d in seen.person_boxes] + [b.box for b, _ in seen.bodies]
    for box, score in faces(image):
        centre = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
        alone = not any(inside(centre, p) for p in people)
        check = alone and seen.medium not in ("drawing", "painting") and score < CONFIRM_BELOW
        seen.faces.append((box, score, confirmed(image, box) if check else True))


def _hands(seen: Seen, image: np.ndarray) -> None:
    """Hands searched on the whole frame, around each wrist the poses found, and in each box
    the hand tracker proposes (it finds drawn hands that mediapipe's palm detector misses)."""
    for b, (body, _) in enumerate(seen.bodies):
        for s in range(2):
            region = body.hand_region(s)
            if region is not None:
                seen.hand_regions.append(region)
                seen.hand_owners.append((b, s))
    proposals = []
    for d in handtrack.detect(image):
        if d.name in HAND_CLASSES:
            x0, y0, x1, y1 = d.box
            proposals.append((np.array([(x0 + x1) / 2, (y0 + y1) / 2]), 1.6 * max(x1 - x0, y1 - y0)))
    seen.hand_hits = hand_search.find(image, seen.hand_regions + proposals)
