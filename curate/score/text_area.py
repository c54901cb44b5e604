"""The boxes whose share of the image (curate.caption.boxes.union_area) is the text_area score,
an overlay and watermark signal: the caption stage's OCR lines (rapidocr) where that stage read
the image's text, so OCR runs once per image; otherwise curate's OCR reads them here."""

import numpy as np

from curate.caption import ocr


def read_boxes(rgb: np.ndarray) -> list[list[int]]:
    return [line.box for line in ocr.read(rgb)]
