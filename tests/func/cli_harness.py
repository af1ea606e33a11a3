"""The CLI harness of the functional tests: `Mlform` runs the real `mlform` command as a
subprocess in a folder, as a user in automation would; `Store` reads the test provider's
objects; `state_of` / `instances` read a committed state.

Its own module, not conftest.py: the suite has several conftest.py files, and a test that needs
these names at run time (a module-scoped fixture, a helper) imports them from here, where the
module name is not shared with another folder's.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlform.testing.provider import load_objects


@dataclass
class Result:
    """What one `mlform` run left behind."""

    args: tuple[str, ...]
    code: int
    out: str
    err: str

    @property
    def all(self) -> str:
        return self.out + self.err

    def __str__(self) -> str:
        return f"mlform {' '.join(self.args)} -> {self.code}\n--stdout--\n{self.out}\n--stderr--\n{self.err}"


def base_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFORM_", "TF_"))}
    env.update({"MLFORM_IN_AUTOMATION": "1", "NO_COLOR": "1", "COLUMNS": "200"})
    env.update(extra)
    return env


class Mlform:
    """Runs `python -m mlform.cli.main ARGS` in one working directory."""

    def __init__(self, cwd: Path):
        self.cwd = cwd

    def __call__(
        self,
        *args: str,
        env: dict[str, str] | None = None,
        stdin: str | None = None,
        timeout: float = 120,
    ) -> Result:
        proc = subprocess.run(
            [sys.executable, "-m", "mlform.cli.main", *args],
            cwd=self.cwd,
            env=base_env(**(env or {})),
            input=stdin if stdin is not None else "",
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        return Result(tuple(args), proc.returncode, proc.stdout, proc.stderr)

    def ok(self, *args: str, **kw: Any) -> Result:
        """Run and insist on exit code 0."""
        res = self(*args, **kw)
        assert res.code == 0, str(res)
        return res

    def popen(self, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "mlform.cli.main", *args],
            cwd=self.cwd,
            env=base_env(**(env or {})),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )


class Store:
    """The test provider's store at `objects.json` in the working directory."""

    def __init__(self, path: Path):
        self.path = path

    def objects(self) -> dict[str, dict[str, Any]]:
        if not self.path.exists() and not self.path.with_name(self.path.name + ".journal").exists():
            return {}
        return load_objects(self.path)

    def count(self) -> int:
        return len(self.objects())

    def edit(self, oid: str, **fields: Any) -> None:
        """Change an object by hand, as someone outside mlform would."""
        data = self._folded()
        data["objects"][oid].update(fields)
        self.path.write_text(json.dumps(data, indent=2))

    def remove(self, oid: str) -> None:
        data = self._folded()
        del data["objects"][oid]
        self.path.write_text(json.dumps(data, indent=2))

    def _folded(self) -> dict[str, Any]:
        objs = self.objects()
        journal = self.path.with_name(self.path.name + ".journal")
        if journal.exists():
            journal.unlink()
        return {"objects": objs}


def state_of(workdir: Path, workspace: str = "default") -> dict[str, Any]:
    """The committed state file of a workspace, as JSON."""
    path = (
        workdir / "mlform.state.json"
        if workspace == "default"
        else workdir / "mlform.state.d" / workspace / "mlform.state.json"
    )
    return json.loads(path.read_text())


def instances(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every instance in a state document, by its address."""
    out: dict[str, dict[str, Any]] = {}
    for r in state.get("resources", []):
        prefix = (r["module"] + ".") if r.get("module") else ""
        base = f"{prefix}{'data.' if r['mode'] == 'data' else ''}{r['type']}.{r['name']}"
        for inst in r["instances"]:
            key = inst.get("index_key")
            if key is None:
                addr = base
            elif isinstance(key, int):
                addr = f"{base}[{key}]"
            else:
                addr = f'{base}["{key}"]'
            out[addr] = inst
    return out
