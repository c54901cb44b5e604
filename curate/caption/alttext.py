"""What an image's own text (alt-text, a file's caption) says it shows: counted subjects such as
"three pregnant women" or "two dogs", so the caption can be checked against the detectors."""

import re
from dataclasses import dataclass

NUMBERS = {w: i for i, w in enumerate(("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
                                        "ten", "eleven", "twelve"))} | {"a": 1, "an": 1, "single": 1, "pair": 2,
                                                                         "couple": 2, "both": 2}
PEOPLE = ("person", "people", "persons", "man", "men", "woman", "women", "boy", "boys", "girl", "girls", "child",
          "children", "kid", "kids", "baby", "babies", "lady", "ladies", "guy", "guys", "player", "players",
          "friend", "friends", "student", "students", "worker", "workers", "soldier", "soldiers", "adult", "adults",
          "teenager", "teenagers", "athlete", "athletes", "mother", "father", "brother", "brothers", "sister",
          "sisters", "twins", "family")
# alt-text nouns -> the COCO class the detector would report ('person' for all of PEOPLE)
SYNONYMS = {"puppy": "dog", "puppies": "dog", "kitten": "cat", "kittens": "cat", "bike": "bicycle", "sofa": "couch",
            "plane": "airplane", "aeroplane": "airplane", "ship": "boat", "television": "tv", "phone": "cell phone",
            "auto": "car", "automobile": "car", "lorry": "truck", "pony": "horse", "calf": "cow", "cattle": "cow",
            "lamb": "sheep", "ball": "sports ball", "mug": "cup", "table": "dining table", "motorbike": "motorcycle"}
COCO = ("bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat", "bench", "bird", "cat", "dog",
        "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack", "umbrella", "handbag",
        "suitcase", "kite", "bottle", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange",
        "carrot", "pizza", "donut", "cake", "chair", "couch", "bed", "toilet", "laptop", "keyboard", "book", "clock",
        "vase", "scissors")
IRREGULAR = {"people": "person", "persons": "person", "men": "man", "women": "woman", "children": "child",
             "babies": "baby", "ladies": "lady", "sheep": "sheep", "buses": "bus", "knives": "knife",
             "benches": "bench", "boxes": "box", "couches": "couch", "glasses": "glass"}
SKIP = 3  # adjectives allowed between the number and its noun ("three pregnant women")


@dataclass(frozen=True)
class Mention:
    words: str       # the phrase as written ("three pregnant women")
    count: int
    coco: str        # the class a detector would count it as


def _singular(word: str) -> str:
    if word in IRREGULAR:
        return IRREGULAR[word]
    return word[:-1] if word.endswith("s") and not word.endswith("ss") else word


def coco_class(word: str) -> str | None:
    """The detector class a noun names, or None."""
    w = word.lower()
    if w in PEOPLE:
        return "person"
    if w in SYNONYMS:
        return SYNONYMS[w]
    s = _singular(w)
    if s in SYNONYMS:
        return SYNONYMS[s]
    return s if s in COCO else None


def mentions(text: str | None) -> list[Mention]:
    """Counted subjects: a number word or digits, up to SKIP words, then a known noun."""
    words = re.findall(r"[A-Za-z]+|\d+", text or "")
    out = []
    for i, w in enumerate(words):
        lw = w.lower()
        n = int(w) if w.isdigit() and len(w) < 4 else NUMBERS.get(lw)
        if n is None:
            continue
        for j in range(i + 1, min(len(words), i + 2 + SKIP)):
            cls = coco_class(words[j])
            if cls:
                if lw in ("a", "an", "single") and words[j].lower() in ("people", "children", "men", "women"):
                    break  # "a people", a typo or another sense: no count
                if lw in ("pair", "couple") and words[i + 1].lower() != "of":
                    break  # "a couple" (two people) is too loose; "a pair of dogs" counts
                out.append(Mention(" ".join(words[i:j + 1]), n, cls))
                break
            if NUMBERS.get(words[j].lower()) is not None or words[j].isdigit():
                break
    return out


def subjects(text: str | None) -> set[str]:
    """Every detector class the text names, counted or not."""
    return {c for w in re.findall(r"[A-Za-z]+", text or "") if (c := coco_class(w))}
