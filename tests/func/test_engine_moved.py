"""`moved` blocks: state entries renamed instead of an object destroyed and another created, in the
root module and inside child modules (where their addresses are relative to each instance of the
module)."""

from __future__ import annotations

import json

ROOT = """
provider "test" { store = "objects.json" }
module "team" {
  source = "./mod"
  count  = 2
  name   = "t${count.index}"
}
resource "test_object" "%s" { value = "top" }
"""

MOD_BEFORE = """
variable "name" { type = string }
resource "test_object" "old" { value = var.name }
module "inner" {
  source = "./inner"
  name   = var.name
}
"""

MOD_AFTER = """
variable "name" { type = string }
resource "test_object" "new" { value = var.name }
module "renamed" {
  source = "./inner"
  name   = var.name
}
moved {
  from = test_object.old
  to   = test_object.new
}
moved {
  from = module.inner
  to   = module.renamed
}
"""

INNER = """
variable "name" { type = string }
resource "test_object" "leaf" { value = "leaf-${var.name}" }
"""

MOVED_TOP = """
moved {
  from = test_object.top
  to   = test_object.top2
}
"""


def test_moved_blocks_in_the_root_and_in_each_instance_of_a_child_module(
    mlform, write, store, insts
) -> None:
    write(ROOT % "top")
    write(MOD_BEFORE, "mod/main.mlf.hcl")
    write(INNER, "mod/inner/main.mlf.hcl")
    mlform.ok("init")
    mlform.ok("apply", "--auto-approve")
    ids_before = set(store.objects())
    assert len(ids_before) == 5

    write(ROOT % "top2" + MOVED_TOP)
    write(MOD_AFTER, "mod/main.mlf.hcl")
    mlform.ok("init")
    res = mlform("plan", "--detailed-exitcode")
    assert res.code == 2, str(res)  # moves are changes to the state, made by apply
    for i in (0, 1):
        assert (
            f"# module.team[{i}].test_object.old has moved to module.team[{i}].test_object.new"
            in res.out
        )
        assert (
            f"# module.team[{i}].module.inner.test_object.leaf has moved to "
            f"module.team[{i}].module.renamed.test_object.leaf" in res.out
        )
    assert "# test_object.top has moved to test_object.top2" in res.out
    assert "Plan: 0 to add, 0 to change, 0 to destroy." in res.out
    assert "not applied" not in res.all

    plan = json.loads(mlform.ok("plan", "--json").out)
    moved = {rc["address"]: rc.get("previous_address") for rc in plan["resource_changes"]}
    assert moved["module.team[1].test_object.new"] == "module.team[1].test_object.old"

    mlform.ok("apply", "--auto-approve")
    assert sorted(insts()) == [
        "module.team[0].module.renamed.test_object.leaf",
        "module.team[0].test_object.new",
        "module.team[1].module.renamed.test_object.leaf",
        "module.team[1].test_object.new",
        "test_object.top2",
    ]
    # Nothing was destroyed or created: the same objects under their new addresses.
    assert set(store.objects()) == ids_before
    again = mlform("plan", "--detailed-exitcode")
    assert again.code == 0, str(again)


def test_a_moved_block_whose_source_is_gone_is_a_no_op(mlform, write, store) -> None:
    write(ROOT % "top2" + MOVED_TOP)
    write(MOD_AFTER, "mod/main.mlf.hcl")
    write(INNER, "mod/inner/main.mlf.hcl")
    mlform.ok("init")
    res = mlform.ok("apply", "--auto-approve")
    assert "5 added" in res.out and "moved" not in res.out
