"""examples/quickstart through the real `mlform` command line, step by step as its README tells
it (in a copy): apply, call the endpoint, change the `c` parameter (only the job and the
deployment change, with their reasons), apply (the endpoint URL stays), change a data file (the
dataset, the job and the deployment change, with their reasons), apply, `plan` with no changes,
`mlform logs`, destroy. test_quickstart.py drives the same loop through the provider's kinds
directly; this one reads everything off the command line's output, as a user would. Slow: it
builds the scikit-learn environment (from the network or uv's cache)."""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from e2e_cli import REPO, http, project

pytestmark = pytest.mark.slow

# The instance the README posts to /predict: a zero.
ZERO = [
    [
        0,
        0,
        5,
        13,
        9,
        1,
        0,
        0,
        0,
        0,
        13,
        15,
        10,
        15,
        5,
        0,
        0,
        3,
        15,
        2,
        0,
        11,
        8,
        0,
        0,
        4,
        12,
        0,
        0,
        8,
        8,
        0,
        0,
        5,
        8,
        0,
        0,
        9,
        8,
        0,
        0,
        4,
        11,
        0,
        1,
        12,
        7,
        0,
        0,
        2,
        14,
        5,
        10,
        12,
        0,
        0,
        0,
        0,
        6,
        13,
        10,
        0,
        0,
        0,
    ]  # fmt: skip
]


def _accuracy_on_first_rows(endpoint: str, data: Path, n: int = 20) -> int:
    with data.open(newline="") as f:
        rows = list(csv.reader(f))[1 : n + 1]
    answer = http(endpoint + "/predict", {"instances": [[float(v) for v in r[:64]] for r in rows]})
    return sum(p == int(r[64]) for p, r in zip(answer["predictions"], rows, strict=True))


def test_the_quickstart_readme_loop(tmp_path: Path) -> None:
    with project(str(REPO / "examples" / "quickstart"), tmp_path) as p:
        data = p.root / "data/digits/digits.csv"

        # 1. Apply: five resources.
        plan, r = p.plan()
        assert plan.summary == "Plan: 5 to add, 0 to change, 0 to destroy.", r.explain()
        r = p.ok("apply", "-auto-approve", timeout=900)
        assert "Apply complete! Resources: 5 added, 0 changed, 0 destroyed." in r.out
        assert re.search(r"training_job\.digits: trained on \d+ rows, C=1\.0, seed=42", r.out)
        assert float(p.output("accuracy")) > 0.9

        # 2. Call the endpoint.
        endpoint = p.output("endpoint")
        assert http(endpoint + "/health") == {"status": "ok"}
        assert http(endpoint + "/predict", {"instances": ZERO}) == {"predictions": [0]}
        assert _accuracy_on_first_rows(endpoint, data) >= 18
        env = {**os.environ, "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}
        predict = subprocess.run(
            [sys.executable, "tools/predict.py", endpoint],
            cwd=p.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert predict.returncode == 0, predict.stderr
        assert "predicted: [0, 1, 2, 3, 4]" in predict.stdout, predict.stdout

        # 3. Change a parameter: only the job and the deployment, with their reasons.
        model_before = p.resource("training_job.digits")["model_digest"]
        plan, r = p.plan("-var", "c=0.1")
        assert r.code == 2, r.explain()
        assert plan.actions() == {"training_job.digits": "replace", "deployment.api": "update"}
        assert plan.reasons("training_job.digits") == ["params.c changed 1 → 0.1"]
        assert plan.reasons("deployment.api") == [
            f"model changed {model_before[:15]}… → (known after apply)"
        ]
        assert plan.summary == "Plan: 1 to add, 1 to change, 1 to destroy."
        for other in ("dataset.digits", "environment.sk", "cluster.box"):
            assert other not in r.out

        r = p.ok("apply", "-auto-approve", "-var", "c=0.1")
        assert "training_job.digits: trained on 1347 rows, C=0.1, seed=42" in r.out
        assert "deployment.api: switched the endpoint to revision 2" in r.out
        assert p.output("endpoint") == endpoint
        assert p.resource("deployment.api")["revision"] == 2
        assert http(endpoint + "/predict", {"instances": ZERO}) == {"predictions": [0]}

        # 4. Change the data: drop the last row.
        data.write_text("".join(data.read_text().splitlines(keepends=True)[:-1]))
        ds_before = p.resource("dataset.digits")["digest"]
        model_before = p.resource("training_job.digits")["model_digest"]
        plan, r = p.plan("-var", "c=0.1")
        assert r.code == 2, r.explain()
        assert plan.actions() == {
            "dataset.digits": "update",
            "training_job.digits": "replace",
            "deployment.api": "update",
        }
        (ds_reason,) = plan.reasons("dataset.digits")
        m = re.fullmatch(
            r"content changed (sha256:[0-9a-f]{8})… → (sha256:[0-9a-f]{8})… "
            r"\(1 file changed, 0 added, 0 removed\)",
            ds_reason,
        )
        assert m and m[1] == ds_before[:15], ds_reason
        assert plan.reasons("training_job.digits") == [
            f'dataset "digits" changed {m[1]}… → {m[2]}…'
        ]
        assert plan.reasons("deployment.api") == [
            f"model changed {model_before[:15]}… → (known after apply)"
        ]
        assert plan.summary == "Plan: 1 to add, 2 to change, 1 to destroy."

        r = p.ok("apply", "-auto-approve", "-var", "c=0.1")
        assert "training_job.digits: trained on 1347 rows, C=0.1, seed=42" in r.out  # 3/4 of 1796
        assert p.resource("dataset.digits")["digest"].startswith(m[2])
        assert p.output("endpoint") == endpoint
        assert _accuracy_on_first_rows(endpoint, data) >= 18

        # 5. No changes.
        plan, r = p.plan("-var", "c=0.1")
        assert r.code == 0, r.explain()
        assert "No changes. Your infrastructure matches the configuration." in r.out

        assert "trained on 1347 rows, C=0.1" in p.ok("logs", "training_job.digits").out
        assert "POST /predict" in p.ok("logs", "deployment.api").out
        # 6. Destroy: project() destroys and checks that no server or proxy is left.
