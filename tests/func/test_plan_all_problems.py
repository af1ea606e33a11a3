"""`mlform plan` reports every problem of a configuration in one run: a resource whose arguments
its provider refuses (a dataset source that does not exist) does not hide the mistakes of the
resources that refer to it (a training job's code folder that does not exist either)."""

from __future__ import annotations

ISSUE_CASE = """\
resource "dataset" "digits" {
  source = "./nodata"
}
resource "environment" "sk" {
  python = "3.11"
}
resource "training_job" "t" {
  environment = environment.sk.id
  code        = "./nosrc"
  command     = "python train.py"
  datasets    = { train = dataset.digits.id }
}
"""


def test_a_bad_dataset_source_and_a_bad_code_folder_are_both_reported(write, mlform) -> None:
    write(ISSUE_CASE)
    res = mlform("plan")
    assert res.code == 1, str(res)
    assert "Traceback" not in res.all
    assert "Error: dataset source ./nodata does not exist" in res.err
    assert "on main.mlf.hcl line 2, column 12:" in res.err
    assert "Error: code folder './nosrc' does not exist" in res.err
    assert "on main.mlf.hcl line 9, column 17:" in res.err
    assert res.err.count("Error:") == 2, str(res)


def test_with_both_fixed_the_plan_goes_through(write, mlform, workdir) -> None:
    write(ISSUE_CASE)
    (workdir / "nodata").mkdir()
    (workdir / "nodata" / "a.csv").write_text("1,2\n")
    (workdir / "nosrc").mkdir()
    res = mlform("plan")
    assert res.code == 0, str(res)
    assert "Plan: 3 to add" in res.out


def test_dependents_that_cannot_be_expanded_say_nothing_more(write, mlform, workdir) -> None:
    """A count or for_each made unknown by the refused resource is not another mistake; an
    independent mistake in a dependent is still reported, and so is a count that is unknown
    for a reason of its own."""
    (workdir / "child").mkdir()
    write('variable "n" {}\nresource "test_object" "x" { value = var.n }\n', "child/main.mlf.hcl")
    write(
        """\
provider "test" { store = "objects.json" }
resource "dataset" "digits" {
  source = "./nodata"
}
resource "test_object" "per_file" {
  count = dataset.digits.files
  value = count.index
}
resource "test_object" "keyed" {
  for_each = toset([dataset.digits.id])
  value    = each.key
}
module "per_file" {
  source = "./child"
  count  = dataset.digits.files
  n      = 1
}
resource "test_object" "own_mistake" {
  value      = dataset.digits.id
  latency_ms = "soon"
}
resource "test_object" "fresh" {}
resource "test_object" "unknowable" {
  count = length(test_object.fresh.id)
}
"""
    )
    res = mlform("plan")
    assert res.code == 1, str(res)
    assert "Error: dataset source ./nodata does not exist" in res.err
    # own_mistake's own argument (line 20) is reported although it refers to the dataset.
    assert "on main.mlf.hcl line 20, column 16:" in res.err, str(res)
    # unknowable's count (line 24) is unknown for its own reason: still an error.
    assert "Error: Invalid count argument" in res.err
    assert "on main.mlf.hcl line 24, column 11:" in res.err
    # Nothing about the expansions that only the refused dataset made unknown.
    for line in (6, 10, 15):
        assert f"line {line}," not in res.err, str(res)
    assert res.err.count("Error:") == 3, str(res)
