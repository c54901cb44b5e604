"""`curate caption --report`: reports/captions.html, each image beside its caption, with the
objects (purple, labelled), people (blue), hands (green, or orange where fingers were not
countable) and text lines (red) the detectors found drawn on it, so a person can check the
counts by eye."""

import html
from pathlib import Path

from PIL import ImageDraw, ImageFont

from curate import manifest
from curate.raw import decode, images_by_id, to_rgb
from curate.report_html import STYLE, data_uri, write_page
from curate.workspace import Workspace

SIZE = 320
COLOURS = {"object": (150, 60, 200), "person": (40, 110, 230), "hand": (30, 170, 60), "uncounted": (240, 140, 0), "text": (220, 40, 40)}
SHEET_STYLE = STYLE + """
.row{display:flex;gap:16px;background:#fff;border:1px solid #ddd;border-radius:8px;padding:12px;margin:0 0 14px}
.row img{max-width:%dpx;max-height:%dpx;border-radius:4px;background:#eee}
.row p{margin:4px 0;font-size:14px} .short{font-weight:600} .unc{color:#a60}
""" % (SIZE, SIZE)


def draw(image, caption: dict):
    """A copy of `image` with the record's boxes drawn (line width scaled to the image)."""
    image = image.copy()
    pen = ImageDraw.Draw(image)
    width = max(1, round(max(image.size) / 200))
    hands = list(caption["hands"])
    font = ImageFont.load_default(size=max(10, 7 * width))  # readable once the sheet shrinks the image
    for thing in caption["objects"] or []:
        for box, score in zip(thing["boxes"], thing["scores"]):
            pen.rectangle(box, outline=COLOURS["object"], width=width)
            label = f"{thing['fine'] or thing['name']} {score:.2f}"
            x, y = box[0] + width, box[1] + width
            pen.rectangle(pen.textbbox((x, y), label, font=font), fill=COLOURS["object"])
            pen.text((x, y), label, fill=(255, 255, 255), font=font)
    for person in caption["people"]:
        pen.rectangle(person["box"], outline=COLOURS["person"], width=width)
        hands += [a["hand"] for a in person["arms"] if a["hand"]]
    for hand in hands:
        pen.rectangle(hand["box"], outline=COLOURS["hand" if hand["countable"] else "uncounted"], width=width)
        if hand["countable"]:
            pen.text((hand["box"][0] + 2, hand["box"][1] + 1), str(hand["fingers_extended"]), fill=COLOURS["hand"])
    for line in caption["text"]:
        pen.rectangle(line["box"], outline=COLOURS["text"], width=width)
    return image


def write_sheet(ws: Workspace, limit: int = 60) -> Path:
    """The `limit` captions with the most detector findings (people, hands, text) first."""
    captions = [r for r in manifest.read_table(ws, "captions").to_pylist() if r["caption"]]
    captions.sort(key=lambda r: (-(r["hands"] + r["people"] + len(r["objects"] or []) + bool(r["text_in_image"])), r["id"]))
    captions = captions[:limit]
    data = images_by_id(ws, [r["id"] for r in captions])
    parts = [f"<!doctype html><meta charset=utf-8><title>curate captions: {html.escape(ws.root.name)}</title>",
             f"<style>{SHEET_STYLE}</style><h1>Captions in {html.escape(str(ws.root))}</h1>",
             "<p>Boxes: <b style='color:#963cc8'>objects</b>, <b style='color:#286ee6'>people</b>, <b style='color:#1eaa3c'>hands with a finger count</b>, "
             "<b style='color:#f08c00'>hands not countable</b>, <b style='color:#dc2828'>text</b>.</p>"]
    for r in captions:
        image = draw(to_rgb(decode(data[r["id"]])), r["caption"])
        unc = "".join(f"<p class=unc>uncertain: {html.escape(u)}</p>" for u in r["caption"]["uncertain"])
        parts.append(f"<div class=row><img src='{data_uri(image, SIZE)}'><div>"
                     f"<p class=short>{html.escape(r['short'])}</p><p>{html.escape(r['dense'])}</p>{unc}"
                     f"<p><small>{html.escape(r['captioner'])} &middot; {r['status']}</small></p></div></div>")
    return write_page(ws.root, "captions", parts)
