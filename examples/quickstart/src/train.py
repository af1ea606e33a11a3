"""Train a digit classifier on the quickstart's CSV data.

mlform runs this with the variables of a training job:
  MLFORM_DATA_DIGITS   the snapshot of dataset "digits" (a folder of CSV files, or one CSV file)
  MLFORM_PARAMS        the job's params as JSON (MLFORM_PARAM_C also carries `c`)
  MLFORM_SEED          the seed: the same inputs give a byte-identical model
  MLFORM_OUTPUT_DIR    where the model goes (mlform stores this folder as the artifact)
  MLFORM_METRICS_FILE  where the metrics go, as JSON

Run by hand:
  MLFORM_DATA_DIGITS=../data/digits MLFORM_OUTPUT_DIR=/tmp/out python train.py
"""

from __future__ import annotations

import csv
import json
import os
import pickle
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler


def load(path: Path) -> tuple[np.ndarray, np.ndarray]:
    files = sorted(path.rglob("*.csv")) if path.is_dir() else [path]
    if not files:
        raise SystemExit(f"no CSV files in {path}")
    rows: list[list[float]] = []
    labels: list[int] = []
    for f in files:
        with f.open(newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader)
            label_col = header.index("label")
            for row in reader:
                if not row:
                    continue
                labels.append(int(row[label_col]))
                rows.append([float(v) for i, v in enumerate(row) if i != label_col])
    return np.asarray(rows, dtype=np.float64), np.asarray(labels, dtype=np.int64)


def main() -> None:
    params = json.loads(os.environ.get("MLFORM_PARAMS") or "{}")
    c = float(os.environ.get("MLFORM_PARAM_C", params.get("c", 1.0)))
    seed = int(os.environ.get("MLFORM_SEED", "0"))
    data = Path(os.environ.get("MLFORM_DATA_DIGITS", "../data/digits"))
    out = Path(os.environ.get("MLFORM_OUTPUT_DIR", "out"))
    metrics_file = os.environ.get("MLFORM_METRICS_FILE")

    x, y = load(data)
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=0.25, random_state=seed, stratify=y
    )
    model = make_pipeline(
        StandardScaler(), LogisticRegression(C=c, max_iter=2000, random_state=seed)
    )
    model.fit(x_train, y_train)
    accuracy = float(model.score(x_test, y_test))
    print(f"trained on {len(y_train)} rows, C={c}, seed={seed}: test accuracy {accuracy:.4f}")

    out.mkdir(parents=True, exist_ok=True)
    # pickle of the fitted pipeline is a pure function of its arrays: no timestamps, so the
    # same data, params and seed give the same bytes (and the same model_digest).
    (out / "model.pkl").write_bytes(pickle.dumps(model, protocol=5))
    (out / "model.json").write_text(
        json.dumps({"kind": "logistic_regression", "c": c, "seed": seed, "features": 64}, sort_keys=True)
        + "\n"
    )
    metrics = {"accuracy": round(accuracy, 6), "train_rows": len(y_train), "test_rows": len(y_test)}
    if metrics_file:
        Path(metrics_file).write_text(json.dumps(metrics, sort_keys=True))


if __name__ == "__main__":
    main()
