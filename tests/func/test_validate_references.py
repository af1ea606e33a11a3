"""`mlform validate` checks every reference to a resource's attribute against the kind's schema,
as plan does: `environment.sk.idd` is an error with "did you mean", whatever the shape of the
resource (one instance, `count`, `for_each`, a data source) and however it is reached (an index,
a splat, a local holding the whole object). What is valid stays valid."""

from __future__ import annotations

import re

import pytest

CHILD = """\
variable "v" {}
resource "test_object" "inner" { value = var.v }
output "id" { value = test_object.inner.id }
"""

BASE = """\
provider "test" { store = "objects.json" }
resource "test_object" "one" { value = "x" }
resource "test_object" "many" {
  count = 2
  value = "n${count.index}"
}
resource "test_object" "keyed" {
  for_each = toset(["a", "b"])
  value    = "${each.key}-${each.value}"
}
data "test_data" "d" { input = { k = test_object.one.id } }
module "m" {
  source = "./m"
  v      = test_object.one.echo
}
locals {
  whole = test_object.one
}
"""

VALID = """\
resource "test_object" "uses" {
  value = {
    a = test_object.one.id
    b = test_object.many[0].created_at
    c = test_object.many[*].id
    d = [for o in test_object.many : o.echo]
    e = test_object.keyed["a"].id
    f = test_object.keyed.b.echo
    g = data.test_data.d.output.k
    h = module.m.id
    i = local.whole.created_at
    j = [for k, o in test_object.keyed : "${k}=${o.id}"]
    k = length(test_object.many)
    l = values(test_object.keyed)[*].id
    m = test_object.one.echo.anything
    n = test_object.one.fail_on
    o = test_object.many.*.id
  }
}
"""

# (the line as written, where the error points, the misspelt name, the name suggested)
MISTAKES = [
    ("a = test_object.one.idd", ".idd", "idd", "id"),
    ("b = test_object.many[0].created", ".created", "created", "created_at"),
    ("c = test_object.many[*].echoo", "[*]", "echoo", "echo"),
    ('e = test_object.keyed["a"].idd', ".idd", "idd", "id"),
    ("f = test_object.keyed.b.echoo", ".echoo", "echoo", "echo"),
    ("g = data.test_data.d.outptu", ".outptu", "outptu", "output"),
    ("i = local.whole.created", ".created", "created", "created_at"),
    ("o = test_object.many.*.idd", ".*", "idd", "id"),
]


@pytest.fixture
def project(write):
    write(CHILD, "m/main.mlf.hcl")
    write(BASE)


def test_valid_references_of_every_shape_stay_valid(project, write, mlform) -> None:
    write(VALID, "uses.mlf.hcl")
    res = mlform("validate")
    assert res.code == 0, str(res)
    assert "Success! The configuration is valid." in res.out
    # And plan agrees: nothing validate accepts is refused by plan for a wrong reference.
    assert mlform("plan").code == 0


def test_every_misspelt_attribute_is_an_error_with_a_suggestion(project, write, mlform) -> None:
    body = "\n".join(f"    {line}" for line, _, _, _ in MISTAKES)
    write(f'resource "test_object" "bad" {{\n  value = {{\n{body}\n  }}\n}}\n', "bad.mlf.hcl")
    res = mlform("validate")
    assert res.code == 1, str(res)
    assert "Traceback" not in res.all
    for i, (line, at, wrong, right) in enumerate(MISTAKES):
        column = 4 + line.index(at) + 1  # after 4 spaces of indent, 1-based
        where = f"on bad.mlf.hcl line {i + 3}, column {column}:"
        assert where in res.err, f"{line!r} not reported\n{res}"
        assert (
            f'This object does not have an attribute named "{wrong}". Did you mean "{right}"?'
            in res.err
        )
    # Each mistake once (a splat over many instances, too).
    assert res.err.count("Error: Unsupported attribute") == len(MISTAKES), str(res)


def test_the_issue_case_a_portable_kind_without_its_provider_block(write, mlform, workdir) -> None:
    (workdir / "data").mkdir()
    (workdir / "data" / "a.txt").write_text("x\n")
    (workdir / "src").mkdir()
    write(
        """\
resource "dataset" "digits" {
  source = "./data"
}
resource "environment" "sk" {
  python   = "3.11"
  packages = ["joblib"]
}
resource "training_job" "t" {
  environment = environment.sk.idd
  code        = "./src"
  command     = "python train.py"
  datasets    = { train = dataset.digits.id }
}
"""
    )
    res = mlform("validate")
    assert res.code == 1, str(res)
    assert "on main.mlf.hcl line 9, column 31:" in res.err
    assert 'does not have an attribute named "idd". Did you mean "id"?' in res.err
    # --json says the same, with the range.
    res = mlform("validate", "--json")
    assert res.code == 1
    assert re.search(r'"summary": "Unsupported attribute"', res.out)


def test_a_missing_module_output_is_reported_once(project, write, mlform) -> None:
    write('resource "test_object" "zz" { value = module.m.idd }\n', "o.mlf.hcl")
    res = mlform("validate")
    assert res.code == 1, str(res)
    assert res.err.count("on o.mlf.hcl line 1, column 47:") == 1, str(res)
    assert 'module "m" declares no output "idd". Did you mean "id"?' in res.err
