"""What a model was trained on, recorded in its folder: the ids of its curated shard set, with
the dataset, set name and fingerprint they came from. `curate train` writes it; `curate audit`
reads it to match samples against the images the model saw, not the whole index (removed
duplicates and other selections are in the index too)."""

import json
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from curate import manifest
from curate.errors import UserError
from curate.query import fetch
from curate.workspace import Workspace

FILE = "training_images.parquet"


@dataclass(frozen=True)
class TrainingSet:
    model: str
    dataset: str
    shard_set: str
    fingerprint: str
    ids: frozenset

    def describe(self) -> str:
        return f"the {len(self.ids)} training images of {self.model} (shards/{self.shard_set} of {self.dataset})"


def write(model_dir: Path, ws: Workspace, shard_set: str, fingerprint: str) -> None:
    ids = fetch(ws, f"SELECT DISTINCT id FROM train_shards WHERE shard_set = '{shard_set}' ORDER BY id").column("id")
    meta = {"dataset": str(ws.root), "shard_set": shard_set, "fingerprint": fingerprint}
    table = pa.table({"id": ids}).replace_schema_metadata({"curate.training_set": json.dumps(meta)})
    manifest.write_atomic(table, Path(model_dir) / FILE)


def read(model_dir) -> TrainingSet:
    path = Path(model_dir) / FILE
    if not path.is_file():
        raise UserError(f"model {model_dir} does not record its training images (no {FILE}; trained by an "
                        "older curate?); audit it with --against index")
    try:
        table = pq.read_table(path)
        meta = json.loads(table.schema.metadata[b"curate.training_set"])
    except (pa.ArrowException, OSError, KeyError, ValueError) as err:
        raise UserError(f"{path} is damaged ({' '.join(str(err).split())[:200]}); train the model again") from None
    return TrainingSet(str(Path(model_dir).resolve()), meta["dataset"], meta["shard_set"], meta["fingerprint"],
                       frozenset(table.column("id").to_pylist()))
