"""`mlform workspace list|new|select|delete|show` end to end, and state commands following the
selected workspace."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from mlform.cli.main import cli
from mlform.state import InstanceRecord
from mlform.state.backends.local import LocalBackend
from mlform.state.session import StateSession


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, list(args))


def failed(result: Result, summary: str) -> None:
    assert result.exit_code == 1, result.output
    assert f"Error: {summary}" in result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.output


def put(workspace: str, addr: str) -> None:
    with StateSession.open(LocalBackend({}, Path(".")), workspace) as sess:
        sess.put_instance(addr, 'provider["test"]', InstanceRecord(id=addr))
        sess.commit()


@pytest.fixture(autouse=True)
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFORM_WORKSPACE", raising=False)
    return tmp_path


def test_fresh_folder_has_the_default_workspace() -> None:
    assert run("workspace", "list").stdout == "* default\n\n"
    assert run("workspace", "show").stdout == "default\n"


def test_new_creates_and_selects(workdir: Path) -> None:
    result = run("workspace", "new", "dev")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith('Created and switched to workspace "dev"!')
    assert (workdir / ".mlform" / "workspace").read_text().strip() == "dev"
    assert (workdir / "mlform.state.d" / "dev").is_dir()
    assert run("workspace", "list").stdout == "  default\n* dev\n\n"
    assert run("workspace", "show").stdout == "dev\n"


def test_new_refusals() -> None:
    assert run("workspace", "new", "dev").exit_code == 0
    failed(run("workspace", "new", "dev"), "Workspace 'dev' already exists")
    failed(run("workspace", "new", "no spaces"), "Invalid workspace name 'no spaces'")


def test_select() -> None:
    assert run("workspace", "new", "dev").exit_code == 0
    result = run("workspace", "select", "default")
    assert result.exit_code == 0
    assert result.stdout == 'Switched to workspace "default".\n'
    assert run("workspace", "show").stdout == "default\n"
    result = run("workspace", "select", "deb")
    failed(result, 'Workspace "deb" doesn\'t exist')
    assert 'Did you mean "dev"?' in result.stderr
    result = run("workspace", "select", "--or-create", "staging")
    assert result.exit_code == 0, result.stderr
    assert run("workspace", "list").stdout == "  default\n  dev\n* staging\n\n"


def test_environment_variable_overrides(monkeypatch: pytest.MonkeyPatch) -> None:
    assert run("workspace", "new", "dev").exit_code == 0
    assert run("workspace", "select", "default").exit_code == 0
    monkeypatch.setenv("MLFORM_WORKSPACE", "dev")
    assert run("workspace", "show").stdout == "dev\n"
    listed = run("workspace", "list")
    assert listed.stdout == "  default\n* dev\n\n"
    assert "MLFORM_WORKSPACE" in listed.stderr
    failed(
        run("workspace", "select", "default"), "The selected workspace is set by $MLFORM_WORKSPACE"
    )
    monkeypatch.setenv("MLFORM_WORKSPACE", "bad name")
    failed(run("workspace", "show"), "Invalid workspace name 'bad name' in $MLFORM_WORKSPACE")


def test_delete() -> None:
    assert run("workspace", "new", "dev").exit_code == 0
    failed(run("workspace", "delete", "dev"), 'Workspace "dev" is your active workspace')
    assert run("workspace", "select", "default").exit_code == 0
    result = run("workspace", "delete", "dev")
    assert result.exit_code == 0, result.stderr
    assert result.stdout == 'Deleted workspace "dev"!\n'
    assert run("workspace", "list").stdout == "* default\n\n"
    failed(run("workspace", "delete", "default"), "The default workspace cannot be deleted")
    failed(run("workspace", "delete", "ghost"), "Workspace 'ghost' does not exist")


def test_delete_refuses_a_workspace_that_manages_objects() -> None:
    LocalBackend({}, Path(".")).create_workspace("dev")
    put("dev", "test_object.a")
    result = run("workspace", "delete", "dev")
    failed(result, "Workspace 'dev' is not empty")
    assert "--force" in result.stderr
    result = run("workspace", "delete", "--force", "dev")
    assert result.exit_code == 0, result.stderr
    assert 'Warning: Workspace "dev" was not empty' in result.stderr
    assert run("workspace", "list").stdout == "* default\n\n"


def test_state_commands_follow_the_selected_workspace(monkeypatch: pytest.MonkeyPatch) -> None:
    put("default", "test_object.in_default")
    assert run("workspace", "new", "dev").exit_code == 0
    failed(run("state", "list"), "No state file was found!")
    put("dev", "test_object.in_dev")
    assert run("state", "list").stdout == "test_object.in_dev\n"
    assert run("taint", "test_object.in_dev").exit_code == 0
    assert run("history").stdout.count("\n") == 3  # header and two serials
    assert run("workspace", "select", "default").exit_code == 0
    assert run("state", "list").stdout == "test_object.in_default\n"
    monkeypatch.setenv("MLFORM_WORKSPACE", "dev")
    assert run("state", "list").stdout == "test_object.in_dev\n"
    monkeypatch.setenv("MLFORM_WORKSPACE", "gone")
    failed(run("state", "list"), "Workspace 'gone' does not exist")


@pytest.mark.parametrize("sub", ["list", "show", "new", "select", "delete"])
def test_help_has_an_example(sub: str) -> None:
    result = run("workspace", sub, "--help")
    assert result.exit_code == 0
    assert "Example" in result.stdout and "mlform workspace" in result.stdout
