#!/usr/bin/env python3
"""npy_close.py ACTUAL.npy EXPECTED.npy RTOL ATOL: exits 0 when both are little-endian float32
arrays of the same shape and every element has |a - e| <= ATOL + RTOL * |e|; prints the largest
difference either way. The standard library only (the tests need no NumPy)."""
import ast
import struct
import sys


def load(path):
    with open(path, "rb") as f:
        data = f.read()
    if data[:6] != b"\x93NUMPY":
        sys.exit(f"{path}: not a .npy file")
    major = data[6]
    length, start = (struct.unpack("<H", data[8:10])[0], 10) if major == 1 else \
        (struct.unpack("<I", data[8:12])[0], 12)
    header = ast.literal_eval(data[start:start + length].decode("latin1"))
    if header["descr"] != "<f4" or header["fortran_order"]:
        sys.exit(f"{path}: expected C-order float32, got {header}")
    body = data[start + length:]
    return tuple(header["shape"]), struct.unpack(f"<{len(body) // 4}f", body)


actual_shape, actual = load(sys.argv[1])
expected_shape, expected = load(sys.argv[2])
rtol, atol = float(sys.argv[3]), float(sys.argv[4])
if actual_shape != expected_shape:
    sys.exit(f"shape {actual_shape} != expected {expected_shape}")
worst, bad = 0.0, 0
for a, e in zip(actual, expected):
    diff = abs(a - e)
    worst = max(worst, diff)
    bad += not diff <= atol + rtol * abs(e)
print(f"shape {actual_shape}: max |diff| {worst:.3g}, {bad} elements beyond {atol} + {rtol}*|expected|")
sys.exit(1 if bad else 0)
