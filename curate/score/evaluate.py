"""A labelled set for the scores, built from the bundled corpus (registry photos, clip-art and
emoji; curate/corpus/corpus.csv): clean photos, their blurred, JPEG-degraded and
caption-burned copies (made here with PIL), clip-art and emoji. Each score's ROC AUC on the groups it
should separate, and NSFW's false-positive rate on the photos (none is NSFW: the corpus was
chosen by looking).

    python -m curate.score.evaluate [--photos N]
"""

import argparse
import csv
import io
import json

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from curate import corpus
from curate.score.image import score_image

# photos with text of their own, or already degraded copies, are not "clean photos"
NOT_CLEAN = ("cv_text_", "cv_word_", "sk_page", "sk_text", "cv_licenseplate", "cv_notebook", "_q", "_small", "cv_sudoku",
             "cv_board", "cv_chessboard_right")
OVERLAYS = ("SALE 50% OFF TODAY", "www.example-photos.com", "Best holiday ever!", "Subscribe for more",
            "(c) 2024 Stock Images", "Happy birthday Anna")


def clean_photos(n: int | None = None) -> list[str]:
    rows = list(csv.DictReader((corpus.images_dir().parent / "corpus.csv").open()))
    names = [r["file"] for r in rows if r["kind"] == "photo" and not any(x in r["file"] for x in NOT_CLEAN)]
    return names[:n]


def of_kind(kind: str, n: int | None = None) -> list[str]:
    """Every other file of a corpus kind (drawing: openclipart; emoji: Twemoji, Noto), n at most."""
    rows = list(csv.DictReader((corpus.images_dir().parent / "corpus.csv").open()))
    return [r["file"] for r in rows if r["kind"] == kind][::2][:n]


def _bytes(image: Image.Image, fmt: str = "PNG", **kw) -> bytes:
    buf = io.BytesIO()
    image.save(buf, fmt, **kw)
    return buf.getvalue()


def blurred(image: Image.Image) -> Image.Image:
    return image.filter(ImageFilter.GaussianBlur(max(image.size) / 200))


def jpeg(image: Image.Image, quality: int = 10) -> Image.Image:
    return Image.open(io.BytesIO(_bytes(image, "JPEG", quality=quality))).convert("RGB")


def burned(image: Image.Image, text: str) -> Image.Image:
    """A caption burned into the lower part, white with a black outline, as memes and ads do."""
    image = image.copy()
    pen = ImageDraw.Draw(image)
    size = max(12, image.height // 12)
    font = ImageFont.load_default(size=size)
    while pen.textlength(text, font=font) > 0.9 * image.width and size > 8:
        size -= 2
        font = ImageFont.load_default(size=size)
    x = (image.width - pen.textlength(text, font=font)) / 2
    pen.text((x, image.height - 2.2 * size), text, font=font, fill="white", stroke_width=max(1, size // 12),
             stroke_fill="black")
    return image


def auc(positive, negative) -> float:
    """ROC AUC: the chance a positive scores above a negative (ties count half)."""
    p, n = np.asarray(positive, float), np.asarray(negative, float)
    return float(((p[:, None] > n[None]).sum() + 0.5 * (p[:, None] == n[None]).sum()) / (len(p) * len(n)))


def labelled(photos: int | None = None, drawn: int | None = 30) -> dict[str, list[dict]]:
    """Scores of each group: photos, blurred, jpeg, overlay, drawings, emoji."""
    groups = {k: [] for k in ("photos", "blurred", "jpeg", "overlay", "drawings", "emoji")}
    for i, name in enumerate(clean_photos(photos)):
        image = Image.open(corpus.images_dir() / name).convert("RGB")
        groups["photos"].append(score_image((corpus.images_dir() / name).read_bytes()))
        groups["blurred"].append(score_image(_bytes(blurred(image)), []))  # no text either way: skip its OCR
        groups["jpeg"].append(score_image(_bytes(jpeg(image)), []))
        groups["overlay"].append(score_image(_bytes(burned(image, OVERLAYS[i % len(OVERLAYS)]))))
    for kind, group in (("drawing", "drawings"), ("emoji", "emoji")):
        for name in of_kind(kind, drawn):
            groups[group].append(score_image((corpus.images_dir() / name).read_bytes(), []))
    return groups


def evaluate(photos: int | None = None, drawn: int | None = 30) -> dict:
    g = {k: [r for r in v if r["status"] == "ok"] for k, v in labelled(photos, drawn).items()}

    def col(group, name):
        return [r[name] for r in g[group]]

    degraded = g["blurred"] + g["jpeg"]
    nsfw = col("photos", "nsfw")
    explicit = [r["nsfw_porn"] + r["nsfw_hentai"] for r in g["photos"]]
    return {
        "sizes": {k: len(v) for k, v in g.items()},
        "auc": {
            "text_area: overlay vs photos": auc(col("overlay", "text_area"), col("photos", "text_area")),
            "blur: blurred vs photos": auc(col("blurred", "blur"), col("photos", "blur")),
            "sharpness: photos vs blurred": auc(col("photos", "sharpness"), col("blurred", "sharpness")),
            "quality: blurred vs photos": auc(col("blurred", "quality"), col("photos", "quality")),
            "quality: jpeg q10 vs photos": auc(col("jpeg", "quality"), col("photos", "quality")),
            "quality: degraded vs photos": auc([r["quality"] for r in degraded], col("photos", "quality")),
            "nsfw_drawing: clip-art vs photos": auc(col("drawings", "nsfw_drawing"), col("photos", "nsfw_drawing")),
            "nsfw_drawing: emoji vs photos": auc(col("emoji", "nsfw_drawing"), col("photos", "nsfw_drawing")),
        },
        "nsfw on photos": {
            "fpr nsfw >= 0.5": float(np.mean(np.array(nsfw) >= 0.5)),
            "fpr nsfw >= 0.2": float(np.mean(np.array(nsfw) >= 0.2)),
            "fpr porn+hentai >= 0.5": float(np.mean(np.array(explicit) >= 0.5)),
            "max nsfw": float(max(nsfw)),
            "fpr nsfw >= 0.5 on clip-art": float(np.mean(np.array(col("drawings", "nsfw")) >= 0.5)),
            "fpr nsfw >= 0.5 on emoji": float(np.mean(np.array(col("emoji", "nsfw")) >= 0.5)),
        },
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--photos", type=int, help="clean photos to use (default: all)")
    ap.add_argument("--drawings", type=int, default=30)
    args = ap.parse_args()
    print(json.dumps(evaluate(args.photos, args.drawings), indent=2))


if __name__ == "__main__":
    main()
