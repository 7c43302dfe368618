#!/usr/bin/python3
"""Makes the golden fixtures in tests/golden/ with PyTorch (Debian's python3-torch is enough).

Each fixture is a safetensors file (written here with numpy, not with dltrain) holding what
PyTorch computes from inputs that both sides generate from the same integer hash:
- cnn_step.safetensors / mlp_step.safetensors: logits and loss at fixed weights, every
  parameter's gradient, and the weights after one and after two SGD steps (lr 0.01, momentum 0.9)
  on a batch of 8. Tensors in dltrain's layout (conv (KH,KW,C,K), dense (IN,OUT), flatten in
  H,W,C order). Large kernels are stored as every `stride`-th element only, to keep files small.
- optimizers.safetensors: a 50-element parameter after 3 steps of SGD (momentum, nesterov,
  weight decay), Adam and AdamW.
Run: /usr/bin/python3 tools/make_golden.py   (rewrites tests/golden/*.safetensors)
"""
import json
import os
import struct

import numpy as np
import torch
from torch import nn

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "golden")
MASK = (1 << 64) - 1
SAMPLE_STRIDE = 61  # kernels above 20,000 elements keep every 61st element


def splitmix(x):
    x = (x + 0x9E3779B97F4A7C15) & MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK
    return x ^ (x >> 31)


def hashed(salt, n, scale):
    """float32 values in [-scale, scale): (u * 2 - 1) * scale, u = 24 hash bits / 2^24.
    tests/golden_test.cpp computes the same numbers."""
    u = np.array([splitmix((salt << 32) + i) >> 40 for i in range(n)], dtype=np.float64) / float(1 << 24)
    return ((u * 2 - 1).astype(np.float32) * np.float32(scale)).astype(np.float32)


def write_safetensors(path, tensors, metadata):
    header, blobs, offset = {"__metadata__": metadata}, [], 0
    for name, array in tensors.items():
        data = np.ascontiguousarray(array, dtype=np.float32).tobytes()
        header[name] = {"dtype": "F32", "shape": list(array.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


class ToNHWCFlatten(nn.Module):
    def forward(self, x):  # dltrain (like Keras) flattens channels-last
        return x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)


def layout(name, t):
    """PyTorch parameter -> dltrain layout."""
    a = t.detach().numpy()
    if a.ndim == 4:
        return a.transpose(2, 3, 1, 0)  # (K,C,KH,KW) -> (KH,KW,C,K)
    if a.ndim == 2:
        return a.T  # (OUT,IN) -> (IN,OUT)
    return a


def keep(a):
    """A copy (PyTorch reuses gradient and parameter storage across steps)."""
    flat = a.reshape(-1)
    return (flat[::SAMPLE_STRIDE] if flat.size > 20000 else a).copy()


def model_step(kind):
    torch.manual_seed(0)
    if kind == "cnn":
        model = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), ToNHWCFlatten(),
                              nn.Linear(5408, 100), nn.ReLU(), nn.Linear(100, 10))
        names = {"0.weight": "conv2d/kernel", "0.bias": "conv2d/bias", "4.weight": "dense/kernel",
                 "4.bias": "dense/bias", "6.weight": "dense_1/kernel", "6.bias": "dense_1/bias"}
    else:
        model = nn.Sequential(ToNHWCFlatten(), nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(),
                              nn.Linear(256, 10))
        names = {"1.weight": "dense/kernel", "1.bias": "dense/bias", "3.weight": "dense_1/kernel",
                 "3.bias": "dense_1/bias", "5.weight": "dense_2/kernel", "5.bias": "dense_2/bias"}
    # Fixed weights: parameter number p (in the order above) gets hashed(100 + p, n, 0.1) in
    # dltrain's layout, converted to PyTorch's.
    params = dict(model.named_parameters())
    for p, (tname, dname) in enumerate(names.items()):
        t = params[tname]
        if t.ndim == 4:
            k, c, kh, kw = t.shape
            v = hashed(100 + p, t.numel(), 0.1).reshape(kh, kw, c, k).transpose(3, 2, 0, 1)
        elif t.ndim == 2:
            o, i = t.shape
            v = hashed(100 + p, t.numel(), 0.1).reshape(i, o).T
        else:
            v = hashed(100 + p, t.numel(), 0.1)
        with torch.no_grad():
            t.copy_(torch.from_numpy(np.ascontiguousarray(v)))
    pixels = np.array([splitmix((7 << 32) + i) >> 56 for i in range(8 * 784)], dtype=np.uint8)
    labels = np.array([splitmix((8 << 32) + i) % 10 for i in range(8)], dtype=np.int64)
    x = torch.from_numpy(pixels.astype(np.float32) / np.float32(255)).reshape(8, 28, 28, 1).permute(0, 3, 1, 2)
    y = torch.from_numpy(labels)
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    out = {}
    for step in (1, 2):
        opt.zero_grad()
        logits = model(x)
        loss = nn.functional.cross_entropy(logits, y)
        loss.backward()
        if step == 1:
            out["logits"] = logits.detach().numpy().copy()
            out["loss"] = loss.detach().numpy().reshape(1).copy()
            for tname, dname in names.items():
                out["grad/" + dname] = keep(layout(tname, params[tname].grad))
        opt.step()
        for tname, dname in names.items():
            out[f"step{step}/" + dname] = keep(layout(tname, params[tname]))
    meta = {"stride": str(SAMPLE_STRIDE), "made_by": f"tools/make_golden.py, torch {torch.__version__}",
            "labels": json.dumps(labels.tolist())}
    write_safetensors(os.path.join(OUT, f"{kind}_step.safetensors"), out, meta)


def optimizers():
    out = {}
    w0 = hashed(1, 50, 1.0)
    grads = [hashed(2 + s, 50, 1.0) for s in range(3)]
    configs = {
        "sgd": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=0.01),
        "sgd_nesterov": lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
        "sgd_plain": lambda p: torch.optim.SGD(p, lr=0.1),
        "adam": lambda p: torch.optim.Adam(p, lr=0.01, weight_decay=0.01),
        "adamw": lambda p: torch.optim.AdamW(p, lr=0.01, weight_decay=0.1),
    }
    for name, make in configs.items():
        w = torch.nn.Parameter(torch.from_numpy(w0.copy()))
        opt = make([w])
        for g in grads:
            w.grad = torch.from_numpy(g.copy())
            opt.step()
        out[name] = w.detach().numpy()
    write_safetensors(os.path.join(OUT, "optimizers.safetensors"), out,
                      {"made_by": f"tools/make_golden.py, torch {torch.__version__}"})


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    model_step("cnn")
    model_step("mlp")
    optimizers()
    print("wrote", sorted(os.listdir(OUT)))
