"""Regenerate data/digits/digits.csv from scikit-learn's bundled digits dataset.

The quickstart ships the CSV so that it runs without this step; run this only to rebuild it:

    python tools/make_data.py
"""

from __future__ import annotations

import csv
from pathlib import Path

from sklearn.datasets import load_digits

OUT = Path(__file__).resolve().parent.parent / "data" / "digits" / "digits.csv"


def main() -> None:
    digits = load_digits()
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow([f"pixel_{i}" for i in range(64)] + ["label"])
        for row, label in zip(digits.data, digits.target, strict=True):
            w.writerow([int(v) for v in row] + [int(label)])
    print(f"wrote {len(digits.target)} rows to {OUT}")


if __name__ == "__main__":
    main()
