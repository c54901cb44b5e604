"""img2dataset's raw shard (tar + per-sample parquet) -> rows of the `images` manifest.

The shard's plan (its input file) is the authority on what must have a row: an input that
img2dataset dropped still gets one, with status download_failed. Nothing one input holds can
fail the shard: a stored image that Pillow cannot decode (OpenCV, which img2dataset decodes
with, is more lenient) becomes that row's decode_failed.
"""

import hashlib
import math

import pyarrow.parquet as pq
from img2dataset.downloader import compute_key
from PIL import Image

from curate.fingerprints import fingerprints
from curate.ingest.safe_resizer import TOO_LARGE, UNSUPPORTED
from curate.raw import decode, member_offsets, read_at, to_rgb
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
    if error.startswith(UNSUPPORTED):
        return "unsupported_format"
    if error in FILTERED:
        return "filtered"
    return "decode_failed"


def _stored_row(data: bytes, meta: dict) -> tuple[dict, dict | None]:
    """(row fields, fingerprints) of a stored image; a decoder's failure is the row's status."""
    try:
        image = decode(data)
        hashes = fingerprints(to_rgb(image))
    except Image.DecompressionBombError as err:
        return {"status": "too_large", "error": f"{TOO_LARGE}: {err}"}, None
    except Exception as err:  # noqa: BLE001 - any decoder error belongs to this image only
        return {"status": "decode_failed", "error": f"stored image does not decode: {type(err).__name__}: {err}"}, None
    row = {"id": hashlib.sha256(data).hexdigest(), "status": "ok", "format": image.format.lower(), "bytes": len(data),
           **{k: meta[k] for k in ("width", "height", "original_width", "original_height")}}
    return row, hashes


def image_rows(ws: Workspace, shard: str, inputs: list[dict], number_sample_per_shard: int):
    """(images rows, hashes rows): the content fingerprints are taken here, where every stored
    image is decoded once anyway, so that no later stage decodes for them again. Stored images
    are read one at a time, so memory holds one image, not the shard."""
    metas = {m["key"]: m for m in pq.read_table(ws.raw / f"{shard}.parquet").to_pylist()}
    tar = ws.raw / f"{shard}.tar"
    stored = member_offsets(tar)
    digits = math.ceil(math.log10(number_sample_per_shard))
    rows, hashes = [], {}
    for i, item in enumerate(inputs):
        key = compute_key(i, int(shard), digits, SHARD_DIGITS)
        row = {"source": item["source"], "url": item["url"], "text": item["caption"],
               "license": item["license"], "shard": shard, "key": key}
        meta = metas.get(key)
        if item.get("error"):
            row.update(status="download_failed", error=item["error"])
        elif meta is None:
            row.update(status="download_failed", error="img2dataset wrote no record for this sample")
        elif key in stored:
            fields, fingerprint = _stored_row(read_at(tar, *stored[key]), meta)
            row.update(fields)
            if fingerprint and row["id"] not in hashes:
                hashes[row["id"]] = {"id": row["id"], **fingerprint}
        else:
            status = status_of(meta)
            row.update(status=status if status != "ok" else "download_failed", error=meta["error_message"])
        rows.append(row)
    return rows, list(hashes.values())
