"""A new user's typos in --target and --replace: a warning says the address matches nothing and
suggests the nearest one, instead of a silent plan without the change the user asked for."""

from __future__ import annotations

import json

import pytest

CONFIG = """
provider "test" { store = "objects.json" }
resource "test_object" "alpha" { value = 1 }
resource "test_object" "c" {
  count = 2
  value = 1
}
"""

MODULES = """
provider "test" { store = "objects.json" }
module "m" {
  source   = "./mod"
  for_each = toset(["a", "b"])
}
"""


def test_a_replace_typo_is_warned_with_a_suggestion(mlform, write) -> None:
    write(CONFIG)
    mlform.ok("apply", "--auto-approve")
    res = mlform.ok("plan", "--replace", "test_object.alpah")
    assert "Warning: --replace test_object.alpah matches nothing" in res.err
    assert 'Did you mean "test_object.alpha"?' in res.err
    assert "No changes." in res.out


def test_a_target_typo_is_warned_and_json_stays_clean(mlform, write) -> None:
    write(CONFIG)
    res = mlform.ok("plan", "--json", "--target", "test_object.c[5]")
    json.loads(res.out)
    assert "Warning: --target test_object.c[5] matches nothing" in res.err


@pytest.mark.parametrize("target", ["test_object.alpha", "test_object.c", "test_object.c[1]"])
def test_targets_that_match_are_not_warned(mlform, write, target) -> None:
    write(CONFIG)
    assert "matches nothing" not in mlform.ok("plan", "--target", target).err


@pytest.mark.parametrize("target", ["module.m", 'module.m["a"]', 'module.m["a"].test_object.x'])
def test_module_targets_that_match_are_not_warned(mlform, write, target) -> None:
    write(MODULES)
    write('resource "test_object" "x" { value = 1 }\n', "mod/main.mlf.hcl")
    assert "matches nothing" not in mlform.ok("plan", "--target", target).err


def test_a_keyed_module_target_plans_only_that_module_instance(mlform, write) -> None:
    write(MODULES)
    write('resource "test_object" "x" { value = 1 }\n', "mod/main.mlf.hcl")
    res = mlform.ok("plan", "--target", 'module.m["a"]')
    assert 'module.m["a"].test_object.x will be created' in res.out
    assert 'module.m["b"]' not in res.out, res.out


def test_an_unkeyed_module_target_plans_every_instance_of_the_call(mlform, write) -> None:
    write(MODULES)
    write('resource "test_object" "x" { value = 1 }\n', "mod/main.mlf.hcl")
    res = mlform.ok("plan", "--target", "module.m")
    assert 'module.m["a"].test_object.x will be created' in res.out, str(res)
    assert 'module.m["b"].test_object.x will be created' in res.out, str(res)
