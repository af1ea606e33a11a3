"""The example configurations of docs/guide.md and docs/language.md, run through the CLI.

Every folder under docs/examples/ passes `mlform validate`. Those that use only the built-in
`test` provider are taken through `plan`, `apply`, a second `plan` that finds nothing to do, and
`destroy`; a few then check what the guide says about them (variable precedence, lifecycle).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import Mlform

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "examples"
NAMES = sorted(p.name for p in EXAMPLES.iterdir() if p.is_dir())
RESOURCE = re.compile(r'^\s*(?:resource|data)\s+"([^"]+)"', re.MULTILINE)


def resource_types(folder: Path) -> set[str]:
    return {m.group(1) for f in folder.rglob("*.mlf.hcl") for m in RESOURCE.finditer(f.read_text())}


TEST_ONLY = [n for n in NAMES if all(t.startswith("test_") for t in resource_types(EXAMPLES / n))]


def at(mlform: Mlform, name: str) -> Mlform:
    dst = mlform.cwd / name
    shutil.copytree(
        EXAMPLES / name,
        dst,
        ignore=shutil.ignore_patterns(".mlform", "mlform.state*", "__pycache__"),
    )
    mlform.cwd = dst
    return mlform


def outputs(mlform: Mlform) -> dict[str, object]:
    data = json.loads(mlform.ok("output", "--json").out)
    return {k: v["value"] for k, v in data.items()}


def test_examples_exist() -> None:
    assert {"pipeline", "variables", "modules", "sweep", "lifecycle", "sensitive"} <= set(NAMES)
    assert {"variables", "modules", "lifecycle", "sensitive"} <= set(TEST_ONLY)


@pytest.mark.parametrize("name", NAMES)
def test_example_validates(name: str, mlform: Mlform) -> None:
    res = at(mlform, name)("validate", "--json")
    assert res.code == 0, str(res)
    assert json.loads(res.out)["valid"] is True


@pytest.mark.parametrize("name", TEST_ONLY)
def test_test_provider_example_round_trip(name: str, mlform: Mlform) -> None:
    m = at(mlform, name)
    m.ok("init")
    assert (m.cwd / ".mlform.lock.hcl").is_file()
    assert m("plan", "--detailed-exitcode").code == 2
    m.ok("apply", "--auto-approve")
    res = m("plan", "--detailed-exitcode")
    assert res.code == 0, str(res)
    assert m.ok("state", "list").out.strip()
    m.ok("destroy", "--auto-approve")
    assert m.ok("state", "list").out.strip() == ""


def test_variables_precedence_as_the_guide_says(mlform: Mlform) -> None:
    m = at(mlform, "variables")
    m.ok("apply", "--auto-approve", env={"MLFORM_VAR_team": "nlp"})
    # mlform.mlfvars.hcl wins over the environment; the defaults fill in the rest.
    assert outputs(m)["servers"] == ["vision-dev-0 (standard)"]
    m.ok("apply", "--auto-approve", "--var-file", "prod.mlfvars.hcl")
    assert outputs(m)["servers"] == [f"vision-prod-{i} (gold)" for i in range(3)]
    # Later on the command line wins.
    m.ok("apply", "--auto-approve", "--var-file", "prod.mlfvars.hcl", "--var", "replicas=2")
    assert len(outputs(m)["servers"]) == 2
    res = m("plan", "--var", "replicas=9")
    assert res.code == 1 and "replicas must be between 1 and 4." in res.err, str(res)
    (m.cwd / "mlform.mlfvars.hcl").unlink()
    res = m("plan")
    assert res.code == 1 and "MLFORM_VAR_team" in res.err, str(res)
    m.ok("destroy", "--auto-approve", "--var", "team=x")


def test_lifecycle_plan_as_the_guide_says(mlform: Mlform) -> None:
    m = at(mlform, "lifecycle")
    m.ok("apply", "--auto-approve")
    out = m.ok("plan", "--var", "schema_version=v2").out
    assert '+/- resource "test_object" "table"' in out
    assert '-/+ resource "test_object" "report"' in out
    assert "replace_triggered_by" in out
    assert "test_object.audit" not in out
    m.ok("destroy", "--auto-approve")


def test_sensitive_example_hides_the_token(mlform: Mlform) -> None:
    m = at(mlform, "sensitive")
    res = m.ok("apply", "--auto-approve")
    assert "tok-123" not in res.all
    assert "token = <sensitive>" in res.out
    assert "token_length = 7" in res.out
    assert m.ok("output", "-raw", "token").out == "tok-123"
    m.ok("destroy", "--auto-approve")


def test_saved_plan_flow_as_the_guide_says(mlform: Mlform) -> None:
    m = at(mlform, "variables")
    assert m("plan", "--out", "plan.mlplan", "--detailed-exitcode").code == 2
    plan = json.loads(m.ok("show", "--json", "plan.mlplan").out)
    assert [c["change"]["actions"] for c in plan["resource_changes"]] == [["create"]]
    m.ok("apply", "plan.mlplan")
    res = m("apply", "plan.mlplan")
    assert res.code == 1 and "Saved plan is stale" in res.err, str(res)
    m.ok("destroy", "--auto-approve")
