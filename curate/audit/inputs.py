"""What an audit reads: the samples (a `curate sample` folder, or any folder of images) and the
embedder of the dataset's index."""

import json
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from curate import embedders, index, manifest
from curate.errors import UserError
from curate.workspace import Workspace

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp")


@dataclass(frozen=True)
class SampleImage:
    sample_id: str
    path: Path
    prompt: str | None = None  # the rest is known only for samples our sampler made
    seed: int | None = None
    steps: int | None = None
    scheduler: str | None = None
    model: str | None = None


def read_samples(folder) -> list[SampleImage]:
    """The rows of manifests/samples when the folder has them; otherwise its image files (a
    sample's id is then the file's stem)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"--samples {folder}: no such folder")
    if (folder / "model_index.json").exists():  # its loss.png is no sample
        raise UserError(f"--samples {folder} is a model folder, not samples; run `curate sample {folder} --prompt ... "
                        "--out SAMPLES` and audit SAMPLES")
    if (folder / "manifests" / "images").is_dir():
        raise UserError(f"--samples {folder} is a dataset, not samples; audit the folder `curate sample --out` wrote")
    rows = manifest.read_table(Workspace(folder), "samples").to_pylist()
    if rows:
        samples = [SampleImage(r["sample_id"], folder / r["path"], r["prompt"], r["seed"], r["steps"], r["scheduler"],
                               r["model"]) for r in rows]
        missing = [s.path.name for s in samples if not s.path.is_file()]
        if missing:
            raise UserError(f"--samples {folder}: {len(missing)} images of manifests/samples are missing "
                            f"(first: {missing[0]})")
        return samples
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file())
    if not files:
        raise UserError(f"--samples {folder}: no samples in it (no manifests/samples and no "
                        f"{'/'.join(IMAGE_SUFFIXES)} images); run `curate sample ... --out {folder}` first")
    return [SampleImage(p.stem, p) for p in files]


def indexed_embedders(ws: Workspace) -> list[str]:
    """Embedders with a FAISS index in the dataset (read off each id map's metadata)."""
    names = []
    for ids_path in sorted(ws.index.glob("*.ids.parquet")):
        try:
            meta = pq.read_schema(ids_path).metadata or {}
        except (pa.ArrowException, OSError) as err:
            raise index.damaged(ws, ids_path, str(err)) from None
        if b"curate.index" in meta:
            names.append(json.loads(meta[b"curate.index"])["embedder"])
    return names


def choose_embedder(ws: Workspace, asked: str | None) -> str:
    """The asked embedder, else the one the dataset was indexed with: samples must be embedded
    by the same model as the training images, or their cosines mean nothing."""
    built = indexed_embedders(ws)
    if not built:
        raise UserError(f"{ws.root} has no FAISS index to search (index/ is empty); "
                        f"run `curate embed {ws.root}` first")
    if asked is None:
        if len(built) == 1:
            return built[0]
        if embedders.DEFAULT in built:
            return embedders.DEFAULT
        raise UserError(f"{ws.root} has indexes of several embedders ({', '.join(built)}); pick one with --embedder")
    if asked not in built:
        raise UserError(f"--embedder {asked}: {ws.root} was indexed with {', '.join(built)}, not {asked}; samples "
                        f"must be embedded like the training images (run `curate embed {ws.root} --embedder {asked}` "
                        f"first, or drop --embedder)")
    return asked


def training_set(ws: Workspace, samples: list[SampleImage], model_dir=None):
    """The training set of the model the samples came from (`--model`, else the one
    manifests/samples names), or None when no model is known (a plain folder of images)."""
    from curate import training_set as recorded

    models = {s.model for s in samples if s.model}
    if model_dir is None and len(models) > 1:
        raise UserError(f"the samples come from {len(models)} models ({', '.join(sorted(models))}); "
                        "audit each model's samples apart, or name one with --model")
    model_dir = model_dir or next(iter(models), None)
    if model_dir is None:
        return None
    trained = recorded.read(model_dir)
    if Path(trained.dataset).resolve() != ws.root.resolve():
        raise UserError(f"model {model_dir} was trained on {trained.dataset}, not {ws.root}; audit it against "
                        f"that dataset, or pass --against index")
    return trained
