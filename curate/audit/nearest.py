"""The training images nearest to each sample: FAISS k-NN over the dataset's index, then the
neighbours' pixels read back from the raw shards, and how often each was duplicated."""

import numpy as np

from curate.dedupe.tiers import Thresholds as DedupeThresholds
from curate.query import fetch
from curate.raw import decode, read_stored, to_rgb
from curate.workspace import Workspace


def search(index, vectors: np.ndarray, k: int, rows=None) -> tuple[np.ndarray, np.ndarray]:
    """(cosines, index rows), (n, k) each, best first, among `rows` of the index (all when None);
    rows are -1 past the end of a small index."""
    import faiss

    if rows is None:
        return index.search(np.ascontiguousarray(vectors, dtype=np.float32), min(k, index.ntotal))
    selector = faiss.IDSelectorBatch(np.asarray(sorted(rows), dtype=np.int64))
    params = (faiss.SearchParametersIVF(sel=selector, nprobe=index.nprobe) if hasattr(index, "nprobe")
              else faiss.SearchParameters(sel=selector))
    return index.search(np.ascontiguousarray(vectors, dtype=np.float32), min(k, len(rows)), params=params)


def removed_duplicates(ws: Workspace, trained: frozenset) -> set[str]:
    """Images dedupe removed from the clusters of the `trained` ids, and not trained on
    themselves (a model trained before dedupe saw them): the same picture as one it saw."""
    if not ws.partitions("duplicates"):
        return set()
    rows = fetch(ws, "SELECT id, cluster FROM duplicates WHERE NOT keep").to_pylist()
    return {r["id"] for r in rows if r["cluster"] in trained and r["id"] not in trained}


def locations(ws: Workspace, ids: set[str]) -> dict[str, dict]:
    """id -> its first-ingested images row (shard, key, url, text, license) and its byte copies."""
    if not ids:
        return {}
    wanted = ", ".join("'" + i.replace("'", "''") + "'" for i in sorted(ids))
    rows = fetch(ws, f"""
        SELECT id, shard, key, url, text, license, count(*) OVER (PARTITION BY id) AS copies FROM images
        WHERE status = 'ok' AND id IN ({wanted})
        QUALIFY row_number() OVER (PARTITION BY id ORDER BY shard, key) = 1""").to_pylist()
    return {r["id"]: r for r in rows}


def stored_bytes(ws: Workspace, where: dict[str, dict]) -> dict[str, bytes]:
    """id -> the stored image's bytes, for ids located by `locations`."""
    return {id_: read_stored(ws, row["shard"], row["key"], id_) for id_, row in where.items()}


def read_images(ws: Workspace, where: dict[str, dict], draft: tuple[int, int]) -> dict[str, object]:
    """id -> decoded RGB image (JPEGs decoded at the smallest scale that still covers `draft`)."""
    return {id_: to_rgb(decode(data, draft=draft)) for id_, data in stored_bytes(ws, where).items()}


def cluster_sizes(ws: Workspace, index, ids: list[str], rows: list[int]) -> dict[str, int]:
    """How many `images` rows were in each training image's duplicate cluster before dedupe
    (the images at index `rows`).

    From manifests/duplicates when dedupe has run. Without it, estimated the way dedupe's
    semantic tier would see it: the images within the dedupe cosine threshold of the image in
    the index (one hop, no union-find), each counted with its byte-identical copies.
    """
    if ws.partitions("duplicates"):
        wanted = ", ".join("'" + ids[r].replace("'", "''") + "'" for r in rows)
        found = fetch(ws, f"SELECT id, cluster_size FROM duplicates WHERE id IN ({wanted})").to_pylist()
        return {r["id"]: r["cluster_size"] for r in found}
    copies = {r["id"]: r["n"] for r in
              fetch(ws, "SELECT id, count(*) AS n FROM images WHERE status = 'ok' GROUP BY id").to_pylist()}
    if hasattr(index, "make_direct_map"):  # IVF indexes reconstruct only through a direct map
        index.make_direct_map()
    vectors = np.stack([index.reconstruct(int(r)) for r in rows])
    lims, _, members = index.range_search(vectors, DedupeThresholds().semantic)
    return {ids[r]: int(sum(copies.get(ids[m], 1) for m in members[lims[n]:lims[n + 1]]))
            for n, r in enumerate(rows)}
