#!/usr/bin/env python3
"""Rebuild the medium probe's training set from registry packages, train it, evaluate it.

Training data (every file real; the only changes are downscaling, matting transparency on white
and, for a quarter of the photos, a grayscale copy so that grey photos stay photos):

  photo       gcompris-qt-data 3.1-2 (animal, monument, music, sea, household photos),
              mate-backgrounds 1.26.0-1 (nature), plasma-workspace-wallpapers 4:5.27.5-2 (photo
              wallpapers), curate/corpus photos (opencv-doc 4.6.0+dfsg-12, scikit-image, sklearn)
  drawing     openclipart-png 1:0.18+dfsg-19 (random 450), gcompris-qt-data word pictures,
              curate/corpus drawings and emoji (Twemoji, Noto)
  painting    gcompris-qt-data paintings and Van Gogh pictures (WebMuseum), wesnoth-1.16-data
              1:1.16.9-1 story landscapes and a sample of portraits (digital paintings)
  render      lincity-ng-data 2.9~git20150314-5 (Blender-rendered isometric tiles),
              gnome-backgrounds 43.1-1 and two plasma wallpapers (rendered abstracts),
              opencv-doc Blender_Suzanne
  screenshot  gimp-help-en 2.10.34-2 (dialogs, menus, tool options, preferences), palapeli-data
  document    r-doc-pdf 4.2.2.20221110-2 (pages of the R manuals, pdftoppm at 40-80 dpi),
              opencv-doc text images, scikit-image page/text

Images in tests/data/caption_labels (set A) are never trained on. The split holds out whole
groups (one painting's puzzle pieces, one manual's pages, one tile's frames) by a hash of the group.

Requirements: this project's venv, apt-get + dpkg, pdftoppm (Debian poppler-utils).
Usage: python tools/train_medium.py [--tmp DIR] [--out curate/caption/weights/medium.npz]
"""

from __future__ import annotations

import argparse
import collections
import glob
import json
import os
import random
import re
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))
from registry_fetch import deb, gcompris_images  # noqa: E402

from curate.caption import medium  # noqa: E402
from curate.raw import to_rgb  # noqa: E402

CLASSES = ["photo", "drawing", "painting", "render", "screenshot", "document"]
LABELS = ROOT / "tests/data/caption_labels/labels.json"
MAX_SIDE = 512


def _stem_group(path: str) -> str:
    """One group per picture: puzzle pieces, crops and frames of one image share a stem."""
    stem = Path(path).stem.lower()
    return re.sub(r"([_-]?(background|[a-z]?\d+))+$", "", stem) or stem


def collect(tmp: str) -> list[tuple[str, str, str]]:
    """(path, class, group) for every training image."""
    rows = []

    def add(paths, cls, group=_stem_group, prefix=""):
        for p in paths:
            rows.append((p, cls, prefix + group(p)))

    gc = gcompris_images(tmp)
    g = lambda *parts: sorted(glob.glob(os.path.join(gc, *parts)))  # noqa: E731
    van_gogh = re.compile(r"gogh|tanguy|night_cafe|auvers", re.I)
    add(g("erase/resource/*") + g("explore_*animals/resource/animals/*") + g("explore_monuments/resource/*/*")
        + g("explore_world_music/resource/music/*.*") + g("categorization/resource/images/*/*")
        + g("clickgame/resource/sea*") + [p for p in g("details/resource/image/*") if not van_gogh.search(p)],
        "photo", prefix="gc:")
    add(g("lang/resource/words_sample/*"), "drawing", prefix="gc:")
    add(g("paintings/resource/image/*") + [p for p in g("details/resource/image/*") if van_gogh.search(p)],
        "painting", prefix="gc:")

    mate = os.path.join(deb("mate-backgrounds", tmp), "usr/share/backgrounds/mate")
    add(glob.glob(f"{mate}/nature/*.jpg"), "photo", prefix="mate:")
    plasma = os.path.join(deb("plasma-workspace-wallpapers", tmp), "usr/share/wallpapers")
    for name in os.listdir(plasma):
        shot = sorted(glob.glob(f"{plasma}/{name}/contents/images/1920x1080.*"))
        cls = {"Grey": "render", "PastelHills": "render", "FlyingKonqui": "drawing", "Autumn": None}.get(name, "photo")
        if shot and cls:
            add(shot[:1], cls, group=lambda p: p.split("/")[-4], prefix="plasma:")
    gnome = os.path.join(deb("gnome-backgrounds", tmp), "usr/share/backgrounds/gnome")
    add(glob.glob(f"{gnome}/*.webp"), "render", group=lambda p: Path(p).stem[:-2], prefix="gnome:")

    clip = os.path.join(deb("openclipart-png", tmp), "usr/share/openclipart/png")
    files = sorted(p for p in glob.glob(f"{clip}/**/*.png", recursive=True) if not os.path.islink(p))
    add(random.Random(0).sample(files, 450), "drawing", prefix="oc:")

    wes = os.path.join(deb("wesnoth-1.16-data", tmp), "usr/share/games/wesnoth/1.16/data/core/images")
    add(glob.glob(f"{wes}/story/*.jpg"), "painting", prefix="wes:")
    portraits = sorted(glob.glob(f"{wes}/portraits/**/*.png", recursive=True))
    add(random.Random(1).sample(portraits, min(150, len(portraits))), "painting", prefix="wes:")

    tiles = sorted(glob.glob(os.path.join(deb("lincity-ng-data", tmp), "usr/share/games/lincity-ng/images/tiles/*.png")))
    add(tiles, "render", prefix="lc:")

    gimp = os.path.join(deb("gimp-help-en", tmp), "usr/share/gimp/2.0/help/en/images")
    shots = sorted(p for d in ("dialogs", "menus", "tool-options", "preferences", "using")
                   for p in glob.glob(f"{gimp}/{d}/**/*.png", recursive=True))
    add([p for p in random.Random(2).sample(shots, 400) if min(Image.open(p).size) >= 96], "screenshot", prefix="gimp:")
    add(glob.glob(os.path.join(deb("palapeli-data", tmp), "usr/share/doc/HTML/*/palapeli/puzzletable*.png")),
        "screenshot", group=lambda p: "puzzletable", prefix="palapeli:")

    cv = os.path.join(deb("opencv-doc", tmp), "usr/share/doc/opencv-doc/examples/data")
    add([f"{cv}/Blender_Suzanne1.jpg", f"{cv}/Blender_Suzanne2.jpg"], "render", group=lambda p: "suzanne", prefix="cv:")
    add([f"{cv}/{n}" for n in ("imageTextN.png", "imageTextR.png", "text_defocus.jpg", "text_motion.jpg")],
        "document", group=lambda p: "text", prefix="cv:")
    add([f"{cv}/HappyFish.jpg"], "drawing", prefix="cv:")
    add([f"{cv}/starry_night.jpg"], "painting", prefix="cv:")

    pages = os.path.join(tmp, "r-pages")
    if not os.path.isdir(pages):
        os.makedirs(pages)
        for pdf in sorted(glob.glob(os.path.join(deb("r-doc-pdf", tmp), "usr/share/doc/r-doc-pdf/manual/*.pdf"))):
            name = Path(pdf).stem
            for first in range(3, 300, 9):  # every ninth page of each manual, at 40, 60 or 80 dpi
                dpi = str(40 + 20 * (first // 9 % 3))
                subprocess.run(["pdftoppm", "-r", dpi, "-f", str(first), "-l", str(first), "-png", pdf,
                                f"{pages}/{name}-p{first}"], check=False, capture_output=True)
    add(sorted(glob.glob(f"{pages}/*.png")), "document", group=lambda p: Path(p).name.split("-p")[0], prefix="R:")

    corpus = ROOT / "curate/corpus"
    import csv
    for row in csv.DictReader(open(corpus / "corpus.csv")):
        cls = {"photo": "photo", "drawing": "drawing", "emoji": "drawing"}[row["kind"]]
        if "page.png" in row["source"] or "text.png" in row["source"]:
            cls = "document"
        rows.append((str(corpus / "images" / row["file"]), cls, "corpus:" + row["group"]))

    held = tuple(x["source"].split(":", 1)[1].lstrip("/") for x in json.loads(LABELS.read_text())) if LABELS.exists() else ()
    return [r for r in rows if not r[0].endswith(held)]


def load(path: str) -> np.ndarray:
    with Image.open(path) as im:
        im.draft("RGB", (MAX_SIDE, MAX_SIDE))
        im = to_rgb(im)
        im.thumbnail((MAX_SIDE, MAX_SIDE))
        return np.asarray(im)


def featurize(rows, gray_every=4):
    xs, ys, groups, rgb_gray = [], [], [], []
    chunk = []

    def flush():
        if chunk:
            xs.append(medium.features([c[0] for c in chunk]))
            ys.extend(c[1] for c in chunk)
            groups.extend(c[2] for c in chunk)
            chunk.clear()

    n_photo = 0
    for path, cls, group in rows:
        try:
            rgb = load(path)
        except (OSError, ValueError):
            continue
        if min(rgb.shape[:2]) < 16:
            continue
        chunk.append((rgb, cls, group))
        if cls == "photo":
            n_photo += 1
            if n_photo % gray_every == 0:
                grey = np.repeat(np.asarray(Image.fromarray(rgb).convert("L"))[..., None], 3, 2)
                chunk.append((grey, cls, group))
        if len(chunk) >= 32:
            flush()
    flush()
    return np.concatenate(xs), np.array([CLASSES.index(y) for y in ys]), np.array(groups)


def train(x, y, l2=1e-3, steps=3000, lr=0.5):
    """Multinomial logistic regression, class-balanced, full-batch gradient descent with momentum."""
    mean, scale = x.mean(0), x.std(0) + 1e-6
    z = (x - mean) / scale
    k = len(CLASSES)
    weight_per = np.bincount(y, minlength=k).astype(float)
    sample_w = (len(y) / (k * np.maximum(weight_per, 1)))[y]
    onehot = np.eye(k)[y]
    w, b = np.zeros((x.shape[1], k)), np.zeros(k)
    vw, vb = np.zeros_like(w), np.zeros_like(b)
    for _ in range(steps):
        logits = z @ w + b
        logits -= logits.max(1, keepdims=True)
        p = np.exp(logits)
        p /= p.sum(1, keepdims=True)
        g = (p - onehot) * sample_w[:, None] / len(y)
        gw, gb = z.T @ g + l2 * w, g.sum(0)
        vw, vb = 0.9 * vw - lr * gw, 0.9 * vb - lr * gb
        w, b = w + vw, b + vb
    return dict(classes=np.array(CLASSES), mean=mean.astype(np.float32), scale=scale.astype(np.float32),
                weight=w.astype(np.float32), bias=b.astype(np.float32))


def confusion(truth, pred, names):
    m = collections.Counter(zip(truth, pred))
    cols = sorted(set(pred) | set(truth), key=names.index)
    lines = ["truth \\ predicted".ljust(18) + "".join(c[:10].rjust(11) for c in cols)]
    for t in cols:
        if any(t == a for a in truth):
            lines.append(t.ljust(18) + "".join(str(m[(t, c)]).rjust(11) for c in cols))
    right = sum(a == b for a, b in zip(truth, pred))
    return "\n".join(lines) + f"\naccuracy {right}/{len(truth)} = {right / max(1, len(truth)):.2f}"


def evaluate_set_a():
    from curate.caption.detect import medium as rule

    items = json.loads(LABELS.read_text())
    names = CLASSES[:1] + ["grayscale photo"] + CLASSES[1:]
    truth, probe, old = [], [], []
    for item in items:
        rgb = load(str(LABELS.parent / "images" / item["file"]))
        truth.append(item["medium"])
        probe.append(medium.classify(rgb)[0])
        old.append(rule(rgb))
    print("set A, probe:\n" + confusion(truth, probe, names))
    print("set A, old rule (detect.medium):\n" + confusion(truth, old, names))
    for item, a, b in zip(items, truth, probe):
        if a != b:
            print(f"  wrong: {item['file']} is {a}, probe says {b}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--tmp", default="/tmp/curate-medium")
    ap.add_argument("--out", default=str(ROOT / "curate/caption/weights/medium.npz"))
    ap.add_argument("--features", help="cache of the featurised set (.npz); reused when present")
    args = ap.parse_args()
    os.makedirs(args.tmp, exist_ok=True)
    if args.features and os.path.exists(args.features):
        with np.load(args.features) as f:
            x, y, groups = f["x"], f["y"], f["groups"]
    else:
        rows = collect(args.tmp)
        print("images per class:", collections.Counter(r[1] for r in rows))
        x, y, groups = featurize(rows)
        if args.features:
            np.savez(args.features, x=x, y=y, groups=groups)
    test = np.array([zlib.crc32(g.encode()) % 5 == 0 for g in groups])
    print(f"{len(y)} rows, {len(set(groups))} groups; held out {test.sum()} rows in {len(set(groups[test]))} groups")
    probe = train(x[~test], y[~test])
    np.savez(args.out, **probe)
    medium._probe.cache_clear()
    pred = medium.probabilities(x[test]).argmax(1)
    print("held-out groups:\n" + confusion([CLASSES[i] for i in y[test]], [CLASSES[i] for i in pred], CLASSES))
    np.savez(args.out, **train(x, y))  # the shipped probe sees every group
    medium._probe.cache_clear()
    if LABELS.exists():
        evaluate_set_a()


if __name__ == "__main__":
    main()
