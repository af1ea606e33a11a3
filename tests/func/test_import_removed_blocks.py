"""`import` and `removed` blocks through the CLI with the test provider: an import is planned
(`will be imported`, "N to import"), applied (fresh or from a saved plan) and then does nothing;
a removed block forgets (destroy = false) or destroys, as Terraform's does."""

from __future__ import annotations

import json
from pathlib import Path

PROVIDER = 'provider "test" {\n  store = "objects.json"\n}\n'
TWO = PROVIDER + (
    'resource "test_object" "a" {\n  value = "one"\n}\n\n'
    'resource "test_object" "b" {\n  value = "two"\n}\n'
)
ONE = PROVIDER + 'resource "test_object" "a" {\n  value = "one"\n}\n'
GOLDEN = Path(__file__).resolve().parent.parent / "testdata" / "import-removed"


def applied_two(write, mlform, insts) -> str:
    """Apply a and b; the id of b."""
    write(TWO)
    mlform.ok("apply", "--auto-approve")
    return insts()["test_object.b"]["id"]


def test_removed_with_destroy_false_forgets_the_object(write, mlform, insts, store, golden):
    b = applied_two(write, mlform, insts)
    write(ONE + "\nremoved {\n  from = test_object.b\n  lifecycle {\n    destroy = false\n  }\n}\n")
    res = mlform.ok("plan")
    ids = {b: "<id of test_object.b>"}
    golden.check(GOLDEN / "forget.txt", golden.normalize(res.out, ids))
    assert "Warning: Some objects will no longer be managed by mlform" in res.err
    assert " - test_object.b" in res.err
    plan = json.loads(mlform.ok("plan", "--json").out)
    (change,) = [c for c in plan["resource_changes"] if c["address"] == "test_object.b"]
    assert change["change"]["actions"] == ["forget"]
    assert "test_object.b" not in json.dumps(plan["planned_values"])
    res = mlform.ok("apply", "--auto-approve")
    assert "Apply complete! Resources: 0 added, 0 changed, 0 destroyed." in res.out
    assert set(insts()) == {"test_object.a"}
    assert b in store.objects()  # not destroyed
    res = mlform.ok("plan", "--detailed-exitcode")
    assert "No changes." in res.out


def test_removed_without_lifecycle_destroys(write, mlform, insts, store):
    b = applied_two(write, mlform, insts)
    write(ONE + "\nremoved {\n  from = test_object.b\n}\n")
    res = mlform.ok("plan")
    assert "# test_object.b will be destroyed" in res.out
    assert "Plan: 0 to add, 0 to change, 1 to destroy." in res.out
    mlform.ok("apply", "--auto-approve")
    assert b not in store.objects()


def test_removed_module_forgets_every_object_in_it(write, mlform, insts, store, workdir):
    (workdir / "mod").mkdir()
    (workdir / "mod" / "main.mlf.hcl").write_text(
        'resource "test_object" "x" {\n  count = 2\n  value = count.index\n}\n'
    )
    write(ONE + '\nmodule "m" {\n  source = "./mod"\n}\n')
    mlform.ok("apply", "--auto-approve")
    before = store.count()
    write(ONE + "\nremoved {\n  from = module.m\n  lifecycle {\n    destroy = false\n  }\n}\n")
    res = mlform.ok("plan")
    assert "Plan: 0 to add, 0 to change, 0 to destroy, 2 to forget." in res.out
    assert "# module.m.test_object.x[1] will no longer be managed by mlform" in res.out
    mlform.ok("apply", "--auto-approve")
    assert set(insts()) == {"test_object.a"}
    assert store.count() == before


def test_removed_block_for_a_configured_resource_is_an_error(write, mlform, workdir):
    write(TWO + "\nremoved {\n  from = test_object.b\n}\n")
    res = mlform("plan")
    assert res.code == 1
    assert "Error: Removed resource still exists" in res.err
    line = (workdir / "main.mlf.hcl").read_text().splitlines().index("  from = test_object.b") + 1
    assert f"on main.mlf.hcl line {line}, column 10:" in res.err


def test_import_block_adopts_the_object(write, mlform, insts, store, golden):
    b = applied_two(write, mlform, insts)
    write(ONE + "\nremoved {\n  from = test_object.b\n  lifecycle {\n    destroy = false\n  }\n}\n")
    mlform.ok("apply", "--auto-approve")
    adopt = (
        ONE + '\nresource "test_object" "c" {\n  value = "two"\n}\n\n'
        f'import {{\n  to = test_object.c\n  id = "{b}"\n}}\n'
    )
    write(adopt)
    res = mlform.ok("plan")
    golden.check(GOLDEN / "import.txt", golden.normalize(res.out, {b: "<id of test_object.c>"}))
    plan = json.loads(mlform.ok("plan", "--json").out)
    (change,) = [c for c in plan["resource_changes"] if c["address"] == "test_object.c"]
    assert change["change"]["importing"] == {"id": b}
    assert change["change"]["actions"] == ["no-op"]
    res = mlform.ok("apply", "--auto-approve")
    assert insts()["test_object.c"]["id"] == b
    assert store.count() == 2  # nothing created
    # Once imported, the block does nothing.
    res = mlform.ok("plan", "--detailed-exitcode")
    assert "No changes." in res.out


def test_a_saved_plan_imports_and_updates(write, mlform, insts, store):
    b = applied_two(write, mlform, insts)
    write(ONE + "\nremoved {\n  from = test_object.b\n  lifecycle {\n    destroy = false\n  }\n}\n")
    mlform.ok("apply", "--auto-approve")
    write(
        ONE + '\nresource "test_object" "c" {\n  value = "three"\n}\n\n'
        f'import {{\n  to = test_object.c\n  id = "{b}"\n}}\n'
    )
    res = mlform.ok("plan", "--out", "p.mlplan")
    assert "# test_object.c will be updated in-place" in res.out
    assert f'# (imported from "{b}")' in res.out
    assert "Plan: 1 to import, 0 to add, 1 to change, 0 to destroy." in res.out
    mlform.ok("apply", "p.mlplan")
    assert insts()["test_object.c"]["id"] == b
    assert store.objects()[b]["value"] == "three"
    assert store.count() == 2


def test_import_mistakes_are_errors_on_their_lines(write, mlform, workdir):
    write(
        ONE + 'import {\n  to = test_object.nope\n  id = "x"\n}\n\n'
        'resource "test_object" "c" {}\n\nimport {\n  to = test_object.c\n  id = "no-such-id"\n}\n'
    )
    res = mlform("plan")
    assert res.code == 1
    lines = (workdir / "main.mlf.hcl").read_text().splitlines()
    assert "Error: Configuration for import target does not exist" in res.err
    assert f"on main.mlf.hcl line {lines.index('  to = test_object.nope') + 1}," in res.err
    assert "Cannot import test_object no-such-id: no such object" in res.err
    # The import block's header (the line above its `to`).
    assert f"on main.mlf.hcl line {lines.index('  to = test_object.c')}, column 1:" in res.err
