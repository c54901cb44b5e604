"""`curate dedupe --report`: an HTML contact sheet of the largest clusters, so a person can see
what was merged. Thumbnails are embedded, so the page opens offline and can be mailed around."""

import html
from pathlib import Path

from curate import manifest
from curate.dedupe import first_rows
from curate.raw import decode, read_shard_images, to_rgb
from curate.report_html import STYLE, THUMB, data_uri, write_page
from curate.workspace import Workspace


def _thumb(data: bytes) -> str:
    return data_uri(to_rgb(decode(data)), THUMB)


def write_report(ws: Workspace, summary: dict, max_clusters: int = 40) -> Path:
    dups = manifest.read_table(ws, "duplicates").to_pylist()
    first, _ = first_rows(ws)
    groups = {}
    for r in dups:
        groups.setdefault(r["cluster"], []).append(r)
    largest = sorted((g for g in groups.values() if len(g) > 1 or g[0]["copies"] > 1),
                     key=lambda g: (-g[0]["cluster_size"], g[0]["cluster"]))[:max_clusters]
    wanted = {}
    for group in largest:
        for r in group:
            wanted.setdefault(first[r["id"]]["shard"], []).append(first[r["id"]]["key"])
    data = {}
    for shard, keys in wanted.items():
        for key, blob in read_shard_images(ws, shard, keys).items():
            data[(shard, key)] = blob
    parts = [f"<!doctype html><meta charset=utf-8><title>curate dedupe: {html.escape(ws.root.name)}</title>",
             f"<style>{STYLE}</style><h1>Duplicate clusters in {html.escape(str(ws.root))}</h1>",
             f"<p>{summary['images']} images ({summary['byte_copies']} byte copies of another), {summary['distinct']} "
             f"distinct, {summary['kept']} kept. Distinct images removed by tier: "
             + ", ".join(f"{k} {v}" for k, v in summary["removed"].items())
             + f". The {len(largest)} largest clusters; the kept member has a green frame.</p>"]
    for group in largest:
        group.sort(key=lambda r: (not r["keep"], -(r["similarity"] or 0)))
        parts.append(f"<div class=cluster><div>cluster of {group[0]['cluster_size']} images</div><div class=members>")
        for r in group:
            row = first[r["id"]]
            label = "kept" if r["keep"] else r["kind"]
            sim = "" if r["similarity"] is None else f"cos {r['similarity']:.3f}"
            copies = f" &middot; {r['copies']} byte copies" if r["copies"] > 1 else ""
            caption = html.escape((row["text"] or "")[:60])
            parts.append(
                f"<figure class='{'keep' if r['keep'] else ''}'><img src='{_thumb(data[(row['shard'], row['key'])])}' "
                f"title='{html.escape(row['url'] or '')}'><figcaption><span class=kind>{label}</span> {sim}{copies}"
                f"<br>{row['width']}x{row['height']}<br>{caption}</figcaption></figure>")
        parts.append("</div></div>")
    return write_page(ws.root, "dedupe", parts)
