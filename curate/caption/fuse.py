"""What the detectors saw (detect.Seen) -> the caption's facts: who and what is in the image,
with counts. The one place where detectors are weighed against each other; what they leave
unsettled goes to `uncertain`, never into a count.

People are the union of the detector's person boxes, poses found outside them, and faces
outside both; objects are the detector's boxes grouped by class, named finer where the
ImageNet head agrees on every box; hands go to the arm whose wrist is nearest.
"""

import numpy as np

from curate.caption import hands as hand_search
from curate.caption import imagenet, nanodet
from curate.caption.boxes import Detection, area, iou, overlap, union_area
from curate.caption.detect import PERSON_SURE, Seen
from curate.caption.people import inside
from curate.caption.records import Arm, Facts, Label, Person, Thing

SIDES = ("left", "right")
COUNT_SCORE = nanodet.MIN_SCORE  # a box counts from this score; below it (down to detect.OBJECT_FLOOR) it is only noted
IN_GROUP = 0.4           # in a group of small people seen again in tiles, boxes count from here: the
                         # orchestra's seated players, the singers behind the front row score 0.4-0.5
MIN_OBJECT_PX = 12       # an object box smaller than this (longest side) is too small to count
NEAR_DUPLICATE = 0.6     # a pose or face overlapping a person box this much is the same person
SURE_BOX = 0.65          # a box under this score whose crop gives its class under REJECTED is not counted
REJECTED = 0.02
NOT_MINE = 0.1           # a crop giving the box's class less than this may rename it
BLURRED = 0.5            # in a photo, a person this much blurrier and smaller than the sharpest is background
PART_OF = 0.6            # an animal box this much inside surer boxes of other animals is part of them
SEEN_TWICE = 0.9         # an unsure box sharing this much of the smaller box with a counted one of its name is that one
FILLS = 0.4              # an animal box this share of the picture is the picture's subject
TEXT_FILLS = 0.5         # text lines covering this share of the picture make it a picture of text
HELD_SCORE = 0.5         # a person crop the head gives this much to one object holds it (a violin, a tripod)
HELD_MIN_SIDE = 64       # ... if the person box is this tall: a 36 px passer-by blown up to 224 px held an 'assault rifle'
ANIMALS = {"bird", "cat", "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe"}
LIKE_PEOPLE = ANIMALS | {"teddy bear"}  # a pose on one of these boxes is the animal's


def facts(seen: Seen, width: int, height: int) -> Facts:
    f = Facts(width=width, height=height, medium=seen.medium)
    f.uncertain += [f"a {d.name} box ({d.score:.2f}) on the {twin.name} at {twin.box}: taken as the {twin.name}"
                    for d, twin in seen.merged]
    animals = _objects(seen, f)
    people_bodies = _people(seen, f, animals)
    _hands(seen, f, people_bodies)
    f.text = seen.text
    _labels_of_a_text(f)
    f.uncertain += [f'text that reads only in a mirror at {t.box}: "{t.text}" (flipped), not taken as the image\'s text'
                    for t in seen.mirrored_text]
    return f


def _counted(d, f: Facts, confirmed: bool = False, group: bool = False) -> bool:
    """A box counts from COUNT_SCORE, or from the detector's floor where a second model agrees
    (the ImageNet head on its crop, a pose or a face in a person box), or from IN_GROUP in a
    group the tiles looked at twice as large, if it is not too small."""
    side = max(d.box[2] - d.box[0], d.box[3] - d.box[1])
    if (d.score >= (IN_GROUP if group else COUNT_SCORE) or confirmed) and side >= MIN_OBJECT_PX:
        return True
    why = f"too small ({side} px)" if side < MIN_OBJECT_PX else f"low confidence ({d.score:.2f})"
    f.uncertain.append(f"a possible {d.name} at {d.box}: {why}, not counted")
    return False


def _objects(seen: Seen, f: Facts) -> set[int]:
    """Objects counted by class; returns the indices of person boxes taken as animals."""
    groups: dict[str, list[tuple]] = {}
    animals = set()
    for i, d in enumerate(seen.detections):
        probs = seen.crop_probs.get(i)
        if d.name == "person":
            if d.score >= PERSON_SURE:
                continue  # sure of a person: its crop is shown only for what it holds
            other = imagenet.crop_other(probs, d.name) if probs is not None else None
            if other is None or other[0].kind != "animal" or _has_face(seen, d.box):
                continue
            animals.add(i)  # not a person, whether or not it counts as the animal
        judged = _second_opinion(d, probs, f, seen)
        if judged is None or judged[0].name == "person":
            continue
        d, fine, agree = judged
        if _part_of_animal(d, probs, seen.detections, f) or _seen_twice(d, groups.get(d.name, []), f):
            continue
        if _counted(d, f, agree, d.name in seen.tiled):
            groups.setdefault(d.name, []).append((d, fine))
    for name, members in sorted(groups.items(), key=lambda kv: -sum(area(d.box) for d, _ in kv[1])):
        # one fine name for the group where the head gave no other and named at least half of them
        fines = [fine for _, fine in members if fine]
        fine = fines[0] if fines and len(set(fines)) == 1 and 2 * len(fines) >= len(members) else None
        f.objects.append(Thing(name=name, count=len(members), boxes=[d.box for d, _ in members],
                               scores=[round(d.score, 3) for d, _ in members], fine=fine))
    if seen.label_probs is not None:
        f.labels = _beside_unnameable(seen.labels, f) + _held(seen, animals)
    return animals


def _labels_of_a_text(f: Facts) -> None:
    """A picture that is mostly its text lines (a cropped word, a sign close up) is a picture of
    that text: the ImageNet head's labels for it are the shapes of its letters (the word CHINA a
    'nail' 0.62, HERE a 'digital clock' 0.53), so none is stated."""
    if not f.labels or union_area([line.box for line in f.text], f.width, f.height) < TEXT_FILLS:
        return
    f.uncertain += [f"the image classifier's {lb.name} ({lb.score:.2f}) on a picture that is mostly text: not stated"
                    for lb in f.labels]
    f.labels = []


def _beside_unnameable(labels: list[Label], f: Facts) -> list[Label]:
    """The whole image's labels, less its animal labels where a counted animal that ImageNet has
    no class for fills the picture: the label is the head's nearest stand-in for that animal (a
    giraffe's coat is a 'jaguar' 0.57)."""
    fills = [t for t in f.objects if t.name in ANIMALS and not imagenet.knows(t.name)
             and sum(area(b) for b in t.boxes) >= FILLS * f.width * f.height]
    if not fills:
        return labels
    dropped = [lb for lb in labels if lb.kind == "animal" and lb.coco != fills[0].name]
    f.uncertain += [f"the image classifier's {lb.name} ({lb.score:.2f}), which has no class for the {fills[0].name} "
                    "that fills the picture: not taken as a second subject" for lb in dropped]
    return [lb for lb in labels if lb not in dropped]


def _part_of_animal(d: Detection, probs, boxes: list[Detection], f: Facts) -> bool:
    """An animal box mostly inside surer boxes of other animals is a part of them the detector
    named again (a 'dog' between the legs of three horses), unless the head is sure of it: its
    crop holds the others' legs and flanks, where a weak vote (0.31 to the dog breeds) means little."""
    if d.name not in ANIMALS or (probs is not None and imagenet.family(probs, d.name) >= imagenet.OTHER_SCORE):
        return False
    others = [o for o in boxes if o.name in ANIMALS and o.name != d.name and o.score > d.score]
    inside_others = min(area(d.box), sum(overlap(d.box, o.box) for o in others))
    if inside_others < PART_OF * max(1, area(d.box)):
        return False
    f.uncertain.append(f"a possible {d.name} at {d.box} ({d.score:.2f}) inside the boxes of other animals: "
                       "taken as part of them, not counted")
    return True


def _seen_twice(d: Detection, counted: list[tuple], f: Facts) -> bool:
    """An unsure box that almost wholly holds, or lies in, a box already counted under the same
    name is that thing seen twice (a butterfly's 0.42 box around the 0.44 one on its wing, a
    hammer's 0.38 box around its head's 0.53): not counted again, and the counted box grows to
    hold both. Calves in a herd overlap less."""
    if d.score >= COUNT_SCORE:
        return False
    at = next((k for k, (o, _) in enumerate(counted)
               if overlap(d.box, o.box) >= SEEN_TWICE * min(area(d.box), area(o.box))), None)
    if at is None:
        return False
    twin, fine = counted[at]
    union = [min(d.box[0], twin.box[0]), min(d.box[1], twin.box[1]), max(d.box[2], twin.box[2]), max(d.box[3], twin.box[3])]
    counted[at] = (Detection(twin.name, union, twin.score), fine)
    f.uncertain.append(f"a possible {d.name} at {d.box} ({d.score:.2f}) on the one at {twin.box}: "
                       "taken as the same, not counted again")
    return True


def _held(seen: Seen, animals: set[int]) -> list[Label]:
    """What people in a photo hold, by the head's crop of each person box: a thing it gives
    HELD_SCORE (the musicians' violin and trumpet, the cameraman's tripod). Not in drawings,
    where the head calls a clip-art person a 'fire screen' or a 'hook'."""
    if seen.medium not in ("photo", "grayscale photo", "painting"):
        return []
    found: dict[str, Label] = {}
    for i, d in enumerate(seen.detections):
        probs = seen.crop_probs.get(i)
        if d.name != "person" or probs is None or i in animals or d.score < COUNT_SCORE \
                or d.box[3] - d.box[1] < HELD_MIN_SIDE:
            continue
        top = int(np.argmax(probs))
        n, p = imagenet.nouns()[top], float(probs[top])
        if n.kind == "object" and p >= HELD_SCORE and p > getattr(found.get(n.noun), "score", 0):
            found[n.noun] = Label(n.noun, round(p, 3), "imagenet (person crop)", n.coco, n.kind, n.group)
    return list(found.values())


def _second_opinion(d: Detection, probs, f: Facts, seen: Seen) -> tuple[Detection, str | None, bool] | None:
    """The ImageNet head's vote on a box's crop: the box (renamed where the head is sure of
    another kind of thing), its fine name, and whether the head confirms it; None where the
    box is not counted at all (noted in `uncertain`)."""
    if probs is None:
        return d, None, False
    mine = imagenet.family(probs, d.name)
    if mine >= imagenet.AGREE_SCORE:
        return d, imagenet.crop_name(probs, d.name), True
    if seen.medium == "drawing" and mine < NOT_MINE and imagenet.knows(d.name):
        # NanoDet learnt photos: on clip-art and emoji its boxes are bananas, donuts and toilets
        # (35 of 37 boxes >= 0.5 on the bundled drawings wrong, all given < 0.1 by the head)
        f.uncertain.append(f"a possible {d.name} at {d.box} ({d.score:.2f}) in a drawing, which the image "
                           f"classifier does not see in it: not counted")
        return None
    # an animal the head gives almost nothing (a gorilla's 'bear' box) may be renamed on a lead,
    # but not one of a group the detector is sure of (a horse among horses, a 'Saluki' to the head)
    alone = d.name in ANIMALS and not any(o.name == d.name and o is not d and o.score >= COUNT_SCORE
                                          for o in seen.detections)
    other = imagenet.crop_other(probs, d.name, lead=alone)
    # no renaming against the whole image: in a herd of bison a dim calf's crop is a 'spaniel'
    herd = seen.label_probs is not None and imagenet.family(seen.label_probs, d.name) >= imagenet.OTHER_SCORE
    if other and not herd and mine < NOT_MINE and (imagenet.knows(d.name) or d.name == "person"):
        noun, p = imagenet.most_specific(probs, other[0], seen.labels), other[1]
        # an unsure box counts under the crop's name when the head is very sure of it, or when
        # the whole image is that too (a camel calf's 'dog' box 0.46, a camel to its crop 0.73 and
        # to the whole picture 0.71)
        pictured = any(lb.name == noun for lb in seen.labels)
        if d.score < COUNT_SCORE and ((p < imagenet.SURE_SCORE and not pictured) or d.name == "person"):
            f.uncertain.append(f"a possible {d.name} at {d.box} ({d.score:.2f}), {noun} to the image classifier "
                               f"({p:.2f}): not counted")
            return None
        f.uncertain.append(f"the detector's {d.name} at {d.box} ({d.score:.2f}) is {noun} to the image classifier "
                           f"({p:.2f}): named so")
        renamed = Detection(imagenet.kind_of(other[0]), d.box, d.score)
        return renamed, noun if noun != renamed.name else None, True
    whole = _whole_animal(d, mine, f, seen)
    if whole is not None:
        f.uncertain.append(f"the detector's {d.name} at {d.box} ({d.score:.2f}) fills the picture, which the image "
                           f"classifier calls {whole.name} ({whole.score:.2f}) and the crop not a {d.name}: named so")
        return Detection(whole.coco or whole.group or whole.name, d.box, d.score), whole.name, True
    if d.score < SURE_BOX and imagenet.knows(d.name) and mine < REJECTED:
        f.uncertain.append(f"a possible {d.name} at {d.box} ({d.score:.2f}) that the image classifier does not "
                           "see in it: not counted")
        return None
    return d, imagenet.crop_name(probs, d.name), False


def _whole_animal(d: Detection, mine: float, f: Facts, seen: Seen) -> Label | None:
    """The whole image's animal label, for an animal box that fills most of the picture and whose
    crop the head gives its class under NOT_MINE (a 'bird' box on an angelfish, in a picture the
    head calls a fish)."""
    if d.name not in ANIMALS or not imagenet.knows(d.name) or mine >= NOT_MINE or seen.label_probs is None \
            or area(d.box) < FILLS * f.width * f.height:
        return None
    return next((lb for lb in seen.labels
                 if lb.kind == "animal" and lb.name != "animal" and d.name not in (lb.coco, lb.group)), None)


def _has_face(seen: Seen, box) -> bool:
    return any(inside(_centre(face), box) for face, _, ok in seen.faces if ok)


def _people(seen: Seen, f: Facts, animals: set[int]) -> list:
    """Persons in order, and the Body (or None) behind each; `f.people` filled."""
    persons, owners = [], []
    body_of = {i: b for b, i in seen.bodies if i is not None}
    person_boxes = [(i, d) for i, d in enumerate(seen.detections) if d.name == "person"]
    # a weak person box counts when a face shows in it; in a drawing or a painting, where the
    # detector is unsure of every person, also when a pose with a face fits it (in a photo
    # mediapipe finds a body with a face in a swan's neck)
    art = seen.medium in ("drawing", "painting")
    sure = {n for n, (i, d) in enumerate(person_boxes)
            if _has_face(seen, d.box) or (art and n in body_of and body_of[n].face_seen())}
    # in a drawing or painting where one person is confirmed, the detector's other people count
    # from IN_GROUP, as in a group the tiles looked at twice (a drawn family scores 0.42-0.48)
    group = "person" in seen.tiled or (art and bool(sure))
    boxes = [d for n, (i, d) in enumerate(person_boxes) if i not in animals and _counted(d, f, n in sure, group)]
    counted = {id(d) for d in boxes}
    if seen.sharpness and seen.medium in ("photo", "grayscale photo") and boxes:
        # out of focus behind the subject (a stadium crowd behind a player): not counted one by one
        sharp = {id(d): s for d, s in zip(seen.person_boxes, seen.sharpness)}
        main = max(boxes, key=lambda d: sharp[id(d)])
        for d in boxes:
            if (sharp[id(d)] < BLURRED * sharp[id(main)] and d.box[3] - d.box[1] < BLURRED * (main.box[3] - main.box[1])):
                counted.discard(id(d))
                f.uncertain.append(f"a blurred person in the background at {d.box}: not counted")
    for i, d in enumerate(seen.person_boxes):
        if id(d) not in counted:
            continue
        body = body_of.get(i)
        persons.append(Person(box=d.box, face=bool(body and body.face_seen()), body=body.kind if body else "unknown",
                              arms=[Arm(side, body.arm_visible(s)) if body else Arm(side, False)
                                    for s, side in enumerate(SIDES)]))
        owners.append(body)
        if body is None:
            f.uncertain.append(f"person {len(persons)}: no pose found in the box {d.box} (arms and hands not searched)")
    for body, i in seen.bodies:
        if i is None and not art and not _has_face(seen, body.box):
            # a pose the detector has no person box for: in a photo that is more often a pose on a
            # guitar, a coat or a pair of pliers than a person, unless a face shows in it
            f.uncertain.append(f"a pose outside every person box at {body.box}, with no face: not counted")
            continue
        beast = None if i is not None else next(
            (d.name for d in seen.object_boxes if d.name in LIKE_PEOPLE and iou(body.box, d.box) > NEAR_DUPLICATE),
            None) or _animal_at(f, body.box)
        if beast is not None:
            # mediapipe fits a body to any upright figure or face: a cartoon monkey, a teddy bear, a calf
            f.uncertain.append(f"a pose at {body.box} on the detector's {beast}: not counted as a person")
            continue
        if i is None and not any(iou(body.box, p.box) > NEAR_DUPLICATE or inside(_centre(body.box), p.box) for p in persons):
            persons.append(Person(box=body.box, face=body.face_seen(), body=body.kind,
                                  arms=[Arm(side, body.arm_visible(s)) for s, side in enumerate(SIDES)]))
            owners.append(body)
    for box, score, confirmed in seen.faces:
        mine = [p for p in persons if inside(_centre(box), p.box)]
        if mine:
            for p in mine[:1]:
                p.face = True
            continue
        if not confirmed:
            f.uncertain.append(f"a face-like region at {box} (score {score:.2f}) that a second face model "
                               "did not confirm: not counted")
            continue
        beast = _animal_at(f, box)
        if beast is not None:  # a calf's face, close up, is a face to mediapipe
            f.uncertain.append(f"a face at {box} (score {score:.2f}) in the {beast}'s box, with no body: "
                               f"taken as the {beast}'s")
            continue
        persons.append(Person(box=box, face=True, body="head"))
        owners.append(None)
    f.people = persons
    return owners


def _animal_at(f: Facts, box) -> str | None:
    """The counted animal whose box holds this box's centre (a face or a pose with no person
    box there is the animal's)."""
    return next((t.name for t in f.objects if t.name in ANIMALS or imagenet.is_animal(t.name)
                 for b in t.boxes if inside(_centre(box), b)), None)


def _centre(box) -> tuple[float, float]:
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


def _hands(seen: Seen, f: Facts, owners: list) -> None:
    """Hands go to the arm whose wrist is nearest (within a hand's size); the rest are loose."""
    person_of = {id(b): p for p, b in enumerate(owners) if b is not None}
    regions = [(r, (person_of[id(seen.bodies[b][0])], s)) for r, (b, s) in zip(seen.hand_regions, seen.hand_owners)
               if id(seen.bodies[b][0]) in person_of]
    frame = (f.width, f.height)
    claims = {}
    for i, hit in enumerate(seen.hand_hits):
        best = None
        for (centre, side), (p, s) in regions:
            d = float(np.linalg.norm(hit.centre - centre))
            if d < max(hit.size, side / 2) and (best is None or d < best[0]):
                best = (d, p, s)
        if best and (best[1:] not in claims or claims[best[1:]][0] > best[0]):
            claims[best[1:]] = (best[0], i)
    owned = {i: ps for ps, (_, i) in claims.items()}
    for i, hit in enumerate(seen.hand_hits):
        if i in owned:
            p, s = owned[i]
            arm = f.people[p].arms[s]
            arm.visible = True
            arm.hand = hand_search.to_hand(hit, SIDES[s], f.uncertain, f"{SIDES[s]} hand of person {p + 1}", frame)
        else:
            # mediapipe labels hands as if the image were a mirrored selfie; photos are not
            side = "right" if hit.mirrored_label == "Left" else "left"
            f.hands.append(hand_search.to_hand(hit, side, f.uncertain, f"{side} hand {len(f.hands) + 1}", frame))
    if f.hands and not f.people:  # a hand is a person's: theirs is hidden or out of frame
        f.uncertain.append("hands with no body found: the person is hidden or out of frame")
    for p, person in enumerate(f.people):
        for arm in person.arms:
            if arm.visible and arm.hand is None:
                f.uncertain.append(f"{arm.side} hand of person {p + 1} not found (arm visible)")
