"""The caption record of docs/contracts.md section 4, as dataclasses.

Boxes are [x0, y0, x1, y1] in pixels of the stored image. Every number here was measured by a
detector; what no detector settled is a line in `uncertain`, never a guess.
"""

from dataclasses import asdict, dataclass, field

Box = list[int]


@dataclass
class Hand:
    box: Box
    score: float                         # mediapipe's hand presence score
    side: str                            # the person's own 'left' or 'right' (not mediapipe's mirrored label)
    fingers_extended: int | None         # None where not countable
    fingers_visible: int | None
    countable: bool
    visible: bool = True
    landmarks: list[list[float]] = field(default_factory=list, repr=False)  # 21 x (x, y) in pixels


@dataclass
class Arm:
    side: str                            # 'left' or 'right', the person's own
    visible: bool
    hand: Hand | None = None


@dataclass
class Person:
    box: Box
    face: bool
    body: str                            # 'full', 'upper', 'head'
    arms: list[Arm] = field(default_factory=list)


@dataclass
class TextLine:
    text: str
    box: Box
    score: float


@dataclass
class Thing:
    """Objects of one kind, counted by the object detector: 'two dogs'."""
    name: str                            # the detector's (COCO) name
    count: int
    boxes: list[Box]
    scores: list[float]
    fine: str | None = None              # the ImageNet head's name where it agrees on every box ('beagle')


@dataclass
class Label:
    """A fine name for the whole image from a classifier (the ImageNet head)."""
    name: str
    score: float
    source: str
    coco: str = ""                       # the detector class the same thing would have, '' where none
    kind: str = "object"                 # animal, object, food, plant, scene, ...
    group: str = ""                      # the everyday word for it ('bird' for a king penguin)


@dataclass
class Facts:
    """What the detectors saw in one image."""
    width: int
    height: int
    medium: str
    people: list[Person] = field(default_factory=list)
    objects: list[Thing] = field(default_factory=list)  # everything counted but people
    labels: list[Label] = field(default_factory=list)
    hands: list[Hand] = field(default_factory=list)    # hands no detected body owns (close-ups, drawings)
    text: list[TextLine] = field(default_factory=list)
    uncertain: list[str] = field(default_factory=list)
    seconds: dict[str, float] = field(default_factory=dict)  # time per detector, for `curate bench caption`

    def all_hands(self) -> list[Hand]:
        return [a.hand for p in self.people for a in p.arms if a.hand] + self.hands

    def counts(self) -> dict[str, int]:
        hands = self.all_hands()
        return {
            "people": len(self.people),
            "faces": sum(p.face for p in self.people),
            "arms": sum(a.visible for p in self.people for a in p.arms),
            "hands": len(hands),
            "fingers_extended": sum(h.fingers_extended for h in hands if h.countable),
        }


def plain(obj) -> dict:
    """A dataclass as JSON-ready data, without the landmark lists (kept in memory for drawing)."""
    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k != "landmarks"}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value
    return strip(asdict(obj))
