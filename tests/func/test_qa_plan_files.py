"""A new user's mistakes with saved plans: a missing, truncated or wrong file given to
`apply PLANFILE` or `show PLANFILE` is a diagnostic (never an internal error), nothing is
applied, and the hint never suggests overwriting the file given (it may be the state)."""

from __future__ import annotations

import json

import pytest

CONFIG = """
provider "test" { store = "objects.json" }
resource "test_object" "a" { value = "x" }
"""


@pytest.fixture
def applied(mlform, write, workdir):
    write(CONFIG)
    mlform.ok("apply", "--auto-approve")
    mlform.ok("plan", "--out", "good.plan")
    (workdir / "trunc.plan").write_bytes((workdir / "good.plan").read_bytes()[:100])
    (workdir / "dir.plan").mkdir()
    return workdir


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("trunc.plan", "Error: trunc.plan is not an mlform plan file"),
        ("missing.plan", "Error: The plan file missing.plan does not exist"),
        ("dir.plan", "Error: Cannot read the plan file dir.plan"),
        ("mlform.state.json", "Error: mlform.state.json is not an mlform plan file"),
    ],
)
def test_apply_of_a_bad_plan_file_is_a_diagnostic(mlform, applied, store, name, says) -> None:
    state_before = (applied / "mlform.state.json").read_bytes()
    res = mlform("apply", name)
    assert res.code == 1, str(res)
    assert says in res.err, str(res)
    assert "internal error" not in res.all and "Traceback" not in res.all
    # the hint must not tell the user to write a plan over their state file
    assert f"-out {name}" not in res.all
    assert (applied / "mlform.state.json").read_bytes() == state_before
    assert store.count() == 1


def test_show_json_of_a_truncated_plan_is_a_diagnostic_not_json(mlform, applied) -> None:
    res = mlform("show", "--json", "trunc.plan")
    assert res.code == 1, str(res)
    assert res.out == ""
    assert "is not an mlform plan file" in res.err
    assert "-out trunc.plan" not in res.err


def test_show_json_of_a_good_plan_is_json(mlform, applied) -> None:
    json.loads(mlform.ok("show", "--json", "good.plan").out)


VAR_CONFIG = """
provider "test" { store = "objects.json" }
variable "x" { default = "a" }
resource "test_object" "a" { value = var.x }
"""


@pytest.mark.parametrize(
    ("extra", "says"),
    [
        (("-var", "x=zzz"), "Can't set variables when applying a saved plan"),
        (("-target", "test_object.a"), "--target cannot be used with a saved plan"),
        (("-destroy",), "--destroy cannot be used with a saved plan"),
    ],
)
def test_planning_options_with_a_saved_plan_are_refused(mlform, write, store, extra, says):
    write(VAR_CONFIG)
    mlform.ok("plan", "--out", "p.plan")
    res = mlform("apply", *extra, "p.plan")
    assert res.code == 1, str(res)
    assert f"Error: {says}" in res.err
    assert store.count() == 0
    mlform.ok("apply", "p.plan")
    assert [o["value"] for o in store.objects().values()] == ["a"]


@pytest.mark.parametrize(
    ("out", "says"),
    [
        ("nodir/p.plan", "Cannot save the plan to nodir/p.plan"),
        ("adir", "Cannot save the plan to adir"),
        ("main.mlf.hcl", "That file exists and is not an mlform plan"),
        ("mlform.state.json", "That file exists and is not an mlform plan"),
    ],
)
def test_plan_out_never_overwrites_what_is_not_a_plan(mlform, write, workdir, out, says) -> None:
    write(VAR_CONFIG)
    mlform.ok("apply", "--auto-approve")
    (workdir / "adir").mkdir()
    before = {p: (workdir / p).read_bytes() for p in ("main.mlf.hcl", "mlform.state.json")}
    res = mlform("plan", "--out", out)
    assert res.code == 1, str(res)
    assert says in res.err, str(res)
    assert "internal error" not in res.all
    assert {p: (workdir / p).read_bytes() for p in before} == before


def test_plan_out_replaces_an_older_plan(mlform, write) -> None:
    write(VAR_CONFIG)
    mlform.ok("plan", "--out", "p.plan")
    mlform.ok("plan", "--out", "p.plan", "--var", "x=b")
    mlform.ok("apply", "p.plan")
