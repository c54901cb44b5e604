"""report.html: what an audit found, for a person to look at.

Flagged samples beside their nearest training images, the nearest-neighbour similarity
histogram with the thresholds drawn, novelty overall and per prompt, and copy rate against how
often the training image was duplicated. Images and charts are embedded (data URIs), so the
page opens offline and can be mailed around.
"""

import base64
import html
import io
from pathlib import Path

from curate.audit.verdict import VERDICTS, Thresholds
from curate.audit.nearest import stored_bytes
from curate.raw import decode, to_rgb
from curate.report_html import STYLE, data_uri
from curate.workspace import Workspace

CLUSTER_BINS = ((1, 1), (2, 4), (5, 19), (20, None))
SHOWN_NOVEL = 6  # the closest novel samples are shown too: what "novel" looked like in this run
AUDIT_STYLE = """
.row{display:flex;gap:10px;align-items:flex-start;background:#fff;border:1px solid #ddd;border-radius:8px;
     padding:10px;margin:0 0 12px}
.row figure img{width:128px;height:128px;object-fit:contain;image-rendering:pixelated}
figure.sample{border-right:2px solid #ccc;padding-right:10px}
figure.removed{border-left:2px dashed #ccc;padding-left:10px} figcaption a{color:#555}
.copy{color:#b3261e;font-weight:600} .near{color:#b26a00;font-weight:600} .novel{color:#2a7d3a}
table{border-collapse:collapse;margin:8px 0 18px} td,th{border:1px solid #ccc;padding:3px 8px;font-size:13px}
"""
COLOURS = {"novel": "#2a7d3a", "near": "#e09a00", "copy": "#b3261e"}
THUMB = 160


def _thumb(data: bytes) -> str:
    return data_uri(to_rgb(decode(data)), THUMB)


def _png(fig) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def _charts(rows: list[dict], t: Thresholds) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    top = [r for r in rows if r["rank"] == 1]
    decisive = [r for r in rows if r["decisive"]]
    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 3.6), dpi=90)
    a.hist([r["similarity"] for r in top], bins=30, range=(0, 1), color="#5b7fa6")
    a.axvline(t.near_similarity, color=COLOURS["near"], ls="--", label=f"near >= {t.near_similarity}")
    a.axvline(t.copy_similarity, color=COLOURS["copy"], ls=":", label=f"copy needs >= {t.copy_similarity}")
    a.set(xlabel="cosine to the nearest training image", ylabel="samples", title="nearest-neighbour similarity")
    a.legend(fontsize=8)
    for name in VERDICTS:
        mine = [r for r in decisive if r["verdict"] == name]
        b.scatter([r["similarity"] for r in mine], [r["tile_l2"] for r in mine], s=14, color=COLOURS[name],
                  label=f"{name} ({len(mine)})")
    b.axhline(t.copy_tile_l2, color=COLOURS["copy"], ls="--", label=f"copy: tiled L2 <= {t.copy_tile_l2}")
    b.axvline(t.near_similarity, color=COLOURS["near"], ls="--")
    b.set(xlabel="cosine", ylabel="tiled L2 (max over 4x4 tiles)", title="each sample's decisive match",
          xlim=(0, 1), ylim=(0, None))
    b.legend(fontsize=8)
    fig.tight_layout()
    uri = _png(fig)
    plt.close(fig)
    return f"<img alt='similarity histogram and tiled L2 scatter' src='{uri}'>"


def _rate_table(title: str, groups: dict[str, list[dict]]) -> str:
    head = "".join(f"<th>{v}</th>" for v in VERDICTS)
    body = []
    for label, members in groups.items():
        n = len(members)
        counts = "".join(f"<td>{sum(r['verdict'] == v for r in members)}</td>" for v in VERDICTS)
        novel = sum(r["verdict"] == "novel" for r in members) / n if n else 0
        copy = sum(r["verdict"] == "copy" for r in members) / n if n else 0
        body.append(f"<tr><td>{html.escape(label)}</td><td>{n}</td>{counts}<td>{novel:.0%}</td><td>{copy:.0%}</td></tr>")
    return (f"<table><tr><th>{title}</th><th>samples</th>{head}<th>novelty rate</th><th>copy rate</th></tr>"
            + "".join(body) + "</table>")


def _cluster_groups(decisive: list[dict]) -> dict[str, list[dict]]:
    groups = {}
    for lo, hi in CLUSTER_BINS:
        label = f"{lo}" if lo == hi else (f"{lo}-{hi}" if hi else f"{lo}+")
        groups[label] = [r for r in decisive if (r["nearest_cluster_size"] or 1) >= lo
                         and (hi is None or (r["nearest_cluster_size"] or 1) <= hi)]
    return groups


def _figure(src: str, css: str, text: str, title: str = "") -> str:
    return f"<figure class='{css}'><img src='{src}' title='{html.escape(title)}'><figcaption>{text}</figcaption></figure>"


def _credit(row: dict) -> str:
    """The training image's URL and license, as a flagged match shows them."""
    return (f"<br><a href='{html.escape(row['url'] or '')}'>{html.escape((row['url'] or '')[-40:])}</a>"
            f"<br>license: {html.escape(row['license'] or 'unknown')}")


def write_report(ws: Workspace, out_ws: Workspace, samples, rows: list[dict], where: dict[str, dict],
                 t: Thresholds, against: str) -> Path:
    removed = {r["sample_id"]: r for r in rows if r["matched"] == "removed_duplicate"}
    rows = [r for r in rows if r["matched"] != "removed_duplicate"]
    by_sample = {}
    for r in rows:
        by_sample.setdefault(r["sample_id"], []).append(r)
    decisive = [r for r in rows if r["decisive"]]
    prompt = {s.sample_id: s.prompt or "(no prompt)" for s in samples}
    path = {s.sample_id: s.path for s in samples}
    flagged = sorted((r for r in decisive if r["verdict"] != "novel"),
                     key=lambda r: (-VERDICTS.index(r["verdict"]), r["tile_l2"]))
    closest_novel = sorted((r for r in decisive if r["verdict"] == "novel"), key=lambda r: -r["similarity"])
    shown = flagged + closest_novel[:SHOWN_NOVEL]
    shown_ids = {n["nearest_id"] for r in shown for n in by_sample[r["sample_id"]]}
    shown_ids |= {removed[r["sample_id"]]["nearest_id"] for r in shown if r["sample_id"] in removed}
    blobs = stored_bytes(ws, {i: where[i] for i in shown_ids})

    novel = sum(r["verdict"] == "novel" for r in decisive)
    copies = sum(r["verdict"] == "copy" for r in decisive)
    per_prompt = {}
    for r in decisive:
        per_prompt.setdefault(prompt[r["sample_id"]], []).append(r)
    parts = [f"<!doctype html><meta charset=utf-8><title>curate audit: {html.escape(out_ws.root.name)}</title>",
             f"<style>{STYLE}{AUDIT_STYLE}</style>",
             f"<h1>Novelty audit of {html.escape(str(out_ws.root))}</h1>",
             f"<p>{len(decisive)} samples matched against {html.escape(against)} "
             f"({html.escape(rows[0]['embedder'])} index, {max(r['rank'] for r in rows)} nearest each"
             + ("; beside them, the nearest image dedupe removed from that set, which the model did not see"
                if removed else "") + "). "
             f"<b>Novelty rate {novel / len(decisive):.0%}</b>: {novel} novel, "
             f"{sum(r['verdict'] == 'near' for r in decisive)} near, {copies} copy. "
             f"Thresholds: copy when the tiled L2 is at most {t.copy_tile_l2}, or at most {t.copy_coarse_l2} "
             f"over 4x4-pixel block means (a sampler's grain averaged out), that distance at most "
             f"{t.copy_structure} times the training image's contrast (its pixels' std), and the cosine at least "
             f"{t.copy_similarity}); near when the cosine is at least {t.near_similarity}.</p>",
             _charts(rows, t),
             "<h2>Novelty per prompt</h2>", _rate_table("prompt", dict(sorted(per_prompt.items()))),
             "<h2>Copying against duplication in training</h2>",
             "<p>Samples grouped by how many images were in the duplicate cluster of their decisive match "
             "before dedupe. If duplication drives copying, the copy rate climbs down the table.</p>",
             _rate_table("cluster size", _cluster_groups(decisive)),
             f"<h2>Flagged samples ({len(flagged)})</h2>"]
    if not flagged:
        parts.append("<p>No sample is near or a copy of a training image.</p>")
    sections = [(flagged, None), (closest_novel[:SHOWN_NOVEL], f"<h2>The {SHOWN_NOVEL} closest novel samples</h2>")]
    for group, heading in sections:
        if heading and group:
            parts.append(heading)
        for r in group:
            score = by_sample[r["sample_id"]][0]["text_noise"]
            noise = "" if score is None else f"<br>text noise {score:.2f}"
            parts.append("<div class=row>" + _figure(
                _thumb(path[r["sample_id"]].read_bytes()), "sample",
                f"<span class={r['verdict']}>{r['verdict']}</span> {html.escape(r['sample_id'])}"
                f"<br>{html.escape(prompt[r['sample_id']][:60])}{noise}"))
            for n in by_sample[r["sample_id"]]:
                row = where[n["nearest_id"]]
                parts.append(_figure(
                    _thumb(blobs[n["nearest_id"]]), "",
                    f"#{n['rank']} <span class={n['verdict']}>{n['verdict']}</span><br>cos {n['similarity']:.3f} "
                    f"&middot; tile L2 {n['tile_l2']:.3f} (coarse {n['coarse_l2']:.3f})<br>cluster of {n['nearest_cluster_size']}"
                    f"<br>{html.escape((row['text'] or '')[:50])}{_credit(row)}", row["url"] or ""))
            if r["sample_id"] in removed:
                n = removed[r["sample_id"]]
                parts.append(_figure(
                    _thumb(blobs[n["nearest_id"]]), "removed",
                    f"<b>removed duplicate</b> (not trained on)<br><span class={n['verdict']}>{n['verdict']}</span> "
                    f"cos {n['similarity']:.3f} &middot; tile L2 {n['tile_l2']:.3f}{_credit(where[n['nearest_id']])}",
                    where[n["nearest_id"]]["url"] or ""))
            parts.append("</div>")
    out = out_ws.root / "report.html"
    out.write_text("\n".join(parts))
    return out
