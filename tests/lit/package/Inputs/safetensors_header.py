# Prints a safetensors file's tensors, one per line, sorted by name: "name DTYPE [shape]", and
# with --stats the minimum and maximum of each F32 tensor.
import json
import struct
import sys

path = sys.argv[-1]
stats = "--stats" in sys.argv
with open(path, "rb") as f:
    (length,) = struct.unpack("<Q", f.read(8))
    header = json.loads(f.read(length))
    data = f.read()
for name in sorted(k for k in header if k != "__metadata__"):
    info = header[name]
    line = [name, info["dtype"], "[" + ", ".join(str(d) for d in info["shape"]) + "]"]
    if stats and info["dtype"] == "F32":
        begin, end = info["data_offsets"]
        values = struct.unpack("<%df" % ((end - begin) // 4), data[begin:end])
        line += ["min=%.6g" % min(values), "max=%.6g" % max(values)]
    print(" ".join(line))
