"""`curate score --report`: reports/scores.html, to pick thresholds from the distribution: per
score a histogram (inline SVG, so the page opens offline) and example images at several levels
(the lowest, the quartiles, the highest), each with its value."""

import html
from pathlib import Path

import numpy as np

from curate import manifest
from curate.report_html import STYLE, data_uri, write_page
from curate.raw import decode, images_by_id, to_rgb
from curate.score import columns
from curate.workspace import Workspace

BINS = 30
THUMB = 140
BAR = "#e8590c"
LEVELS = (0.0, 0.25, 0.5, 0.75, 1.0)
SHOWN = ("nsfw", "nsfw_drawing", "quality", "text_area", "sharpness", "blur", "aesthetic")
MEANING = {"nsfw": "0-1, porn + hentai + sexy: higher is less safe", "nsfw_drawing": "0-1, the model's drawing class",
           "quality": "BRISQUE: lower is better (about 0 clean, 100 badly distorted)",
           "text_area": "0-1, share of the image inside OCR text boxes", "sharpness": "variance of Laplacian: higher is sharper",
           "blur": "0-1 blur effect: higher is blurrier", "aesthetic": "opt-in: your aesthetic head on your embeddings"}
REPORT_STYLE = STYLE + """
.score{background:#fff;border:1px solid #ddd;border-radius:8px;padding:12px;margin:0 0 18px}
.examples{display:flex;gap:10px;flex-wrap:wrap} .examples figure{width:%dpx}
""" % THUMB


def histogram(values: np.ndarray, width: int = 560, height: int = 120) -> str:
    counts, edges = np.histogram(values, BINS)
    top, w = max(1, counts.max()), width / BINS
    bars = "".join(f"<rect x='{i * w:.1f}' y='{height - c / top * height:.1f}' width='{w - 1:.1f}' "
                   f"height='{c / top * height:.1f}' fill='{BAR}'><title>{edges[i]:.3g} to {edges[i + 1]:.3g}: {c}</title></rect>"
                   for i, c in enumerate(counts))
    axis = (f"<text x='0' y='{height + 14}' font-size='11'>{edges[0]:.3g}</text>"
            f"<text x='{width}' y='{height + 14}' font-size='11' text-anchor='end'>{edges[-1]:.3g}</text>")
    return f"<svg width='{width}' height='{height + 18}'>{bars}{axis}</svg>"


def write_report(ws: Workspace) -> Path:
    scores = [r for r in manifest.read_table(ws, "scores").to_pylist() if r["status"] == "ok"]
    picks = {}
    for name in SHOWN:
        ranked = sorted((r for r in scores if r[name] is not None), key=lambda r: r[name])
        if ranked:
            picks[name] = list(dict.fromkeys(ranked[round(q * (len(ranked) - 1))]["id"] for q in LEVELS))
    data = images_by_id(ws, [id_ for ids in picks.values() for id_ in ids])
    thumbs = {id_: data_uri(to_rgb(decode(data[id_])), THUMB) for ids in picks.values() for id_ in ids}
    by_id = {r["id"]: r for r in scores}
    provenance = scores[0]["provenance"] if scores else {}
    parts = [f"<!doctype html><meta charset=utf-8><title>curate scores: {html.escape(ws.root.name)}</title>",
             f"<style>{REPORT_STYLE}</style><h1>Scores in {html.escape(str(ws.root))}</h1>",
             f"<p>{len(scores)} images scored. Nothing is deleted by a score: pick with "
             "<code>curate shard --where \"nsfw &lt; 0.2 AND quality &lt; 40\"</code>. Other score columns: "
             f"{', '.join(c for c in columns() if c not in SHOWN)}.</p>"]
    for name in SHOWN:
        values = np.array([r[name] for r in scores if r[name] is not None], float)
        if not values.size:
            continue
        model = provenance.get(name.split("_")[0] if name.startswith("nsfw") else name, "")
        q = np.percentile(values, [5, 25, 50, 75, 95])
        figures = "".join(f"<figure><img src='{thumbs[i]}'><figcaption>{name} {by_id[i][name]:.3g}</figcaption></figure>"
                          for i in picks[name])
        parts.append(f"<div class=score id='{name}'><h2>{name}</h2><p>{html.escape(MEANING[name])} &middot; "
                     f"<small>{html.escape(model)}</small></p>{histogram(values)}"
                     f"<p>percentiles 5/25/50/75/95: {' / '.join(f'{v:.3g}' for v in q)}</p>"
                     f"<div class=examples>{figures}</div></div>")
    return write_page(ws.root, "scores", parts)
