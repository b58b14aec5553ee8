#!/usr/bin/env python3
"""ONNX Runtime's time per node, to set beside `kiln-bench MODEL --profile`'s time per kernel.

    /tmp/peers/bin/python scripts/ort-profile.py /tmp/ortbench/models/resnet18.onnx --batch 1

Needs the peers' virtual environment of ../shared/bench/README.md (onnxruntime, numpy) and an
export from its torch_baselines.py --export-onnx. Benchmarks only: no test uses it. Same session
settings as ort_bench.py (2 threads, sequential, every graph optimization); prints each node's mean
kernel time over the timed runs, in graph order, and the sum.
"""
import argparse, collections, json, os, sys, tempfile

import numpy as np
import onnxruntime as ort


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=20)
    a = ap.parse_args()
    so = ort.SessionOptions()
    so.intra_op_num_threads = a.threads
    so.inter_op_num_threads = 1
    so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    so.enable_profiling = True
    so.profile_file_prefix = os.path.join(tempfile.mkdtemp(), "ort")
    s = ort.InferenceSession(a.model, so, providers=["CPUExecutionProvider"])
    inp = s.get_inputs()[0]
    shape = [a.batch if not isinstance(d, int) else d for d in inp.shape]
    x = np.random.RandomState(0).uniform(-1, 1, shape).astype(np.float32)
    warmup = 3
    for _ in range(warmup + a.runs):
        s.run(None, {inp.name: x})
    events = json.load(open(s.end_profiling()))
    total = collections.OrderedDict()
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
            node = e["name"][: -len("_kernel_time")]
            entry = total.setdefault(node, [0, e["args"].get("op_name", "")])
            entry[0] += e["dur"]
    runs = warmup + a.runs  # the profile covers the warm-up runs too
    print(f"# onnxruntime {ort.__version__}, {a.threads} threads, batch {a.batch}, "
          f"mean of {runs} runs", file=sys.stderr)
    for node, (us, op) in total.items():
        print(f"{us / runs / 1000:9.4f} ms  {op:14s} {node}")
    print(f"{sum(v[0] for v in total.values()) / runs / 1000:9.4f} ms  in nodes per run")


if __name__ == "__main__":
    main()
