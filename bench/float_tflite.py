"""Copies of a TFLite classifier for benchmarking with batches. float_copy: a float32 copy of a quantized model: the same graph and operator options, every
weight dequantized as (q - zero_point) * scale, no quantization. It gives TFLite's runtime its
float path on exactly the model dltrain imports (bench/transfer_vs_litert.py)."""
import importlib

import flatbuffers
import numpy as np
import tflite


def module(name):  # the generated modules (tflite/__init__ re-exports their classes under the same names)
    return importlib.import_module("tflite." + name)


Add, Buffer, Conv, Dw, Model, Operator, OperatorCode, Pool, Reshape, Softmax, SubGraph, Tensor = map(module, [
    "AddOptions", "Buffer", "Conv2DOptions", "DepthwiseConv2DOptions", "Model", "Operator", "OperatorCode",
    "Pool2DOptions", "ReshapeOptions", "SoftmaxOptions", "SubGraph", "Tensor"])

B = tflite.BuiltinOperator
T = tflite.BuiltinOptions


def dequantize(model, graph, t):
    raw = model.Buffers(t.Buffer()).DataAsNumpy()
    if not isinstance(raw, np.ndarray):
        return None
    kind = {tflite.TensorType.UINT8: np.uint8, tflite.TensorType.INT8: np.int8, tflite.TensorType.INT32: np.int32,
            tflite.TensorType.FLOAT32: np.float32}[t.Type()]
    q = np.frombuffer(raw.tobytes(), dtype=kind).astype(np.float64)
    quant = t.Quantization()
    if t.Type() == tflite.TensorType.FLOAT32 or quant is None or quant.ScaleLength() == 0:
        return q.astype(np.float32 if t.Type() != tflite.TensorType.INT32 else np.int32)
    assert quant.ScaleLength() == 1, "per-tensor quantization only"
    return ((q - quant.ZeroPoint(0)) * quant.Scale(0)).astype(np.float32)


def options(b, op):
    table, kind = op.BuiltinOptions(), op.BuiltinOptionsType()
    if kind == T.NONE:
        return None
    if kind == T.Conv2DOptions:
        o = Conv.Conv2DOptions(); o.Init(table.Bytes, table.Pos)
        Conv.Start(b); Conv.AddPadding(b, o.Padding()); Conv.AddStrideW(b, o.StrideW()); Conv.AddStrideH(b, o.StrideH())
        Conv.AddFusedActivationFunction(b, o.FusedActivationFunction()); return Conv.End(b)
    if kind == T.DepthwiseConv2DOptions:
        o = Dw.DepthwiseConv2DOptions(); o.Init(table.Bytes, table.Pos)
        Dw.Start(b); Dw.AddPadding(b, o.Padding()); Dw.AddStrideW(b, o.StrideW()); Dw.AddStrideH(b, o.StrideH())
        Dw.AddDepthMultiplier(b, o.DepthMultiplier()); Dw.AddFusedActivationFunction(b, o.FusedActivationFunction())
        return Dw.End(b)
    if kind == T.AddOptions:
        o = Add.AddOptions(); o.Init(table.Bytes, table.Pos)
        Add.Start(b); Add.AddFusedActivationFunction(b, o.FusedActivationFunction()); return Add.End(b)
    if kind == T.Pool2DOptions:
        o = Pool.Pool2DOptions(); o.Init(table.Bytes, table.Pos)
        Pool.Start(b); Pool.AddPadding(b, o.Padding()); Pool.AddStrideW(b, o.StrideW()); Pool.AddStrideH(b, o.StrideH())
        Pool.AddFilterWidth(b, o.FilterWidth()); Pool.AddFilterHeight(b, o.FilterHeight())
        Pool.AddFusedActivationFunction(b, o.FusedActivationFunction()); return Pool.End(b)
    if kind == T.ReshapeOptions:
        o = Reshape.ReshapeOptions(); o.Init(table.Bytes, table.Pos)
        shape = b.CreateNumpyVector(np.concatenate([[-1], o.NewShapeAsNumpy()[1:]]).astype(np.int32))
        Reshape.Start(b); Reshape.AddNewShape(b, shape); return Reshape.End(b)
    if kind == T.SoftmaxOptions:
        o = Softmax.SoftmaxOptions(); o.Init(table.Bytes, table.Pos)
        Softmax.Start(b); Softmax.AddBeta(b, o.Beta()); return Softmax.End(b)
    raise SystemExit(f"options type {kind} is not handled")


def batchable_copy(src_path, dst_path):
    """The file unchanged except that RESHAPE's target batch size (its shape tensor and options)
    becomes -1, so that the runtime accepts a batch larger than 1."""
    data = bytearray(open(src_path, "rb").read())
    model = Model.Model.GetRootAsModel(bytes(data), 0)
    graph = model.Subgraphs(0)
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        if max(model.OperatorCodes(op.OpcodeIndex()).BuiltinCode(),
               model.OperatorCodes(op.OpcodeIndex()).DeprecatedBuiltinCode()) != B.RESHAPE:
            continue
        shape = model.Buffers(graph.Tensors(op.Inputs(1)).Buffer())
        at = shape._tab.Vector(shape._tab.Offset(4))
        data[at:at + 4] = np.int32(-1).tobytes()
        if op.BuiltinOptionsType() == T.ReshapeOptions:
            o = Reshape.ReshapeOptions()
            o.Init(op.BuiltinOptions().Bytes, op.BuiltinOptions().Pos)
            at = o._tab.Vector(o._tab.Offset(4))
            data[at:at + 4] = np.int32(-1).tobytes()
    open(dst_path, "wb").write(bytes(data))


def vector(b, start, items):
    start(b, len(items))
    for item in reversed(items):
        b.PrependUOffsetTRelative(item)
    return b.EndVector()


def float_copy(src_path, dst_path):
    model = Model.Model.GetRootAsModel(open(src_path, "rb").read(), 0)
    graph = model.Subgraphs(0)
    b = flatbuffers.Builder(1 << 24)
    Buffer.Start(b)
    buffers = [Buffer.End(b)]  # buffer 0: empty
    tensors = []
    for i in range(graph.TensorsLength()):
        t = graph.Tensors(i)
        data = dequantize(model, graph, t)
        if data is not None and data.dtype == np.int32 and data.size == 2:  # a RESHAPE target: any batch
            data = np.array([-1, data[1]], dtype=np.int32)
        buffer = 0
        if data is not None:
            vec = b.CreateNumpyVector(np.frombuffer(data.tobytes(), dtype=np.uint8))
            Buffer.Start(b); Buffer.AddData(b, vec); buffers.append(Buffer.End(b)); buffer = len(buffers) - 1
        name, shape = b.CreateString(t.Name()), b.CreateNumpyVector(t.ShapeAsNumpy().astype(np.int32))
        Tensor.Start(b); Tensor.AddShape(b, shape); Tensor.AddName(b, name); Tensor.AddBuffer(b, buffer)
        plain_int = data is not None and data.dtype == np.int32  # shapes, not quantized values
        Tensor.AddType(b, tflite.TensorType.INT32 if plain_int else tflite.TensorType.FLOAT32)
        tensors.append(Tensor.End(b))
    ops = []
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        opts = options(b, op)
        ins, outs = b.CreateNumpyVector(op.InputsAsNumpy()), b.CreateNumpyVector(op.OutputsAsNumpy())
        Operator.Start(b); Operator.AddOpcodeIndex(b, op.OpcodeIndex()); Operator.AddInputs(b, ins)
        Operator.AddOutputs(b, outs); Operator.AddBuiltinOptionsType(b, op.BuiltinOptionsType())
        if opts is not None:
            Operator.AddBuiltinOptions(b, opts)
        ops.append(Operator.End(b))
    codes = []
    for i in range(model.OperatorCodesLength()):
        c = model.OperatorCodes(i)
        OperatorCode.Start(b); OperatorCode.AddDeprecatedBuiltinCode(b, c.DeprecatedBuiltinCode())
        OperatorCode.AddBuiltinCode(b, c.BuiltinCode()); OperatorCode.AddVersion(b, 1); codes.append(OperatorCode.End(b))
    tv, ov = vector(b, SubGraph.StartTensorsVector, tensors), vector(b, SubGraph.StartOperatorsVector, ops)
    iv, outv = b.CreateNumpyVector(graph.InputsAsNumpy()), b.CreateNumpyVector(graph.OutputsAsNumpy())
    SubGraph.Start(b); SubGraph.AddTensors(b, tv); SubGraph.AddInputs(b, iv); SubGraph.AddOutputs(b, outv)
    SubGraph.AddOperators(b, ov); sg = SubGraph.End(b)
    cv, gv = vector(b, Model.StartOperatorCodesVector, codes), vector(b, Model.StartSubgraphsVector, [sg])
    bv = vector(b, Model.StartBuffersVector, buffers)
    Model.Start(b); Model.AddVersion(b, 3); Model.AddOperatorCodes(b, cv); Model.AddSubgraphs(b, gv)
    Model.AddBuffers(b, bv)
    b.Finish(Model.End(b), file_identifier=b"TFL3")
    open(dst_path, "wb").write(b.Output())
