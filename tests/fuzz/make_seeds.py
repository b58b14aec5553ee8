#!/usr/bin/env python3
"""Writes the fuzz targets' seed corpora: make_seeds.py REPO_ROOT OUT_DIR.

OUT_DIR/kiln holds the repository's own .kiln files (models/ and the lit tests); safetensors/,
idx/ and npy/ hold small valid files of each format, written here with the standard library
only (no NumPy), covering each dtype and header variant the readers accept. npy inputs start
with one byte that tells the target which dtype to expect (0 f32, 1 i64, 2 i32, 3 u8)."""
import gzip
import json
import os
import shutil
import struct
import sys


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)


def kiln_seeds(root, out):
    for top in ("models", "tests/lit"):
        for dirpath, _, files in os.walk(os.path.join(root, top)):
            for name in sorted(files):
                if name.endswith(".kiln"):
                    rel = os.path.relpath(os.path.join(dirpath, name), root)
                    shutil.copyfile(os.path.join(dirpath, name),
                                    os.path.join(out, rel.replace("/", "_")))


def onnx_seeds(root, out):
    # The ONNX test files under 64 KiB (not the 1.7 MB LeNet: libFuzzer sizes its inputs by
    # the largest seed).
    folder = os.path.join(root, "tests/lit/frontend/Inputs/onnx")
    for name in sorted(os.listdir(folder)):
        path = os.path.join(folder, name)
        if name.endswith(".onnx") and os.path.getsize(path) < 65536:
            shutil.copyfile(path, os.path.join(out, name))


def safetensors(tensors, metadata=None):
    """tensors: [(name, dtype, shape, bytes)] -> a safetensors file."""
    header, data = {}, b""
    for name, dtype, shape, payload in tensors:
        header[name] = {"dtype": dtype, "shape": shape,
                        "data_offsets": [len(data), len(data) + len(payload)]}
        data += payload
    if metadata is not None:
        header["__metadata__"] = metadata
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def floats(*values):
    return struct.pack("<%df" % len(values), *values)


def safetensors_seeds(out):
    write(os.path.join(out, "two-f32.safetensors"), safetensors([
        ("conv1.weight", "F32", [2, 1, 2, 2], floats(*[0.5 * i for i in range(8)])),
        ("conv1.bias", "F32", [2], floats(-1.0, 1.0))], {"format": "pt"}))
    write(os.path.join(out, "step.safetensors"), safetensors([
        ("fc.weight", "F32", [3, 2], floats(1, 2, 3, 4, 5, 6)),
        ("optimizer.step", "I64", [], struct.pack("<q", 42))]))
    write(os.path.join(out, "dtypes.safetensors"), safetensors([
        ("u8", "U8", [4], bytes([0, 1, 2, 255])),
        ("i32", "I32", [2], struct.pack("<2i", -7, 7)),
        ("f64", "F64", [1], struct.pack("<d", 3.25)),
        ("empty", "F32", [0, 3], b"")]))
    write(os.path.join(out, "empty.safetensors"), safetensors([]))


def idx(type_code, dims, payload, fmt):
    head = bytes([0, 0, type_code, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims)
    return head + struct.pack(">%d%s" % (len(payload), fmt), *payload)


def idx_seeds(out):
    files = {
        "images-u8": idx(0x08, [3, 4, 4], [(i * 17) % 256 for i in range(48)], "B"),
        "labels-u8": idx(0x08, [3], [0, 9, 4], "B"),
        "i8": idx(0x09, [2, 2], [-1, 2, -3, 4], "b"),
        "i16": idx(0x0B, [3], [-300, 0, 300], "h"),
        "i32": idx(0x0C, [2, 1], [-70000, 70000], "i"),
        "f32": idx(0x0D, [2], [0.5, -2.0], "f"),
        "f64": idx(0x0E, [1, 1, 2], [1.0, -1.0], "d"),
    }
    for name, data in files.items():
        write(os.path.join(out, name + ".idx"), data)
        write(os.path.join(out, name + ".idx.gz"), gzip.compress(data, mtime=0))


def npy(descr, shape, payload, version=(1, 0), fortran=False):
    shape_text = "(%s)" % ("".join("%d, " % d for d in shape) if len(shape) == 1
                            else ", ".join(str(d) for d in shape))
    header = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (
        descr, "True" if fortran else "False", shape_text)
    size_bytes = 2 if version[0] == 1 else 4
    pad = -(6 + 2 + size_bytes + len(header) + 1) % 64
    header = (header + " " * pad + "\n").encode("latin1" if version[0] < 3 else "utf8")
    size = struct.pack("<H" if size_bytes == 2 else "<I", len(header))
    return b"\x93NUMPY" + bytes(version) + size + header + payload


def npy_seeds(out):
    seeds = {
        "f32-v1": (0, npy("<f4", [2, 3], floats(*range(6)))),
        "f32-4d": (0, npy("<f4", [1, 1, 2, 2], floats(1, 2, 3, 4))),
        "f32-scalar": (0, npy("<f4", [], floats(7))),
        "i64-v2": (1, npy("<i8", [3], struct.pack("<3q", -1, 0, 1), version=(2, 0))),
        "i32-v3": (2, npy("<i4", [2, 2], struct.pack("<4i", 1, 2, 3, 4), version=(3, 0))),
        "u8": (3, npy("|u1", [4], bytes([1, 2, 3, 4]))),
        "u8-empty": (3, npy("|u1", [0, 5], b"")),
    }
    for name, (selector, data) in seeds.items():
        write(os.path.join(out, name + ".npy"), bytes([selector]) + data)


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: make_seeds.py REPO_ROOT OUT_DIR")
    root, out = sys.argv[1], sys.argv[2]
    for name in ("kiln", "onnx", "safetensors", "idx", "npy"):
        shutil.rmtree(os.path.join(out, name), ignore_errors=True)
        os.makedirs(os.path.join(out, name))
    kiln_seeds(root, os.path.join(out, "kiln"))
    onnx_seeds(root, os.path.join(out, "onnx"))
    safetensors_seeds(os.path.join(out, "safetensors"))
    idx_seeds(os.path.join(out, "idx"))
    npy_seeds(os.path.join(out, "npy"))


if __name__ == "__main__":
    main()
