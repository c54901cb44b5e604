"""Facts -> the caption record (docs/contracts.md section 4) and its two training strings.

`short` is one sentence naming the medium and the main subjects with their counts, then the
image's own text (alt-text) merged after a colon, then text read in the image; `dense` states
every object count, every person with arms and hands, and every text line. Both are written
from the same record, so they never disagree. The summary is the VLM's where one was given,
else the template. Where the alt-text states a count the detectors contradict, the caption
keeps what was seen, drops the alt-text's number and lists the disagreement in `uncertain`.
"""

import re

from curate.caption import alttext
from curate.caption.records import Facts, plain

WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve")
FINGER_SENTENCE_LIMIT = 6  # hands described one by one in `dense`, beyond that only totals
MAX_SUBJECTS = 4           # kinds of things named in `short`; `dense` names them all
# COCO names as a caption says them
SAY = {"tv": "television", "dining table": "table", "sports ball": "ball", "cell phone": "mobile phone",
       "hair drier": "hair dryer", "remote": "remote control", "mouse": "computer mouse",
       "skis": "pair of skis", "scissors": "pair of scissors"}
# The ImageNet group a detector class belongs to, where ImageNet has no class of its own for it:
# the head's 'tool' beside a counted pair of scissors is the same thing.
KIND_OF = {"scissors": "tool"}
PLURALS = {"person": "people", "sheep": "sheep", "mouse": "mice", "knife": "knives", "fish": "fish",
           "pair of skis": "pairs of skis", "pair of scissors": "pairs of scissors", "bus": "buses",
           "glass": "glasses", "couch": "couches", "bench": "benches", "sandwich": "sandwiches", "box": "boxes", "dish": "dishes", "goose": "geese",
           "deer": "deer", "ox": "oxen", "bird of prey": "birds of prey", "child": "children", "man": "men", "woman": "women"}


def plural(noun: str) -> str:
    head, _, last = noun.rpartition(" ")
    if noun in PLURALS:
        return PLURALS[noun]
    if last in PLURALS:
        return f"{head} {PLURALS[last]}".strip()
    if re.search(r"(s|sh|ch|x|z)$", noun):
        return noun + "es"
    if re.search(r"[^aeiou]y$", noun):
        return noun[:-1] + "ies"
    return noun + "s"


def article(noun: str) -> str:
    return ("an " if noun[:1].lower() in "aeiou" else "a ") + noun


def number(n: int, noun: str, plural_form: str | None = None, a: bool = False) -> str:
    """'two cats'; with `a`, 'a cat' for one."""
    if n == 1 and a:
        return article(noun)
    word = WORDS[n] if n < len(WORDS) else str(n)
    return f"{word} {noun if n == 1 else (plural_form or plural(noun))}"


def clean(text: str | None) -> str:
    return re.sub(r"\s+", " ", text or "").strip().rstrip(".")


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


def _noun(thing: dict) -> str:
    return thing["fine"] or SAY.get(thing["name"], thing["name"])


def subjects(record: dict) -> list[str]:
    """The main subjects with their counts, people first, then objects by area, then what only
    the ImageNet head named (no count: 'a lizard'); hands stand in for hidden people."""
    c = record["counts"]
    out = []
    if c["people"]:
        out.append(number(c["people"], "person", "people", a=True))
    elif c["hands"]:
        out.append(number(c["hands"], "hand", a=True))
    out += [number(t["count"], _noun(t), a=True) for t in record["objects"]]
    seen = {t["name"] for t in record["objects"]} | {t["fine"] for t in record["objects"]} \
        | ({"person"} if c["people"] else set())
    kinds = {KIND_OF.get(t["name"]) for t in record["objects"]}
    for label in record["labels"]:
        if label["name"] == "animal" and out:
            continue  # the head's fallback word, for a picture nothing else names
        if label["kind"] != "scene" and not {label["coco"], label["name"], label["group"]} & seen \
                and label["name"] not in kinds:
            out.append(article(label["name"]))
            seen.add(label["coco"] or label["name"])
    return out


def conflicts(record: dict, original: str | None) -> list[alttext.Mention]:
    """Counts the original text states that the detectors contradict: they looked and counted
    another number (people when the people search ran; objects when the detector ran)."""
    counted = {t["name"]: t["count"] for t in record["objects"]}
    counted["person"] = record["counts"]["people"]
    ran = record["provenance"]
    out = []
    for m in alttext.mentions(original):
        looked = ran["people"] != "not run" if m.coco == "person" else ran["objects"] != "not run"
        if looked and counted.get(m.coco, 0) != m.count:
            out.append(m)
    return out


def _merged_original(original: str | None, contradicted: list[alttext.Mention]) -> str:
    """The original text's first sentence, with the numbers the detectors contradict dropped."""
    text = re.split(r"(?<=[.!?])\s", clean(original), maxsplit=1)[0].rstrip(".!?") if original else ""
    for m in contradicted:
        first, _, rest = m.words.partition(" ")
        if first.lower() not in ("a", "an") and rest:
            text = re.sub(re.escape(m.words), rest, text, count=1)
    return text


def template_summary(record: dict, original: str | None) -> str:
    medium = record["medium"] if record["medium"] != "unknown" else "image"
    head = article(medium)
    named = subjects(record)
    scenes = [label["name"] for label in record["labels"] if label["kind"] == "scene"]
    # the place the head names (a palace, a stage) is a subject too: after what the detectors
    # counted, so a monument with its visitors is "nine people and a palace", not "nine people"
    named = named[:MAX_SUBJECTS - 1] + [article(scenes[0])] if scenes else named[:MAX_SUBJECTS]
    if named:
        head += " of " + _join(named)
    merged = _merged_original(original, conflicts(record, original))
    return head + (f": {merged}" if merged else "")


def _text_tail(record: dict) -> str:
    texts = [f'"{t["text"]}"' for t in record["text"]]
    return (", with the text " + ", ".join(texts[:3])) if texts else ""


def short(record: dict) -> str:
    if record["provenance"]["summary"] == "template":
        return record["summary"] + _text_tail(record) + "."
    # a VLM's sentence, then the detectors' subjects and counts: its own count never stands alone
    first = clean(re.split(r"(?<=[.!?])\s", record["summary"].strip(), maxsplit=1)[0])
    named = subjects(record)
    return first + (", with " + _join(named[:MAX_SUBJECTS]) if named else "") + _text_tail(record) + "."


def _hand_words(hand: dict) -> str:
    if not hand["countable"]:
        return "fingers not countable"
    return number(hand["fingers_extended"], "finger") + " extended"


def dense(record: dict) -> str:
    c = record["counts"]
    hands = [(i, arm["side"], arm["hand"]) for i, p in enumerate(record["people"], 1) for arm in p["arms"] if arm["hand"]]
    countable = sum(h["countable"] for *_, h in hands) + sum(h["countable"] for h in record["hands"])
    s = [clean(record["summary"]) + ".", f"Medium: {record['medium']}."]
    if record["objects"]:
        s.append("Objects: " + ", ".join(
            number(t["count"], SAY.get(t["name"], t["name"])) + (f" ({plural(t['fine']) if t['count'] > 1 else t['fine']})"
                                                                 if t["fine"] else "")
            for t in record["objects"]) + ".")
    if record["labels"]:
        s.append("The image classifier names " + ", ".join(
            f"{lb['name']} ({SAY.get(lb['group'], lb['group']) + ', ' if lb['group'] else ''}{lb['score']:.2f})"
            for lb in record["labels"]) + ".")
    # "No people" would be false beside a hand: its person is there, hidden or out of frame
    who = "no body found" if not c["people"] and c["hands"] else number(c["people"], "person", "people")
    s.append(f"{who.capitalize()}, {number(c['faces'], 'face')} visible, "
             f"{number(c['arms'], 'arm')} and {number(c['hands'], 'hand')} visible.")
    if countable:
        s.append(f"{number(c['fingers_extended'], 'finger').capitalize()} extended on "
                 f"{number(countable, 'hand')} clear enough to count.")
    for i, p in enumerate(record["people"], 1):
        arms = [a["side"] for a in p["arms"] if a["visible"]]
        body = {"full": "full body", "upper": "upper body", "head": "head only", "unknown": "pose not found"}[p["body"]]
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
    """The caption struct of docs/contracts.md section 4."""
    data = plain(facts)
    out = {
        "summary": None,
        "medium": facts.medium,
        "people": data["people"],
        "hands": data["hands"],
        "counts": facts.counts(),
        "objects": data["objects"],
        "labels": data["labels"],
        "text": data["text"],
        "uncertain": list(facts.uncertain),
        "provenance": provenance,
    }
    for m in conflicts(out, original):
        seen = out["counts"]["people"] if m.coco == "person" else sum(t["count"] for t in out["objects"] if t["name"] == m.coco)
        out["uncertain"].append(f'the original text says "{m.words}"; the detectors counted '
                                f'{number(seen, "person", "people") if m.coco == "person" else number(seen, m.coco)}')
    out["summary"] = summary or template_summary(out, original)
    return out
