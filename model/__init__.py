"""The bundled text-to-image model: a diffusers pipeline, its trainer and its sampler."""

from curate import torchvision_compat  # noqa: F401 (every module here imports diffusers/transformers)
