"""`curate dedupe`: exact, perceptual and semantic duplicates -> manifests/duplicates.

A whole-dataset step run in the driver: the tiers (tiers.py) give pair edges, union-find turns
them into clusters, and the keep policy picks one member per cluster. The result is one
partition, rewritten by each run.
"""

import logging
from dataclasses import dataclass

import numpy as np
import pyarrow.compute as pc

from curate import embedders, index, manifest
from curate.dedupe import pixels
from curate.dedupe.semantic import clusters
from curate.dedupe.tiers import TIERS, Thresholds, find_edges
from curate.dedupe.verify import crop_vectors
from curate.errors import UserError
from curate.progress import bar
from curate.raw import decode, read_shard_images, to_rgb
from curate.workspace import Workspace

log = logging.getLogger("curate.dedupe")
KEEP_POLICIES = ("largest", "earliest")
PARTITION = "dataset"


@dataclass
class Stored:
    """One row per distinct stored image (id), in first-ingested order."""

    ids: list[str]
    copies: np.ndarray     # images rows with these exact bytes
    area: np.ndarray       # width * height of the stored image
    location: list[tuple[str, str]]  # (shard, key) of its first row


def first_rows(ws: Workspace) -> tuple[dict[str, dict], dict[str, int]]:
    """The first-ingested `images` row of each distinct stored image, and its number of rows."""
    table = manifest.read_table(ws, "images").filter(pc.equal(pc.field("status"), "ok"))
    first, copies = {}, {}
    for r in sorted(table.to_pylist(), key=lambda r: (r["shard"], r["key"])):
        first.setdefault(r["id"], r)
        copies[r["id"]] = copies.get(r["id"], 0) + 1
    return first, copies


def stored_images(ws: Workspace) -> Stored:
    first, copies = first_rows(ws)
    ids = list(first)
    return Stored(ids, np.array([copies[i] for i in ids]),
                  np.array([first[i]["width"] * first[i]["height"] for i in ids], np.int64),
                  [(first[i]["shard"], first[i]["key"]) for i in ids])


def _aligned_features(ws: Workspace, embedder: str, stored: Stored):
    hashes = {r["id"]: r for r in manifest.read_table(ws, "hashes").to_pylist()}
    vec_ids, vectors = index.read_vectors(ws, embedder, index.embedded_shards(ws, embedder))
    row_of = {}
    for n, i in enumerate(vec_ids):
        row_of.setdefault(i, n)
    missing = [i for i in stored.ids if i not in row_of or i not in hashes]
    if missing:
        raise UserError(f"{len(missing)} stored images have no {embedder} embedding or fingerprint; "
                        f"run `curate embed {ws.root} --embedder {embedder}` first")
    rows = [row_of[i] for i in stored.ids]
    return ([hashes[i]["pixel_sha256"] for i in stored.ids], np.array([hashes[i]["phash"] for i in stored.ids]),
            np.array([hashes[i]["dhash"] for i in stored.ids]), vectors[rows])


def _loader(ws: Workspace, stored: Stored, compute, desc: str):
    """`indices` -> {index: compute(decoded RGB image)}, reading each shard once."""
    def load(indices: list[int]) -> dict[int, np.ndarray]:
        by_shard = {}
        for n in indices:
            by_shard.setdefault(stored.location[n][0], []).append(n)
        out = {}
        with bar(total=len(indices), desc=desc, unit="img") as progress:
            for shard, members in by_shard.items():
                data = read_shard_images(ws, shard, [stored.location[n][1] for n in members])
                for n in members:
                    out[n] = compute(to_rgb(decode(data[stored.location[n][1]])))
                    progress.update()
        return out

    return load


def choose_keep(labels: np.ndarray, stored: Stored, policy: str) -> np.ndarray:
    """Index of the kept member of each row's cluster."""
    order = np.arange(len(labels))  # first-ingested order
    if policy == "largest":
        rank = np.lexsort((order, -stored.area))  # largest area first, then earliest
    else:
        rank = order
    keeper = {}
    for n in rank:
        keeper.setdefault(labels[n], n)
    return np.array([keeper[label] for label in labels])


def dedupe(ws: Workspace, embedder: str = embedders.DEFAULT, thresholds: Thresholds = Thresholds(),
           keep: str = "largest", mode: str = "auto") -> dict:
    if keep not in KEEP_POLICIES:
        raise UserError(f"--keep {keep!r}: choose one of {', '.join(KEEP_POLICIES)}")
    params = {"embedder": embedder, "keep": keep, "mode": mode, **thresholds.__dict__}
    with ws.lock(), manifest.run(ws, "dedupe", params) as run:
        stored = stored_images(ws)
        if not stored.ids:
            raise UserError(f"{ws.root} has no stored images to dedupe; run curate ingest first")
        pixel, phash, dhash, vectors = _aligned_features(ws, embedder, stored)
        n = len(stored.ids)
        with bar(total=n, desc="semantic search", unit="img") as progress:
            crops = _loader(ws, stored, lambda im: crop_vectors(embedders.cached(embedder), im), "verify crops")
            thumbs = _loader(ws, stored, pixels.thumbnail, "pixel check")
            edges = find_edges(pixel, phash, dhash, vectors, thresholds, crops, thumbs, mode, progress.update)
        labels = clusters(n, edges.i, edges.j)
        kept = choose_keep(labels, stored, keep)
        tier = np.full(n, len(TIERS))  # strongest tier touching each image; len(TIERS) = none
        np.minimum.at(tier, edges.i, edges.tier)
        np.minimum.at(tier, edges.j, edges.tier)
        size = np.bincount(labels, weights=stored.copies).astype(int)
        similarity = np.einsum("nd,nd->n", vectors, vectors[kept])
        rows = [{
            "id": stored.ids[k], "cluster": stored.ids[kept[k]],
            "kind": None if kept[k] == k else TIERS[tier[k]],
            "similarity": float(similarity[k]) if size[labels[k]] > 1 or stored.copies[k] > 1 else None,
            "cluster_size": int(size[labels[k]]), "copies": int(stored.copies[k]), "keep": bool(kept[k] == k),
        } for k in range(n)]
        manifest.write_partition(ws, "duplicates", PARTITION, rows)
        run.add(rows_in=int(stored.copies.sum()), rows_out=len(rows))
    # Each count is of one thing: images rows = distinct images + byte copies (rows sharing an id),
    # distinct = kept + removed, and removed counts manifests/duplicates rows by kind.
    images = int(stored.copies.sum())
    return {"images": images, "byte_copies": images - n, "distinct": n, "kept": int(sum(r["keep"] for r in rows)),
            "removed": {name: sum(r["kind"] == name for r in rows) for name in TIERS}, "search": edges.params}
