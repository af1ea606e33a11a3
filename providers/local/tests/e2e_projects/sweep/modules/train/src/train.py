"""Fit y = w * x by gradient descent on the CSV rows of the "train" dataset (standard library).

Params: lr (step size), epochs. Writes model.json and the final mean squared error as `loss`.
"""

import csv
import json
import os
from pathlib import Path

params = json.loads(os.environ["MLFORM_PARAMS"])
lr, epochs = float(params["lr"]), int(params["epochs"])
data = Path(os.environ["MLFORM_DATA_TRAIN"])
files = sorted(data.rglob("*.csv")) if data.is_dir() else [data]
rows = [(float(r["x"]), float(r["y"])) for f in files for r in csv.DictReader(f.open())]

w = 0.0
for _ in range(epochs):
    w -= lr * 2 * sum(x * (w * x - y) for x, y in rows) / len(rows)
loss = round(sum((w * x - y) ** 2 for x, y in rows) / len(rows), 6)
print(f"lr={lr} epochs={epochs} on {len(rows)} rows: w={w:.4f} loss={loss}", flush=True)

out = Path(os.environ["MLFORM_OUTPUT_DIR"])
out.mkdir(parents=True, exist_ok=True)
(out / "model.json").write_text(json.dumps({"w": w, "rows": len(rows), "lr": lr}, sort_keys=True))
Path(os.environ["MLFORM_METRICS_FILE"]).write_text(json.dumps({"loss": loss, "rows": len(rows)}))
