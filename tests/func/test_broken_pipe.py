"""`mlform state list | head -1`: when the reader of mlform's output goes away, every command
stops without a word (no "internal error", no traceback), with the exit status a shell
reports for a program ended by SIGPIPE, as Terraform and Unix tools give."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


def base_env() -> dict[str, str]:
    # As conftest's (not imported: with several conftest.py files in the suite, the name
    # `conftest` may be another folder's module).
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFORM_", "TF_"))}
    env.update({"MLFORM_IN_AUTOMATION": "1", "NO_COLOR": "1", "COLUMNS": "200"})
    return env


CONFIG = """\
provider "test" { store = "objects.json" }
resource "test_object" "a" {
  count = 3
  value = "v${count.index}"
}
output "ids" { value = test_object.a[*].id }
"""


def run_into_closed_pipe(cwd, *args: str, stderr_too: bool = False) -> tuple[int, str]:
    """Run mlform with its output going to a pipe nobody reads any more (the reader closed
    it before mlform wrote a byte); returns the exit code and what reached stderr."""
    read_end, write_end = os.pipe()
    os.close(read_end)
    try:
        proc = subprocess.run(
            [sys.executable, "-m", "mlform.cli.main", *args],
            cwd=cwd,
            env=base_env(),
            stdin=subprocess.DEVNULL,
            stdout=write_end,
            stderr=write_end if stderr_too else subprocess.PIPE,
            timeout=120,
            check=False,
        )
    finally:
        os.close(write_end)
    return proc.returncode, (proc.stderr or b"").decode()


@pytest.fixture
def applied(write, mlform, workdir):
    write(CONFIG)
    mlform.ok("apply", "-auto-approve")
    return workdir


@pytest.mark.parametrize(
    "args",
    [
        ("state", "list"),
        ("graph",),
        ("show",),
        ("output",),
        ("plan",),
        ("validate",),
        ("history",),
        ("version",),
    ],
    ids=lambda a: " ".join(a),
)
def test_a_closed_output_pipe_ends_the_command_quietly(applied, args) -> None:
    code, err = run_into_closed_pipe(applied, *args)
    assert err == "", err
    assert code == 141


def test_help_into_a_closed_pipe_is_quiet(applied) -> None:
    # Help is printed by click itself, which ends quietly with its own status (1) on EPIPE.
    code, err = run_into_closed_pipe(applied, "--help")
    assert err == "", err
    assert code != 0


def test_output_and_errors_into_one_closed_pipe(applied) -> None:
    # `mlform state list 2>&1 | head -1`: nowhere to report anything either.
    code, err = run_into_closed_pipe(applied, "state", "list", stderr_too=True)
    assert code == 141


def test_an_open_pipe_is_read_in_full(applied) -> None:
    # The ordinary case is untouched: the whole listing, exit 0.
    proc = subprocess.run(
        [sys.executable, "-m", "mlform.cli.main", "state", "list"],
        cwd=applied,
        env=base_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [f"test_object.a[{i}]" for i in range(3)]


def test_a_broken_pipe_elsewhere_is_still_an_error(monkeypatch) -> None:
    """A broken connection that is not the output (a provider's socket) is not hidden."""
    from mlform.cli import main

    monkeypatch.setattr(main, "_reader_gone", lambda fd: False)
    with pytest.raises(BrokenPipeError), main.closed_pipe_ends_quietly():
        raise BrokenPipeError(32, "Broken pipe")
