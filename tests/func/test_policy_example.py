"""examples/policy/mlform.rego against real JSON plans.

The `opa` binary is not installed here, so `evaluate` below applies the policy's rules in Python,
reading exactly the fields the policy reads (`resource_changes[].type`, `.address`,
`.change.actions`, `.change.after.seed|gpu|nodes`) and its `max_gpus`. The tests pin that JSON
shape on plans mlform really makes; where `opa` is on PATH, its answer must be the same.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from test_guardrails import ML, fake_gpus

POLICY = Path(__file__).resolve().parents[2] / "examples" / "policy" / "mlform.rego"
MAX_GPUS = int(re.search(r"^max_gpus := (\d+)$", POLICY.read_text(), re.MULTILINE).group(1))


def kept(plan: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        rc
        for rc in plan["resource_changes"]
        if "delete" not in rc["change"]["actions"]
        and "forget" not in rc["change"]["actions"]
        and rc["change"]["after"] is not None
    ]


def gpus(after: dict[str, Any]) -> int:
    gpu, nodes = after["gpu"], after.get("nodes", 1)
    parts = gpu.split(":")
    if len(parts) == 2:
        return 0 if parts[0].lower() == "none" else int(parts[1]) * nodes
    return 0 if gpu.lower() in ("any", "none", "") else nodes


def evaluate(plan: dict[str, Any]) -> set[str]:
    """The policy's `deny` set."""
    deny = {
        f"{rc['address']}: a training job must set a seed"
        for rc in kept(plan)
        if rc["type"] == "training_job" and rc["change"]["after"].get("seed") is None
    }
    total = sum(
        gpus(rc["change"]["after"])
        for rc in kept(plan)
        if isinstance(rc["change"]["after"].get("gpu"), str)
    )
    if total > MAX_GPUS:
        deny.add(f"the plan requests {total} GPUs, more than the {MAX_GPUS} allowed")
    return deny


def opa(plan_file: Path) -> set[str] | None:
    exe = shutil.which("opa")
    if exe is None:
        return None
    out = subprocess.run(
        [
            exe,
            "eval",
            "--format",
            "json",
            "-d",
            str(POLICY),
            "-i",
            str(plan_file),
            "data.mlform.deny",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return set(json.loads(out)["result"][0]["expressions"][0]["value"])


@pytest.fixture
def json_plan(workdir: Path, mlform, tmp_path):
    (workdir / "src").mkdir()
    (workdir / "src" / "train.py").write_text("print('hi')\n")
    env = fake_gpus(tmp_path / "bin", 8)

    def make(main: str) -> tuple[dict[str, Any], set[str]]:
        (workdir / "main.mlf.hcl").write_text(main)
        mlform.ok("plan", "-out", "p.mlplan", env=env)
        text = mlform.ok("show", "-json", "p.mlplan", env=env).out
        (workdir / "plan.json").write_text(text)
        plan = json.loads(text)
        found = opa(workdir / "plan.json")
        if found is not None:
            assert found == evaluate(plan)
        return plan, evaluate(plan)

    return make


def test_the_plan_has_the_shape_the_policy_reads(json_plan):
    plan, deny = json_plan(ML)
    assert deny == set()
    by_addr = {rc["address"]: rc for rc in plan["resource_changes"]}
    job = by_addr["training_job.t"]
    assert job["type"] == "training_job" and job["change"]["actions"] == ["create"]
    assert job["change"]["after"]["seed"] == 7
    box = by_addr["cluster.box"]["change"]["after"]
    assert box["gpu"] == "any" and box["nodes"] == 1


def test_a_training_job_without_seed_is_denied(json_plan):
    _, deny = json_plan(ML.replace("  seed        = 7\n", ""))
    assert deny == {"training_job.t: a training job must set a seed"}


def test_too_many_gpus_are_denied(json_plan):
    main = ML.replace('gpu    = "any"', 'gpu    = "A100:4"') + (
        'resource "cluster" "big" {\n  gpu   = "A100:4"\n  nodes = 2\n}\n'
    )
    _, deny = json_plan(main)
    assert deny == {f"the plan requests 12 GPUs, more than the {MAX_GPUS} allowed"}
    _, deny = json_plan(ML.replace('gpu    = "any"', 'gpu    = "A100:8"'))
    assert deny == set()
