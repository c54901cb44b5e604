"""Text in the image: rapidocr's PP-OCR detector and recogniser (ONNX models in the wheel).

Settings measured on the corpus (README, captions): the angle classifier is off (scraped
images are upright) and the short side is scaled to 480 px rather than 736, which reads the
same signs and pages about three times faster; lines scoring under MIN_SCORE, or with a
single letter or digit, are dropped (they are mostly texture read as letters).
"""

import functools
import logging

import numpy as np

from curate.caption.records import TextLine

MIN_SCORE = 0.8
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
    result = _engine(_threads)(image)
    lines = []
    for text, score, quad in zip(result.txts or (), result.scores or (), result.boxes if result.boxes is not None else ()):
        text = text.strip()
        if score >= MIN_SCORE and sum(c.isalnum() for c in text) >= MIN_CHARS:
            q = np.asarray(quad)
            lines.append(TextLine(text, [int(q[:, 0].min()), int(q[:, 1].min()), int(q[:, 0].max()), int(q[:, 1].max())],
                                  round(float(score), 3)))
    return lines
