"""All detectors on one image -> Facts: people with faces, bodies, arms and hands; loose hands;
text lines; the medium. Each detector's time is recorded for `curate bench caption`."""

import time
from contextlib import contextmanager

import numpy as np

from curate.caption import hands as hand_search
from curate.caption import ocr
from curate.caption.people import CONFIRM_BELOW, bodies, confirmed, faces, inside
from curate.caption.records import Arm, Facts, Person
from curate.progress import native_stderr_silenced

SIDES = ("left", "right")
DETECTORS = ("people", "hands", "text")


@contextmanager
def _timed(seconds: dict, name: str):
    t = time.perf_counter()
    with native_stderr_silenced():
        yield
    seconds[name] = seconds.get(name, 0.0) + time.perf_counter() - t


def medium(image: np.ndarray) -> str:
    """'drawing' where a dozen colours (at 6 bits per channel, which JPEG noise mostly keeps)
    cover most of the image: clip art, emoji, icons; 'grayscale photo' where the channels
    agree; else 'photo'. Right for 373 of the 390 corpus images, 360 once re-encoded as JPEG."""
    small = image[:: max(1, image.shape[0] // 128), :: max(1, image.shape[1] // 128)].reshape(-1, 3).astype(np.int64)
    q = small >> 2
    codes = q[:, 0] << 16 | q[:, 1] << 8 | q[:, 2]
    top = np.sort(np.unique(codes, return_counts=True)[1])[::-1][:12].sum() / len(codes)
    if top > 0.5:
        return "drawing"
    if np.abs(small - small.mean(1, keepdims=True)).mean() < 2.0:
        return "grayscale photo"
    return "photo"


def detect(image: np.ndarray, detectors=DETECTORS) -> Facts:
    """Facts about an RGB uint8 image. `detectors` picks which run ('people', 'hands', 'text')."""
    h, w = image.shape[:2]
    facts = Facts(width=w, height=h, medium=medium(image))
    found_bodies = []
    if "people" in detectors:
        with _timed(facts.seconds, "people"):
            found_faces = faces(image)
            found_bodies = bodies(image)
            facts.people = _people(found_bodies, found_faces, image, facts)
    if "hands" in detectors:
        with _timed(facts.seconds, "hands"):
            _attach_hands(facts, found_bodies, image)
    if "text" in detectors:
        with _timed(facts.seconds, "text"):
            facts.text = ocr.read(image)
    return facts


def _people(found_bodies, found_faces, image: np.ndarray, facts: Facts) -> list[Person]:
    people, used = [], set()
    for body in found_bodies:
        box = body.box
        mine = [i for i, (fb, _) in enumerate(found_faces)
                if i not in used and inside(((fb[0] + fb[2]) / 2, (fb[1] + fb[3]) / 2), box)]
        used.update(mine)
        people.append(Person(box=box, face=bool(mine) or body.face_seen(), body=body.kind,
                             arms=[Arm(side, body.arm_visible(s)) for s, side in enumerate(SIDES)]))
    # a face with no body found around it is still a person (portraits, crowds, close-ups), but
    # in a photo a weak one must be confirmed; the ~40 weak lone faces of clip-art people in the
    # corpus are all real, and the second model misses half of them, so drawings skip the check
    for i, (fb, score) in enumerate(found_faces):
        if i in used:
            continue
        if facts.medium != "drawing" and score < CONFIRM_BELOW and not confirmed(image, fb):
            facts.uncertain.append(f"a face-like region at {fb} (score {score:.2f}) that a second face model "
                                   "did not confirm: not counted")
            continue
        people.append(Person(box=fb, face=True, body="head"))
    return people


def _attach_hands(facts: Facts, found_bodies, image: np.ndarray) -> None:
    """Hands go to the arm whose wrist is nearest (within a hand's size); the rest are loose."""
    regions, owners = [], []
    for p, body in enumerate(found_bodies):
        for s in range(2):
            region = body.hand_region(s)
            if region is not None:
                regions.append(region)
                owners.append((p, s))
    hits = hand_search.find(image, regions)
    frame = (facts.width, facts.height)
    claims = {}
    for i, hit in enumerate(hits):
        best = None
        for (p, s), (centre, side) in zip(owners, regions):
            d = float(np.linalg.norm(hit.centre - centre))
            if d < max(hit.size, side / 2) and (best is None or d < best[0]):
                best = (d, p, s)
        if best and (best[1:] not in claims or claims[best[1:]][0] > best[0]):
            claims[best[1:]] = (best[0], i)
    owned = {i: ps for ps, (_, i) in claims.items()}
    for i, hit in enumerate(hits):
        if i in owned:
            p, s = owned[i]
            arm = facts.people[p].arms[s]
            arm.visible = True
            arm.hand = hand_search.to_hand(hit, SIDES[s], facts.uncertain, f"{SIDES[s]} hand of person {p + 1}", frame)
        else:
            # mediapipe labels hands as if the image were a mirrored selfie; photos are not
            side = "right" if hit.mirrored_label == "Left" else "left"
            facts.hands.append(hand_search.to_hand(hit, side, facts.uncertain, f"{side} hand {len(facts.hands) + 1}", frame))
    if facts.hands and not facts.people:  # a hand is a person's: theirs is hidden or out of frame
        facts.uncertain.append("hands with no body found: the person is hidden or out of frame")
    for p, person in enumerate(facts.people):
        for arm in person.arms:
            if arm.visible and arm.hand is None:
                facts.uncertain.append(f"{arm.side} hand of person {p + 1} not found (arm visible)")
