"""`--region-weights hands=3,faces=2,text=2`: weight the per-pixel loss by what the captions
found where, so the model spends more of its capacity on hands, faces and lettering.

Per image: a map that is 1 everywhere but inside the caption's boxes, where it is the weight of
the region (the largest one where boxes overlap: merged, not stacked), cropped and scaled as the
image is (curate_model.data.fit), averaged onto the UNet's grid and divided by its mean, so every image
keeps a mean weight of 1 and the loss keeps its scale. Images without captions weigh 1.

The captions hold no face boxes, only people with `face` true: a face is taken as the top of
its person's box, as tall as the share FACE_SHARE gives for what the pose saw of the body.
"""

import logging

import numpy as np
import torch

from curate.errors import UserError
from curate.query import fetch
from curate_model import crop

log = logging.getLogger("curate.train")
REGIONS = ("hands", "faces", "people", "text")
FACE_SHARE = {"head": 1.0, "unknown": 1.0, "upper": 0.4, "full": 0.15}  # of the person box's height


def parse(text: str | None) -> dict[str, float]:
    """'hands=3,faces=2' -> {'hands': 3.0, 'faces': 2.0}."""
    weights = {}
    for item in filter(None, (s.strip() for s in (text or "").split(","))):
        name, _, value = item.partition("=")
        name = name.strip()
        if name not in REGIONS:
            raise UserError(f"--region-weights: unknown region {name!r}; choose from {', '.join(REGIONS)}")
        try:
            weights[name] = float(value)
        except ValueError:
            raise UserError(f"--region-weights {item!r}: expected NAME=NUMBER, as in hands=3") from None
        if not weights[name] > 0:
            raise UserError(f"--region-weights {item!r}: a weight must be above 0")
    if text and not weights:
        raise UserError(f"--region-weights {text!r}: expected NAME=NUMBER pairs, as in hands=3,faces=2")
    return weights


def _face(person: dict) -> list[int]:
    x0, y0, x1, y1 = person["box"]
    height = (y1 - y0) * FACE_SHARE.get(person.get("body") or "unknown", 1.0)
    width = min(x1 - x0, height)
    cx = (x0 + x1) / 2
    return [cx - width / 2, y0, cx + width / 2, y0 + height]


def caption_boxes(caption: dict) -> dict[str, list[list[float]]]:
    """Boxes per region in one caption struct (pixels of the stored image)."""
    people = [p for p in caption.get("people") or [] if p.get("box")]
    hands = [a["hand"]["box"] for p in people for a in p.get("arms") or []
             if a.get("hand") and a["hand"].get("box") and a["hand"].get("visible") is not False]
    hands += [h["box"] for h in caption.get("hands") or [] if h.get("box")]
    return {"hands": hands, "faces": [_face(p) for p in people if p.get("face")],
            "people": [p["box"] for p in people], "text": [t["box"] for t in caption.get("text") or [] if t.get("box")]}


def load(ws, shard_set: str, ids: list[str], weights: dict[str, float]) -> list[list[tuple[list, float]]]:
    """(box, weight) pairs per image of the set, in the order of `ids`; a line says how many
    images have no caption (they weigh 1 everywhere)."""
    found = {}
    if ws.partitions("captions"):
        rows = fetch(ws, f"""SELECT id, caption FROM captions WHERE caption IS NOT NULL AND id IN
                             (SELECT id FROM train_shards WHERE shard_set = '{shard_set}')""").to_pylist()
        found = {r["id"]: caption_boxes(r["caption"]) for r in rows}
    missing = sum(i not in found for i in ids)
    if missing:
        log.warning("region weights: %d of %d images have no caption%s; they weigh 1 everywhere", missing, len(ids),
                    " (run `curate caption` first)" if missing == len(ids) else "")
    pairs = [[(box, w) for name, w in weights.items() for box in found.get(i, {}).get(name, [])] for i in ids]
    boxed = sum(bool(p) for p in pairs)
    if found and not boxed:  # captions, but no box of these regions in any of them: the weights do nothing
        log.warning("region weights %s: no captioned image has a box of these regions; the loss is unweighted",
                    ", ".join(weights))
    else:
        log.info("region weights %s: %d of %d images have a weighted box", weights, boxed, len(ids))
    return pairs


def pixel_map(pairs: list[tuple[list, float]], image_size: tuple[int, int], size: tuple[int, int]) -> np.ndarray:
    """(h, w) weights for an image of `image_size` (w, h) fitted to `size` as curate_model.data.fit
    fits it: scaled to cover, centre-cropped. Boxes are clipped to the crop."""
    w, h = size
    scale, left, top = crop.cover(image_size, size)
    cover = np.zeros((h, w), np.float32)
    for (x0, y0, x1, y1), weight in pairs:
        c0, r0 = max(0, int(np.floor(x0 * scale - left))), max(0, int(np.floor(y0 * scale - top)))
        c1, r1 = min(w, int(np.ceil(x1 * scale - left))), min(h, int(np.ceil(y1 * scale - top)))
        if c1 > c0 and r1 > r0:
            np.maximum(cover[r0:r1, c0:c1], weight, out=cover[r0:r1, c0:c1])
    return np.where(cover > 0, cover, 1).astype(np.float32)


def on_grid(maps: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
    """(n, 1, H, W) pixel maps -> (n, 1, h, w) on the UNet's grid, each with mean 1."""
    small = torch.nn.functional.adaptive_avg_pool2d(maps, grid)
    return small / small.mean(dim=(1, 2, 3), keepdim=True)


def weighted_mse(pred: torch.Tensor, target: torch.Tensor, weights: torch.Tensor | None) -> torch.Tensor:
    if weights is None:
        return torch.nn.functional.mse_loss(pred, target)
    return (weights * (pred - target) ** 2).mean()
