#!/usr/bin/env python3
"""What a data-parallel step would cost on N machines, for each bundled spec (docs/distributed.md's tables).

For each spec: its trainable parameters (`strata check --format json`), so the gradient bytes an all-reduce
moves per step (float32), and its measured compute per step on this machine (`strata train --epochs 1
--result`, seconds ÷ steps, one process, default threads). The model: a ring all-reduce sends and receives
2·(N−1)/N of the gradient per machine, in 2·(N−1) messages, so

    step(N) = compute / N + 2·(N−1)/N · bytes / bandwidth + 2·(N−1) · latency

with the global batch fixed (each of N machines computes batch/N examples; the compute term is optimistic for
small per-machine batches) and no overlap of communication with the backward pass. Latency per message: 10 µs
on 10 Gbit/s Ethernet, 2 µs on a 100 Gbit/s RDMA fabric.

    python3 scripts/distributed_model.py [--strata .build/release/strata] [--specs a.yaml,b.yaml]
"""
import argparse, json, os, subprocess, sys, tempfile

LINKS = [("10 Gbit/s", 10e9 / 8, 10e-6), ("100 Gbit/s", 100e9 / 8, 2e-6)]
MACHINES = [1, 2, 4, 8, 16, 32, 64]


def measure(strata, spec, folder):
    check = json.loads(subprocess.run([strata, "check", spec, "--format", "json"], capture_output=True, text=True).stdout)
    params = sum(layer["params"] for layer in check["layers"])
    result = os.path.join(folder, "result.json")
    subprocess.run([strata, "train", spec, "--epochs", "1", "--quiet", "--no-plot", "--output",
                    os.path.join(folder, "model.safetensors"), "--result", result], check=True)
    run = json.load(open(result))
    return params, check["batch_size"], run["seconds"] / run["steps"]


def step_time(compute, size, n, bandwidth, latency):
    if n == 1:
        return compute
    return compute / n + 2 * (n - 1) / n * size / bandwidth + 2 * (n - 1) * latency


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--strata", default=".build/release/strata")
    parser.add_argument("--specs", default="specs/linear.yaml,specs/iris.yaml,specs/digits.yaml,specs/fashion-mlp.yaml,"
                        "specs/fashion-mlp-big.yaml,specs/fashion-cnn.yaml,specs/fashion-cnn-bn.yaml")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for spec in args.specs.split(","):
            params, batch, compute = measure(args.strata, spec, folder)
            rows.append((os.path.basename(spec)[:-5], params, batch, compute))
    print("| spec | trainable parameters | gradient per step | batch | compute per step, 1 machine |")
    print("| --- | --- | --- | --- | --- |")
    for name, params, batch, compute in rows:
        print(f"| {name} | {params:,} | {params * 4 / 1e6:.3f} MB | {batch} | {compute * 1e3:.3f} ms |")
    for link, bandwidth, latency in LINKS:
        print(f"\nStep time in ms on {link} (latency {latency * 1e6:.0f} µs per message); **bold**: communication "
              "exceeds the machine's share of compute, so more machines stop helping:\n")
        print("| spec | " + " | ".join(f"N = {n}" for n in MACHINES) + " | best N |")
        print("| --- | " + " | ".join("---" for _ in MACHINES) + " | --- |")
        for name, params, batch, compute in rows:
            size = params * 4
            cells, best = [], min(MACHINES, key=lambda n: step_time(compute, size, n, bandwidth, latency))
            for n in MACHINES:
                t = step_time(compute, size, n, bandwidth, latency)
                communication = t - compute / n
                text = f"{t * 1e3:.3f}"
                cells.append(f"**{text}**" if n > 1 and communication > compute / n else text)
            print(f"| {name} | " + " | ".join(cells) + f" | {best} |")


if __name__ == "__main__":
    sys.exit(main())
