"""A training job's `params` is an object whose values keep their own types (bool, number, string,
list, object), as Terraform's `any`: the job reads them so from MLFORM_PARAMS, and the state, the
fingerprint, the lineage and `mlform diff` record them so. A state written when params were made
strings still plans: a retrain whose reason names the type that changed. The sweep module passes
typed parameter sets through."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from conftest import Mlform

pytest.importorskip("mlform_local")

REPO = Path(__file__).resolve().parents[2]

PARAMS = '{ use_dropout = false, optimizer = "adam", layers = [64, 32], lr = 0.001, opt = { beta = 0.9, nesterov = true } }'
TYPED = {
    "use_dropout": False,
    "optimizer": "adam",
    "layers": [64, 32],
    "lr": 0.001,
    "opt": {"beta": 0.9, "nesterov": True},
}

CONFIG = """
resource "training_job" "fit" {
  code    = "./src"
  command = "python train.py"
  params  = PARAMS
  seed    = 1
}

output "metrics" {
  value = training_job.fit.metrics
}

output "dropout_is_false" {
  value = training_job.fit.metrics.params.use_dropout == false
}
"""

# The job reports what it was given, as it read it.
TRAIN = """
import json, os
from pathlib import Path
params = json.loads(os.environ["MLFORM_PARAMS"])
each = {k[len("MLFORM_PARAM_"):]: v for k, v in os.environ.items() if k.startswith("MLFORM_PARAM_")}
Path(os.environ["MLFORM_OUTPUT_DIR"], "model.json").write_text(json.dumps(params))
Path(os.environ["MLFORM_METRICS_FILE"]).write_text(json.dumps({"params": params, "each": each}))
print("dropout on" if params.get("use_dropout") else "dropout off")
"""


def outputs(mlform: Mlform) -> dict[str, Any]:
    res = mlform.ok("output", "--json")
    return {k: v["value"] for k, v in json.loads(res.out).items()}


def job(insts, address: str = "training_job.fit") -> dict[str, Any]:
    return insts()[address]


def test_params_reach_the_job_and_the_records_with_their_types(
    mlform: Mlform, write, insts
) -> None:
    write(CONFIG.replace("PARAMS", PARAMS))
    write(TRAIN, "src/train.py")
    res = mlform.ok("apply", "--auto-approve")
    assert "dropout off" in res.out
    out = outputs(mlform)
    assert out["metrics"]["params"] == TYPED
    assert out["metrics"]["each"] == {
        "USE_DROPOUT": "false",
        "OPTIMIZER": "adam",
        "LAYERS": "[64, 32]",
        "LR": "0.001",
        "OPT": '{"beta": 0.9, "nesterov": true}',
    }
    # Metrics keep their types too: a bool compares with a bool.
    assert out["dropout_is_false"] is True

    inst = job(insts)
    assert inst["attributes"]["params"] == TYPED
    assert inst["private"]["fingerprint_inputs"]["params"] == TYPED

    lineage = json.loads(mlform.ok("lineage", "training_job.fit", "--format", "json").out)
    node = next(n for n in lineage["nodes"] if n["kind"] == "training_job")
    assert node["details"]["params"] == TYPED
    tree = mlform.ok("lineage", "training_job.fit").out
    assert "use_dropout=false" in tree

    res = mlform("plan", "--detailed-exitcode")
    assert res.code == 0, str(res)


def test_a_state_with_params_made_strings_plans_a_retrain_that_says_why(
    mlform: Mlform, write, insts
) -> None:
    # What earlier versions recorded for `{ use_dropout = false, lr = 0.5 }`: every value a
    # string. Written here as strings, it is the same state.
    write(CONFIG.replace("PARAMS", '{ use_dropout = "false", lr = "0.5", optimizer = "adam" }'))
    write(TRAIN, "src/train.py")
    mlform.ok("apply", "--auto-approve")

    write(CONFIG.replace("PARAMS", '{ use_dropout = false, lr = 0.5, optimizer = "adam" }'))
    res = mlform("plan", "--detailed-exitcode")
    assert res.code == 2, str(res)
    assert "training_job.fit must be replaced" in res.out
    assert '(because params.lr changed "0.5" → 0.5 (string → number))' in res.out
    assert '(because params.use_dropout changed "false" → false (string → bool))' in res.out
    assert "params.optimizer" not in res.out

    res = mlform.ok("apply", "--auto-approve")
    assert "dropout off" in res.out
    assert job(insts)["attributes"]["params"] == {
        "use_dropout": False,
        "lr": 0.5,
        "optimizer": "adam",
    }
    diff = mlform.ok("diff", "1", "2").out
    assert 'params.use_dropout: "false" → false' in diff
    assert 'params.lr: "0.5" → 0.5' in diff


def test_the_sweep_module_passes_typed_parameter_sets(mlform: Mlform, write, insts) -> None:
    shutil.copytree(
        REPO / "modules" / "sweep",
        mlform.cwd / "modules" / "sweep",
        ignore=shutil.ignore_patterns("example", ".mlform", "mlform.state*", "__pycache__"),
    )
    write(
        """
resource "dataset" "rows" {
  source = "./data"
}

resource "environment" "bare" {}

module "sweep" {
  source = "./modules/sweep"

  parameter_sets = {
    small = { lr = 0.1, use_dropout = false, layers = [8] }
    big   = { lr = 0.01, use_dropout = true, layers = [64, 32], optimizer = "adam" }
  }
  dataset_id     = dataset.rows.id
  environment_id = environment.bare.id
  code           = "./src"
  command        = "python train.py"
  metric         = "score"
}

output "best" {
  value = module.sweep.best_key
}
"""
    )
    write("1\n", "data/rows.txt")
    write(
        TRAIN.replace(
            '"each": each}',
            '"each": each, "score": len(params["layers"])}',
        ),
        "src/train.py",
    )
    mlform.ok("init")
    mlform.ok("apply", "--auto-approve")
    assert outputs(mlform)["best"] == "big"
    runs = insts()
    big = runs['module.sweep.training_job.run["big"]']["attributes"]
    assert big["params"] == {
        "lr": 0.01,
        "use_dropout": True,
        "layers": [64, 32],
        "optimizer": "adam",
    }
    assert big["metrics"]["params"] == big["params"]
    small = runs['module.sweep.training_job.run["small"]']["attributes"]
    assert small["metrics"]["params"] == {"lr": 0.1, "use_dropout": False, "layers": [8]}
    res = mlform("plan", "--detailed-exitcode")
    assert res.code == 0, str(res)
