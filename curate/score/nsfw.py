"""NSFW and drawing probabilities from nsfwjs's MobileNetV2 (npm `nsfwjs@4.3.0`, MIT), converted
once to ONNX by tools/convert_nsfwjs.py: the whole image resized to 224x224 (bilinear, as nsfwjs
does), rgb/255, softmax over five classes. `nsfw` is the sum of the three not-safe-for-work
classes (porn, hentai, sexy), so `nsfw < 0.2` keeps what the model calls neutral or a drawing;
the class columns let a query be stricter or looser (`nsfw_porn + nsfw_hentai < 0.2`)."""

import cv2
import numpy as np

from curate.score.models import session

MODEL = "nsfw_mobilenet_v2.onnx"
CLASSES = ("drawing", "hentai", "neutral", "porn", "sexy")
UNSAFE = ("hentai", "porn", "sexy")
SIDE = 224


def probabilities(rgb: np.ndarray) -> dict[str, float]:
    """Class probabilities of an RGB uint8 image, keyed nsfw_<class>, and their unsafe sum `nsfw`."""
    x = cv2.resize(rgb, (SIDE, SIDE), interpolation=cv2.INTER_LINEAR).astype(np.float32)[None] / 255
    model = session(MODEL)
    p = model.run(None, {model.get_inputs()[0].name: x})[0][0]
    out = {f"nsfw_{c}": float(v) for c, v in zip(CLASSES, p)}
    return {"nsfw": sum(out[f"nsfw_{c}"] for c in UNSAFE), **out}
