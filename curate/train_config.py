"""`curate train`'s settings, apart from the trainer: the command line shows their defaults in
`--help` without importing torch."""

import dataclasses

from curate.errors import UserError
from curate.shard import DEFAULT_SET


@dataclasses.dataclass
class TrainConfig:
    preset: str = "tiny"
    where: str | None = None           # default: the query the shard set was cut with, else all
    shards: str = DEFAULT_SET          # the curated shard set to cut (or keep) and train on
    steps: int = 1000
    resolution: int | None = None      # default: the preset's
    batch_size: int | None = None      # default: the preset's
    learning_rate: float | None = None  # default: the preset's
    grad_accum: int = 1
    caption_dropout: float = 0.1
    dense_ratio: float = 0.5
    ema_decay: float = 0.999
    checkpoint_every: int = 500
    seed: int = 0
    text_encoder: str = "minilm"
    vae: str | None = None
    data_workers: int = 1

    def resolved(self) -> "TrainConfig":
        from model.presets import PRESETS

        if self.preset not in PRESETS:
            raise UserError(f"unknown preset {self.preset!r}; choose one of {', '.join(PRESETS)}")
        p = PRESETS[self.preset]
        return dataclasses.replace(self, resolution=self.resolution or p["resolution"],
                                   batch_size=self.batch_size or p["batch_size"],
                                   learning_rate=self.learning_rate or p["learning_rate"])

    def inputs(self) -> dict:
        """The settings a trained model is a function of (not how many data workers read)."""
        return {k: v for k, v in dataclasses.asdict(self).items() if k != "data_workers"}
