"""People with 17 body keypoints from MoveNet MultiPose Lightning (up to 6 people per image).

The image is resized, aspect kept, so its long side is LONG_SIDE and both sides are multiples of
32 (the model's need), and given as int32 RGB. The output [1, 6, 56] holds per person 17
keypoints (y, x, score), then the box (ymin, xmin, ymax, xmax) and the person's score, all
normalised to the resized image, which covers the whole input, so they scale back directly.
"""

import cv2
import numpy as np

from curate.caption.boxes import Detection, check_rgb, nms, pixel_box, session

KEYPOINTS = ("nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
             "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee",
             "right_knee", "left_ankle", "right_ankle")
LONG_SIDE = 256     # 512 finds small people in crowds but loses large ones, at ~3x the time
MIN_SCORE = 0.3     # person score: no person on the 36 labelled images without one, at 256 px
NMS_IOU = 0.5
MODEL = "movenet_multipose.onnx"


def _input(rgb: np.ndarray, long_side: int) -> np.ndarray:
    h, w = rgb.shape[:2]
    scale = long_side / max(h, w)
    nh, nw = (max(32, round(s * scale / 32) * 32) for s in (h, w))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return cv2.resize(rgb, (nw, nh), interpolation=interpolation).astype(np.int32)[None]


def detect(rgb: np.ndarray, min_score: float = MIN_SCORE, long_side: int = LONG_SIDE) -> list[Detection]:
    """People in an RGB uint8 image of any size: boxes and 17 keypoints (x, y, score) in its pixels."""
    check_rgb(rgb)
    model = session(MODEL)
    out = model.run(None, {model.get_inputs()[0].name: _input(rgb, long_side)})[0][0]
    h, w = rgb.shape[:2]
    people = []
    for row in out:
        if row[55] < min_score:
            continue
        points = row[:51].reshape(17, 3)
        keypoints = [[float(x * w), float(y * h), float(s)] for y, x, s in points]
        ymin, xmin, ymax, xmax = row[51:55]
        box = pixel_box(xmin * w, ymin * h, xmax * w, ymax * h, w, h)
        if box[2] > box[0] and box[3] > box[1]:
            people.append(Detection("person", box, float(row[55]), keypoints))
    return nms(people, NMS_IOU)
