"""Decoding test files: the structure of runs, mocks and overrides."""

from __future__ import annotations

from pathlib import Path

from mlform.lang import ast
from mlform.moduletest.config import load_test_file
from mlform.moduletest.config import test_files as find_test_files


def _load(tmp_path: Path, text: str) -> tuple[object, list[str]]:
    p = tmp_path / "a.mlftest.hcl"
    p.write_text(text)
    test, diags = load_test_file(p, "a.mlftest.hcl")
    return test, [f"{d.summary}: {d.detail}" for d in diags if d.is_error]


def test_runs_and_their_parts(tmp_path: Path) -> None:
    test, errors = _load(
        tmp_path,
        """
variables { x = 1 }
mock_provider "local" {
  alias = "gpu"
  mock_resource "training_job" { defaults = { model = "m" } }
  override_during = plan
}
override_data {
  target = data.test_data.d
  values = { output = "o" }
}
run "one" {
  command = plan
  variables { y = run.zero.out }
  module { source = "./example" }
  plan_options {
    mode    = refresh-only
    refresh = false
    target  = [test_object.a]
  }
  expect_failures = [var.x]
  assert {
    condition     = true
    error_message = "never"
  }
}
run "two" {}
""",
    )
    assert errors == []
    one, two = test.runs  # type: ignore[attr-defined]
    assert one.command == "plan" and two.command == "apply"
    assert one.module_source == "./example"
    assert one.plan_options.mode == "refresh_only" and one.plan_options.refresh is False
    assert [ast.traversal_text(t) for t in one.plan_options.target] == ["test_object.a"]
    assert [ast.traversal_text(t) for t in one.expect_failures] == ["var.x"]
    assert len(one.asserts) == 1 and set(one.variables) == {"y"}
    (mock,) = test.mocks  # type: ignore[attr-defined]
    assert mock.local_name == "local.gpu" and mock.override_during == "plan"
    assert [k.type for k in mock.kinds] == ["training_job"]
    (ov,) = test.overrides  # type: ignore[attr-defined]
    assert ov.mode == "data"


def test_mistakes(tmp_path: Path) -> None:
    _, errors = _load(
        tmp_path,
        """
run "a" { command = destroy }
run "a" {}
override_resource { values = {} }
override_data { target = test_object.a }
""",
    )
    text = "\n".join(errors)
    assert "Invalid command" in text
    assert "Duplicate run block" in text
    assert 'The argument "target" is required' in text
    assert "Invalid override target" in text


def test_files_beside_the_module_then_in_tests(tmp_path: Path) -> None:
    (tmp_path / "tests").mkdir()
    for name in ("tests/b.mlftest.hcl", "z.mlftest.hcl", "a.mlftest.hcl", "main.mlf.hcl"):
        (tmp_path / name).write_text("")
    assert [p.relative_to(tmp_path).as_posix() for p in find_test_files(tmp_path)] == [
        "a.mlftest.hcl",
        "z.mlftest.hcl",
        "tests/b.mlftest.hcl",
    ]
