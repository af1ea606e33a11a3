"""mlform's pytest plugin (entry point `pytest11: mlform`): fixtures for tests that drive mlform.

- `workdir`: a fresh working directory, with helpers to write `*.mlf.hcl` files and to look at
  (or edit by hand) the test provider's store;
- `mlform_cli`: runs the `mlform` command in that directory, in-process (fast) or as a
  subprocess (`subprocess=True`, for signals and real exits), returning exit code, stdout and
  stderr;
- `test_store`: the path of a fresh, empty test-provider store.

    def test_create(workdir, mlform_cli):
        workdir.write("main", 'resource "test_object" "a" { value = 1 }')
        result = mlform_cli("apply", "-auto-approve")
        assert result.exit_code == 0, result.output
        assert len(workdir.objects()) == 1

pytest loads this module for every session where mlform is installed, so it imports nothing
heavy at module level.
"""

from __future__ import annotations

import json
import os
import subprocess as _subprocess
import sys
import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

__all__ = ["CliResult", "Workdir", "run_cli"]


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        """stdout then stderr, for assertion messages."""
        return self.stdout + self.stderr

    def __repr__(self) -> str:
        return (
            f"CliResult(exit_code={self.exit_code})\n--- stdout ---\n{self.stdout}"
            f"--- stderr ---\n{self.stderr}"
        )


def _exit_code(code: object) -> int:
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    return 1


def run_cli(
    args: Sequence[str],
    cwd: str | os.PathLike[str],
    *,
    input: str | None = None,
    env: Mapping[str, str] | None = None,
    subprocess: bool = False,
    timeout: float = 300,
) -> CliResult:
    """Run `mlform -C cwd ARGS...` and collect what it printed."""
    argv = ["-C", str(cwd), *args]
    if subprocess:
        proc = _subprocess.run(
            [sys.executable, "-m", "mlform.cli.main", *argv],
            input=input,
            capture_output=True,
            text=True,
            env={**os.environ, **(env or {})},
            timeout=timeout,
        )
        return CliResult(proc.returncode, proc.stdout, proc.stderr)

    from click.testing import CliRunner

    from mlform.cli.main import main

    runner = CliRunner()
    here = os.getcwd()
    code = 0
    try:
        with runner.isolation(input=input, env=dict(env or {})) as streams:
            try:
                main(argv)
            except SystemExit as exc:
                code = _exit_code(exc.code)
            out = streams[0].getvalue().decode("utf-8", "replace")
            err_stream = streams[1] if len(streams) > 1 else None
            err = err_stream.getvalue().decode("utf-8", "replace") if err_stream else ""
    finally:
        # `-C` changes directory for the rest of the process: undo it.
        os.chdir(here)
    return CliResult(code, out, err)


class Workdir:
    """A working directory for one test."""

    def __init__(self, path: Path):
        self.path = path

    def __fspath__(self) -> str:
        return str(self.path)

    def __truediv__(self, other: str) -> Path:
        return self.path / other

    def write(self, name: str, text: str) -> Path:
        """Write a configuration file; `main` becomes `main.mlf.hcl`. The text is dedented."""
        if not name.endswith((".hcl", ".json", ".tfvars", ".mlfvars")) and "." not in name:
            name += ".mlf.hcl"
        target = self.path / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return target

    def remove(self, name: str) -> None:
        if "." not in name:
            name += ".mlf.hcl"
        (self.path / name).unlink()

    @property
    def store(self) -> Path:
        """The test provider's default store in this directory."""
        from mlform.testing.provider import DEFAULT_STORE

        return self.path / ".mlform" / DEFAULT_STORE

    def objects(self, store: str | os.PathLike[str] | None = None) -> dict[str, dict[str, Any]]:
        """Every object the test provider holds, by id (journal included)."""
        from mlform.testing.provider import load_objects

        return load_objects(self._store_path(store))

    def edit_object(
        self, object_id: str, store: str | os.PathLike[str] | None = None, **fields: Any
    ) -> None:
        """Change an object's fields in the store, as a person editing the file would:
        the next refresh sees drift."""
        doc = self._open_store(store)
        doc["objects"][object_id].update(fields)
        self._save_store(store, doc)

    def delete_object(self, object_id: str, store: str | os.PathLike[str] | None = None) -> None:
        """Remove an object from the store behind mlform's back."""
        doc = self._open_store(store)
        del doc["objects"][object_id]
        self._save_store(store, doc)

    def _store_path(self, store: str | os.PathLike[str] | None) -> Path:
        if store is None:
            return self.store
        p = Path(store)
        return p if p.is_absolute() else self.path / p

    def _open_store(self, store: str | os.PathLike[str] | None) -> dict[str, Any]:
        from mlform.testing.provider import ObjectStore

        path = self._store_path(store)
        ObjectStore(path).compact()  # fold any journal in, so the file says everything
        return json.loads(path.read_text(encoding="utf-8"))

    def _save_store(self, store: str | os.PathLike[str] | None, doc: dict[str, Any]) -> None:
        path = self._store_path(store)
        path.write_text(json.dumps(doc, indent=2, sort_keys=True) + "\n", encoding="utf-8")


@pytest.fixture
def workdir(tmp_path: Path) -> Workdir:
    """A fresh working directory (not the current directory; commands get `-C`)."""
    d = tmp_path / "work"
    d.mkdir()
    return Workdir(d)


class _Cli:
    def __init__(self, default_cwd: Path):
        self.default_cwd = default_cwd

    def __call__(
        self,
        *args: str,
        cwd: str | os.PathLike[str] | None = None,
        input: str | None = None,
        env: Mapping[str, str] | None = None,
        subprocess: bool = False,
        timeout: float = 300,
    ) -> CliResult:
        return run_cli(
            args,
            cwd if cwd is not None else self.default_cwd,
            input=input,
            env=env,
            subprocess=subprocess,
            timeout=timeout,
        )


@pytest.fixture
def mlform_cli(workdir: Workdir) -> _Cli:
    """`mlform_cli("plan", "--no-color")` runs mlform in `workdir` (or `cwd=`)."""
    return _Cli(workdir.path)


@pytest.fixture
def test_store(tmp_path: Path) -> Path:
    """The path of a fresh test-provider store (the file does not exist yet)."""
    d = tmp_path / "store"
    d.mkdir()
    return d / "objects.json"
