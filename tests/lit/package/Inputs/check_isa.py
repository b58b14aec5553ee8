"""Checks that x86-64 machine code uses no instruction set the CPU lacks.

Reads `objdump -d --insn-width=16` output on stdin; the CPU's flags come from /proc/cpuinfo, or
from --flags "avx2 avx512f ..." (a recorded CPU). Each instruction is classified by its encoding
(the raw bytes: VEX starts with c4/c5, EVEX with 62) and mnemonic:

  any EVEX instruction                         avx512f
  EVEX in opcode map 5 or 6                    avx512_fp16
  vpdpbusd[s] / vpdpwssd[s], VEX ({vex})       avx_vnni       <- what killed Zen 4 (issue 8)
  vpdpbusd[s] / vpdpwssd[s], EVEX              avx512_vnni
  vdpbf16ps / vcvtne[2]ps2bf16, EVEX           avx512_bf16
  vcvtneps2bf16, VEX                           avx_ne_convert
  AMX tile instructions                        amx_tile
  vfmadd/vfmsub/vfnmadd/vfnmsub..., VEX        fma

Prints one summary line and exits 0 when every instruction runs on the CPU; otherwise lists the
offending instructions (at most 10) and exits 1.
"""
import argparse
import re
import sys

VNNI = {"vpdpbusd", "vpdpbusds", "vpdpwssd", "vpdpwssds"}
BF16 = {"vdpbf16ps", "vcvtne2ps2bf16", "vcvtneps2bf16"}
AMX = {"ldtilecfg", "sttilecfg", "tileloadd", "tileloaddt1", "tilestored", "tilerelease",
       "tilezero"}
# Prefixes that may precede a VEX or EVEX byte: segment overrides and the address-size prefix.
PREFIXES = {0x26, 0x2e, 0x36, 0x3e, 0x64, 0x65, 0x67}
LINE = re.compile(r"^\s*[0-9a-f]+:\s+((?:[0-9a-f]{2} )+)\s*(.*)$")


def cpu_flags(args):
    if args.flags is not None:
        return set(args.flags.split())
    with open("/proc/cpuinfo") as cpuinfo:
        for line in cpuinfo:
            if line.startswith("flags"):
                return set(line.split(":", 1)[1].split())
    sys.exit("check_isa: no 'flags' line in /proc/cpuinfo")


def needs(raw, text):
    """The CPU flags one instruction needs (the families above only)."""
    data = [int(b, 16) for b in raw.split()]
    words = text.split()
    if words and words[0] in ("{vex}", "{evex}"):
        words = words[1:]
    mnemonic = words[0] if words else ""
    i = 0
    while i < len(data) and data[i] in PREFIXES:
        i += 1
    encoding = ""
    if i < len(data) and data[i] in (0xc4, 0xc5):
        encoding = "vex"
    elif i < len(data) and data[i] == 0x62:
        encoding = "evex"
    required = set()
    if encoding == "evex":
        required.add("avx512f")
        if i + 1 < len(data) and (data[i + 1] & 0x7) in (5, 6):
            required.add("avx512_fp16")
    if mnemonic in VNNI:
        required.add("avx_vnni" if encoding == "vex" else "avx512_vnni")
    if mnemonic in BF16:
        required.add("avx_ne_convert" if encoding == "vex" else "avx512_bf16")
    if mnemonic in AMX or mnemonic.startswith("tdp"):
        required.add("amx_tile")
    if encoding == "vex" and re.match(r"vf(n?)m(add|sub)", mnemonic):
        required.add("fma")
    return required


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--flags", help="the CPU's flags, as /proc/cpuinfo spells them")
    args = parser.parse_args()
    flags = cpu_flags(args)
    checked = 0
    counts = {}
    bad = []
    for line in sys.stdin:
        match = LINE.match(line)
        if not match or not match.group(2).strip():
            continue
        checked += 1
        for flag in needs(match.group(1), match.group(2)):
            counts[flag] = counts.get(flag, 0) + 1
            if flag not in flags:
                bad.append("%s (needs %s)" % (line.strip(), flag))
    if checked == 0:
        sys.exit("check_isa: no instructions on stdin (objdump -d --insn-width=16 output)")
    families = ", ".join("%s %d" % (f, n) for f, n in sorted(counts.items())) or "none"
    if bad:
        print("check_isa: %d of %d instructions need what this CPU lacks:" % (len(bad), checked))
        for entry in bad[:10]:
            print("  " + entry)
        sys.exit(1)
    print("check_isa: %d instructions, every one runs on this CPU (%s)" % (checked, families))


if __name__ == "__main__":
    main()
