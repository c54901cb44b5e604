"""Captions against a hand-labelled set: are the main subjects named, counted right, and is
nothing invented? The set is a folder with images/ and labels.json (tests/data/caption_labels,
written by looking at each image); `python -m curate.caption.evaluate [FOLDER]` prints the table.

Per image the labels give the medium, the main subjects (a plain noun, a count where one can be
counted; `also`: a coarser word that is right but does not name it, 'tool' for pliers, so it is
not counted as invented) and the number of people (null for a crowd too large to count, with
`people_min`).
"""

import argparse
import json
import re
from pathlib import Path

from curate.caption import alttext, imagenet
from curate.caption.describe import plural
from curate.caption.image import caption_image

DEFAULT = Path(__file__).resolve().parents[2] / "tests" / "data" / "caption_labels"


def named(subject: str, row: dict) -> bool:
    """The subject's noun, its plural, or the detector class it belongs to, in the caption."""
    text = f"{row['short']} {row['dense']}".lower()
    names = {subject.lower(), plural(subject.lower())}
    if any(re.search(rf"\b{re.escape(n)}\b", text) for n in names):
        return True
    cls = coco_of(subject) or subject.lower()
    return cls in (row["objects"] or []) or cls in (row["labels"] or [])


def coco_of(subject: str) -> str | None:
    """The detector class of a subject: by the caption's word list, else by the ImageNet nouns."""
    return alttext.coco_class(subject.split()[-1]) or next(
        (n.coco for n in imagenet.nouns() if n.coco and subject.lower() in (n.noun.lower(), n.imagenet.lower())), None)


def counted(subject: str, row: dict) -> int | None:
    """How many of the subject the detectors counted: the people count for people, else the
    count of the object whose class, fine name or group is the subject (a 'great grey owl' is
    an owl, a 'hen' a bird); else 1 where a whole-image label names it ("a photo of a cheetah"
    says one), and 0 where nothing does."""
    cls = coco_of(subject)
    if cls == "person":
        return row["people"]
    s = subject.lower()
    for thing in row["caption"]["objects"]:
        fine = (thing["fine"] or "").lower()
        if (cls and thing["name"] == cls) or s in _words(fine) | _words(thing["name"]) or s in _kinds(fine):
            return thing["count"]
    return int(named(subject, row))


def _words(name: str | None) -> set[str]:
    """A name and its head noun ('ring-tailed lemur', 'lemur')."""
    name = (name or "").lower()
    return {name, name.split()[-1]} if name else set()


def _kinds(subject: str) -> set[str]:
    """The detector class and everyday group of a subject the ImageNet nouns know ('goose' and
    'toucan' are birds), so a 'bird' box on a gosling is not counted as invented."""
    s = subject.lower()
    return {k for n in imagenet.nouns() if s in (n.noun.lower(), n.imagenet.lower()) for k in (n.coco, n.group) if k}


def evaluate(folder: Path = DEFAULT, rows: dict | None = None) -> dict:
    labels = json.loads((folder / "labels.json").read_text())
    rows = rows or {}
    per_image, subjects = [], {"named": 0, "total": 0, "counts_right": 0, "countable": 0}
    invented = {"objects": 0, "labels": 0, "people": 0, "hands": 0}
    crowd, media = [], {"right": 0, "total": 0}
    for item in labels:
        row = rows.get(item["file"]) or caption_image((folder / "images" / item["file"]).read_bytes(), None)
        names = [n for s in item["subjects"] for n in s["name"].split("|")]
        expected_classes = ({alttext.coco_class(n.split()[-1]) for n in names} - {None}
                            | {n.lower() for n in names} | {k for n in names for k in _kinds(n)})
        # a coarser word is right only as itself: 'tool' on pliers, but not a 'hook' of the tool group
        also = {s["also"] for s in item["subjects"] if s.get("also")}
        if item.get("people"):
            expected_classes.add("person")
        misses, miscounts = [], []
        for s in item["subjects"]:
            subjects["total"] += 1
            alternatives = s["name"].split("|")  # words that are each right ('ladybird|ladybug')
            if any(named(n, row) for n in alternatives):
                subjects["named"] += 1
            else:
                misses.append(s["name"])
            if s.get("countable") and s.get("count") is not None:
                subjects["countable"] += 1
                found = max(counted(n, row) or 0 for n in alternatives)
                subjects["counts_right"] += found == s["count"]
                if found != s["count"]:
                    miscounts.append((s["name"], s["count"], found))
        extra = [t["name"] for t in row["caption"]["objects"]
                 if not (_words(t["name"]) | _words(t["fine"])) & expected_classes
                 and not (t["name"] in also and not t["fine"])]
        invented["objects"] += len(extra)
        # a whole-image label the summary states that is none of the subjects ("a pig and a wild boar")
        wrong = [lb["name"] for lb in row["caption"]["labels"]
                 if lb["name"] != "animal" and re.search(rf"\b{re.escape(lb['name'].lower())}\b", row["short"].lower())
                 and not (_words(lb["name"]) | {lb["coco"], lb["group"]}) & expected_classes and lb["name"] not in also]
        invented["labels"] += len(wrong)
        extra += wrong
        people = item.get("people")
        if people == 0:
            invented["people"] += row["people"] > 0
            invented["hands"] += row["hands"] > 0 and not any("hand" in s["name"] for s in item["subjects"])
        if people is None and item.get("people_min"):
            crowd.append((item["file"], item["people_min"], row["people"]))
        if item.get("medium"):
            media["total"] += 1
            media["right"] += row["caption"]["medium"] == item["medium"]
        per_image.append({"file": item["file"], "short": row["short"], "missed": misses, "miscounted": miscounts,
                          "invented": extra, "people": (people, row["people"])})
    return {"images": len(labels), "subjects": subjects, "invented": invented, "crowds": crowd, "medium": media,
            "per_image": per_image}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(prog="python -m curate.caption.evaluate", description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", nargs="?", type=Path, default=DEFAULT,
                        help="a folder with images/ and labels.json (default: %(default)s)")
    r = evaluate(parser.parse_args(argv).folder)
    for p in r["per_image"]:
        flags = "".join(f" {word} {p[key]}" for word, key in (("MISSED", "missed"), ("COUNTED (name, expected, found)", "miscounted"),
                                                                ("INVENTED", "invented")) if p[key])
        print(f"{p['file']}: {p['short']}{flags} people expected/found {p['people']}")
    s, inv = r["subjects"], r["invented"]
    print(f"\nsubjects named: {s['named']}/{s['total']} ({s['named'] / max(1, s['total']):.0%}); "
          f"counts right: {s['counts_right']}/{s['countable']} ({s['counts_right'] / max(1, s['countable']):.0%}); "
          f"invented: {inv}; medium right: {r['medium']['right']}/{r['medium']['total']}; "
          f"crowds (file, at least, found): {r['crowds']}")


if __name__ == "__main__":
    main()
