"""A resource's `lifecycle { precondition { ... } }` through the CLI: checked when the object is
planned, with `each`/`count` in scope, and again at apply when it depended on values known only
then; a failing one stops that object (and what depends on it) with its message on its line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from conftest import Mlform, Store

CONFIG = """
provider "test" { store = "objects.json" }

variable "size" { default = 3 }

resource "test_object" "sized" {
  count = 2
  value = "n${count.index}"

  lifecycle {
    precondition {
      condition     = var.size + count.index < 4
      error_message = "size ${var.size} is too large for instance ${count.index}."
    }
  }
}
"""

AFTER_APPLY = """
provider "test" { store = "objects.json" }

variable "want" { default = "a" }

resource "test_object" "first" {
  value = var.want
}

resource "test_object" "second" {
  value = "b-${var.want}"

  lifecycle {
    precondition {
      condition     = test_object.first.echo == "a"
      error_message = "first echoes ${test_object.first.echo}, not a."
    }
  }
}
"""


def test_a_failing_precondition_refuses_the_plan_on_its_line(
    mlform: Mlform, write: Callable[[str, str], Path], store: Store
) -> None:
    write(CONFIG, "main.mlf.hcl")
    res = mlform("plan")
    assert res.code == 1, str(res)
    assert "Error: Resource precondition failed" in res.err
    assert "size 3 is too large for instance 1." in res.err
    assert "size 3 is too large for instance 0." not in res.err
    assert "on main.mlf.hcl line 12, column 23:" in res.err
    res = mlform("apply", "--auto-approve")
    assert res.code == 1, str(res)
    assert store.count() == 0
    # When it holds, the plan goes ahead.
    mlform.ok("apply", "--auto-approve", "--var", "size=2")
    assert store.count() == 2


def test_a_precondition_known_only_at_apply_is_checked_then(
    mlform: Mlform, write: Callable[[str, str], Path], store: Store
) -> None:
    write(AFTER_APPLY, "main.mlf.hcl")
    mlform.ok("apply", "--auto-approve")
    assert store.count() == 2
    # A new value for first makes its echo unknown at plan time: the check waits for apply,
    # and then refuses to update second.
    mlform.ok("plan", "--var", "want=z")
    res = mlform("apply", "--auto-approve", "--var", "want=z")
    assert res.code == 1, str(res)
    assert "first echoes z, not a." in res.err
    (second,) = [o for o in store.objects().values() if str(o.get("value", "")).startswith("b")]
    assert second["value"] == "b-a"
