"""`curate dedupe`: exact, perceptual and semantic duplicates -> manifests/duplicates.

The tiers (tiers.py) give pair edges: the perceptual candidates as a task per hash band
(bands.py), the semantic tier as tasks over cells of the vectors (cells.py), whose work files live in
index/dedupe-<digest>/ until the run ends. Union-find over the edges turns them into clusters,
and the keep policy picks one member per cluster. The result is one partition, with the inputs
it was made from beside it (inputs.json): a rerun on the same images with the same settings
does nothing; other settings are refused unless `overwrite`; new images are deduped again with
the recorded settings (the table must cover every image).
"""

import functools
import hashlib
import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from curate import embedders, index, manifest, reruns
from curate.dedupe import bands, cells, pixels
from curate.dedupe.semantic import clusters
from curate.dedupe.tiers import TIERS, Thresholds, hash_edges, join, verify_semantic
from curate.dedupe.verify import crop_vectors
from curate.errors import UserError
from curate.executors import LocalExecutor
from curate.progress import bar
from curate.raw import decode, read_shard_images, to_rgb
from curate.workspace import Workspace

log = logging.getLogger("curate.dedupe")
KEEP_POLICIES = ("largest", "earliest")
MODES = ("auto", "exact", "kmeans")
PARTITION = "dataset"
RECORD = "inputs.json"  # in manifests/duplicates: the settings and images the partition was made from
FLAGS = {"semantic": "--threshold", "aligned": "--threshold", "candidate": "--candidate-threshold",
         "phash_radius": "--perceptual-bits", "dhash_radius": "--dhash-bits", "pixel_region": "--pixel-region"}


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


def _hashes(ws: Workspace, embedder: str, stored: Stored):
    hashes = {r["id"]: r for r in manifest.read_table(ws, "hashes").to_pylist()}
    embedded = index.embedded_shards(ws, embedder)
    missing = [i for i in stored.ids if i not in hashes] + [s for s in {loc[0] for loc in stored.location}
                                                              if s not in embedded]
    if missing:
        raise UserError(f"{len(missing)} stored images or shards have no {embedder} embedding or fingerprint; "
                        f"run `curate embed {ws.root} --embedder {embedder}` first")
    return ([hashes[i]["pixel_sha256"] for i in stored.ids], np.array([hashes[i]["phash"] for i in stored.ids]),
            np.array([hashes[i]["dhash"] for i in stored.ids]))


def _loader(ws: Workspace, locate, compute, desc: str):
    """`indices` -> {index: compute(decoded RGB image)}, reading each shard once; `locate(indices)`
    gives their (shard, key)."""
    def load(indices: list[int]) -> dict[int, np.ndarray]:
        by_shard = {}
        for n, (shard, key) in zip(indices, locate(indices)):
            by_shard.setdefault(shard, []).append((n, key))
        out = {}
        with bar(total=len(indices), desc=desc, unit="img") as progress:
            for shard, members in by_shard.items():
                data = read_shard_images(ws, shard, [key for _, key in members])
                for n, key in members:
                    out[n] = compute(to_rgb(decode(data[key])))
                    progress.update()
        return out

    return load


@dataclass(frozen=True)
class Layout:
    """Where each stored image's row lives: the rows of a shard are contiguous (first-ingested
    order), and work/rows/<shard>.parquet holds their ids and keys."""

    root: str
    work: str
    shards: list[str]
    starts: np.ndarray

    def rows_file(self, shard: str) -> Path:
        return Path(self.work) / "rows" / f"{shard}.parquet"

    def column(self, shard: str, name: str) -> list[str]:
        return manifest.read_partition(self.rows_file(shard), [name]).column(name).to_pylist()

    def locate(self, rows) -> list[tuple[str, str]]:
        shard_of = np.searchsorted(self.starts, rows, side="right") - 1
        keys = {s: self.column(self.shards[s], "key") for s in np.unique(shard_of).tolist()}
        return [(self.shards[s], keys[s][r - self.starts[s]])
                for s, r in zip(shard_of.tolist(), np.asarray(rows).tolist())]


def _layout(ws: Workspace, stored: Stored, work: Path) -> Layout:
    shards, starts = [], []
    for n, (shard, _) in enumerate(stored.location):
        if not shards or shards[-1] != shard:
            shards.append(shard)
            starts.append(n)
    layout = Layout(str(ws.root), str(work), shards, np.array(starts + [len(stored.ids)], np.int64))
    for s, shard in enumerate(shards):
        rows = range(starts[s], layout.starts[s + 1])
        table = pa.table({"id": [stored.ids[n] for n in rows], "key": [stored.location[n][1] for n in rows]})
        manifest.write_atomic(table, layout.rows_file(shard))
    return layout


@dataclass(frozen=True)
class EmbeddingSource:
    """The vectors of a layout's rows, read from manifests/embeddings (cells.py's source)."""

    layout: Layout
    embedder: str

    @property
    def shards(self) -> list[str]:
        return self.layout.shards

    @property
    def starts(self) -> np.ndarray:
        return self.layout.starts

    def read(self, shard: str) -> np.ndarray:
        ids, vectors = index.read_vectors(Workspace(self.layout.root), self.embedder, [shard])
        row_of = {}
        for n, i in enumerate(ids):
            row_of.setdefault(i, n)
        wanted = self.layout.column(shard, "id")
        if any(i not in row_of for i in wanted):
            raise UserError(f"shard {shard} has stored images without a {self.embedder} embedding; "
                            f"run `curate embed {self.layout.root} --embedder {self.embedder}` first")
        return vectors[[row_of[i] for i in wanted]]


@dataclass(frozen=True)
class RowImages:
    """`rows` -> {row: compute(its decoded image)}, read where the task runs (picklable)."""

    layout: Layout
    compute: object
    desc: str

    def __call__(self, rows: list[int]) -> dict[int, np.ndarray]:
        return _loader(Workspace(self.layout.root), self.layout.locate, self.compute, self.desc)(rows)


def _crops(embedder: str, image) -> np.ndarray:
    return crop_vectors(embedders.cached(embedder), image)


@dataclass(frozen=True)
class Verifier:
    """cells.py's verifier: drops the pairs a stronger tier joined (`joined`: a .npy of their
    keys i * n + j), then runs tiers.verify_semantic (crop-aligned cosine, pixel check)."""

    joined: str
    n: int
    thresholds: Thresholds
    crop_vectors: object  # rows -> {row: crop vectors}
    thumbnails: object    # rows -> {row: pixels.thumbnail}

    def __call__(self, i, j, sim, rows, vectors):
        fresh = ~np.isin(i * self.n + j, np.load(self.joined))
        return verify_semantic(i[fresh], j[fresh], sim[fresh], dict(zip(rows.tolist(), vectors)), self.thresholds,
                               self.crop_vectors, self.thumbnails)


def _similarity(layout: Layout, k: int, shard: str) -> np.ndarray:
    """Task: cosine of each row of a shard to its cluster's kept member (work/kept.npy)."""
    s = layout.shards.index(shard)
    rows = np.arange(layout.starts[s], layout.starts[s + 1])
    kept = np.load(Path(layout.work) / "kept.npy", mmap_mode="r")[rows]
    own, keeper = (cells.vectors_of(Path(layout.work), layout.shards, layout.starts, k, r) for r in (rows, kept))
    return np.einsum("nd,nd->n", own, keeper)


def _images_digest(stored: Stored) -> str:
    digest = hashlib.sha256()
    for i, loc in zip(stored.ids, stored.location):
        digest.update(f"{i}\t{loc[0]}\n".encode())
    return digest.hexdigest()


def _work_folder(ws: Workspace, inputs: dict) -> Path:
    """One folder per dataset state, settings and layout of the work files: a rerun after a kill
    resumes in it (a folder left by a version that laid them out otherwise is not reused)."""
    key = json.dumps({**inputs, "layout": cells.LAYOUT}, sort_keys=True)
    return ws.index / f"dedupe-{hashlib.sha256(key.encode()).hexdigest()[:16]}"


def _up_to_date(ws: Workspace, inputs: dict, overwrite: bool) -> dict | None:
    """The recorded summary when manifests/duplicates was made from these inputs; None when dedupe
    must run; a refusal when it was made with other settings (and no `overwrite`)."""
    recorded = reruns.read_record(ws.table_dir("duplicates") / RECORD)
    if overwrite or recorded is None or not ws.partition("duplicates", PARTITION).exists():
        return None
    if recorded["inputs"] == inputs:
        return recorded["result"]
    changed = dict.fromkeys(FLAGS.get(k, f"--{k}") for k in reruns.differences(recorded["inputs"]["settings"],
                                                                                  inputs["settings"]))
    if changed:
        raise UserError(f"manifests/duplicates was made with other settings ({', '.join(changed)} differ); "
                        "--overwrite to dedupe again with these")
    return None  # new or removed images: dedupe them with the same settings


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
           keep: str = "largest", mode: str = "auto", executor=None, overwrite: bool = False) -> dict:
    """The hash tiers run in this process on the fingerprints; the semantic tier runs as tasks on
    `executor` (default: this process), so no process reads every vector (cells.py)."""
    if keep not in KEEP_POLICIES:
        raise UserError(f"--keep {keep!r}: choose one of {', '.join(KEEP_POLICIES)}")
    if mode not in MODES:
        raise UserError(f"--mode {mode!r}: choose one of {', '.join(MODES)}")
    params = {"embedder": embedder, "keep": keep, "mode": mode, **thresholds.__dict__}
    with ws.lock():
        stored = stored_images(ws)
        if not stored.ids:
            raise UserError(f"{ws.root} has no stored images to dedupe; run curate ingest first")
        inputs = {"settings": params, "images": _images_digest(stored)}
        recorded = _up_to_date(ws, inputs, overwrite)
        if recorded is not None:
            reruns.nothing_to_do("dedupe", f"manifests/duplicates covers these {len(stored.ids)} images "
                                           "with these settings")
            return recorded | {"up_to_date": True}
        result = _dedupe(ws, stored, embedder, thresholds, keep, mode, executor, params, inputs)
        reruns.write_record(ws.table_dir("duplicates") / RECORD, inputs, result)
        return result


def _dedupe(ws: Workspace, stored: Stored, embedder: str, thresholds: Thresholds, keep: str, mode: str, executor,
            params: dict, inputs: dict) -> dict:
    with manifest.run(ws, "dedupe", params) as run, executor or LocalExecutor(1) as ex:
        pixel, phash, dhash = _hashes(ws, embedder, stored)
        n = len(stored.ids)
        work = _work_folder(ws, inputs)
        layout = _layout(ws, stored, work)
        thumbs = _loader(ws, lambda idx: [stored.location[i] for i in idx], pixels.thumbnail, "pixel check")
        exact, perceptual, refused = hash_edges(pixel, phash, dhash, thresholds, thumbs,
                                                functools.partial(bands.perceptual_pairs, executor=ex, work=work))
        joined = np.unique(np.concatenate([exact[0] * n + exact[1], perceptual[0] * n + perceptual[1]]))
        np.save(work / "joined.npy", joined)
        verifier = Verifier(str(work / "joined.npy"), n, thresholds,
                            RowImages(layout, functools.partial(_crops, embedder), "verify crops"),
                            RowImages(layout, pixels.thumbnail, "pixel check"))
        cores = os.cpu_count() or 1  # the local pool's tasks share the cores; a Dask worker has one thread
        threads = max(1, cores // ex.workers) if isinstance(ex, LocalExecutor) else 1
        parts, search = cells.pairs(EmbeddingSource(layout, embedder), thresholds.candidate, work, ex, mode, verifier,
                                    threads=threads)
        search["refused_by_pixels"] = search.get("refused_by_pixels", 0) + refused
        semantic = pa.concat_tables([manifest.read_partition(p) for p in parts])
        edges = join(exact, perceptual, (semantic["i"].to_numpy(), semantic["j"].to_numpy()), search)
        labels = clusters(n, edges.i, edges.j)
        kept = choose_keep(labels, stored, keep)
        np.save(work / "kept.npy", kept)
        similarity = np.zeros(n, np.float32)
        task = functools.partial(_similarity, layout, search["k"])
        for shard, values in ex.map(task, layout.shards):
            s = layout.shards.index(shard)
            similarity[layout.starts[s]:layout.starts[s + 1]] = values
        tier = np.full(n, len(TIERS))  # strongest tier touching each image; len(TIERS) = none
        np.minimum.at(tier, edges.i, edges.tier)
        np.minimum.at(tier, edges.j, edges.tier)
        size = np.bincount(labels, weights=stored.copies).astype(int)
        rows = [{
            "id": stored.ids[k], "cluster": stored.ids[kept[k]],
            "kind": None if kept[k] == k else TIERS[tier[k]],
            "similarity": float(similarity[k]) if size[labels[k]] > 1 or stored.copies[k] > 1 else None,
            "cluster_size": int(size[labels[k]]), "copies": int(stored.copies[k]), "keep": bool(kept[k] == k),
        } for k in range(n)]
        manifest.write_partition(ws, "duplicates", PARTITION, rows)
        run.add(rows_in=int(stored.copies.sum()), rows_out=len(rows))
        for old in ws.index.glob("dedupe-*"):  # this run's work, and that of runs never finished
            shutil.rmtree(old)
    # Each count is of one thing: images rows = distinct images + byte copies (rows sharing an id),
    # distinct = kept + removed, and removed counts manifests/duplicates rows by kind.
    images = int(stored.copies.sum())
    return {"images": images, "byte_copies": images - n, "distinct": n, "kept": int(sum(r["keep"] for r in rows)),
            "removed": {name: sum(r["kind"] == name for r in rows) for name in TIERS}, "search": edges.params}
