#!/usr/bin/env python3
"""Convert nsfwjs's MobileNetV2 classifier (npm `nsfwjs@4.3.0`, MIT) to ONNX (fp32).

What it builds: curate/score/weights/nsfw_mobilenet_v2.onnx, input float NHWC [N,224,224,3] = rgb/255
(the whole image resized to 224x224, bilinear, as nsfwjs does), output softmax [N,5] over
Drawing, Hentai, Neutral, Porn, Sexy.

How
    The package stores a TFJS *layers* model as JavaScript: dist/models/mobilenet_v2/model.min.js
    exports {modelTopology, weightsManifest}; group1-shard1of1.min.js exports the weights .bin as
    one base64 string. node writes both out; the Keras 2.2.4 topology is rebuilt with tf_keras,
    the uint8-affine weights (value = min + scale * q) are dequantized and set layer by layer,
    and tf2onnx exports the Keras model.

Checks
    Keras and ONNX run on real corpus images; the script fails if they differ by more than 1e-4.

Versions used (side venv under /tmp; never the project's venv):
    python 3.11, tensorflow-cpu==2.21.0, tf_keras==2.21.0, tf2onnx==1.17.0, onnxruntime 1.23,
    numpy 2, node 18+; npm package nsfwjs@4.3.0.

Rerun
    python3 -m venv /tmp/tfv
    /tmp/tfv/bin/pip install tensorflow-cpu==2.21.0 tf_keras==2.21.0 tf2onnx==1.17.0 onnxruntime pillow
    cd /tmp && npm pack nsfwjs@4.3.0 && tar xzf nsfwjs-4.3.0.tgz
    /tmp/tfv/bin/python tools/convert_nsfwjs.py --package /tmp/package
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # tf.keras is tf_keras (Keras 2): reads the 2.2.4 topology

REPO = Path(__file__).resolve().parents[1]
IMAGES = REPO / "curate" / "corpus" / "images"
CHECK_IMAGES = ("cv_basketball1.jpg", "sk_coffee.jpg", "oc_thumbs_up.png", "sk_astronaut.jpg")
TOLERANCE = 1e-4

DECODE = """
const fs = require('fs');
const [dir, out] = process.argv.slice(2);
const model = require(dir + '/model.min.js');
fs.writeFileSync(out + '/model.json', JSON.stringify(model));
fs.writeFileSync(out + '/weights.bin', Buffer.from(require(dir + '/group1-shard1of1.min.js'), 'base64'));
"""


def unpack(package: Path, out: Path) -> tuple[dict, bytes]:
    script = out / "decode.js"
    script.write_text(DECODE)
    subprocess.run(["node", str(script), str(package / "dist" / "models" / "mobilenet_v2"), str(out)], check=True)
    return json.loads((out / "model.json").read_text()), (out / "weights.bin").read_bytes()


def weights(manifest: list[dict], data: bytes) -> dict[str, np.ndarray]:
    out, pos = {}, 0
    for entry in (w for group in manifest for w in group["weights"]):
        n = int(np.prod(entry["shape"]))
        q = entry.get("quantization")
        if q:
            raw = np.frombuffer(data, np.dtype(q["dtype"]), n, pos)
            value = (q["min"] + q["scale"] * raw.astype(np.float64)).astype(np.float32)
            pos += n * np.dtype(q["dtype"]).itemsize
        else:
            value = np.frombuffer(data, np.float32, n, pos).copy()
            pos += 4 * n
        out[entry["name"]] = value.reshape(entry["shape"])
    if pos != len(data):
        raise SystemExit(f"weights: read {pos} of {len(data)} bytes")
    return out


def keras_model(topology: dict, values: dict[str, np.ndarray]):
    import tf_keras

    model = tf_keras.models.model_from_json(json.dumps(topology["model_config"]))
    used = 0
    for layer in model.layers:
        if not layer.weights:
            continue
        # TFJS names weights <layer>/<variable>, in the layer's own variable order
        names = [f"{layer.name}/{w.name.split('/')[-1].split(':')[0]}" for w in layer.weights]
        layer.set_weights([values[n] for n in names])
        used += len(names)
    if used != len(values):
        raise SystemExit(f"set {used} of {len(values)} weights")
    return model


def feed(name: str) -> np.ndarray:
    rgb = Image.open(IMAGES / name).convert("RGB").resize((224, 224), Image.BILINEAR)
    return (np.asarray(rgb, np.float32) / 255)[None]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--package", type=Path, required=True, help="the unpacked npm package (its package/ folder)")
    ap.add_argument("--out", type=Path, default=REPO / "curate" / "score" / "weights" / "nsfw_mobilenet_v2.onnx")
    args = ap.parse_args()
    import onnxruntime as ort
    import tensorflow as tf
    import tf2onnx

    with tempfile.TemporaryDirectory() as tmp:
        topology, data = unpack(args.package, Path(tmp))
    model = keras_model(topology["modelTopology"], weights(topology["weightsManifest"], data))
    spec = (tf.TensorSpec([None, 224, 224, 3], tf.float32, name="input"),)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tf2onnx.convert.from_keras(model, input_signature=spec, opset=17, output_path=str(args.out))
    session = ort.InferenceSession(str(args.out), providers=["CPUExecutionProvider"])
    x = np.concatenate([feed(n) for n in CHECK_IMAGES])
    ref = model.predict(x, verbose=0)
    got = session.run(None, {session.get_inputs()[0].name: x})[0]
    diff = float(np.abs(ref - got).max())
    for name, p in zip(CHECK_IMAGES, got):
        print(name, " ".join(f"{c} {v:.3f}" for c, v in zip(("drawing", "hentai", "neutral", "porn", "sexy"), p)))
    print(f"{args.out}: {args.out.stat().st_size / 1e6:.1f} MB, max |Keras - ONNX| = {diff:.2e}")
    if not diff <= TOLERANCE:
        raise SystemExit(f"ONNX differs from Keras by {diff}")


if __name__ == "__main__":
    main()
