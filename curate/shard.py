"""`curate shard`: curated WebDataset shards for training.

The images a manifest query picks (status ok, one per distinct image, kept by dedupe when it
has run), with their stored bytes unchanged and their captions beside them, go to
shards/<set>/NNNNN.tar, and manifests/train_shards says which image is where. Any WebDataset
reader can train on the tars (<key>.jpg|png|webp; <key>.txt, the short caption; <key>.json:
id, short, dense, url, license); `curate train` reads them by the offsets in train_shards.

A set is a pure function of its query and the manifests, written down in shards/<set>/plan.json:
a rerun with the same inputs writes nothing, a killed run writes only the tars it had not
finished, and a changed selection (another query, a new dedupe or caption run) replaces the
whole set, so a set never mixes two selections.
"""

import hashlib
import io
import json
import os
import re
import shutil
import tarfile
from pathlib import Path

from curate import manifest
from curate.errors import UserError
from curate.progress import bar
from curate.query import fetch, predicate
from curate.raw import member_offsets, read_stored
from curate.score import columns as score_columns
from curate.workspace import Workspace

DEFAULT_SET = "train"
PER_SHARD = 1000
SET_NAME = re.compile(r"[A-Za-z0-9_]+")  # no '-': partitions are part-<set>-NNNNN
EXTENSIONS = {"jpeg": "jpg", "png": "png", "webp": "webp"}


def select(ws: Workspace, where: str = "true") -> list[dict]:
    """Stored images that pass `where`, one per distinct image, kept by dedupe when it has run,
    with their training captions: `short`/`dense` from manifests/captions where the caption stage
    ran, else the ingested text for both. `where` sees the columns of images, plus keep and
    cluster_size (dedupe), people, faces, hands, fingers, text_in_image (captions) and the
    score columns (score); an image without a scores row has NULL there, so `nsfw < 0.2` leaves
    it out."""
    deduped, captioned = bool(ws.partitions("duplicates")), bool(ws.partitions("captions"))
    joins, columns = "", ""
    if deduped:
        joins += " LEFT JOIN (SELECT id, keep, cluster_size FROM duplicates) USING (id)"
        columns += ", keep, cluster_size"
    if captioned:
        joins += (" LEFT JOIN (SELECT id, short AS c_short, dense AS c_dense, captioner, people, faces, hands, "
                  "fingers, text_in_image FROM captions) USING (id)")
        columns += ", people, faces, hands, fingers, text_in_image"
        texts = ("coalesce(c_short, text, '') AS short, coalesce(c_dense, text, '') AS dense, "
                 "CASE WHEN c_short IS NULL THEN 'images.text' ELSE 'captions:' || captioner END AS caption_used")
    else:
        texts = "coalesce(text, '') AS short, coalesce(text, '') AS dense, 'images.text' AS caption_used"
    if ws.partitions("scores"):
        joins += f" LEFT JOIN (SELECT id, {', '.join(score_columns())} FROM scores) USING (id)"
        columns += ", " + ", ".join(score_columns())
    # `where` filters this relation after the QUALIFY (it is never pasted into the SQL text)
    sql = f"""
        SELECT images.*, {texts} {columns}
        FROM images {joins}
        WHERE status = 'ok' {"AND keep" if deduped else ""}
        QUALIFY row_number() OVER (PARTITION BY id ORDER BY shard, key) = 1"""
    picked = fetch(ws, sql, where).select(["id", "shard", "key", "format", "width", "height", "url", "license", "text",
                                           "short", "dense", "caption_used"])
    rows = sorted(picked.to_pylist(), key=lambda r: (r["shard"], r["key"]))
    if not rows:
        raise UserError(f"the query selects no images (--where {where!r})")
    return rows


def _check_name(name: str) -> None:
    if not SET_NAME.fullmatch(name):
        raise UserError(f"shard set name {name!r}: use letters, digits and '_' only")


def plan(ws: Workspace, name: str = DEFAULT_SET) -> dict | None:
    """The set's plan (its query, fingerprint and size) if it has been cut."""
    path = ws.shards / name / "plan.json"
    if not path.exists():
        return None
    try:
        planned = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise UserError(f"{path} is damaged ({err}); delete shards/{name}/ and cut the set again") from None
    if (not isinstance(planned, dict) or not isinstance(planned.get("where", ""), str)
            or not isinstance(planned.get("per_shard", 1), int)):
        raise UserError(f"{path} is not a shard set plan; delete shards/{name}/ and cut the set again")
    return planned


def _set_partitions(ws: Workspace, name: str) -> list[Path]:
    pattern = re.compile(rf"{re.escape(name)}-\d{{5}}")
    return [ws.partition("train_shards", p) for p in ws.partition_names("train_shards") if pattern.fullmatch(p)]


def _fingerprint(rows: list[dict], per_shard: int) -> str:
    digest = hashlib.sha256(str(per_shard).encode())
    for r in rows:
        digest.update(json.dumps([r["id"], r["shard"], r["key"], r["short"], r["dense"], r["caption_used"]]).encode())
    return digest.hexdigest()


def _add(tf: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mode = len(data), 0o644
    tf.addfile(info, io.BytesIO(data))


def _write_tar(ws: Workspace, name: str, number: int, rows: list[dict]) -> list[dict]:
    """One curated tar, written to a temp file and renamed; its train_shards rows."""
    path = ws.shards / name / f"{number:05d}.tar"
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    keys = []
    try:
        with tarfile.open(tmp, "w", format=tarfile.USTAR_FORMAT) as tf:
            for j, r in enumerate(rows):
                # Checked against its id: a damaged raw shard stops the cut, naming itself, rather
                # than dropping the image (the set would no longer be what its plan says).
                data = read_stored(ws, r["shard"], r["key"], r["id"])
                key = f"{number:05d}{j:04d}"
                keys.append(key)
                meta = {k: r[k] for k in ("id", "short", "dense", "caption_used", "url", "license", "text", "width", "height")}
                _add(tf, f"{key}.{EXTENSIONS.get(r['format'], r['format'])}", data)
                _add(tf, f"{key}.txt", r["short"].encode())
                _add(tf, f"{key}.json", json.dumps(meta, ensure_ascii=False).encode())
    except BaseException:
        tmp.unlink(missing_ok=True)  # a missing image or an interrupt leaves no half tar behind
        raise
    offsets = member_offsets(tmp)
    os.replace(tmp, path)
    relative = str(path.relative_to(ws.root))
    return [{"id": r["id"], "shard_set": name, "shard_path": relative, "key": key, "offset": offsets[key][0],
             "size": offsets[key][1], "width": r["width"], "height": r["height"], "short": r["short"],
             "dense": r["dense"], "caption_used": r["caption_used"]} for key, r in zip(keys, rows)]


def cut(ws: Workspace, where: str | None = None, name: str = DEFAULT_SET, per_shard: int | None = None) -> dict:
    """Write (or finish, or keep) the shard set `name` for the images `where` selects; `where`
    and `per_shard` default to the set's plan, else all images, PER_SHARD to a tar.

    The dataset lock covers the selection too: manifests changing under it would make the plan
    lie. (`curate train` holds the same lock around its call, for the whole run.)"""
    with ws.lock():
        where, planned, per_shard = _resolve(ws, where, name, per_shard)
        return _cut(ws, where, name, planned, per_shard)


def preview(ws: Workspace, where: str | None = None, name: str = DEFAULT_SET) -> dict:
    """What `cut` would make of the set (its query, size and fingerprint), writing nothing: a
    stage that may refuse (`curate train` on another selection) checks this first, so a refusal
    leaves the set as it was."""
    with ws.lock():
        where, planned, per_shard = _resolve(ws, where, name, None)
        rows = select(ws, where)
        return {"set": name, "where": where, "images": len(rows), "fingerprint": _fingerprint(rows, per_shard)}


def _resolve(ws: Workspace, where: str | None, name: str, per_shard: int | None) -> tuple[str, dict, int]:
    """The query and tar size a cut uses (defaults from the set's plan), and the plan."""
    _check_name(name)
    if where is not None:
        predicate(where)  # refused before anything runs
    planned = plan(ws, name) or {}
    if where is None and planned.get("where"):
        where = planned["where"]
        try:  # a plan.json may come with a dataset someone sent: it is checked like a --where
            predicate(where)
        except UserError as err:
            raise UserError(f"{ws.shards / name / 'plan.json'}: {err}") from None
    per_shard = planned.get("per_shard", PER_SHARD) if per_shard is None else per_shard
    if not 0 < per_shard < 10_000:  # keys are <tar number><4-digit position>
        raise UserError(f"--per-shard {per_shard}: between 1 and 9999")
    return "true" if where is None else where, planned, per_shard


def _cut(ws: Workspace, where: str, name: str, planned: dict, per_shard: int) -> dict:
    rows = select(ws, where)
    fingerprint = _fingerprint(rows, per_shard)
    chunks = [rows[i:i + per_shard] for i in range(0, len(rows), per_shard)]
    folder = ws.shards / name
    params = {"where": where, "name": name, "per_shard": per_shard}
    with manifest.run(ws, "shard", params) as run:
        if planned.get("fingerprint") != fingerprint:
            shutil.rmtree(folder, ignore_errors=True)
            for part in _set_partitions(ws, name):
                part.unlink()
            folder.mkdir(parents=True)
            # written last of the reset, so a set without a plan is one that gets rebuilt
            tmp = folder / f".plan.json.tmp-{os.getpid()}"
            tmp.write_text(json.dumps({**params, "fingerprint": fingerprint, "images": len(rows),
                                       "shards": len(chunks)}, indent=2))
            os.replace(tmp, folder / "plan.json")
        written = 0
        for number, chunk in enumerate(bar(chunks, desc=f"shard {name}", unit="tar")):
            if ws.partition("train_shards", f"{name}-{number:05d}").exists() and (folder / f"{number:05d}.tar").exists():
                continue  # finished by an earlier run
            manifest.write_partition(ws, "train_shards", f"{name}-{number:05d}", _write_tar(ws, name, number, chunk))
            written += 1
            run.add(rows_out=len(chunk))
        run.add(rows_in=len(rows))
    return {"set": name, "where": where, "images": len(rows), "shards": len(chunks), "written": written,
            "folder": str(folder), "fingerprint": fingerprint}
