"""Facts -> the caption record (DESIGN.md section 5) and its two training strings.

`short` is one sentence; `dense` states every count and quotes every text line. Both are
written from the same record, so they never disagree; the summary is the VLM's where one was
given, else a template over the detector facts and the image's original text.
"""

import re

from curate.caption.records import Facts, plain

WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")
FINGER_SENTENCE_LIMIT = 6  # hands described one by one in `dense`, beyond that only totals


def number(n: int, noun: str, plural: str | None = None) -> str:
    word = WORDS[n] if n < len(WORDS) else str(n)
    return f"{word} {noun if n == 1 else (plural or noun + 's')}"


def clean(text: str | None) -> str:
    return re.sub(r"\s+", " ", text or "").strip().rstrip(".")


def quoted(facts: Facts) -> list[str]:
    return [f'"{t.text}"' for t in facts.text]


def people_phrase(counts: dict) -> str:
    parts = [number(counts["people"], "person", "people")] if counts["people"] else []
    if counts["hands"]:
        parts.append(number(counts["hands"], "hand") + " visible")
    return " and ".join(parts)


def sentence(head: str, counts: dict, texts: list[str]) -> str:
    """`head`, then what the detectors counted and read: the one-sentence caption."""
    tail = [people_phrase(counts)] if counts["people"] or counts["hands"] else []
    if texts:
        tail.append("the text " + ", ".join(texts[:3]))
    return clean(head) + (", with " + " and ".join(tail) if tail else "")


def template_summary(facts: Facts, original: str | None) -> str:
    return sentence(clean(original) or f"a {facts.medium}", facts.counts(), quoted(facts))


def short(record: dict) -> str:
    if record["provenance"]["summary"] == "template":
        return record["summary"] + "."
    first = re.split(r"(?<=[.!?])\s", record["summary"].strip(), maxsplit=1)[0]
    return sentence(first, record["counts"], [f'"{t["text"]}"' for t in record["text"]]) + "."


def _hand_words(hand: dict) -> str:
    if not hand["countable"]:
        return "fingers not countable"
    return number(hand["fingers_extended"], "finger") + " extended"


def dense(record: dict) -> str:
    c = record["counts"]
    hands = [(i, arm["side"], arm["hand"]) for i, p in enumerate(record["people"], 1) for arm in p["arms"] if arm["hand"]]
    countable = sum(h["countable"] for *_, h in hands) + sum(h["countable"] for h in record["hands"])
    s = [clean(record["summary"]) + ".", f"Medium: {record['medium']}."]
    # "No people" would be false beside a hand: its person is there, hidden or out of frame
    who = "no body found" if not c["people"] and c["hands"] else number(c["people"], "person", "people")
    s.append(f"{who.capitalize()}, {number(c['faces'], 'face')} visible, "
             f"{number(c['arms'], 'arm')} and {number(c['hands'], 'hand')} visible.")
    if countable:
        s.append(f"{number(c['fingers_extended'], 'finger').capitalize()} extended on "
                 f"{number(countable, 'hand')} clear enough to count.")
    for i, p in enumerate(record["people"], 1):
        arms = [a["side"] for a in p["arms"] if a["visible"]]
        body = {"full": "full body", "upper": "upper body", "head": "head only"}[p["body"]]
        s.append(f"Person {i}: {body}, face {'visible' if p['face'] else 'not visible'}, "
                 + (f"{' and '.join(arms)} arm{'s' if len(arms) > 1 else ''} visible." if arms else "no arm visible."))
    if len(hands) + len(record["hands"]) <= FINGER_SENTENCE_LIMIT:
        s += [f"Person {i}'s {side} hand: {_hand_words(h)}." for i, side, h in hands]
        s += [f"A {h['side']} hand: {_hand_words(h)}." for h in record["hands"]]
    if record["text"]:
        s.append("Text in the image: " + ", ".join(f'"{t["text"]}"' for t in record["text"]) + ".")
    else:
        s.append("No text in the image.")
    return " ".join(s)


def record(facts: Facts, original: str | None, summary: str | None, provenance: dict) -> dict:
    """The caption struct of DESIGN.md section 5."""
    data = plain(facts)
    return {
        "summary": summary or template_summary(facts, original),
        "medium": facts.medium,
        "people": data["people"],
        "hands": data["hands"],
        "counts": facts.counts(),
        "objects": [],
        "text": data["text"],
        "uncertain": list(facts.uncertain),
        "provenance": provenance,
    }

