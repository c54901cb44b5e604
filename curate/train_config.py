"""`curate train`'s settings, apart from the trainer: the command line shows their defaults in
`--help` without importing torch."""

import dataclasses
import importlib.util

from curate.errors import UserError
from curate.shard import DEFAULT_SET

OPTIMIZERS = ("adamw", "adamw8bit")


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
    base: str | None = None            # a pretrained diffusers folder to start from (curate_model.base)
    lora: int | None = None            # train rank-N adapters only (curate_model.lora), not every UNet weight
    lora_text_encoder: bool = False    # with --lora: adapters on the CLIP text encoder(s) too
    region_weights: str | None = None  # 'hands=3,faces=2': loss weights inside caption boxes (curate_model.regions)
    mixed_precision: str | None = None  # 'bf16' or 'no'; default bf16 autocast on a GPU, fp32 on a CPU
    gradient_checkpointing: bool = False
    optimizer: str = "adamw"           # or 'adamw8bit' (bitsandbytes)
    cache_encodings: bool = False      # keep latents and text conditioning in DATASET/cache (curate_model.encodings)

    def resolved(self) -> "TrainConfig":
        from curate_model import base, lora, regions
        from curate_model.presets import PRESETS

        if self.preset not in PRESETS:
            raise UserError(f"unknown preset {self.preset!r}; choose one of {', '.join(PRESETS)}")
        p = PRESETS[self.preset]
        lora.check_rank(self.lora)
        if self.lora and not self.base:
            raise UserError("--lora adapts a trained model: give it --base MODEL_DIR (a curate or diffusers folder)")
        if self.lora_text_encoder and not self.lora:
            raise UserError("--lora-text-encoder trains text encoder adapters beside the UNet's: give it --lora RANK")
        if self.lora_text_encoder and base.pipeline_class(self.base).__name__ == "CuratePipeline":
            raise UserError(f"--lora-text-encoder adapts a CLIP text encoder; {self.base} is a curate model (its text "
                            "encoder stays frozen): drop the option, or adapt a Stable Diffusion (XL) base")
        regions.parse(self.region_weights)
        if self.mixed_precision not in (None, "no", "bf16"):
            raise UserError(f"--mixed-precision {self.mixed_precision!r}: choose bf16 or no")
        if self.optimizer not in OPTIMIZERS:
            raise UserError(f"--optimizer {self.optimizer!r}: choose one of {', '.join(OPTIMIZERS)}")
        if self.optimizer == "adamw8bit" and importlib.util.find_spec("bitsandbytes") is None:
            raise UserError("--optimizer adamw8bit needs bitsandbytes, which is not installed "
                            "(pip install -c constraints.txt -e '.[gpu]')")
        # A pretrained base sets the resolution (its UNet's) and wants a gentler step than a fresh UNet.
        learning_rate = p["learning_rate"] if not self.base else 1e-4 if self.lora else 1e-5
        return dataclasses.replace(self, resolution=self.resolution or (None if self.base else p["resolution"]),
                                   batch_size=self.batch_size or p["batch_size"],
                                   learning_rate=self.learning_rate or learning_rate)

    def inputs(self) -> dict:
        """The settings a trained model is a function of (not how many data workers read, nor
        whether encodings are cached: the numbers are the same)."""
        return {k: v for k, v in dataclasses.asdict(self).items() if k not in ("data_workers", "cache_encodings")}
