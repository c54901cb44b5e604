"""One stored image -> one `scores` row: decoded once, every score on the same pixels; a file
that will not decode or a sliver too small to measure gets a status and NULL scores, never an
exception."""

import time

import numpy as np

from curate.caption import image as caption_image
from curate.caption.boxes import union_area
from curate.raw import decode, to_rgb
from curate.score import brisque, nsfw, sharpness, text_area

SCORES = ("nsfw", "quality", "text_area", "sharpness", "blur")
VERSIONS = {"nsfw": "nsfwjs 4.3.0 MobileNetV2 (ONNX)", "quality": "BRISQUE (brisque 0.2.0 SVR)",
            "text_area": caption_image.VERSIONS["text"],
            "sharpness": f"variance of Laplacian at {sharpness.SIDE} px",
            "blur": f"blur effect (Crete-Roffet) at {sharpness.SIDE} px"}


def score_image(data: bytes, caption_boxes: list | None = None) -> dict:
    """Every score of one image. `caption_boxes`: the caption stage's text boxes (stored-image
    pixels) where it read this image's text; None runs OCR here."""
    row = {"status": "ok", "error": None}
    try:
        rgb = np.asarray(to_rgb(decode(data)))
    except Exception as err:  # noqa: BLE001 - any decoder failure is this image's status, not a crash
        return {**row, "status": "undecodable", "error": f"{type(err).__name__}: {err}"}
    h, w = rgb.shape[:2]
    if min(h, w) < caption_image.MIN_SIDE:
        return {**row, "status": "too_small", "error": f"{w}x{h} px is below {caption_image.MIN_SIDE} px"}
    seconds = {}

    def timed(name, fn, *args):
        t = time.perf_counter()
        value = fn(*args)
        seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - t
        return value

    small, _ = caption_image.scaled(rgb)
    row.update(timed("nsfw", nsfw.probabilities, small))
    row["quality"] = timed("quality", brisque.score, small)
    g = timed("sharpness", sharpness.grey, small)
    row["sharpness"] = timed("sharpness", sharpness.sharpness, g)
    row["blur"] = timed("blur", sharpness.blur, g)
    if caption_boxes is not None:
        row["text_area"] = union_area(caption_boxes, w, h)
        text_from = VERSIONS["text_area"] + ", boxes from captions"
    else:
        banner = max(h, w) / min(h, w) > caption_image.BANNER_ASPECT
        boxes = timed("text_area", lambda: [t.box for t in caption_image.banner_text(small)] if banner
                      else text_area.read_boxes(small))
        row["text_area"] = union_area(boxes, small.shape[1], small.shape[0])
        text_from = VERSIONS["text_area"]
    row["provenance"] = {**VERSIONS, "text_area": text_from}
    row["seconds"] = seconds
    return row
