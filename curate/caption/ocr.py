"""Text in the image: rapidocr's PP-OCR detector and recogniser (ONNX models in the wheel).

Settings measured on the corpus (README, captions): the angle classifier is off (scraped
images are upright) and the short side is scaled to 480 px rather than 736, which reads the
same signs and pages about three times faster; lines scoring under MIN_SCORE, or with a
single letter or digit, are dropped (they are mostly texture read as letters). Text seen in a
mirror, or from behind a window, reads as letters too ('OYMAO'): a line the recogniser reads
better flipped left to right is set apart as mirrored, not taken as the image's text.
"""

import functools
import logging

import numpy as np

from curate.caption.records import TextLine

MIN_SCORE = 0.8
MIRROR_CHECK = 0.97  # lines read less surely than this are also read flipped (clean text scores above it)
MIRROR_FLOOR = 0.5   # a detected line this unsure may still be text that reads well flipped
MIN_CHARS = 2  # a lone letter or digit is nearly always a texture or an edge read as one
SHORT_SIDE = 480


_threads = 1


def use_threads(n: int) -> None:
    """onnxruntime threads for the OCR models in this process: 1 when a process per core does
    the parallelism; more when a stage has fewer shards than cores and would leave them idle."""
    global _threads
    _threads = max(1, n)


@functools.cache
def _engine(threads: int):
    from rapidocr import RapidOCR

    engine = RapidOCR(params={
        "Global.use_cls": False,
        "Global.log_level": "error",
        "Det.limit_type": "min",
        "Det.limit_side_len": SHORT_SIDE,
        "EngineConfig.onnxruntime.intra_op_num_threads": threads,
        "EngineConfig.onnxruntime.inter_op_num_threads": 1,
    })
    logging.getLogger("RapidOCR").setLevel(logging.ERROR)
    return engine


def read(image: np.ndarray) -> list[TextLine]:
    """The image's text lines (mirrored ones left out: see `read_both`)."""
    return read_both(image)[0]


def read_both(image: np.ndarray) -> tuple[list[TextLine], list[TextLine]]:
    """The text lines as they read, and the lines that read only flipped (in that reading)."""
    engine = _engine(_threads)
    # rapidocr keeps the use_* flags of the last call: every call sets all three
    result = engine(image, use_det=True, use_cls=False, use_rec=True)
    lines, mirrored = [], []
    for text, score, quad in zip(result.txts or (), result.scores or (), result.boxes if result.boxes is not None else ()):
        q = np.asarray(quad)
        box = [int(q[:, 0].min()), int(q[:, 1].min()), int(q[:, 0].max()), int(q[:, 1].max())]
        text, score = text.strip(), float(score)
        if MIRROR_FLOOR <= score < MIRROR_CHECK:
            flipped = _read_flipped(engine, image, box)
            if flipped and flipped[1] >= MIN_SCORE and flipped[1] > score and _readable(flipped[0]):
                mirrored.append(TextLine(flipped[0], box, round(flipped[1], 3)))
                continue
        if score >= MIN_SCORE and _readable(text):
            lines.append(TextLine(text, box, round(score, 3)))
    return lines, mirrored


def _readable(text: str) -> bool:
    return sum(c.isalnum() for c in text) >= MIN_CHARS


def _read_flipped(engine, image: np.ndarray, box) -> tuple[str, float] | None:
    x0, y0, x1, y1 = max(0, box[0]), max(0, box[1]), box[2], box[3]
    crop = np.ascontiguousarray(image[y0:y1, x0:x1][:, ::-1])
    if crop.size == 0:
        return None
    out = engine(crop, use_det=False, use_cls=False, use_rec=True)
    return (out.txts[0].strip(), float(out.scores[0])) if out.txts else None
