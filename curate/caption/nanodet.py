"""COCO-80 objects from NanoDet-m (416 px, GFL head), the default object detector.

The image is letterboxed into 416x416 (aspect kept, the padding set to the normalisation mean so
it reads as zero). Per stride 8/16/32 the model gives sigmoid class scores [N, 80] and box
logits [N, 44]: for each of the left/top/right/bottom distances from the cell centre, 11 bins
whose softmax expectation, times the stride, is the distance in pixels (Generalized Focal Loss).
"""

import cv2
import numpy as np

from curate.caption.boxes import COCO, Detection, check_rgb, nms, pixel_box, session

SIZE = 416
STRIDES = (8, 16, 32)
BINS = 11
MEAN = np.array([103.53, 116.28, 123.675], np.float32)   # BGR
STD = np.array([57.375, 57.12, 58.395], np.float32)
MIN_SCORE = 0.5     # best named + counts - invented on tools/object_labels.csv (tools/compare_object_detectors.py)
NMS_IOU = 0.5
MODEL = "nanodet.onnx"


def _letterbox(rgb: np.ndarray) -> tuple[np.ndarray, float]:
    h, w = rgb.shape[:2]
    scale = SIZE / max(h, w)
    nh, nw = max(1, round(h * scale)), max(1, round(w * scale))
    canvas = np.empty((SIZE, SIZE, 3), np.float32)
    canvas[:] = MEAN
    bgr = cv2.resize(rgb, (nw, nh), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)[:, :, ::-1]
    canvas[:nh, :nw] = bgr
    return ((canvas - MEAN) / STD).transpose(2, 0, 1)[None], scale


def detect(rgb: np.ndarray, min_score: float = MIN_SCORE) -> list[Detection]:
    """COCO objects in an RGB uint8 image of any size, boxes in its pixels, class-aware NMS."""
    check_rgb(rgb)
    x, scale = _letterbox(rgb)
    model = session(MODEL)
    outputs = dict(zip([o.name for o in model.get_outputs()], model.run(None, {model.get_inputs()[0].name: x})))
    found = []
    for stride in STRIDES:
        cells = (SIZE // stride) ** 2
        scores = next(v for v in outputs.values() if v.shape[1:] == (cells, len(COCO)))[0]
        logits = next(v for v in outputs.values() if v.shape[1:] == (cells, 4 * BINS))[0]
        cell, cls = np.nonzero(scores >= min_score)
        if not len(cell):
            continue
        z = logits[cell].reshape(-1, 4, BINS)
        p = np.exp(z - z.max(-1, keepdims=True))
        dist = (p / p.sum(-1, keepdims=True)) @ np.arange(BINS, dtype=np.float32) * stride
        side = SIZE // stride
        cx = (cell % side + 0.5) * stride
        cy = (cell // side + 0.5) * stride
        for i, c in enumerate(cls):
            l, t, r, b = dist[i]
            box = pixel_box((cx[i] - l) / scale, (cy[i] - t) / scale, (cx[i] + r) / scale, (cy[i] + b) / scale,
                            rgb.shape[1], rgb.shape[0])
            if box[2] > box[0] and box[3] > box[1]:
                found.append(Detection(COCO[c], box, float(scores[cell[i], c])))
    return nms(found, NMS_IOU)
