#!/usr/bin/env python3
"""ONNX export against outside references. For one case (cnn, mlp, lenet5, residual_bn,
transfer) it trains a small model with `dltrain train`, exports it with `dltrain export`, has
onnx.checker check the file, and compares ONNX Runtime's probabilities with the library's
predict() (what `dltrain predict` prints, dumped by tests/onnx_reference) on the same pixels:
|ort - dltrain| <= 1e-5 * max(1, |dltrain|) for every probability. Prints the first mismatches and
the largest error. Exits 77 (CTest: skipped, with the reason printed) when onnx/onnxruntime or the
data are absent.
  onnx_export_test.py CASE DLTRAIN ONNX_REFERENCE"""
import os
import shutil
import subprocess
import sys
import tempfile

SKIP = 77
TOLERANCE = 1e-5
N_IMAGES = 1000

# The residual text-format network: every exported layer kind, batchnorm after conv and dense,
# SAME padding with strides (asymmetric pads), a residual block whose input is another layer's.
RESIDUAL_BN = ("conv:8x3x3,same bn relu res{ conv:8x3x3,same,relu6 bn } dwconv:3x3,stride=2,same,relu6 "
               "avgpool:3,stride=2,same relu6 maxpool:2,same res{ dwconv:3x3,same bn } flatten dropout:0.2 "
               "dense:16,relu bn dense:10,softmax")
MODELS = {"cnn": "cnn", "mlp": "mlp", "lenet5": "lenet5", "residual_bn": RESIDUAL_BN}


def skip(why):
    print("SKIPPED:", why)
    sys.exit(SKIP)


try:
    import numpy as np
    import onnx
    import onnxruntime as ort
except ImportError as e:
    skip(f"the {e.name} Python package is not installed (.ci/run pip-installs onnx and onnxruntime)")


def run(cmd, **kw):
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    if r.returncode != 0:
        sys.exit(f"FAILED: {' '.join(cmd)} exited {r.returncode}\n{r.stdout}{r.stderr}")
    return r.stdout


def main():
    case, dltrain, reference = sys.argv[1:4]
    work = tempfile.mkdtemp(prefix="dltrain-onnx-")
    env = dict(os.environ, DLTRAIN_CACHE=os.path.join(work, "cache"))
    try:
        if case == "transfer":
            shared = os.environ.get("DLTRAIN_TEST_DATA") or os.path.join(os.path.dirname(__file__), "../../shared/data")
            backbone = os.path.join(shared, "mobilenet_v2/mobilenet_v2_1.0_224_quant.tflite")
            photos = os.path.join(shared, "images/imprinting")
            if not os.path.exists(backbone):
                skip(f"the MobileNetV2 file is not in {shared} (set DLTRAIN_TEST_DATA)")
            train_dir = os.path.join(work, "photos")
            for name in sorted(os.listdir(photos)):
                if "_train_" in name:
                    cls = name.split("_")[0]
                    os.makedirs(os.path.join(train_dir, cls), exist_ok=True)
                    shutil.copy(os.path.join(photos, name), os.path.join(train_dir, cls, name))
            train = ["--backbone", backbone, "--data", train_dir, "--epochs", "2", "--batch", "8"]
            source, n = photos, N_IMAGES
        else:
            data = os.environ.get("DLTRAIN_FASHION_MNIST") or "/usr/share/datasets/fashion-mnist"
            if not os.path.exists(os.path.join(data, "t10k-images-idx3-ubyte.gz")):
                skip(f"Fashion-MNIST is not in {data} (apt-get install dataset-fashion-mnist)")
            train = ["--model", MODELS[case], "--data", data, "--limit", "2000", "--epochs", "1"]
            source, n = os.path.join(data, "t10k-images-idx3-ubyte.gz"), N_IMAGES
        run_dir = os.path.join(work, "run")
        run([dltrain, "train", *train, "--no-validation", "--threads", "2", "--run-dir", run_dir, "--quiet",
             "--no-report"], env=env)
        model = os.path.join(run_dir, "model.safetensors")
        out = os.path.join(work, "model.onnx")
        print(run([dltrain, "export", model, "-o", out], env=env).strip())

        proto = onnx.load(out)
        onnx.checker.check_model(proto, full_check=True)
        assert proto.ir_version == 8, proto.ir_version
        assert [(o.domain, o.version) for o in proto.opset_import] == [("", 17)], proto.opset_import
        meta = {p.key: p.value for p in proto.metadata_props}
        assert "labels" in meta and "preprocessing" in meta, meta.keys()
        batch = proto.graph.input[0].type.tensor_type.shape.dim[0]
        assert batch.dim_param == "N", f"batch dimension is not dynamic: {batch}"

        prefix = os.path.join(work, "ref")
        count, h, w, c, k = map(int, run([reference, model, source, str(n), prefix]).split())
        pixels = np.fromfile(prefix + ".u8", dtype=np.uint8).reshape(count, h, w, c)
        expected = np.fromfile(prefix + ".f32", dtype=np.float32).reshape(count, k)
        session = ort.InferenceSession(out, providers=["CPUExecutionProvider"])
        got = np.concatenate([session.run(["probabilities"], {"pixels": pixels[i:i + 250]})[0]
                              for i in range(0, count, 250)])
        assert got.shape == expected.shape, (got.shape, expected.shape)
        err = np.abs(got.astype(np.float64) - expected) / np.maximum(1.0, np.abs(expected))
        bad = np.argwhere(err > TOLERANCE)
        worst = np.unravel_index(np.argmax(err), err.shape)
        print(f"{case}: {count} images x {k} classes, largest error {err.max():.3g} at {tuple(map(int, worst))}, "
              f"top-1 agreement {np.mean(got.argmax(1) == expected.argmax(1)):.4f}")
        if len(bad):
            for i, j in bad[:5]:
                print(f"  [{i},{j}] onnxruntime {got[i, j]:.8g} vs dltrain {expected[i, j]:.8g}")
            sys.exit(f"FAILED: {len(bad)} of {err.size} probabilities differ beyond {TOLERANCE}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
