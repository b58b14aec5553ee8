#!/usr/bin/env python3
"""match_state_dict.py EXPECTED.txt [--safetensors FILE]: checks that a Kiln model's parameters
are a PyTorch module's state_dict by name, dtype and shape, so either side's weights load into the
other by name. EXPECTED.txt is written by make_torch_files.py (name, dtype, shape per line).

Kiln's side is the nn IR of `kilnc --emit=nn` on stdin (its nn.parameter ops), or a safetensors
file Kiln wrote (a checkpoint's optimizer.* state is left out: it is not the module's). PyTorch's
num_batches_tracked counters are the only names Kiln may lack (it ignores them on loading and
PyTorch's load_state_dict(strict=False) leaves them as they are). Prints a summary line; exits 1
on the first list of differences. The standard library only.
"""
import json
import re
import struct
import sys


def expected(path):
    tensors = {}
    with open(path) as f:
        for line in f:
            parts = line.split()
            shape = parts[2] if len(parts) > 2 else ""
            tensors[parts[0]] = (parts[1], shape)
    return tensors


def from_ir(text):
    tensors = {}
    for m in re.finditer(r'nn\.parameter "([^"]+)"(?: buffer)? : tensor<([0-9x]*?)x?f32>', text):
        tensors[m.group(1)] = ("float32", m.group(2))
    return tensors


def from_safetensors(path):
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(length))
    names = {"F32": "float32", "I64": "int64"}
    return {name: (names.get(info["dtype"], info["dtype"]), "x".join(map(str, info["shape"])))
            for name, info in header.items()
            if name != "__metadata__" and not name.startswith("optimizer.")}


def main(argv):
    want = expected(argv[1])
    if len(argv) == 4 and argv[2] == "--safetensors":
        have = from_safetensors(argv[3])
    else:
        have = from_ir(sys.stdin.read())
    problems = []
    for name, (dtype, shape) in have.items():
        if name not in want:
            problems.append(f"{name}: in Kiln, not in PyTorch's state_dict")
        elif want[name] != (dtype, shape):
            problems.append(f"{name}: Kiln has {dtype} [{shape}], PyTorch {want[name][0]} "
                            f"[{want[name][1]}]")
    counters = 0
    for name in want:
        if name not in have:
            if name.endswith(".num_batches_tracked"):
                counters += 1
            else:
                problems.append(f"{name}: in PyTorch's state_dict, not in Kiln")
    if problems:
        print("\n".join(problems))
        return 1
    print(f"state_dict matches: {len(have)} tensors by name, dtype and shape; "
          f"{counters} num_batches_tracked only in PyTorch's")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
