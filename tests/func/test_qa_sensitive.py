"""A new user's checks that sensitive values stay hidden: in `plan --json`, and in the errors
for a badly given `--var` value."""

from __future__ import annotations

import json

SECRET = "hunter2-SECRET-value"

CONFIG = """
provider "test" { store = "objects.json" }
variable "secret" {
  type      = string
  sensitive = true
}
variable "plain" {
  type    = string
  default = "visible"
}
resource "test_object" "a" { value = var.secret }
"""


def test_plan_json_hides_a_sensitive_variable_value(mlform, write) -> None:
    write(CONFIG)
    res = mlform.ok("plan", "--json", "--var", f"secret={SECRET}")
    assert SECRET not in res.out
    doc = json.loads(res.out)
    assert doc["variables"]["plain"] == {"value": "visible"}
    assert "value" not in doc["variables"]["secret"]
    assert doc["variables"]["secret"]["sensitive"] is True


def test_show_json_of_a_saved_plan_hides_a_sensitive_variable_value(mlform, write) -> None:
    write(CONFIG)
    mlform.ok("plan", "--out", "p.plan", "--var", f"secret={SECRET}")
    res = mlform.ok("show", "--json", "p.plan")
    assert SECRET not in res.out
    json.loads(res.out)


NUMBER_SECRET = """
variable "n" {
  type      = number
  sensitive = true
}
variable "l" {
  type      = list(number)
  sensitive = true
  default   = []
}
"""


def test_a_non_number_var_for_a_number_variable_says_a_number_is_required(mlform, write) -> None:
    write(NUMBER_SECRET)
    res = mlform("plan", "-var", "n=hunter2abc")
    assert res.code == 1, str(res)
    assert "a number is required" in res.err
    assert "Variables not allowed" not in res.err
    assert "hunter2abc" not in res.all
    assert "Traceback" not in res.all


def test_a_bad_hcl_value_for_a_sensitive_list_variable_is_not_echoed(mlform, write) -> None:
    write(NUMBER_SECRET)
    res = mlform("plan", "-var", "n=1", "-var", "l=[hunter3x")
    assert res.code == 1, str(res)
    assert "Invalid value for input variable" in res.err
    assert "hunter3x" not in res.all


FOR_EACH = """
provider "test" { store = "objects.json" }
variable "tok" {
  type      = string
  sensitive = true
  default   = "SEKRET42"
}
resource "test_object" "a" {
  for_each = toset([var.tok])
  value    = each.key
}
"""


def test_a_set_of_sensitive_strings_cannot_be_a_for_each(mlform, write, store) -> None:
    write(FOR_EACH)
    for args in (("validate",), ("plan",), ("plan", "--json"), ("apply", "--auto-approve")):
        res = mlform(*args)
        assert res.code == 1, str(res)
        assert "SEKRET42" not in res.all, str(res)
        assert "Error: Invalid for_each argument" in res.err
        assert "on main.mlf.hcl line 9, column 14:" in res.err
    assert store.count() == 0


def test_a_map_with_sensitive_values_is_a_fine_for_each(mlform, write) -> None:
    write(FOR_EACH.replace("toset([var.tok])", "{ k = var.tok }").replace("each.key", "each.value"))
    res = mlform.ok("plan")
    assert 'test_object.a["k"] will be created' in res.out
    assert "SEKRET42" not in res.all


CONDITION = """
provider "test" { store = "objects.json" }
variable "tok" {
  type      = string
  sensitive = true
  default   = "SEKRET42"
}
resource "test_object" "b" {
  value = var.tok
  lifecycle {
    postcondition {
      condition     = self.echo == "nope"
      error_message = "echo was ${self.echo}"
    }
  }
}
"""


def test_a_condition_message_built_from_a_secret_is_not_shown(mlform, write) -> None:
    write(CONDITION)
    res = mlform("apply", "--auto-approve")
    assert res.code == 1, str(res)
    assert "Error: Resource postcondition failed" in res.err
    assert "(the error message refers to a sensitive value)" in res.err
    assert "SEKRET42" not in res.all


LINEAGE = """
provider "test" { store = "objects.json" }
variable "tok" {
  type      = string
  sensitive = true
  default   = "SEKRET42"
}
resource "test_object" "a" { value = var.tok }
"""


def test_lineage_hides_sensitive_attributes_in_every_format(mlform, write) -> None:
    write(LINEAGE)
    mlform.ok("apply", "--auto-approve")
    tree = mlform.ok("lineage", "test_object.a")
    assert "value: (sensitive value)" in tree.out
    assert "latency_ms: 0" in tree.out
    for fmt in ("tree", "json", "dot", "mermaid", "html"):
        res = mlform.ok("lineage", "test_object.a", "--format", fmt)
        assert "SEKRET42" not in res.all, fmt
