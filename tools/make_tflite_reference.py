#!/usr/bin/env python3
"""Independent float reference for dltrain's TFLite import (tests/golden/mobilenet_v2_embedding.safetensors).

Reads the .tflite with the `tflite` package (Python classes generated from TensorFlow's schema),
dequantizes every weight as (q - zero_point) * scale, and runs the graph in float with NumPy,
written from the TFLite operator definitions (SAME padding as TensorFlow computes it, fused
ReLU6, average pooling). The input is a synthetic image that the C++ test rebuilds from the same
formula, so no image data enters the repository:
    pixel(y, x, c) = (3*x*x + 5*y + 71*c + x*y) % 256
Writes the 1280-d embedding (output of the last AVERAGE_POOL_2D) and the 1001 logits.

    python3 -m pip install tflite==2.18.0 numpy
    python3 tools/make_tflite_reference.py ../shared/data/mobilenet_v2/mobilenet_v2_1.0_224_quant.tflite \
        tests/golden/mobilenet_v2_embedding.safetensors
"""
import json
import struct
import sys

import numpy as np
import tflite


def dequantize(model, graph, index):
    t = graph.Tensors(index)
    raw = model.Buffers(t.Buffer()).DataAsNumpy()
    shape = tuple(t.ShapeAsNumpy())
    kind = {tflite.TensorType.UINT8: np.uint8, tflite.TensorType.INT8: np.int8,
            tflite.TensorType.INT32: np.int32, tflite.TensorType.FLOAT32: np.float32}[t.Type()]
    q = np.frombuffer(raw.tobytes(), dtype=kind).reshape(shape).astype(np.float64)
    if t.Type() == tflite.TensorType.FLOAT32:
        return q
    quant = t.Quantization()
    scale, zero = quant.ScaleAsNumpy().astype(np.float64), quant.ZeroPointAsNumpy().astype(np.float64)
    if scale.size == 1:
        return (q - zero[0]) * scale[0]
    axis = quant.QuantizedDimension()
    view = [1] * len(shape)
    view[axis] = -1
    return (q - zero.reshape(view)) * scale.reshape(view)


def same_padding(size, k, s):
    out = -(-size // s)
    total = max((out - 1) * s + k - size, 0)
    return out, total // 2, total - total // 2


def windows(x, kh, kw, s, same):
    """x (H, W, C) -> patches (OH, OW, KH, KW, C) and the output size."""
    h, w, _ = x.shape
    if same:
        oh, top, bottom = same_padding(h, kh, s)
        ow, left, right = same_padding(w, kw, s)
        x = np.pad(x, ((top, bottom), (left, right), (0, 0)))
    else:
        oh, ow = (h - kh) // s + 1, (w - kw) // s + 1
    patches = np.empty((oh, ow, kh, kw, x.shape[2]))
    for ky in range(kh):
        for kx in range(kw):
            patches[:, :, ky, kx, :] = x[ky:ky + (oh - 1) * s + 1:s, kx:kx + (ow - 1) * s + 1:s, :]
    return patches


def activation(y, code):
    if code == tflite.ActivationFunctionType.RELU6:
        return np.clip(y, 0, 6)
    if code == tflite.ActivationFunctionType.RELU:
        return np.maximum(y, 0)
    assert code == tflite.ActivationFunctionType.NONE, code
    return y


def run(path, image):
    model = tflite.Model.GetRootAsModel(open(path, "rb").read(), 0)
    graph = model.Subgraphs(0)
    codes = [max(model.OperatorCodes(i).BuiltinCode(), model.OperatorCodes(i).DeprecatedBuiltinCode())
             for i in range(model.OperatorCodesLength())]
    inp = graph.Tensors(graph.Inputs(0)).Quantization()
    values = {graph.Inputs(0): (image.astype(np.float64) - inp.ZeroPointAsNumpy()[0]) * inp.ScaleAsNumpy()[0]}
    embedding = None
    B = tflite.BuiltinOperator
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        code, ins, out = codes[op.OpcodeIndex()], op.InputsAsNumpy(), op.Outputs(0)
        x = values.get(ins[0])
        if code == B.CONV_2D:
            o = tflite.Conv2DOptions()
            o.Init(op.BuiltinOptions().Bytes, op.BuiltinOptions().Pos)
            w, b = dequantize(model, graph, ins[1]), dequantize(model, graph, ins[2])  # (K, KH, KW, C)
            p = windows(x, w.shape[1], w.shape[2], o.StrideH(), o.Padding() == tflite.Padding.SAME)
            values[out] = activation(np.einsum("yxijc,kijc->yxk", p, w) + b, o.FusedActivationFunction())
        elif code == B.DEPTHWISE_CONV_2D:
            o = tflite.DepthwiseConv2DOptions()
            o.Init(op.BuiltinOptions().Bytes, op.BuiltinOptions().Pos)
            w, b = dequantize(model, graph, ins[1]), dequantize(model, graph, ins[2])  # (1, KH, KW, C)
            p = windows(x, w.shape[1], w.shape[2], o.StrideH(), o.Padding() == tflite.Padding.SAME)
            values[out] = activation(np.einsum("yxijc,ijc->yxc", p, w[0]) + b, o.FusedActivationFunction())
        elif code == B.ADD:
            values[out] = x + values[ins[1]]
        elif code == B.AVERAGE_POOL_2D:
            o = tflite.Pool2DOptions()
            o.Init(op.BuiltinOptions().Bytes, op.BuiltinOptions().Pos)
            assert (o.FilterHeight(), o.FilterWidth()) == x.shape[:2], "only the global pool is needed"
            values[out] = x.mean(axis=(0, 1)).reshape(1, 1, -1)
            embedding = values[out].reshape(-1)
        elif code == B.RESHAPE:
            values[out] = x.reshape(-1)
        elif code == B.SOFTMAX:
            values[out] = x  # keep the logits
        else:
            raise SystemExit(f"operator {i}: code {code} is not in this reference")
    return embedding, values[graph.Outputs(0)].reshape(-1)


def write_safetensors(path, tensors, metadata):
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, a in tensors.items():
        data = np.ascontiguousarray(a, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def main():
    model_path, out_path = sys.argv[1], sys.argv[2]
    y, x, c = np.meshgrid(np.arange(224), np.arange(224), np.arange(3), indexing="ij")
    image = (3 * x * x + 5 * y + 71 * c + x * y) % 256
    embedding, logits = run(model_path, image)
    write_safetensors(out_path, {"embedding": embedding, "logits": logits},
                      {"model": "mobilenet_v2_1.0_224_quant.tflite",
                       "input": "pixel(y,x,c) = (3*x*x + 5*y + 71*c + x*y) % 256",
                       "made_by": "tools/make_tflite_reference.py (NumPy float64)"})
    print(f"embedding: {embedding.shape}, mean {embedding.mean():.4f}; top class {int(logits.argmax())}")


if __name__ == "__main__":
    main()
