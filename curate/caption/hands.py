"""Hands: mediapipe's 21 landmarks, found on the full frame and on crops around wrists, and
fingers counted from the landmarks' geometry only where the count is reliable.

Full-frame hand recall is low (the palm detector sees a 192 px view of the whole image), so
hands are also searched on square crops around each wrist the body pose found, upscaled.
A finger count is only given (`countable`) where the hand is large enough and the count is the
same on the crop and on its mirror image; otherwise the hand is reported without a count.
"""

import functools
from dataclasses import dataclass

import numpy as np
from PIL import Image

from curate.caption.boxes import square
from curate.caption.records import Box, Hand

CROP_PX = 256          # crops are scaled to this side before the palm detector sees them
MIN_COUNT_PX = 40      # a hand smaller than this (longest side, stored pixels) is never counted
MIN_COUNT_SCORE = 0.8  # nor one whose presence score is lower
STRAIGHT = 0.5      # cosine between knuckle->middle joint and middle joint->tip
REACH = 1.05        # tip-to-wrist over middle-joint-to-wrist distance
THUMB_REACH = 0.8   # thumb tip to little-finger knuckle, in palm lengths
FINGERS = {"thumb": (1, 2, 3, 4), "index": (5, 6, 7, 8), "middle": (9, 10, 11, 12),
           "ring": (13, 14, 15, 16), "pinky": (17, 18, 19, 20)}


@functools.cache
def _detector(max_hands: int):
    import mediapipe as mp

    return mp.solutions.hands.Hands(static_image_mode=True, max_num_hands=max_hands, model_complexity=1,
                                    min_detection_confidence=0.5)


@dataclass
class Hit:
    """A hand seen once: landmarks in stored-image pixels (x, y, z with z scaled like x)."""
    points: np.ndarray
    score: float
    mirrored_label: str      # mediapipe's label, which assumes a mirrored selfie
    count: int | None        # fingers extended, or None where the crop and its mirror disagree

    @property
    def box(self) -> Box:
        x0, y0 = self.points[:, :2].min(0)
        x1, y1 = self.points[:, :2].max(0)
        return [int(x0), int(y0), int(np.ceil(x1)), int(np.ceil(y1))]

    @property
    def size(self) -> float:
        x0, y0, x1, y1 = self.box
        return max(x1 - x0, y1 - y0)

    @property
    def centre(self) -> np.ndarray:
        return self.points[:, :2].mean(0)


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-9))


def fingers_extended(points: np.ndarray) -> int:
    """Extended fingers from landmark geometry, scale-free (lengths in palm lengths, wrist to
    middle knuckle). A finger is extended when its middle joint is fairly straight and its tip is
    farther from the wrist than that joint; the thumb, when its tip is far from the little
    finger's knuckle (a tucked thumb lies across the palm). Thresholds: README, captions."""
    wrist = points[0]
    palm = np.linalg.norm(points[9] - wrist) + 1e-9
    n = int(np.linalg.norm(points[4] - points[17]) / palm > THUMB_REACH)
    for name, (mcp, pip, _dip, tip) in FINGERS.items():
        if name != "thumb":
            straight = _cos(points[pip] - points[mcp], points[tip] - points[pip]) > STRAIGHT
            n += bool(straight and np.linalg.norm(points[tip] - wrist) > REACH * np.linalg.norm(points[pip] - wrist))
    return n


def _run(detector, rgb: np.ndarray) -> list[tuple[np.ndarray, float, str]]:
    result = detector.process(rgb)
    out = []
    h, w = rgb.shape[:2]
    for lms, handed in zip(result.multi_hand_landmarks or [], result.multi_handedness or []):
        pts = np.array([[p.x * w, p.y * h, p.z * w] for p in lms.landmark], dtype=np.float32)
        out.append((pts, handed.classification[0].score, handed.classification[0].label))
    return out


def _search(rgb: np.ndarray, offset: tuple[float, float], scale: float, max_hands: int) -> list[Hit]:
    """Hands in `rgb` (a crop already scaled by `scale`), mapped back to stored-image pixels.
    The crop is also run mirrored: a count is kept only where both views agree."""
    found = _run(_detector(max_hands), rgb)
    if not found:
        return []
    mirrored = _run(_detector(max_hands), np.ascontiguousarray(rgb[:, ::-1]))
    width = rgb.shape[1]
    hits = []
    for pts, score, label in found:
        count = fingers_extended(pts)
        twins = [m for m in mirrored if np.linalg.norm((width - m[0][:, 0]).mean() - pts[:, 0].mean())
                 + abs(m[0][:, 1].mean() - pts[:, 1].mean()) < 0.25 * np.ptp(pts[:, :2], 0).max()]
        agreed = count if twins and fingers_extended(twins[0][0]) == count else None
        back = pts.copy()
        back[:, :3] /= scale
        back[:, 0] += offset[0]
        back[:, 1] += offset[1]
        hits.append(Hit(back, float(score), label, agreed))
    return hits


def _square(image: np.ndarray, centre, side: float) -> tuple[np.ndarray, tuple[float, float], float]:
    """A square crop (padded with edge pixels where it leaves the image), scaled to CROP_PX."""
    crop, (x0, y0) = square(image, centre, side)
    scale = CROP_PX / crop.shape[1]
    crop = np.asarray(Image.fromarray(crop).resize((CROP_PX, CROP_PX), Image.BICUBIC))
    return crop, (x0, y0), scale


def find(image: np.ndarray, regions: list[tuple[np.ndarray, float]]) -> list[Hit]:
    """Hands on the full frame and in each (centre, side) region, merged where they overlap."""
    h, w = image.shape[:2]
    hits = []
    if max(h, w) < CROP_PX:  # small images (icons, emoji) are searched at the crop size, padded
        crop, offset, scale = _square(image, (w / 2, h / 2), max(h, w) * 1.5)
        hits += _search(crop, offset, scale, max_hands=4)
    else:
        hits += _search(image, (0.0, 0.0), 1.0, max_hands=4)
    for centre, side in regions:
        crop, offset, scale = _square(image, centre, side)
        hits += _search(crop, offset, scale, max_hands=2)
    return _merge(hits)


def _merge(hits: list[Hit]) -> list[Hit]:
    """One hit per hand: overlapping hits keep the best-scoring one, and its count only if no
    overlapping hit counted differently."""
    kept: list[Hit] = []
    for hit in sorted(hits, key=lambda x: -x.score):
        same = [k for k in kept if np.linalg.norm(k.centre - hit.centre) < max(k.size, hit.size)]
        if not same:
            kept.append(hit)
        elif same[0].count is not None and hit.count is not None and hit.count != same[0].count:
            same[0].count = None
    return kept


def fingers_in_frame(points: np.ndarray, width: int, height: int) -> int:
    """Fingers whose joints all lie inside the image (mediapipe also places joints it cannot see)."""
    inside = (points[:, 0] >= 0) & (points[:, 0] < width) & (points[:, 1] >= 0) & (points[:, 1] < height)
    return sum(bool(inside[list(idx)].all()) for idx in FINGERS.values())


def to_hand(hit: Hit, side: str, why_not: list[str], label: str, frame: tuple[int, int]) -> Hand:
    """The record of one hit; a reason goes to `why_not` where fingers cannot be counted."""
    reasons = []
    if hit.size < MIN_COUNT_PX:
        reasons.append(f"too small ({hit.size:.0f} px) to count fingers")
    if hit.score < MIN_COUNT_SCORE:
        reasons.append(f"detected with low confidence ({hit.score:.2f})")
    if hit.count is None and not reasons:
        reasons.append("finger count differs between views")
    countable = not reasons
    if reasons:
        why_not.append(f"{label}: " + "; ".join(reasons))
    return Hand(box=hit.box, score=round(hit.score, 3), side=side,
                fingers_extended=hit.count if countable else None, fingers_visible=fingers_in_frame(hit.points, *frame) if countable else None,
                countable=countable, landmarks=hit.points[:, :2].round(1).tolist())
