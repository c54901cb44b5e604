"""Why did the audit not call a sample `copy`? Search miss or pixel distance.

For each sample of an audited `curate sample` folder, the training image nearest to it in
pixels (tiled L2 against every image the model was trained on: for small planted sets, not
100k) is compared with the audit's decisive row: the pixel-nearest image's rank in the
embedding search over the training set (a rank past the audit's k is a search miss), its
cosine, tiled and coarse tiled L2 and contrast, and the coarse distance at the best shift of
up to SHIFT pixels (is the sample a copy drawn a pixel or two off?).

    PYTHONPATH=. python tools/audit_misses.py DATASET SAMPLES [--k 5]
"""

import argparse
from pathlib import Path

import numpy as np
from PIL import Image

from curate import embedders, index, manifest
from curate import training_set as recorded
from curate.audit import nearest, tiles
from curate.audit.inputs import choose_embedder, read_samples
from curate.workspace import Workspace

SHIFT = 2


def shifted_coarse_l2(a: np.ndarray, b: np.ndarray, shift: int = SHIFT) -> tuple[float, tuple[int, int]]:
    """The smallest coarse tiled L2 of `a` against `b` moved by up to `shift` pixels (edges
    replicated), and that move."""
    h, w = b.shape[:2]
    padded = np.pad(b, ((shift, shift), (shift, shift), (0, 0)), mode="edge")
    moves = [(dx, dy) for dy in range(-shift, shift + 1) for dx in range(-shift, shift + 1)]
    return min((tiles.coarse_tile_l2(a, padded[shift + dy:shift + dy + h, shift + dx:shift + dx + w]), (dx, dy))
               for dx, dy in moves)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("dataset", type=Path)
    parser.add_argument("samples", type=Path)
    parser.add_argument("--k", type=int, default=5, help="the audit's k")
    args = parser.parse_args()
    ws = Workspace(args.dataset.resolve())
    samples = read_samples(args.samples)
    audit_rows = manifest.read_table(Workspace(args.samples.resolve()), "audit").to_pylist()
    decisive = {r["sample_id"]: r for r in audit_rows if r["decisive"]}
    name = choose_embedder(ws, None)
    faiss_index, ids, _ = index.load(ws, name)
    trained = recorded.read(next(s.model for s in samples if s.model))
    row_of = {id_: r for r, id_ in enumerate(ids)}
    searched = [row_of[i] for i in trained.ids if i in row_of]
    where = nearest.locations(ws, {ids[r] for r in searched})
    images = [Image.open(s.path).convert("RGB") for s in samples]
    side = max(max(tiles.common_size(im)) for im in images)
    training = nearest.read_images(ws, where, (side, side))
    url = {i: where[i]["url"].rsplit("/", 1)[-1] for i in where}
    vectors = embedders.embed_images(embedders.cached(name), images)
    sims, neighbours = nearest.search(faiss_index, vectors, len(searched), searched)
    misses = {"search": 0, "pixels": 0}
    for s, image, sim_row, nb_row in zip(samples, images, sims, neighbours):
        size = tiles.common_size(image)
        mine = tiles.pixels(image, size)
        theirs = {ids[r]: tiles.pixels(training[ids[r]], size) for r in nb_row}
        best = min(theirs, key=lambda i: tiles.tile_l2(mine, theirs[i]))
        rank = [ids[r] for r in nb_row].index(best) + 1
        cosine = float(sim_row[rank - 1])
        moved, move = shifted_coarse_l2(mine, theirs[best])
        d = decisive.get(s.sample_id, {})
        if d.get("verdict") != "copy":
            misses["search" if rank > args.k else "pixels"] += 1
        print(f"{(s.prompt or s.sample_id)[-24:]:24s} seed {s.seed}: audit {d.get('verdict', '?'):5s} "
              f"({url.get(d.get('nearest_id'), '?')[:18]}) | pixel-nearest {url[best][:18]:18s} rank {rank:3d} "
              f"cos {cosine:.2f} L2 {tiles.tile_l2(mine, theirs[best]):.3f} coarse "
              f"{tiles.coarse_tile_l2(mine, theirs[best]):.3f} shifted {moved:.3f} {move} "
              f"contrast {theirs[best].std():.3f}")
    print(f"not copy: {misses['search']} with the pixel-nearest image past rank {args.k} (search miss), "
          f"{misses['pixels']} with it found (pixel distance)")


if __name__ == "__main__":
    main()
