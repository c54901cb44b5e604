"""img2dataset's raw shard (tar + per-sample parquet) -> rows of the `images` manifest.

The shard's plan (its input file) is the authority on what must have a row: an input that
img2dataset dropped still gets one, with status download_failed.
"""

import hashlib
import math

import pyarrow.parquet as pq
from img2dataset.downloader import compute_key

from curate.ingest.safe_resizer import TOO_LARGE
from curate.dedupe.fingerprints import fingerprints
from curate.raw import decode, read_shard_images, to_rgb
from curate.workspace import Workspace

SHARD_DIGITS = 5
FILTERED = ("image too small", "image area too large", "aspect ratio too large")


def raw_complete(ws: Workspace, shard: str) -> bool:
    """img2dataset writes the stats file last, so its presence means the tar is whole."""
    return all((ws.raw / f"{shard}{ext}").exists() for ext in ("_stats.json", ".tar", ".parquet"))


def status_of(meta: dict) -> str:
    if meta["status"] == "success":
        return "ok"
    error = meta["error_message"] or ""
    if meta["status"] == "failed_to_download":
        return "disallowed" if "X-Robots-Tag" in error else "download_failed"
    if error.startswith(TOO_LARGE):
        return "too_large"
    if error in FILTERED:
        return "filtered"
    return "decode_failed"


def image_rows(ws: Workspace, shard: str, inputs: list[dict], number_sample_per_shard: int):
    """(images rows, hashes rows): the content fingerprints are taken here, where every stored
    image is decoded once anyway, so that no later stage decodes for them again."""
    metas = {m["key"]: m for m in pq.read_table(ws.raw / f"{shard}.parquet").to_pylist()}
    stored = read_shard_images(ws, shard)
    digits = math.ceil(math.log10(number_sample_per_shard))
    rows, hashes = [], {}
    for i, item in enumerate(inputs):
        key = compute_key(i, int(shard), digits, SHARD_DIGITS)
        row = {"source": item["source"], "url": item["url"], "text": item["caption"],
               "license": item["license"], "shard": shard, "key": key}
        meta = metas.get(key)
        if meta is None:
            row.update(status="download_failed", error="img2dataset wrote no record for this sample")
        elif key in stored:
            data = stored[key]
            image = decode(data)
            row.update(
                id=hashlib.sha256(data).hexdigest(), status="ok", format=image.format.lower(), bytes=len(data),
                width=meta["width"], height=meta["height"],
                original_width=meta["original_width"], original_height=meta["original_height"],
            )
            if row["id"] not in hashes:
                hashes[row["id"]] = {"id": row["id"], **fingerprints(to_rgb(image))}
        else:
            status = status_of(meta)
            row.update(status=status if status != "ok" else "download_failed", error=meta["error_message"])
        rows.append(row)
    return rows, list(hashes.values())
