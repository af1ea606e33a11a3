"""Fit y = a*x + b to the dataset by gradient descent, with the standard library only.

Reads the data from MLFORM_DATA_POINTS and the learning rate from MLFORM_PARAM_LR; writes the
fitted weights to MLFORM_OUTPUT_DIR/model.json and the final loss to MLFORM_METRICS_FILE.
"""

import csv
import json
import os

rows = list(csv.DictReader(open(os.environ["MLFORM_DATA_POINTS"])))
xs = [float(r["x"]) for r in rows]
ys = [float(r["y"]) for r in rows]
lr = float(os.environ["MLFORM_PARAM_LR"])
a = b = 0.0
n = len(xs)


def loss() -> float:
    return sum((a * x + b - y) ** 2 for x, y in zip(xs, ys, strict=True)) / n


for _ in range(200):
    ga = sum(2 * (a * x + b - y) * x for x, y in zip(xs, ys, strict=True)) / n
    gb = sum(2 * (a * x + b - y) for x, y in zip(xs, ys, strict=True)) / n
    a, b = a - lr * ga * 0.1, b - lr * gb * 0.1

print(f"lr={lr} a={a:.4f} b={b:.4f} loss={loss():.6f}")
with open(os.path.join(os.environ["MLFORM_OUTPUT_DIR"], "model.json"), "w") as f:
    json.dump({"a": a, "b": b}, f)
with open(os.environ["MLFORM_METRICS_FILE"], "w") as f:
    json.dump({"loss": loss()}, f)
