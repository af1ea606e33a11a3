"""Training jobs on the local provider (a few-line job): a secret passed as a param stays hidden
in `mlform diff` and `lineage`, though the job's lineage record copies its params; a negative
`retries` is refused at plan."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("mlform_local")

CONFIG = """
variable "tok" {
  type      = string
  sensitive = true
}
resource "dataset" "rows" {
  source = "./data"
}
resource "environment" "bare" {
  packages = []
}
resource "cluster" "here" {}
resource "training_job" "tiny" {
  cluster     = cluster.here.id
  environment = environment.bare.id
  code        = "./src"
  command     = "python train.py"
  datasets    = { rows = dataset.rows.id }
  params      = { scale = 1, token = var.tok }
  seed        = 7
}
"""

TRAIN = """
import os
from pathlib import Path
Path(os.environ["MLFORM_OUTPUT_DIR"], "model.json").write_text("[1]")
"""


def test_diff_and_lineage_hide_a_sensitive_param(mlform, write) -> None:
    write(CONFIG)
    write(TRAIN, "src/train.py")
    write("1 2\n", "data/rows.txt")
    mlform.ok("apply", "--auto-approve", "--var", "tok=SEKRET42")
    mlform.ok("apply", "--auto-approve", "--var", "tok=SEKRET43")
    text = mlform.ok("diff", "1", "2")
    assert "params.token: (sensitive value) → (sensitive value)" in text.out, str(text)
    assert "1 instance differs." in text.out
    as_json = mlform.ok("diff", "1", "2", "--json")
    assert "SEKRET4" not in as_json.out
    change = json.loads(as_json.out)["instances"]
    assert [c["status"] for c in change if c["address"] == "training_job.tiny"] == ["changed"]
    for fmt in ("tree", "json"):
        lin = mlform.ok("lineage", "training_job.tiny", "--format", fmt)
        assert "SEKRET4" not in lin.all, fmt


def test_negative_retries_is_refused_at_plan(mlform, write) -> None:
    write(CONFIG.replace("seed        = 7", "seed        = 7\n  retries     = -1"))
    write(TRAIN, "src/train.py")
    write("1 2\n", "data/rows.txt")
    res = mlform("plan", "--var", "tok=x")
    assert res.code == 1, str(res)
    assert "Error: retries must be 0 or more" in res.err
    assert "retries     = -1" in res.err  # the snippet
