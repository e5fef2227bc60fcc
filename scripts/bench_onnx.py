#!/usr/bin/env python3
"""Times onnxruntime (CPUExecutionProvider, 2 threads) on an exported model: median milliseconds per batch of 1
and of 256 random inputs, as `strata-bench predict` times Strata. One JSON line per batch size.

Usage: bench_onnx.py MODEL.onnx NAME
"""
import json
import sys
import time

import numpy as np
import onnxruntime


def main() -> None:
    path, name = sys.argv[1:3]
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 2
    options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])
    shape = list(session.get_inputs()[0].shape[1:])
    for batch in (1, 256):
        x = np.random.default_rng(5).random([batch] + shape, dtype=np.float32)
        session.run(None, {"input": x})
        samples = []
        start = time.perf_counter()
        while len(samples) < 5 or (time.perf_counter() - start < 1 and len(samples) < 2000):
            t0 = time.perf_counter()
            session.run(None, {"input": x})
            samples.append(time.perf_counter() - t0)
        median = sorted(samples)[len(samples) // 2]
        print(json.dumps({"kernel": "predict", "runtime": f"onnxruntime {onnxruntime.__version__}", "model": name,
                          "batch": batch, "threads": 2, "ms_per_batch": round(median * 1000, 4),
                          "examples_per_second": round(batch / median, 1)}))


if __name__ == "__main__":
    main()
