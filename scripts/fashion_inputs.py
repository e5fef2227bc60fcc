#!/usr/bin/env python3
"""Writes the first N Fashion-MNIST test images as a CSV of raw pixel values (0..255), one row each.

    fashion_inputs.py N OUTPUT_CSV
"""
import gzip
import sys

import numpy as np

path = "/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"
count, output = int(sys.argv[1]), sys.argv[2]
with gzip.open(path) as f:
    data = np.frombuffer(f.read(), np.uint8, offset=16).reshape(-1, 784)[:count]
header = ",".join(f"pixel_{i}" for i in range(784))
np.savetxt(output, data, fmt="%d", delimiter=",", header=header, comments="")
