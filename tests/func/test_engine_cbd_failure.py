"""create_before_destroy when the old object cannot be deleted: the replacement becomes the
instance, the old object stays in the state as a deposed object, and later applies delete it
(as Terraform does), so nothing is lost from the state."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from mlform.testing.provider import load_objects

CONFIG = """
provider "test" { store = "objects.json" }
resource "test_object" "a" {
  value     = "v"
  immutable = "%s"
  fail_on   = %s
  lifecycle { create_before_destroy = true }
}
"""


def _mlform(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "MLFORM_IN_AUTOMATION": "1", "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "mlform.cli.main", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def _instance(cwd: Path) -> dict[str, Any]:
    state = json.loads((cwd / "mlform.state.json").read_text())
    return state["resources"][0]["instances"][0]


def _allow_deletes(cwd: Path) -> None:
    """Let every recorded object be deleted (fail_on cleared in the state file)."""
    path = cwd / "mlform.state.json"
    state = json.loads(path.read_text())
    for res in state["resources"]:
        for inst in res["instances"]:
            for rec in [inst, *inst.get("deposed", {}).values()]:
                rec["attributes"]["fail_on"] = []
    path.write_text(json.dumps(state))


def _undeletable_old_object(tmp_path: Path) -> tuple[str, str]:
    """Apply, then replace under create_before_destroy while the old object refuses to be
    deleted; returns the old object's id and its deposed key."""
    (tmp_path / "main.mlf.hcl").write_text(CONFIG % ("one", '["delete"]'))
    assert _mlform(tmp_path, "apply", "--auto-approve").returncode == 0
    old_id = _instance(tmp_path)["id"]
    (tmp_path / "main.mlf.hcl").write_text(CONFIG % ("two", '["delete"]'))
    r = _mlform(tmp_path, "apply", "--auto-approve")
    assert r.returncode == 1
    assert "the previous object could not be deleted" in r.stderr
    inst = _instance(tmp_path)
    assert inst["id"] != old_id and inst["attributes"]["immutable"] == "two"
    (key,) = inst["deposed"]
    assert f"(id {old_id}) is kept in the state as deposed object {key}" in r.stderr
    assert inst["deposed"][key]["id"] == old_id
    assert len(load_objects(tmp_path / "objects.json")) == 2
    return old_id, key


def test_an_old_object_that_cannot_be_deleted_is_kept_as_deposed(tmp_path: Path) -> None:
    old_id, key = _undeletable_old_object(tmp_path)
    # The next plan proposes deleting it again, and nothing else.
    plan = _mlform(tmp_path, "plan", "--detailed-exitcode")
    assert plan.returncode == 2, plan.stdout + plan.stderr
    assert f"# test_object.a (deposed object {key}) will be destroyed" in plan.stdout
    assert "(left over from a partially-failed replacement of this instance)" in plan.stdout
    assert "Plan: 0 to add, 0 to change, 1 to destroy." in plan.stdout
    js = json.loads(_mlform(tmp_path, "plan", "--json").stdout)
    (rc,) = [rc for rc in js["resource_changes"] if rc["change"]["actions"] != ["no-op"]]
    assert rc["address"] == "test_object.a" and rc["deposed"] == key
    assert rc["change"]["actions"] == ["delete"] and rc["change"]["before"]["id"] == old_id
    # While it still refuses, apply says so and keeps it.
    again = _mlform(tmp_path, "apply", "--auto-approve")
    assert again.returncode == 1
    assert f"Failed to delete deposed object {key} of test_object.a" in again.stderr
    assert list(_instance(tmp_path)["deposed"]) == [key]


def test_a_deposed_object_is_deleted_once_it_can_be(tmp_path: Path) -> None:
    old_id, key = _undeletable_old_object(tmp_path)
    # The object stops refusing (the test provider reads fail_on from the recorded
    # arguments): the next apply deletes it.
    _allow_deletes(tmp_path)
    store = tmp_path / "objects.json"
    (tmp_path / "main.mlf.hcl").write_text(CONFIG % ("two", "[]"))
    r = _mlform(tmp_path, "apply", "--auto-approve")
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"test_object.a (deposed object {key}): Destruction complete" in r.stdout
    assert old_id not in load_objects(store)
    assert "deposed" not in _instance(tmp_path)
    assert _mlform(tmp_path, "plan", "--detailed-exitcode").returncode == 0


def test_destroy_deletes_deposed_objects_too(tmp_path: Path) -> None:
    _undeletable_old_object(tmp_path)
    _allow_deletes(tmp_path)
    store = tmp_path / "objects.json"
    r = _mlform(tmp_path, "destroy", "--auto-approve")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Resources: 2 destroyed." in r.stdout
    assert load_objects(store) == {}
    state = json.loads((tmp_path / "mlform.state.json").read_text())
    assert state["resources"] == []


def test_removing_the_resource_deletes_its_deposed_objects_too(tmp_path: Path) -> None:
    _undeletable_old_object(tmp_path)
    _allow_deletes(tmp_path)
    (tmp_path / "main.mlf.hcl").write_text('provider "test" { store = "objects.json" }\n')
    r = _mlform(tmp_path, "apply", "--auto-approve")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "0 added, 0 changed, 2 destroyed." in r.stdout
    assert load_objects(tmp_path / "objects.json") == {}
    assert json.loads((tmp_path / "mlform.state.json").read_text())["resources"] == []


def test_a_saved_plan_carries_the_deposed_deletes(tmp_path: Path) -> None:
    old_id, key = _undeletable_old_object(tmp_path)
    _allow_deletes(tmp_path)
    (tmp_path / "main.mlf.hcl").write_text(CONFIG % ("two", "[]"))
    assert _mlform(tmp_path, "plan", "--out", "p.plan").returncode == 0
    shown = _mlform(tmp_path, "show", "p.plan")
    assert f"(deposed object {key}) will be destroyed" in shown.stdout
    r = _mlform(tmp_path, "apply", "p.plan")
    assert r.returncode == 0, r.stdout + r.stderr
    assert old_id not in load_objects(tmp_path / "objects.json")
    assert "deposed" not in _instance(tmp_path)
