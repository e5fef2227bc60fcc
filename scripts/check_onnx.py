#!/usr/bin/env python3
"""Checks an exported model against Strata: onnx.checker accepts it, and onnxruntime's outputs on a CSV's rows
equal `strata predict`'s (max |difference| <= 1e-5, identical classes).

Usage: check_onnx.py MODEL.onnx INPUTS.csv PREDICTIONS.csv
INPUTS.csv is what `strata predict --input` read (with a header; columns found by the model's feature_names when
it has them, else the first ones); PREDICTIONS.csv is what predict wrote.
"""
import csv
import json
import sys

import numpy as np
import onnx
import onnxruntime


def main() -> int:
    model_path, inputs_path, predictions_path = sys.argv[1:4]
    model = onnx.load(model_path)
    onnx.checker.check_model(model, full_check=True)
    props = {p.key: p.value for p in model.metadata_props}
    shape = [d.dim_value for d in model.graph.input[0].type.tensor_type.shape.dim[1:]]
    with open(inputs_path) as f:
        columns, *rows = list(csv.reader(f))
    names = json.loads(props["feature_names"]) if "feature_names" in props else columns[: int(np.prod(shape))]
    order = [columns.index(name) for name in names]
    x = np.array([[float(row[i]) for i in order] for row in rows], dtype=np.float32).reshape([len(rows)] + shape)
    session = onnxruntime.InferenceSession(model_path, providers=["CPUExecutionProvider"])
    results = dict(zip([o.name for o in session.get_outputs()], session.run(None, {"input": x})))
    with open(predictions_path) as f:
        _, *predicted = list(csv.reader(f))
    classifier = "probabilities" in results
    expected = np.array([[float(v) for v in (row[1:] if classifier else row)] for row in predicted], dtype=np.float32)
    got = results["probabilities" if classifier else "outputs"].reshape(expected.shape)
    difference = float(np.max(np.abs(got - expected)))
    same_classes = True
    if classifier:
        class_names = json.loads(props["class_names"])
        same_classes = [row[0] for row in predicted] == [class_names[i] for i in results["class"].reshape(-1)]
    ok = difference <= 1e-5 and same_classes
    print(f"{model_path}: {len(rows)} examples, max |onnxruntime - strata| = {difference:.2e}, classes "
          f"{'identical' if same_classes else 'DIFFER'}: {'ok' if ok else 'FAILED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
