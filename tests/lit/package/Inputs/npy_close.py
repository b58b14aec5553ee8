#!/usr/bin/env python3
"""npy_close.py A.npy B.npy RTOL ATOL: compares two little-endian f4 .npy files of one shape
element by element (|a - b| <= ATOL + RTOL * |b|, NaN never equal), with the standard library
only; prints the shape, the largest difference and "close" or the first element that is not."""
import ast
import struct
import sys


def read(path):
    with open(path, "rb") as f:
        data = f.read()
    assert data[:6] == b"\x93NUMPY", path + ": not .npy"
    size_bytes = 2 if data[6] == 1 else 4
    length = int.from_bytes(data[8:8 + size_bytes], "little")
    start = 8 + size_bytes
    header = ast.literal_eval(data[start:start + length].decode("latin1"))
    assert header["descr"] == "<f4" and not header["fortran_order"], path + ": not C-order f4"
    body = data[start + length:]
    return tuple(header["shape"]), struct.unpack("<%df" % (len(body) // 4), body)


def main():
    a_path, b_path, rtol, atol = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
    (shape_a, a), (shape_b, b) = read(a_path), read(b_path)
    if shape_a != shape_b:
        sys.exit("shapes differ: %s and %s" % (shape_a, shape_b))
    worst = 0.0
    for i, (x, y) in enumerate(zip(a, b)):
        if not abs(x - y) <= atol + rtol * abs(y):
            sys.exit("element %d: %r and %r differ by more than %g + %g * |b|" % (i, x, y, atol,
                                                                                rtol))
        worst = max(worst, abs(x - y))
    print("shape %s: close (largest difference %.3g)" % (list(shape_a), worst))


if __name__ == "__main__":
    main()
