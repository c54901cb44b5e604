"""Share of the image area that text lines cover (0-1): an overlay and watermark signal. The
boxes are the caption stage's OCR lines (rapidocr) where that stage read the image's text, so
OCR runs once per image; otherwise curate's OCR reads them here."""

import numpy as np

from curate.caption import ocr


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


def read_boxes(rgb: np.ndarray) -> list[list[int]]:
    return [line.box for line in ocr.read(rgb)]
