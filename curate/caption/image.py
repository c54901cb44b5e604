"""One stored image -> one `captions` row, whatever the image: a file that will not decode, a
1x1 pixel or a 10,000 x 200 banner each get a row with a clear status, never an exception."""

import io
import warnings

import numpy as np
from PIL import Image

from curate.caption import describe, fuse, ocr
from curate.caption.detect import DETECTORS, detect
from curate.caption.records import Facts
from curate.raw import to_rgb

MIN_SIDE = 16         # below this no detector has anything to work with
BANNER_ASPECT = 6.0   # longer than this: body and hand models (square inputs) would see a sliver
MAX_SIDE = 1280       # larger images are scaled down first (the detectors' own inputs are smaller still)
VERSIONS = {"objects": "nanodet (human-models 3.0.4, ONNX)", "labels": "efficientnet-lite0 imagenet head",
            "people": "mediapipe 0.10.21", "text": "rapidocr 3.10.0"}


def _decode(data: bytes) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        image = Image.open(io.BytesIO(data))
        image.load()
    return np.asarray(to_rgb(image))


def scaled(rgb: np.ndarray) -> tuple[np.ndarray, float]:
    h, w = rgb.shape[:2]
    scale = min(1.0, MAX_SIDE / max(h, w))
    if scale == 1.0:
        return rgb, 1.0
    return np.asarray(Image.fromarray(rgb).resize((max(1, round(w * scale)), max(1, round(h * scale))),
                                                  Image.BILINEAR)), scale


def _unscale(record: dict, scale: float) -> None:
    """Boxes back to stored-image pixels."""
    if scale == 1.0:
        return

    def fix(node):
        if isinstance(node, dict):
            for k, v in node.items():
                if k == "box" and v:
                    node[k] = [round(x / scale) for x in v]
                else:
                    fix(v)
        elif isinstance(node, list):
            for v in node:
                fix(v)
    fix(record)


def _inside(a: list[int], b: list[int]) -> bool:
    """Box a lies mostly (80%) within box b."""
    w = max(0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0, min(a[3], b[3]) - max(a[1], b[1]))
    return w * h >= 0.8 * max(1, (a[2] - a[0]) * (a[3] - a[1]))


def banner_text(rgb: np.ndarray) -> list:
    """Text along a banner, read in windows 8 short sides long that overlap by half, so any line
    up to 4 short sides long is whole in one window; pieces of a line cut by a window edge, and
    lines read twice, are dropped."""
    flip = rgb.shape[0] > rgb.shape[1]
    img = rgb.transpose(1, 0, 2) if flip else rgb
    short, long_ = img.shape[:2]
    lines = []
    for x in range(0, max(1, long_ - 4 * short), 4 * short):
        for line in ocr.read(np.ascontiguousarray(img[:, x:x + 8 * short])):
            line.box = [line.box[0] + x, line.box[1], line.box[2] + x, line.box[3]]
            lines.append(line)
    lines.sort(key=lambda t: -len(t.text))
    kept = []
    for line in lines:
        if not any(_inside(line.box, k.box) for k in kept):
            kept.append(line)
    kept.sort(key=lambda t: t.box[0])
    for line in kept if flip else ():
        line.box = [line.box[1], line.box[0], line.box[3], line.box[2]]
    return kept


def facts_of(rgb: np.ndarray, detectors=DETECTORS) -> Facts:
    """What the chosen detectors establish about an RGB image (at most MAX_SIDE px)."""
    seen = detect(rgb, detectors)
    out = fuse.facts(seen, rgb.shape[1], rgb.shape[0])
    out.seconds = seen.seconds
    return out


def caption_image(data: bytes, original: str | None, detectors=DETECTORS, vlm=None) -> dict:
    row = {"status": "ok", "error": None}
    try:
        rgb = _decode(data)
    except Exception as err:  # noqa: BLE001 - any decoder failure is this image's status, not a crash
        return {**row, "status": "undecodable", "error": f"{type(err).__name__}: {err}"}
    h, w = rgb.shape[:2]
    scale = 1.0
    if min(h, w) < MIN_SIDE:
        facts = Facts(width=w, height=h, medium="unknown", uncertain=[f"image is {w}x{h} px: too small for detectors"])
        row.update(status="too_small", error=f"{w}x{h} px is below {MIN_SIDE} px")
    elif max(h, w) / min(h, w) > BANNER_ASPECT:
        facts = facts_of(rgb, ())
        facts.uncertain.append(f"{w}x{h} px banner: only text was read (people and hands not searched)")
        if "text" in detectors:
            facts.text = banner_text(rgb)
        row.update(status="banner", error=f"aspect ratio {max(h, w) / min(h, w):.0f}:1; text only")
    else:
        small, scale = scaled(rgb)
        facts = facts_of(small, detectors)
        facts.width, facts.height = w, h
    summary = vlm.describe(rgb, facts, original) if vlm is not None and row["status"] == "ok" else None
    ran = {"ok": set(detectors), "banner": {"text"} & set(detectors)}.get(row["status"], set())
    if "hands" in ran:
        ran.add("people")  # the hand search is mediapipe's too
    provenance = {"summary": f"vlm:{vlm.name}" if summary else "template", "medium": "curate medium probe",
                  **{name: version if name in ran else "not run" for name, version in VERSIONS.items()}}
    record = describe.record(facts, original, summary, provenance)
    _unscale(record, scale)
    counts = record["counts"]
    row.update(caption=record, short=describe.short(record), dense=describe.dense(record),
               people=counts["people"], faces=counts["faces"], hands=counts["hands"],
               fingers=counts["fingers_extended"], text_in_image=" | ".join(t["text"] for t in record["text"]),
               objects=sorted({n for t in record["objects"] for n in (t["name"], t["fine"]) if n}
                              | ({"person"} if counts["people"] else set())),
               labels=list(dict.fromkeys(n for lb in record["labels"] for n in (lb["name"], lb["group"]) if n)),
               seconds=facts.seconds)
    return row
