"""People: faces (mediapipe face detection) and bodies (mediapipe pose).

mediapipe's legacy pose finds one person per call. Where the object detector found person
boxes, pose runs on each box's crop (top-down, as in crowd pose estimation), so small and many
people get a body; then once on the whole frame with those boxes painted out, then again after
each body it finds (up to MAX_PEOPLE), for people the detector missed (drawings). Sides are the
person's own: pose landmark 11 is the left shoulder of the person, so handedness comes from the
body, not from the hand model's mirrored-selfie label.
"""

import functools
from dataclasses import dataclass

import numpy as np

from curate.caption.records import Box

MAX_PEOPLE = 6          # bodies found by painting out on the whole frame
MAX_CROPS = 12          # person boxes, largest first, that get a pose of their own
MIN_CROP_PX = 40        # a person box shorter than this is counted but gets no pose
CROP_PAD = 0.15         # context around a person box, per side
SEEN = 0.5              # landmark visibility above which a joint counts as seen
FACE_SCORE = 0.6
CONFIRM_BELOW = 0.7     # a face with no body, in a photo, under this score needs a second opinion
# mediapipe pose landmark indices
NOSE, L_EYE, R_EYE = 0, 2, 5
SHOULDER, ELBOW, WRIST, HIP, KNEE, ANKLE = (11, 12), (13, 14), (15, 16), (23, 24), (25, 26), (27, 28)
HAND_TIPS = ((17, 19, 21), (18, 20, 22))  # pinky, index, thumb per side


@functools.cache
def _faces():
    import mediapipe as mp

    return mp.solutions.face_detection.FaceDetection(model_selection=1, min_detection_confidence=FACE_SCORE)


@functools.cache
def _close_faces():
    import mediapipe as mp

    # its min_detection_confidence does not filter what it returns (0.62 came back at 0.7): confirmed() does
    return mp.solutions.face_detection.FaceDetection(model_selection=0, min_detection_confidence=0.5)


@functools.cache
def _pose():
    import mediapipe as mp

    # model_complexity=1 is the pose model shipped in the wheel (0 and 2 would be downloaded)
    return mp.solutions.pose.Pose(static_image_mode=True, model_complexity=1, min_detection_confidence=0.5)


@dataclass
class Body:
    points: np.ndarray      # 33 x (x, y) in pixels
    seen: np.ndarray        # 33 visibilities

    def visible(self, *idx: int) -> bool:
        return all(self.seen[i] > SEEN for i in idx)

    @property
    def box(self) -> Box:
        pts = self.points[self.seen > SEEN]
        x0, y0 = pts.min(0)
        x1, y1 = pts.max(0)
        pad = 0.1 * max(x1 - x0, y1 - y0)
        return [int(x0 - pad), int(y0 - 2 * pad), int(x1 + pad), int(y1 + pad)]

    @property
    def kind(self) -> str:
        if any(self.visible(HIP[s], KNEE[s]) for s in (0, 1)):
            return "full" if any(self.visible(ANKLE[s]) or self.visible(KNEE[s]) for s in (0, 1)) else "upper"
        return "upper"

    def arm_visible(self, side: int) -> bool:
        return self.visible(SHOULDER[side], ELBOW[side]) or self.visible(ELBOW[side], WRIST[side])

    def hand_region(self, side: int) -> tuple[np.ndarray, float] | None:
        """Where to look for this arm's hand: a square around the wrist and the hand points,
        about twice the forearm long."""
        if not self.visible(WRIST[side]) and not self.visible(ELBOW[side]):
            return None
        wrist, elbow = self.points[WRIST[side]], self.points[ELBOW[side]]
        tips = self.points[list(HAND_TIPS[side])]
        centre = (wrist + tips.mean(0)) / 2
        forearm = np.linalg.norm(wrist - elbow)
        shoulders = np.linalg.norm(self.points[SHOULDER[0]] - self.points[SHOULDER[1]])
        return centre, max(1.6 * forearm, 0.8 * shoulders, 48.0)

    def face_seen(self) -> bool:
        return self.visible(NOSE, L_EYE, R_EYE)


def faces(image: np.ndarray) -> list[tuple[Box, float]]:
    h, w = image.shape[:2]
    out = []
    for d in _faces().process(image).detections or []:
        b = d.location_data.relative_bounding_box
        out.append(([int(b.xmin * w), int(b.ymin * h), int((b.xmin + b.width) * w), int((b.ymin + b.height) * h)],
                    float(d.score[0])))
    return out


def confirmed(image: np.ndarray, box: Box) -> bool:
    """A second opinion on a weak face: mediapipe's short-range model on a square crop twice the
    face's size, at 256 px. Of the lone faces under 0.7 that the long-range model finds in the
    corpus photos, three were an apple, the word "riser" and 12 px of a rocket, which this
    rejects, and one a man half hidden by a chessboard, which it confirms (0.79)."""
    import cv2

    h, w = image.shape[:2]
    cx, cy, r = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2, max(box[2] - box[0], box[3] - box[1])
    x0, y0, x1, y1 = int(max(0, cx - r)), int(max(0, cy - r)), int(min(w, cx + r)), int(min(h, cy + r))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return False
    crop = cv2.resize(np.ascontiguousarray(image[y0:y1, x0:x1]), (256, 256), interpolation=cv2.INTER_CUBIC)
    return any(d.score[0] >= CONFIRM_BELOW for d in _close_faces().process(crop).detections or [])


def _pose_on(rgb: np.ndarray, offset=(0, 0)) -> Body | None:
    """One body in `rgb` (in the frame `offset` places it), if it is a body: both shoulders seen,
    or a face and one shoulder; a few stray joints on a texture are not a person."""
    result = _pose().process(np.ascontiguousarray(rgb))
    if result.pose_landmarks is None:
        return None
    h, w = rgb.shape[:2]
    lm = result.pose_landmarks.landmark
    body = Body(np.array([[p.x * w + offset[0], p.y * h + offset[1]] for p in lm], dtype=np.float32),
                np.array([p.visibility for p in lm], dtype=np.float32))
    if body.visible(*SHOULDER) or (body.face_seen() and (body.visible(SHOULDER[0]) or body.visible(SHOULDER[1]))):
        return body
    return None


def pose_in_box(image: np.ndarray, box: Box) -> Body | None:
    """The pose of the person in a detector's box, from a crop with some context around it."""
    h, w = image.shape[:2]
    pw, ph = CROP_PAD * (box[2] - box[0]), CROP_PAD * (box[3] - box[1])
    x0, y0 = int(max(0, box[0] - pw)), int(max(0, box[1] - ph))
    x1, y1 = int(min(w, box[2] + pw)), int(min(h, box[3] + ph))
    if y1 - y0 < MIN_CROP_PX or x1 - x0 < 8:
        return None
    return _pose_on(image[y0:y1, x0:x1], (x0, y0))


def bodies(image: np.ndarray, known: list[Box] = ()) -> list[Body]:
    """Poses on the whole frame, found one at a time by painting out the `known` person boxes
    and each body already found."""
    work = image.copy()
    fill = image.reshape(-1, 3).mean(0).astype(np.uint8)

    def paint(box):
        x0, y0, x1, y1 = box
        work[max(0, y0):max(0, y1), max(0, x0):max(0, x1)] = fill

    for box in known:
        paint(box)
    found = []
    for _ in range(MAX_PEOPLE):
        body = _pose_on(work)
        if body is None:
            break
        found.append(body)
        paint(body.box)
    return found


def inside(point, box: Box) -> bool:
    return box[0] <= point[0] <= box[2] and box[1] <= point[1] <= box[3]
