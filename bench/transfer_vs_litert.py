#!/usr/bin/env python3
"""MobileNetV2 feature extraction: dltrain against TFLite's own runtime (ai-edge-litert), same model,
same machine, same run, 224x224 images in batches of 32 on 2 threads.

  python3 -m pip install ai-edge-litert==2.3.0 tflite==2.18.0 numpy
  cmake --build build && python3 bench/transfer_vs_litert.py [--model ../shared/data/mobilenet_v2/...]

LiteRT runs the file twice: as published (uint8, its quantized kernels) and as a float32 copy
made by bench/float_tflite.py (its float path, XNNPACK); in both the RESHAPE before the softmax
is patched to accept any batch size. dltrain imports the published file and
runs the backbone in float32. LiteRT's figures include the classifier's last 1x1 conv and softmax
(about 1.3 MFLOP of the ~600 MFLOP per image); dltrain's stop at the 1280-d embedding.
On a shared host the figures swing by a third from run to run: each contender runs --rounds times,
in turn (the order reversed every other round, so a slow spell that drifts in or out does not
always favour the same one), and two figures count: each one's best run, and the median over the
rounds of dltrain / LiteRT within a round (a paired ratio, robust to a round or two that a
neighbour disturbed). Every run is printed too.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import float_tflite  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def litert_images_per_s(path, batch, batches, threads):
    from ai_edge_litert.interpreter import Interpreter
    it = Interpreter(model_path=path, num_threads=threads)
    inp = it.get_input_details()[0]
    it.resize_tensor_input(inp["index"], [batch, 224, 224, 3])
    it.allocate_tensors()
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, (batch, 224, 224, 3)).astype(inp["dtype"])
    if inp["dtype"] == np.float32:
        x = x / 127.5 - 1
    it.set_tensor(inp["index"], x.astype(inp["dtype"]))
    it.invoke()  # warm-up
    t0 = time.perf_counter()
    for _ in range(batches):
        it.invoke()
    return batch * batches / (time.perf_counter() - t0)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=os.path.join(ROOT, "..", "shared", "data", "mobilenet_v2",
                                                   "mobilenet_v2_1.0_224_quant.tflite"))
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--batches", type=int, default=6)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=3, help="each contender runs this often; the best counts")
    ap.add_argument("--binary", default=os.path.join(ROOT, "build", "bench", "features_bench"))
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        float_model, u8_model = os.path.join(tmp, "float.tflite"), os.path.join(tmp, "uint8.tflite")
        float_tflite.float_copy(a.model, float_model)
        float_tflite.batchable_copy(a.model, u8_model)
        env = dict(os.environ, OMP_NUM_THREADS=str(a.threads), OPENBLAS_NUM_THREADS="1")
        rounds = []  # each round runs every contender once, in turn, so a busy spell hits all of them
        for i in range(a.rounds):
            runs = {
                "ours": lambda: json.loads(subprocess.run([a.binary, a.model, str(a.batch), str(a.batches)], env=env,
                                                          check=True, capture_output=True, text=True).stdout),
                "lite_float": lambda: litert_images_per_s(float_model, a.batch, a.batches, a.threads),
                "lite_u8": lambda: litert_images_per_s(u8_model, a.batch, a.batches, a.threads),
            }
            got = {key: runs[key]() for key in (list(runs) if i % 2 == 0 else reversed(list(runs)))}
            rounds.append(dict(got.pop("ours"), **got))
    best = {key: max(r[key] for r in rounds) for key in rounds[0] if key != "head_10_epochs_s"}
    paired = {key: statistics.median(r["images_per_s"] / r[key] for r in rounds) for key in ("lite_float", "lite_u8")}
    spread = {key: (min(r["images_per_s"] / r[key] for r in rounds), max(r["images_per_s"] / r[key] for r in rounds))
              for key in paired}
    head = min(r["head_10_epochs_s"] for r in rounds)
    print(f"MobileNetV2 224x224, batch {a.batch}, {a.threads} threads, images/s (higher is better), "
          f"best of {a.rounds} rounds")
    print(f"  dltrain (float32, imported from the uint8 file) {best['images_per_s']:8.1f}   up to 4 images per pass "
          "and thread, as training extracts features")
    print(f"  dltrain, whole batches through one model       {best['batched_images_per_s']:8.1f}")
    print(f"  LiteRT float32 path (XNNPACK)                  {best['lite_float']:8.1f}   dltrain / LiteRT = "
          f"{best['images_per_s'] / best['lite_float']:.2f}x")
    print(f"  LiteRT uint8 path                              {best['lite_u8']:8.1f}   dltrain / LiteRT = "
          f"{best['images_per_s'] / best['lite_u8']:.2f}x")
    for key, name in (("lite_float", "float32"), ("lite_u8", "uint8")):
        print(f"  dltrain / LiteRT {name} within each round: median {paired[key]:.2f}x "
              f"(from {spread[key][0]:.2f}x to {spread[key][1]:.2f}x over {a.rounds} rounds)")
    print("  per round (dltrain, LiteRT float, LiteRT uint8): " +
          "; ".join(f"{r['images_per_s']:.0f} {r['lite_float']:.0f} {r['lite_u8']:.0f}" for r in rounds))
    print(f"  head training, 10 epochs on 2,000 cached features: {head:.2f} s")


if __name__ == "__main__":
    main()
