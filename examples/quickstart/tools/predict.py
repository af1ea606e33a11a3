"""Ask the quickstart's endpoint to classify a few digits from the shipped data, and print the
answers next to the true labels.

    python tools/predict.py http://127.0.0.1:8080 [ROWS]
"""

from __future__ import annotations

import csv
import json
import sys
import urllib.request
from pathlib import Path

DATA = Path(__file__).resolve().parent.parent / "data" / "digits" / "digits.csv"


def main() -> None:
    endpoint = sys.argv[1].rstrip("/")
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    with DATA.open(newline="") as f:
        reader = csv.reader(f)
        header = next(reader)
        label_col = header.index("label")
        rows = [next(reader) for _ in range(n)]
    instances = [[float(v) for i, v in enumerate(r) if i != label_col] for r in rows]
    labels = [int(r[label_col]) for r in rows]
    req = urllib.request.Request(
        endpoint + "/predict",
        data=json.dumps({"instances": instances}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=30) as resp:
        predictions = json.load(resp)["predictions"]
    print(f"POST {endpoint}/predict ({n} digits)")
    print(f"  predicted: {predictions}")
    print(f"  true:      {labels}")


if __name__ == "__main__":
    main()
