#!/usr/bin/env python3
"""kernel_objects.py ARCHIVE ptx|zmm: one line per kernel object of a model's static library
(the driver and the Halide runtime excluded), saying whether it carries PTX (".target sm_NN",
a CUDA kernel) or uses AVX-512's zmm registers; FileCheck reads the lines."""
import re
import subprocess
import sys
import tempfile


def main():
    archive, what = sys.argv[1], sys.argv[2]
    members = subprocess.run(["llvm-ar", "t", archive], check=True, capture_output=True,
                             text=True).stdout.split()
    for member in members:
        if member.endswith(("_driver.o", "_halide_runtime.o", "_export.o")):
            continue
        data = subprocess.run(["llvm-ar", "p", archive, member], check=True,
                              capture_output=True).stdout
        if what == "ptx":
            found = re.search(rb"\.target sm_[0-9]+", data) is not None
        else:
            with tempfile.NamedTemporaryFile(suffix=".o") as f:
                f.write(data)
                f.flush()
                disassembly = subprocess.run(["llvm-objdump", "-d", f.name], check=True,
                                             capture_output=True).stdout
            found = b"zmm" in disassembly
        print("%s: %s" % (member, what if found else "no " + what))


if __name__ == "__main__":
    main()
