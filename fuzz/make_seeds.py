#!/usr/bin/env python3
"""Writes the seed corpus of every fuzz target: fuzz/corpus/<target>/<seed>.

Small hand-made inputs, some valid and some malformed, from the Python standard library only
(the binary formats are written out here: IDX, gzip, safetensors, a tiny TFLite FlatBuffer, PNG,
BMP, a one-block JPEG with EXIF, tar and zip). Regression inputs for bugs the fuzzers found are
written here too (names start with `crash-` or `regress-`), so the corpus can always be rebuilt:

    python3 fuzz/make_seeds.py            # rewrites its seeds in fuzz/corpus/

Files it does not write are left alone: regression inputs kept as the fuzzer wrote them, and files
other tools made (the TFLite exports of dltrain's own models).
"""
import base64
import gzip
import io
import json
import os
import struct
import sys
import tarfile
import zipfile
import zlib

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
CUT = b"\n--8<--\n"  # fuzz_util.hpp: parts of one input
seeds = {}


def seed(target, name, data):
    if isinstance(data, str):
        data = data.encode()
    seeds.setdefault(target, {})[name] = data


def zipped(members):
    b = io.BytesIO()
    with zipfile.ZipFile(b, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members:
            info = zipfile.ZipInfo(name, (1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return b.getvalue()


# ---- IDX ------------------------------------------------------------------------------------------
def idx(dims, payload=None, dtype=0x08):
    n = 1
    for d in dims:
        n *= d
    head = bytes([0, 0, dtype, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims)
    return head + (payload if payload is not None else bytes(i % 256 for i in range(n)))


def gz(data):
    return gzip.compress(data, mtime=0)


seed("idx", "images_2x3x3", idx([2, 3, 3]))
seed("idx", "labels_5", idx([5]))
seed("idx", "images_gz", gz(idx([2, 4, 4])))
seed("idx", "truncated", idx([2, 3, 3])[:-4])
seed("idx", "too_long", idx([2, 3, 3]) + b"xx")
seed("idx", "float_type", idx([2], b"\0" * 8, dtype=0x0D))
seed("idx", "huge_dims", idx([0xFFFFFFFF, 0xFFFFFFFF, 2], b""))
seed("idx", "gz_promises_more", gz(idx([1000, 1000, 1000], b"\0" * 64)))
seed("idx", "gz_truncated", gz(idx([2, 4, 4]))[:20])
seed("idx", "empty", b"")


# ---- safetensors + model metadata -----------------------------------------------------------------
def safetensors(tensors, metadata):
    """tensors: [(name, dtype, shape, raw bytes)]"""
    header, blob = {}, b""
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(blob), len(blob) + len(raw)]}
        blob += raw
    if metadata is not None:
        header["__metadata__"] = metadata
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    return struct.pack("<Q", len(h)) + h + blob


def f32(values):
    return struct.pack("<%df" % len(values), *values)


MODEL_META = {
    "format": "dltrain-model/1",
    "architecture": "flatten dense:3,softmax",
    "input_shape": "[2,2,1]",
    "labels": '["a","b","c"]',
    "preprocessing": '{"scale":0.00392156862745098,"offset":0.0,"resize":"bilinear","layout":"NHWC"}',
    "title": "custom",
    "dataset": "fuzz",
}
MODEL_TENSORS = [("dense/kernel", "F32", [4, 3], f32([0.1 * i for i in range(12)])),
                 ("dense/bias", "F32", [3], f32([0.0, 0.5, -0.5]))]


def model_file(meta_changes=None, tensors=MODEL_TENSORS):
    meta = dict(MODEL_META)
    meta.update(meta_changes or {})
    return safetensors(tensors, {k: v for k, v in meta.items() if v is not None})


seed("safetensors", "model_valid", model_file())
seed("safetensors", "model_conv", model_file(
    {"architecture": "conv:2x3x3,same,relu maxpool:2 flatten dense:2,softmax", "input_shape": "[4,4,1]",
     "labels": '["x","y"]'},
    [("conv2d/kernel", "F32", [3, 3, 1, 2], f32([0.01 * i for i in range(18)])),
     ("conv2d/bias", "F32", [2], f32([0, 0])),
     ("dense/kernel", "F32", [8, 2], f32([0.1] * 16)),
     ("dense/bias", "F32", [2], f32([0, 0]))]))
seed("safetensors", "no_metadata", safetensors(MODEL_TENSORS, None))
seed("safetensors", "u8_tensor", safetensors([("x", "U8", [2, 2], b"\1\2\3\4")], {"a": "b"}))
seed("safetensors", "bad_scale", model_file({"preprocessing": '{"scale":1e39,"offset":0}'}))
seed("safetensors", "float_shape", model_file({"input_shape": "[2.5,1e300,1]"}))
seed("safetensors", "overflow_shape", model_file({"input_shape": "[1152921504606847025,16,1]"}))
seed("safetensors", "missing_param", model_file(tensors=MODEL_TENSORS[:1]))
seed("safetensors", "wrong_shape", model_file(tensors=[("dense/kernel", "F32", [3, 4], f32([0] * 12)), MODEL_TENSORS[1]]))
seed("safetensors", "overlap", struct.pack("<Q", 96) + json.dumps(
    {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
     "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}).encode().ljust(96) + b"\0" * 12)
seed("safetensors", "header_too_long", struct.pack("<Q", 1 << 62) + b"{}")
seed("safetensors", "not_json", struct.pack("<Q", 8) + b"{\"a\":[1,")

# ---- checkpoint: config.json, history.jsonl, checkpoint.safetensors ---------------------------------
CONFIG = {"model": "mlp", "data": "fashion-mnist", "epochs": 3, "batch": 32, "optim": "adam:lr=0.001",
          "schedule": "constant", "seed": 1, "threads": 1, "validate": True, "train_limit": 0}
HISTORY = "\n".join(json.dumps(r) for r in [
    {"epoch": 1, "steps": 10, "loss": 1.5, "accuracy": 0.5, "val_loss": 1.4, "val_accuracy": 0.55, "lr": 0.001,
     "seconds": 1.0, "val_seconds": 0.1},
    {"epoch": 2, "steps": 10, "loss": 1.0, "accuracy": 0.7, "lr": 0.001, "seconds": 1.0}]) + "\n"
CKPT = model_file({"epoch": "2", "global_step": "20", "optimizer_steps": "20", "rng_state": "12345",
                   "config": json.dumps(CONFIG)},
                  MODEL_TENSORS + [("optim/dense/kernel/m", "F32", [4, 3], f32([0] * 12))])
seed("checkpoint", "valid", json.dumps(CONFIG).encode() + CUT + HISTORY.encode() + CUT + CKPT)
seed("checkpoint", "big_numbers", json.dumps(dict(CONFIG, epochs=1e300, batch=-1.5)).encode() + CUT +
     b'{"epoch":1e300,"steps":-1,"loss":"x","accuracy":0,"lr":0,"seconds":0}\n' + CUT + CKPT[:100])
seed("checkpoint", "missing_keys", b'{"model":"mlp"}' + CUT + b'{"epoch":1}\n' + CUT + b"")
seed("checkpoint", "garbage", b"[[[" + CUT + b"\xff\xfe\n\n{" + CUT + struct.pack("<Q", 2) + b"{}")

# ---- run_report: config.json, history.csv, events.out.tfevents.* ---------------------------------
def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


def masked(data):
    c = crc32c(data)
    return (((c >> 15) | (c << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def record(data):
    n = struct.pack("<Q", len(data))
    return n + struct.pack("<I", masked(n)) + data + struct.pack("<I", masked(data))


def scalar_event(tag, step, value):  # Event{wall_time=1, step=2, summary=5{value=1{tag=1, simple_value=2}}}
    v = b"\x0a" + bytes([len(tag)]) + tag + b"\x15" + struct.pack("<f", value)
    summary = b"\x0a" + bytes([len(v)]) + v
    return b"\x09" + struct.pack("<d", 1.7e9) + b"\x10" + bytes([step]) + b"\x2a" + bytes([len(summary)]) + summary


EVENTS = record(b"\x09" + struct.pack("<d", 1.7e9) + b"\x1a\x0dbrain.Event:2") + record(scalar_event(b"loss", 1, 0.5))
HISTORY_CSV = ("epoch,loss,accuracy,val_loss,val_accuracy,lr,seconds,val_seconds\n"
               "1,1.5,0.5,1.4,0.55,0.001,1.0,0.1\n2,1.0,0.7,,,0.001,1.0,0\n")
seed("run_report", "valid", json.dumps(CONFIG).encode() + CUT + HISTORY_CSV.encode() + CUT + EVENTS)
seed("run_report", "truncated_record", json.dumps(CONFIG).encode() + CUT + HISTORY_CSV.encode() + CUT + EVENTS[:-5])
seed("run_report", "bad_crc", b"{}" + CUT + b"epoch,loss\n1,x\n" + CUT + EVENTS[:20] + b"\x00" + EVENTS[21:])
seed("run_report", "huge_length", b"[" + CUT + b"epoch,loss,accuracy,val_loss,val_accuracy,lr,seconds\n1e999,1,1,,,1,1\n" +
     CUT + struct.pack("<Q", 2**63) + struct.pack("<I", masked(struct.pack("<Q", 2**63))) + b"xx")
seed("run_report", "empty", CUT + CUT)
# Values std::stod takes but the charts cannot draw (inf, nan, hex), and finite extremes that reach
# the tick code (1e300 losses; accuracies are refused outside [0, 1]).
HEADER = "epoch,loss,accuracy,val_loss,val_accuracy,lr,seconds\n"
for name, rows in [("inf_loss", "1,inf,0.5,,,0.1,1\n"), ("nan_accuracy", "1,0.5,nan,,,0.1,1\n"),
                   ("hex_loss", "1,0x1p3,0.5,,,0.1,1\n"), ("huge_accuracy", "1,0.5,1e17,,,0.1,1\n"),
                   ("huge_loss", "1,1e300,0.5,,,0.1,1\n2,1e-300,0.5,1e308,1,0.1,1\n"),
                   ("tiny_values", "1,5e-324,0,4e-324,0,5e-324,0\n")]:
    seed("run_report", name, json.dumps(CONFIG).encode() + CUT + (HEADER + rows).encode() + CUT + EVENTS)

# ---- model text -----------------------------------------------------------------------------------
for i, text in enumerate([
        "conv:32x3x3,relu,he_uniform maxpool:2 flatten dense:100,relu,he_uniform dense:10,softmax",
        "flatten dense:512,relu,he_uniform dense:256,relu,he_uniform dense:10,softmax",
        "conv:6x5x5,same,relu maxpool:2 conv:16x5x5,relu maxpool:2 flatten dense:120,relu dense:84,relu dense:10,softmax",
        "conv:8x3x3,stride=2,same,relu6 res{ dwconv:3x3,same } gap dense:4 softmax",
        "conv:4x3x3 batchnorm dropout:0.5 avgpool:2,stride=1 flatten dense:2",
        "dense:3,softmax",
        "flatten dense:50,softmax",
        "conv:0x3x3", "maxpool:99999999999999999999", "res{ res{ res{", "dense:-1", "}", "conv:3x3x3,stride=0",
        ]):
    seed("model_text", "text_%02d" % i, bytes([i % 3]) + text.encode())


# ---- TFLite: a FlatBuffer written front to back (every offset points forward) ---------------------
class FB:
    """Minimal FlatBuffer writer. Objects: ('table', [(slot, kind, value)]), ('vec', kind, items),
    ('str', bytes); scalar kinds 'u8', 'i8', 'i32', 'u32', 'f32'; kind 'off' holds an object."""
    FMT = {"u8": "<B", "i8": "<b", "i32": "<i", "u32": "<I", "f32": "<f"}

    def __init__(self):
        self.b = bytearray()

    def align(self, n, extra=0):
        while (len(self.b) + extra) % n:
            self.b += b"\0"

    def put(self, fmt, v, at=None):
        raw = struct.pack(fmt, v)
        if at is None:
            self.b += raw
        else:
            self.b[at:at + len(raw)] = raw

    def write(self, obj):
        kind = obj[0]
        if kind == "str":
            self.align(4)
            at = len(self.b)
            self.put("<I", len(obj[1]))
            self.b += obj[1] + b"\0"
            return at
        if kind == "vec":
            _, ek, items = obj
            self.align(4)
            at = len(self.b)
            self.put("<I", len(items))
            if ek == "off":
                slots = []
                for _ in items:
                    slots.append(len(self.b))
                    self.put("<I", 0)
                for s, child in zip(slots, items):
                    self.put("<I", self.write(child) - s, s)
            else:
                for v in items:
                    self.put(self.FMT[ek], v)
            return at
        fields = obj[1]
        # layout of the table's fields after its 4-byte soffset
        pos, layout = 4, []
        for slot, k, v in fields:
            size = 4 if k == "off" else struct.calcsize(self.FMT[k])
            pos += -pos % size
            layout.append((slot, k, v, pos))
            pos += size
        n_slots = max([f[0] for f in fields] + [-1]) + 1
        vt = [0] * n_slots
        for slot, _, _, p in layout:
            vt[slot] = p
        self.align(2)
        vt_at = len(self.b)
        self.put("<H", 4 + 2 * n_slots)
        self.put("<H", pos)
        for p in vt:
            self.put("<H", p)
        self.align(4)
        at = len(self.b)
        self.b += b"\0" * (pos + (-pos % 4))
        self.put("<i", at - vt_at, at)
        children = []
        for slot, k, v, p in layout:
            if k == "off":
                children.append((at + p, v))
            else:
                self.put(self.FMT[k], v, at + p)
        for where, child in children:
            self.put("<I", self.write(child) - where, where)
        return at

    def finish(self, root, ident=b"TFL3"):
        self.b += b"\0" * 8
        self.b[4:8] = ident
        self.put("<I", self.write(root), 0)
        return bytes(self.b)


def tflite(tensors, ops, inputs, outputs):
    """tensors: [(shape, float data or None, int data or None)]; ops: [(code, ins, outs, options_type,
    {field: (kind, value)})]"""
    codes = []
    for o in ops:
        if o[0] not in codes:
            codes.append(o[0])
    buffers = [("table", [])]
    tensor_tables = []
    for i, (shape, fdata, idata) in enumerate(tensors):
        buf = 0
        if fdata is not None or idata is not None:
            raw = f32(fdata) if fdata is not None else struct.pack("<%di" % len(idata), *idata)
            buffers.append(("table", [(0, "off", ("vec", "u8", list(raw)))]))
            buf = len(buffers) - 1
        tensor_tables.append(("table", [(0, "off", ("vec", "i32", shape)), (1, "i8", 2 if idata is not None else 0),
                                        (2, "u32", buf), (3, "off", ("str", b"t%d" % i))]))
    op_tables = []
    for code, ins, outs, otype, fields in ops:
        f = [(0, "u32", codes.index(code)), (1, "off", ("vec", "i32", ins)), (2, "off", ("vec", "i32", outs)),
             (3, "u8", otype)]
        if otype:
            f.append((4, "off", ("table", [(k, kind, v) for k, (kind, v) in sorted(fields.items())])))
        op_tables.append(("table", f))
    graph = ("table", [(0, "off", ("vec", "off", tensor_tables)), (1, "off", ("vec", "i32", inputs)),
                       (2, "off", ("vec", "i32", outputs)), (3, "off", ("vec", "off", op_tables))])
    code_tables = [("table", [(0, "i8", min(c, 127)), (3, "i32", c)]) for c in codes]
    model = ("table", [(0, "u32", 3), (1, "off", ("vec", "off", code_tables)), (2, "off", ("vec", "off", [graph])),
                       (4, "off", ("vec", "off", buffers))])
    return FB().finish(model)


def values(n, salt):
    return [((i * 7 + salt * 13) % 17 - 8) / 16.0 for i in range(n)]


H, C, K = 6, 2, 3
TINY_TENSORS = [
    ([1, H, H, C], None, None),                     # 0 input
    ([4, 2], None, [0, 0, 0, 1, 0, 1, 0, 0]),       # 1 paddings
    ([1, H + 1, H + 1, C], None, None),             # 2 padded
    ([K, 3, 3, C], values(K * 9 * C, 1), None),     # 3 conv filter (OHWI)
    ([K], values(K, 2), None),                      # 4
    ([1, 3, 3, K], None, None),                     # 5 conv out
    ([1, 3, 3, K], values(9 * K, 3), None),         # 6 depthwise filter
    ([K], values(K, 4), None),                      # 7
    ([1, 3, 3, K], None, None),                     # 8 depthwise out
    ([1, 3, 3, K], None, None),                     # 9 sum
    ([2], None, [1, 2]),                            # 10 axes
    ([1, K], None, None),                           # 11 mean
    ([4, K], values(4 * K, 5), None),               # 12 fc weights
    ([4], values(4, 6), None),                      # 13
    ([1, 4], None, None),                           # 14 logits
    ([1, 4], None, None),                           # 15 probabilities
]
TINY_OPS = [
    (34, [0, 1], [2], 0, {}),
    (3, [2, 3, 4], [5], 1, {0: ("i8", 1), 1: ("i32", 2), 2: ("i32", 2), 3: ("i8", 3)}),
    (4, [5, 6, 7], [8], 2, {0: ("i8", 0), 1: ("i32", 1), 2: ("i32", 1), 3: ("i32", 1), 4: ("i8", 0)}),
    (0, [5, 8], [9], 0, {}),
    (40, [9, 10], [11], 0, {}),
    (9, [11, 12, 13], [14], 8, {0: ("i8", 0)}),
    (25, [14], [15], 0, {}),
]
tiny = tflite(TINY_TENSORS, TINY_OPS, [0], [15])
seed("tflite", "tiny_graph", tiny)
seed("tflite", "fc_softmax", tflite([([1, 4], None, None), ([2, 4], values(8, 1), None), ([2], values(2, 2), None),
                                     ([1, 2], None, None), ([1, 2], None, None)],
                                    [(9, [0, 1, 2], [3], 8, {0: ("i8", 0)}), (25, [3], [4], 0, {})], [0], [4]))
seed("tflite", "negative_index", tflite(TINY_TENSORS, [(9, [11, -1, 13], [14], 8, {0: ("i8", 0)}), (25, [14], [15], 0, {})],
                                        [11], [15]))
seed("tflite", "index_past_end", tflite(TINY_TENSORS, [(25, [99], [15], 0, {})], [0], [15]))
seed("tflite", "unsupported_op", tflite(TINY_TENSORS[:2], [(18, [0, 0], [1], 0, {})], [0], [1]))
seed("tflite", "truncated", tiny[: len(tiny) // 2])
seed("tflite", "with_labels_zip", tiny + zipped([("labels.txt", b"a\nb\nc\nd\n")]))
seed("tflite", "not_tflite", b"x" * 64)
# regress: a graph without operators (the importer popped a character off its empty text: UB)
seed("tflite", "regress-no_operators", tflite(TINY_TENSORS[:1], [], [0], [0]))


# ---- images ---------------------------------------------------------------------------------------
def png(w, h, colour_type=0, bit_depth=8, rows=None, extra=b""):
    channels = {0: 1, 2: 3, 4: 2, 6: 4}[colour_type]
    if rows is None:
        rows = [bytes((x * 31 + y * 17 + c) % 256 for x in range(w) for c in range(channels)) for y in range(h)]
    raw = b"".join(b"\0" + r for r in rows)

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, bit_depth, colour_type, 0, 0, 0)) +
            extra + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def bmp(w, h):
    row = (w * 3 + 3) // 4 * 4
    pixels = b"".join(bytes((x * 40 + y * 10 + c * 80) % 256 for x in range(w) for c in range(3)).ljust(row, b"\0")
                      for y in range(h))
    return (b"BM" + struct.pack("<IHHI", 54 + len(pixels), 0, 0, 54) +
            struct.pack("<IiiHHIIiiII", 40, w, h, 1, 24, 0, len(pixels), 2835, 2835, 0, 0) + pixels)


def exif(orientation, big_endian=False):
    e = ">" if big_endian else "<"
    tiff = (b"MM" if big_endian else b"II") + struct.pack(e + "HI", 42, 8)
    tiff += struct.pack(e + "H", 1) + struct.pack(e + "HHIHH", 0x0112, 3, 1, orientation, 0) + struct.pack(e + "I", 0)
    data = b"Exif\0\0" + tiff
    return b"\xff\xe1" + struct.pack(">H", len(data) + 2) + data


def jpeg(w=8, h=8, app=b""):
    """Baseline grey JPEG, every block flat (DC difference 0, then end of block), one-code Huffman
    tables: each 8x8 block is the two bits 00."""
    dqt = b"\xff\xdb" + struct.pack(">H", 67) + b"\0" + bytes([1] * 64)
    sof = b"\xff\xc0" + struct.pack(">HBHHB", 11, 8, h, w, 1) + b"\x01\x11\x00"
    one_code = bytes([1] + [0] * 15) + b"\0"
    dht = b"\xff\xc4" + struct.pack(">H", 2 + 2 * 18) + b"\x00" + one_code + b"\x10" + one_code
    sos = b"\xff\xda" + struct.pack(">H", 8) + b"\x01\x01\x00\x00\x3f\x00"
    blocks = ((w + 7) // 8) * ((h + 7) // 8)
    bits = "00" * blocks
    bits += "1" * (-len(bits) % 8)
    scan = bytes(int(bits[i:i + 8], 2) for i in range(0, len(bits), 8)).replace(b"\xff", b"\xff\x00")
    return b"\xff\xd8" + app + dqt + sof + dht + sos + scan + b"\xff\xd9"


seed("image", "grey.png", png(5, 4))
seed("image", "rgba.png", png(3, 3, colour_type=6))
seed("image", "rgb16.png", png(2, 2, colour_type=2, bit_depth=16, rows=[b"\1" * 12, b"\2" * 12]))
seed("image", "huge_header.png", png(26000, 26000, rows=[b""]))
seed("image", "bad_crc.png", png(4, 4)[:-5] + b"\0\0\0\0\0")
seed("image", "rgb.bmp", bmp(4, 3))
seed("image", "flat.jpg", jpeg())
seed("image", "exif6.jpg", jpeg(16, 8, exif(6)))
seed("image", "exif8_motorola.jpg", jpeg(8, 16, exif(8, big_endian=True)))
seed("image", "exif_truncated.jpg", jpeg(8, 8, exif(3)[:14]))
seed("image", "huge_header.jpg", jpeg(26000, 26000)[:200])
# regress: a 1.38 GB IDAT chunk claimed by a 520-byte file (stb_image allocated it first)
seed("image", "regress-png_chunk_past_end", png(5, 4)[:33] + b"RIFFIDAT" + bytes(150) + b"NG\r\n\x1a\n" + bytes(60))
# regress: a Huffman table with 16 x 255 codes (stb_image wrote them past its 257-entry arrays),
# once in place and once behind junk bytes that stb skips between segments
seed("image", "regress-jpeg_huffman_table_too_long",
     jpeg().replace(b"\xff\xc4\x00\x26\x00" + bytes([1] + [0] * 15), b"\xff\xc4\x00\x26\x00" + bytes([255] * 16)))
seed("image", "regress-jpeg_huffman_table_behind_junk",
     jpeg().replace(b"\xff\xda", b"\x00\x42\xff\xc4\x00\x13\x00" + bytes([17] * 16) + b"\xff\xda", 1))
# regress: a scan decoding with an AC table no DHT defined (stb read it from uncleared memory)
seed("image", "regress-jpeg_scan_with_undefined_table",
     jpeg().replace(b"\x10" + bytes([1] + [0] * 15), b"\x11" + bytes([1] + [0] * 15), 1))
# regress: a BMP whose height is -2^31 (stb_image took its abs())
seed("image", "regress-bmp_height_int_min", bmp(2, 2)[:22] + struct.pack("<i", -2**31) + bmp(2, 2)[26:])
# regress: 70 bytes of BMP claiming 2 x 16.7 million top-down rows (stb read zeros past the end, 13 s)
seed("image", "regress-bmp_rows_past_end", bmp(2, 2)[:22] + struct.pack("<i", -16711681) + bmp(2, 2)[26:])
seed("image", "gif", b"GIF89a\x01\x00\x01\x00\x00\x00\x00;")
seed("image", "pic", b"\x53\x80\xf6\x34" + b"\0" * 88 + b"PICT" + b"\0" * 150)
seed("image", "raw_784", bytes(range(256)) * 3 + bytes(16))

# ---- CSV image lists and Cloud Annotations --------------------------------------------------------
seed("csv", "header_split", "path,label,split\na.png,cat,train\nb.png,dog,test\nc.png,cat,val\n")
seed("csv", "no_header", "a.png,cat\nsub/b.png,dog\n\"c, d.png\",\"cat\"\"s\"\r\n")
seed("csv", "one_class", "x.png,only\n")
seed("csv", "bad_rows", "a.png\n,,\n\"unterminated,cat\nz.png,cat,nosuchsplit\n")
seed("csv", "absolute_and_dotdot", "/etc/passwd,a\n../../x.png,b\n")
seed("annotations", "valid", json.dumps({"version": "1.0", "type": "classification", "labels": ["cat", "dog"],
                                        "annotations": {"a.jpg": [{"label": "cat"}], "b.jpg": [{"label": "dog"}],
                                                        "c.jpg": []}}))
seed("annotations", "boxes", json.dumps({"labels": ["cat"], "annotations": {"a.jpg": [{"label": "cat", "x": 0.1}]}}))
seed("annotations", "two_labels", json.dumps({"annotations": {"a.jpg": [{"label": "cat"}, {"label": "dog"}]}}))
seed("annotations", "undeclared", json.dumps({"labels": ["cat"], "annotations": {"a.jpg": [{"label": "dog"}]}}))
seed("annotations", "wrong_types", json.dumps({"labels": 3, "annotations": {"a.jpg": [3, {"label": 4}]}}))
seed("annotations", "not_json", "{\"annotations\": {")

# ---- S3 listings ----------------------------------------------------------------------------------
LIST = ('<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        "<Name>b</Name><Prefix>p/</Prefix><KeyCount>2</KeyCount><IsTruncated>{t}</IsTruncated>{tok}"
        "<Contents><Key>p/a%20b.bin</Key><Size>12</Size><ETag>&quot;abc&quot;</ETag></Contents>"
        "<Contents><Key>p/dir/c.idx</Key><Size>99999999999999999999</Size></Contents></ListBucketResult>")
seed("s3_listing", "complete", LIST.format(t="false", tok=""))
seed("s3_listing", "truncated", LIST.format(t="true", tok="<NextContinuationToken>abc==</NextContinuationToken>"))
seed("s3_listing", "truncated_no_token", LIST.format(t="true", tok=""))
seed("s3_listing", "error", "<Error><Code>AccessDenied</Code></Error>")
seed("s3_listing", "not_xml", "<ListBucketResult><Contents><Key>%zz%")

PARTS = ('<?xml version="1.0" encoding="UTF-8"?>\n<ListPartsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
         "<Bucket>b</Bucket><Key>k</Key><UploadId>u</UploadId><IsTruncated>{t}</IsTruncated>{m}"
         "<Part><PartNumber>1</PartNumber><ETag>&quot;336311a016184326ddbdd61edd4eeb52&quot;</ETag><Size>5242880</Size></Part>"
         "<Part><PartNumber>10001</PartNumber><ETag>x</ETag><Size>-1</Size></Part></ListPartsResult>")
seed("s3_listing", "parts", PARTS.format(t="false", m=""))
seed("s3_listing", "parts_truncated", PARTS.format(t="true", m="<NextPartNumberMarker>1</NextPartNumberMarker>"))
seed("s3_listing", "uploads", '<ListMultipartUploadsResult><IsTruncated>true</IsTruncated><NextKeyMarker>k</NextKeyMarker>'
     "<NextUploadIdMarker>u</NextUploadIdMarker><Upload><Key>k</Key><UploadId>u</UploadId></Upload>"
     "</ListMultipartUploadsResult>")
seed("s3_listing", "initiated", "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>VXBsb2Fk"
     "</UploadId></InitiateMultipartUploadResult>")
seed("s3_listing", "completed", "<CompleteMultipartUploadResult><ETag>&quot;x-3&quot;</ETag></CompleteMultipartUploadResult>")
seed("s3_listing", "complete_error_200", "<Error><Code>InternalError</Code><Message>We encountered an internal error."
     "</Message></Error>")

# ---- push manifests -------------------------------------------------------------------------------
SHA = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"
seed("push_manifest", "valid", json.dumps({"format": "dltrain-push 1", "files": [
    {"name": "model.safetensors", "size": 6, "sha256": SHA}, {"name": "report/index.html", "size": 0, "sha256": SHA}]}))
seed("push_manifest", "dotdot", json.dumps({"format": "dltrain-push 1", "files": [{"name": "../x", "size": 6, "sha256": SHA}]}))
seed("push_manifest", "float_size", '{"format": "dltrain-push 1", "files": [{"name": "x", "size": 6e300, "sha256": "%s"}]}' % SHA)
seed("push_manifest", "twice", json.dumps({"format": "dltrain-push 1", "files": [
    {"name": "x", "size": 6, "sha256": SHA}, {"name": "x", "size": 6, "sha256": SHA}]}))
seed("push_manifest", "wrong_types", '{"format": "dltrain-push 1", "files": [3, {"name": 4}, {"name": "x", "size": "6"}]}')
seed("push_manifest", "not_json", '{"format": "dltrain-push 1", "files": [')

# ---- HTTP headers ---------------------------------------------------------------------------------
seed("http_headers", "range_206", "HTTP/1.1 206 Partial Content\r\nContent-Range: bytes 0-0/12345\r\nETag: \"x\"\r\n"
     "Content-Length: 1\r\n\r\n")
seed("http_headers", "redirect_then_200", "HTTP/1.1 302 Found\r\nLocation: /x\r\n\r\nHTTP/2 200\r\n"
     "content-length: 99999999999999999999999\r\nlast-modified: Wed, 21 Oct 2015 07:28:00 GMT\r\n\r\n")
seed("http_headers", "retry_after", "HTTP/1.1 503 Slow Down\r\nRetry-After: 1e308\r\nRetry-After: -5\r\n\r\n")
seed("http_headers", "disposition", "HTTP/1.1 200 OK\r\nContent-Disposition: attachment; filename*=UTF-8''..%2F..%2Fetc%2Fpasswd; "
     "filename=\"x.bin\"\r\n\r\n")
seed("http_headers", "disposition_plain", "HTTP/1.1 200 OK\r\nContent-Disposition: attachment; filename=a/b\\c.gz\r\n")
seed("http_headers", "odd", "HTTP/1.1\r\n:\r\ncontent-range: bytes 0-0/*\r\nHTTP/ x\r\nContent-Range: bytes 0-0/\r\n")

# ---- Google Drive pages ---------------------------------------------------------------------------
JAR = ("# Netscape HTTP Cookie File\n#HttpOnly_.drive.google.com\tTRUE\t/\tTRUE\t0\tNID\tabc\n"
       "drive.google.com\tFALSE\t/\tFALSE\t0\tdownload_warning_x\tyes\n")
FORM = ('<html><body><form id="download-form" action="https://drive.usercontent.google.com/download" method="get">'
        '<input type="hidden" name="id" value="1AbC"><input type="hidden" name="export" value="download">'
        "<input type='hidden' name='confirm' value='t&amp;x'><input type=\"submit\" value=\"Download\"></form></body></html>")
seed("drive_page", "warning_form", JAR + CUT.decode() + FORM)
seed("drive_page", "relative_action", "\n" + CUT.decode() + FORM.replace("https://drive.usercontent.google.com/download", "uc?x=1"))
seed("drive_page", "quota", CUT.decode() + "<html>Too many users have viewed or downloaded this file recently</html>")
seed("drive_page", "no_action", CUT.decode() + '<form id="download-form"><input type="hidden" name="a"></form>')
seed("drive_page", "bad_jar", "a\tb\n#HttpOnly_\n\t\t\t\t\t\t\n" + CUT.decode() + "<form id='download-form' action=''>")


# ---- archives (first byte: 0 .tar, 1 .zip, 2 .gz, 3 .tar.gz) ---------------------------------------
def tar(members, compress=False):
    b = io.BytesIO()
    with tarfile.open(fileobj=b, mode="w", format=tarfile.USTAR_FORMAT) as t:
        for name, kind, data in members:
            info = tarfile.TarInfo(name)
            info.mtime = 0
            if kind == "file":
                info.size = len(data)
                t.addfile(info, io.BytesIO(data))
            elif kind == "dir":
                info.type = tarfile.DIRTYPE
                t.addfile(info)
            elif kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, data
                t.addfile(info)
            elif kind == "hardlink":
                info.type, info.linkname = tarfile.LNKTYPE, data
                t.addfile(info)
            elif kind == "fifo":
                info.type = tarfile.FIFOTYPE
                t.addfile(info)
    return gz(b.getvalue()) if compress else b.getvalue()  # gz(): no time stamp, same bytes every run


seed("archive", "tar_valid", b"\0" + tar([("d", "dir", None), ("d/a.txt", "file", b"hello\n"),
                                          ("d/l", "symlink", "a.txt"), ("d/h", "hardlink", "d/a.txt")]))
seed("archive", "tar_escapes", b"\0" + tar([("../evil", "file", b"x"), ("/abs", "file", b"y"),
                                            ("s", "symlink", "../../etc"), ("s/x", "file", b"z"), ("f", "fifo", None)]))
seed("archive", "zip_valid", b"\1" + zipped([("a/b.txt", b"abc" * 10), ("c.bin", bytes(100))]))
seed("archive", "zip_bomb", b"\1" + zipped([("zeros", bytes(8 << 20))]))
seed("archive", "gz_raw", b"\2" + gz(b"raw gzip member\n"))
seed("archive", "targz_valid", b"\3" + tar([("x/y.idx", "file", idx([2, 2]))], compress=True))
seed("archive", "tar_truncated", b"\0" + tar([("a", "file", b"x" * 600)])[:700])
# regress: a zip whose central directory libarchive rejects without an error message (a null
# char* in a string concatenation crashed)
seed("archive", "regress-zip_error_without_message", base64.b64decode(
    "AVBLAwQUAAAACAAAACEAr3fSYgMAAAABAAAABwAAAC4uLy4uUEsDBBQAAAAIAAAAIQCvd9JiAwAAAAEAAAAHAAAALi4vLi4veqsCAFBL"
    "AwQUAAAACAAAACEARJMPDwMAAAABAAAAAgAAAG9rywcAUEsBAhQDFAAAAAgAAAAhAK930mIDAAAAAQAAAAcAAAAAAAAAAAAAAIABAAAA"
    "AC4uLy4uL3pQSwECFAMUAAAACG9rUEsFBgAAAAACAAIAZQAAAEsAAAAAAA=="))
# regress: a zip member without a name, which replaced the staging folder by a file
seed("archive", "regress-zip_member_without_name", base64.b64decode(
    "AVBLAwQUAAAACAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAABVAAAAAwAAAAEAAAAHAAAAAAAAAAAAAACAAQAAAAAu"
    "Li8uLi96UEsBAhQDFAAAAAgAAAAAjvUAAOBQAAAAAB4AAAAHAAAAQGH//////y///ydOxI0AUEsDBBQAAAAIAAAAIQDKxoiZBgAA"
    "AGQAAAAFAAAAYy5iaW5AYKA9AABQSwECFAMUAAAACAAAACEAgfyxSAcAAAAeAAAABwAAAAAAAAAAAACAASwAAABjLmJpblBLBQYA"
    "AAAAPwACAGgAAABVgAAAAAA="))
seed("archive", "zip_dotdot", b"\1" + zipped([("../../z", b"z"), ("ok", b"o")]))

# ---- URIs -----------------------------------------------------------------------------------------
for i, u in enumerate([
        "https://user:PASSWORD@example.com/data/train.bin?X-Amz-Signature=abc&x=1#token=t",
        "http://tok@host:8080/a%20b?sig=s&Key=k&access_token=a",
        "s3://bucket/prefix/", "s3://bucket/key.bin", "s3://", "gs://x",
        "https://drive.google.com/file/d/1AbC_dEf-123/view?usp=sharing",
        "https://drive.google.com/open?id=1AbC", "https://docs.google.com/uc?export=download&id=XYZ",
        "gdrive://1AbC", "fashion-mnist", "./local/file.bin", "/abs/file.gz", "file:///etc/passwd",
        "gopher://x", "http://[::1]:99999/", "%zz%%2", "16Gi", "1.5T", "-1", "99999999999999999999Ki", ""]):
    seed("uri", "uri_%02d" % i, u)
# regress: a name longer than NAME_MAX made std::filesystem::exists throw
seed("uri", "regress-name_too_long", "n" * 300)

# ---- the fetch cache's index.json -----------------------------------------------------------------
BLOB = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"  # sha256 of "hello\n"
KEY = "https://example.invalid/data/train.bin"
seed("cache_index", "hit", json.dumps({KEY: {"folder": "train", "files": [{"name": "train.bin", "sha256": BLOB, "size": 6}]}}))
seed("cache_index", "wrong_size", json.dumps({KEY: {"folder": "train", "files": [{"name": "train.bin", "sha256": BLOB, "size": 7}]}}))
seed("cache_index", "escape", json.dumps({KEY: {"folder": "../..", "files": [{"name": "../x", "sha256": "../../etc/passwd", "size": 1}]}}))
seed("cache_index", "types", json.dumps({KEY: {"folder": 1, "files": [{"name": "a", "sha256": BLOB, "size": 6.5e300}]}}))
seed("cache_index", "gone", json.dumps({KEY: {"folder": "t", "files": [{"name": "a", "sha256": "0" * 64, "size": 1}]}}))
seed("cache_index", "not_object", "[1,2,3]")
seed("cache_index", "empty", "")


def main():
    total = 0
    for target, files in sorted(seeds.items()):
        os.makedirs(os.path.join(ROOT, target), exist_ok=True)
        for name, data in sorted(files.items()):
            with open(os.path.join(ROOT, target, name), "wb") as f:
                f.write(data)
            total += len(data)
        print("%-14s %3d seeds %7d bytes" % (target, len(files), sum(len(d) for d in files.values())))
    print("total %d bytes" % total)


if __name__ == "__main__":
    sys.exit(main())
