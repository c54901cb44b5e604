"""Hands (and fists, pinches, pointing fingers, faces, finger tips) from handtrack.js's
SSD-MobileNetV2-FPN, a box proposer that sees drawn hands mediapipe's palm detector misses.

The model takes the whole image squashed to 320x320 as rgb/127.5-1 (its own preprocessing, cut
out of the graph at conversion) and runs its SSD post-processor and NMS inside: out come up to
100 boxes (ymin, xmin, ymax, xmax normalised to the image), 1-based classes and scores.
"""

import cv2
import numpy as np

from curate.caption.boxes import Detection, check_rgb, nms, pixel_box, session

SIZE = 320
CLASSES = ("hand", "fist", "pinch", "point", "face", "tip", "pinchtip")
MIN_SCORE = 0.5     # a proposal for mediapipe, not a count: a false "hand" on skimage coffee scores 0.6
NMS_IOU = 0.5
MODEL = "handtrack.onnx"


def detect(rgb: np.ndarray, min_score: float = MIN_SCORE) -> list[Detection]:
    """Hand-model boxes in an RGB uint8 image of any size, in its pixels, class-aware NMS."""
    check_rgb(rgb)
    h, w = rgb.shape[:2]
    interpolation = cv2.INTER_AREA if max(h, w) > SIZE else cv2.INTER_LINEAR
    x = cv2.resize(rgb, (SIZE, SIZE), interpolation=interpolation).astype(np.float32)[None] / 127.5 - 1
    model = session(MODEL)
    outputs = dict(zip([o.name for o in model.get_outputs()], model.run(None, {model.get_inputs()[0].name: x})))
    boxes, classes, scores = (outputs[f"Identity_{i}:0"][0] for i in (1, 2, 4))
    found = []
    for (ymin, xmin, ymax, xmax), c, s in zip(boxes, classes, scores):
        if s < min_score or not 1 <= int(c) <= len(CLASSES):
            continue
        box = pixel_box(xmin * w, ymin * h, xmax * w, ymax * h, w, h)
        if box[2] > box[0] and box[3] > box[1]:
            found.append(Detection(CLASSES[int(c) - 1], box, float(s)))
    return nms(found, NMS_IOU)
