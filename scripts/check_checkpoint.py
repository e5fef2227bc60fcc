#!/usr/bin/env python3
"""Cross-checks a Strata checkpoint with the reference safetensors library and numpy.

Loads CHECKPOINT with safetensors, rebuilds the dense network of its spec in numpy (dense layers with their
activations; enough for fashion-mlp), feeds it the first N test images, and compares with the CSV that
`strata predict` wrote for the same inputs.

    check_checkpoint.py CHECKPOINT INPUTS_CSV PREDICTIONS_CSV
"""
import csv
import json
import sys

import numpy as np
from safetensors import safe_open
from safetensors.numpy import load_file


def activation(name, x):
    if name == "relu":
        return np.maximum(x, 0)
    if name == "softmax":
        e = np.exp(x - x.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)
    if name == "sigmoid":
        return 1 / (1 + np.exp(-x))
    if name == "tanh":
        return np.tanh(x)
    return x


def main(checkpoint, inputs_csv, predictions_csv):
    tensors = load_file(checkpoint)
    with safe_open(checkpoint, framework="numpy") as f:
        metadata = f.metadata()
    assert metadata["format"] == "strata-checkpoint-1", metadata.get("format")
    preprocessing = json.loads(metadata["preprocessing"])
    # The spec's dense layers and activations, in order (read with a tiny YAML-free scan of the flow mappings).
    layers = []
    for line in metadata["spec"].splitlines():
        line = line.split("#")[0].strip()
        if line.startswith("- dense:"):
            act = "linear"
            if "activation:" in line:
                act = line.split("activation:")[1].split(",")[0].split("}")[0].strip()
            layers.append(act)
    x = np.loadtxt(inputs_csv, delimiter=",", skiprows=1, dtype=np.float32, ndmin=2)
    if preprocessing.get("scale") is not None:
        x = x * np.float32(preprocessing["scale"])
    if preprocessing.get("mean") is not None:
        x = (x - np.array(preprocessing["mean"], np.float32)) / np.array(preprocessing["standardDeviation"], np.float32)
    for index, act in enumerate(layers, start=1):
        w = tensors[f"dense_{index}.weight"]
        b = tensors.get(f"dense_{index}.bias", np.zeros(w.shape[1], np.float32))
        x = activation(act, x.astype(np.float64) @ w.astype(np.float64) + b)
    with open(predictions_csv) as f:
        rows = list(csv.reader(f))
    predicted = np.array([[float(v) for v in row[1:]] for row in rows[1:]])
    assert predicted.shape == x.shape, (predicted.shape, x.shape)
    worst = float(np.abs(predicted - x).max())
    classes = json.loads(metadata["class_names"])
    labels_match = all(classes[int(np.argmax(p))] == row[0] for p, row in zip(x, rows[1:]))
    print(f"checked {len(x)} predictions of {len(tensors)} tensors: max |strata - numpy| = {worst:.2e}")
    if worst > 1e-5 or not labels_match:
        print("FAILED: predictions differ" if worst > 1e-5 else "FAILED: class labels differ")
        sys.exit(1)


if __name__ == "__main__":
    main(*sys.argv[1:4])
