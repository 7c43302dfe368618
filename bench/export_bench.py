#!/usr/bin/env python3
"""What `dltrain export` gives an edge device, measured in one run on one machine:
- file sizes: ONNX float32, TFLite float32, TFLite int8 (about a quarter of float);
- LiteRT int8 against LiteRT float32, images/s, for the exported `cnn` (28x28x1, batch 1 and 32)
  and the transfer model (MobileNetV2 + head, 224x224x3, batch 1 and 8), on --threads threads;
- dltrain against ONNX Runtime on the same model: `dltrain eval` (batch 500, the whole command:
  start, reading the 10,000 test images, inference) against ONNX Runtime running the exported
  file on the same 10,000 images at batch 500 (inference only), both on --threads threads.

  python3 -m pip install ai-edge-litert==2.3.0 onnxruntime==1.32.0 numpy
  cmake --build build && python3 bench/export_bench.py [--threads 2]

It trains `cnn` for one epoch on Fashion-MNIST and a transfer model on the imprinting photos from
../shared/data (skipped, with a note, when MobileNetV2 is not there)."""
import argparse
import os
import shutil
import subprocess
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DLTRAIN = os.path.join(ROOT, "build", "dltrain")
FASHION = os.environ.get("DLTRAIN_FASHION_MNIST") or "/usr/share/datasets/fashion-mnist"
SHARED = os.environ.get("DLTRAIN_TEST_DATA") or os.path.join(ROOT, "..", "shared", "data")


def run(*cmd):
    return subprocess.run(cmd, check=True, capture_output=True, text=True).stdout


def litert_images_per_s(path, batch, threads, seconds=2.0):
    from ai_edge_litert.interpreter import Interpreter
    it = Interpreter(model_path=path, num_threads=threads)
    inp = it.get_input_details()[0]
    shape = [batch, *inp["shape"][1:]]
    it.resize_tensor_input(inp["index"], shape)
    it.allocate_tensors()
    x = np.random.default_rng(1).integers(0, 256, shape)
    it.set_tensor(inp["index"], (x - 128 if inp["dtype"] == np.int8 else x).astype(inp["dtype"]))
    it.invoke()  # warm-up
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        it.invoke()
        n += 1
    return batch * n / (time.perf_counter() - t0)


def export_all(model, work, calibration, name):
    files = {}
    for kind, flags in [("onnx", []), ("tflite", []),
                        ("tflite int8", ["--int8", "--calibration", calibration, "--calibration-images", "500"])]:
        path = os.path.join(work, f"{name}_{kind.replace(' ', '_')}.{kind.split()[0]}")
        run(DLTRAIN, "export", model, "-o", path, *flags)
        files[kind] = path
    return files


def report_sizes(name, files):
    sizes = {k: os.path.getsize(p) for k, p in files.items()}
    print(f"{name}: ONNX {sizes['onnx']:,} B, TFLite float32 {sizes['tflite']:,} B, TFLite int8 "
          f"{sizes['tflite int8']:,} B ({sizes['tflite int8'] / sizes['tflite']:.2f} of float)")


def report_litert(name, files, batches, threads):
    for batch in batches:
        f = litert_images_per_s(files["tflite"], batch, threads)
        q = litert_images_per_s(files["tflite int8"], batch, threads)
        print(f"  LiteRT, batch {batch:>2}: float32 {f:9.1f} images/s, int8 {q:9.1f} images/s ({q / f:.2f}x)")


def dltrain_vs_onnxruntime(model, onnx_file, threads):
    import gzip
    import onnxruntime as ort
    t0 = time.perf_counter()
    out = run(DLTRAIN, "eval", model, "--data", FASHION, "--batch", "500", "--threads", str(threads))
    dl = 10000 / (time.perf_counter() - t0)
    with gzip.open(os.path.join(FASHION, "t10k-images-idx3-ubyte.gz")) as f:
        pixels = np.frombuffer(f.read(), dtype=np.uint8, offset=16).reshape(-1, 28, 28, 1)
    o = ort.SessionOptions()
    o.intra_op_num_threads, o.inter_op_num_threads = threads, 1
    s = ort.InferenceSession(onnx_file, o, providers=["CPUExecutionProvider"])
    s.run(["probabilities"], {"pixels": pixels[:500]})  # warm-up
    t0 = time.perf_counter()
    for i in range(0, len(pixels), 500):
        s.run(["probabilities"], {"pixels": pixels[i:i + 500]})
    rt = len(pixels) / (time.perf_counter() - t0)
    print(f"  10,000 test images, batch 500: dltrain eval {dl:,.0f} images/s (whole command; "
          f"{out.splitlines()[1].strip()}), ONNX Runtime {rt:,.0f} images/s (inference only): "
          f"dltrain/ORT {dl / rt:.2f}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="dltrain-export-bench-")
    env_cache = os.path.join(work, "cache")
    os.environ["DLTRAIN_CACHE"] = env_cache
    try:
        cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
        print(f"{cpu}, {os.cpu_count()} CPUs, {a.threads} threads")
        cnn_run = os.path.join(work, "cnn")
        run(DLTRAIN, "train", "--model", "cnn", "--data", FASHION, "--epochs", "1", "--no-validation", "--quiet",
            "--no-report", "--run-dir", cnn_run, "--threads", str(a.threads))
        cnn = os.path.join(cnn_run, "model.safetensors")
        files = export_all(cnn, work, FASHION, "cnn")
        report_sizes("cnn", files)
        report_litert("cnn", files, [1, 32], a.threads)
        dltrain_vs_onnxruntime(cnn, files["onnx"], a.threads)

        backbone = os.path.join(SHARED, "mobilenet_v2", "mobilenet_v2_1.0_224_quant.tflite")
        if not os.path.exists(backbone):
            print(f"transfer: skipped (no {backbone})")
            return
        photos, train_dir = os.path.join(SHARED, "images", "imprinting"), os.path.join(work, "photos")
        for name in sorted(os.listdir(photos)):
            if "_train_" in name:
                os.makedirs(os.path.join(train_dir, name.split("_")[0]), exist_ok=True)
                shutil.copy(os.path.join(photos, name), os.path.join(train_dir, name.split("_")[0], name))
        tr_run = os.path.join(work, "transfer")
        run(DLTRAIN, "train", "--backbone", backbone, "--data", train_dir, "--epochs", "2", "--batch", "8",
            "--no-validation", "--quiet", "--no-report", "--run-dir", tr_run, "--threads", str(a.threads))
        files = export_all(os.path.join(tr_run, "model.safetensors"), work, train_dir, "transfer")
        report_sizes("transfer (MobileNetV2 + head)", files)
        report_litert("transfer", files, [1, 8], a.threads)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
