"""`mlform test`: *.mlftest.hcl files run through the CLI, against the cases in
tests/testdata/moduletest/ and every module in modules/."""

from __future__ import annotations

import importlib.util
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import Mlform, Store

ROOT = Path(__file__).resolve().parents[2]
CASES = ROOT / "tests" / "testdata" / "moduletest"
MODULES = ROOT / "modules"

# The mocked cases mock the local provider: its schemas must be installed.
needs_local = pytest.mark.skipif(
    importlib.util.find_spec("mlform_local") is None, reason="the local provider is not installed"
)


def _case(name: str, mlform: Mlform) -> Mlform:
    shutil.copytree(CASES / name, mlform.cwd, dirs_exist_ok=True)
    return mlform


def _store_var(mlform: Mlform) -> str:
    return f"store={mlform.cwd / 'objects.json'}"


def test_runs_share_state_and_outputs_then_everything_is_destroyed(
    mlform: Mlform, store: Store
) -> None:
    _case("basic", mlform)
    junit = mlform.cwd / "results.xml"
    res = mlform("test", "--var", _store_var(mlform), "--junit-xml", str(junit))
    assert res.code == 0, str(res)
    for name in ("creates", "updates_in_place", "plan_only", "rejects_zero"):
        assert f'run "{name}"... pass' in res.out
    assert "tests/main.mlftest.hcl... tearing down" in res.out
    assert res.out.rstrip().endswith("Success! 4 passed, 0 failed.")
    # The objects the runs applied were created in the store, and the clean-up deleted them.
    assert store.path.exists()
    assert store.count() == 0
    # Nothing of the test is left beside the module: no state, no history.
    assert not list(mlform.cwd.glob("mlform.state*"))
    suite = ET.parse(junit).getroot()
    assert suite.get("tests") == "4" and suite.get("failures") == "0"
    cases = [tc.get("name") for tc in suite.iter("testcase")]
    assert cases == ["creates", "updates_in_place", "plan_only", "rejects_zero"]


def test_a_failing_assert_names_its_line_message_and_values(mlform: Mlform) -> None:
    _case("failing", mlform)
    junit = mlform.cwd / "results.xml"
    res = mlform("test", "--var", _store_var(mlform), "--junit-xml", str(junit))
    assert res.code == 1, str(res)
    assert 'run "first"... fail' in res.out
    assert 'run "second"... pass' in res.out  # a failed assertion does not stop the file
    assert "Failure! 1 passed, 1 failed." in res.out
    assert "Error: Test assertion failed" in res.err
    assert "on main.mlftest.hcl line 3, column 21:" in res.err
    assert 'condition     = output.echo == "two"' in res.err
    assert "The echo output should be two." in res.err
    assert 'output.echo is "one"' in res.err
    failure = ET.parse(junit).getroot().find(".//testcase[@name='first']/failure")
    assert failure is not None
    assert failure.get("message") == "Test assertion failed (main.mlftest.hcl:3)"
    assert "The echo output should be two." in (failure.text or "")


@needs_local
def test_mock_provider_fills_computed_attributes_without_training(mlform: Mlform) -> None:
    # The dataset's source and the job's code do not exist: nothing real is planned or run.
    _case("mocked", mlform)
    res = mlform("test")
    assert res.code == 0, str(res)
    assert "Success! 3 passed, 0 failed." in res.out
    assert not (mlform.cwd / ".mlform" / "envs").exists()


def test_expected_failure_that_does_not_come_fails_the_run(mlform: Mlform) -> None:
    _case("expect", mlform)
    res = mlform("test", "--var", _store_var(mlform))
    assert res.code == 1, str(res)
    assert "Error: Missing expected failure" in res.err
    assert "var.size, was expected to report an error" in res.err
    assert "on main.mlftest.hcl line 8, column 22:" in res.err


def test_a_failed_clean_up_is_reported(mlform: Mlform, store: Store) -> None:
    _case("cleanup", mlform)
    res = mlform("test", "--var", _store_var(mlform))
    assert res.code == 1, str(res)
    assert 'run "creates_an_object_that_cannot_be_deleted"... pass' in res.out
    assert "Error: Failed to clean up after the tests" in res.err
    assert "test_object.keep" in res.err
    assert store.count() == 1


@needs_local
def test_mistakes_in_test_files_are_diagnostics(mlform: Mlform) -> None:
    _case("errors", mlform)
    res = mlform("test", "--var", _store_var(mlform))
    assert res.code == 1, str(res)
    assert "Traceback" not in res.all
    err = res.err
    # Structure: unknown arguments and blocks, with a suggestion and a snippet.
    assert (
        'An argument named "comand" is not expected in a run block. Did you mean "command"?' in err
    )
    assert 'Did you mean "assert"?' in err
    assert 'Did you mean "mock_provider"?' in err
    assert "   9: mock_provder" in err
    # References in assertions.
    assert 'The module declares no resource "test_object" "b". Did you mean "test_object.a"?' in err
    assert "Error: Reference to unavailable run block" in err
    # Mocks: kinds and attributes the provider does not have.
    assert 'does not support resource type "training_jb". Did you mean "training_job"?' in err
    assert (
        'sets "modle", which is not an attribute the provider computes. Did you mean "model"?'
        in err
    )
    # After a run that errors, the rest of its file is skipped.
    assert 'run "after_an_error"... skip' in res.out


def test_filter_runs_one_file_and_a_wrong_name_is_an_error(mlform: Mlform) -> None:
    _case("errors", mlform)
    res = mlform("test", "--filter", "later.mlftest.hcl", "--var", _store_var(mlform))
    assert res.code == 1
    assert "later.mlftest.hcl... in progress" in res.out
    assert "main.mlftest.hcl" not in res.out
    res = mlform("test", "--filter", "latr.mlftest.hcl")
    assert res.code == 1
    assert "Error: No such test file" in res.err
    assert 'Did you mean "later.mlftest.hcl"?' in res.err


def test_help_shows_an_example(mlform: Mlform) -> None:
    res = mlform.ok("test", "--help")
    assert "mock_provider" in res.out and "--junit-xml" in res.out and "--filter" in res.out


def _modules_with_tests() -> list[str]:
    return sorted(p.name for p in MODULES.iterdir() if (p / "main.mlf.hcl").is_file())


@needs_local
@pytest.mark.parametrize("name", _modules_with_tests())
def test_every_module_passes_its_tests(name: str, mlform: Mlform) -> None:
    dst = mlform.cwd / name
    shutil.copytree(
        MODULES / name,
        dst,
        ignore=shutil.ignore_patterns(".mlform", "mlform.state.json*", "__pycache__"),
    )
    assert list(dst.glob("tests/*.mlftest.hcl")) or list(dst.glob("*.mlftest.hcl")), (
        f"modules/{name} has no *.mlftest.hcl tests"
    )
    mlform.cwd = dst
    res = mlform("test")
    assert res.code == 0, str(res)
    assert "Success!" in res.out and " 0 failed." in res.out
    assert not list(dst.glob("mlform.state*"))


@needs_local
def test_the_docs_example_passes_and_its_failing_assert_reads_as_documented(
    mlform: Mlform,
) -> None:
    dst = mlform.cwd / "testing-modules"
    shutil.copytree(ROOT / "docs" / "examples" / "testing-modules", dst)
    mlform.cwd = dst
    res = mlform("test")
    assert res.code == 0, str(res)
    assert "Success! 4 passed, 0 failed." in res.out
    # docs/testing-modules.md shows this failure: break the assertion it shows.
    tests = dst / "tests" / "model.mlftest.hcl"
    tests.write_text(
        tests.read_text().replace("condition     = !output.ship", "condition     = output.ship")
    )
    res = mlform("test")
    assert res.code == 1, str(res)
    doc = (ROOT / "docs" / "testing-modules.md").read_text()
    for line in (
        "  on tests/model.mlftest.hcl line 48, column 21:",
        "A model at 0.5 should not ship.",
        "  output.ship is false",
    ):
        assert line in doc and line in res.err, line


def test_an_override_on_a_real_provider_makes_up_only_its_target(
    mlform: Mlform, store: Store
) -> None:
    _case("override_real", mlform)
    res = mlform("test", "--var", _store_var(mlform))
    assert 'run "one_real_one_made_up"... pass' in res.out, str(res)
    # The real object exists in the provider's store (its delete fails, so it stays); the
    # overridden one was never sent to the provider.
    objects = store.objects()
    assert [o["value"] for o in objects.values()] == ["r"], objects
    assert "Failed to clean up after the tests" in res.err and "test_object.real" in res.err
    assert "test_object.faked" not in res.err.split("may still exist:")[1]
