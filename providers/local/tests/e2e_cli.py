"""Driving the real `mlform` command line in a copy of a project, as a user at a terminal would.

The end-to-end tests (test_e2e_*.py) run `python -m mlform.cli.main` as a subprocess with
`MLFORM_IN_AUTOMATION=1 NO_COLOR=1`, read the plans' actions and reasons off the human output,
and make sure that nothing a project started (servers, proxies, training processes) outlives its
test: every process whose command line or working directory lies inside the project is found
through /proc.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PROJECTS = Path(__file__).resolve().parent / "e2e_projects"
REPO = Path(__file__).resolve().parents[3]

# "  # training_job.x must be replaced" and the "  # (because …)" lines under it.
_HEADER = re.compile(
    r"^  # (?P<addr>\S+) (?:is tainted, so )?(?P<what>will be created|must be replaced|"
    r"will be updated in-place|will be destroyed|will be read during apply)"
)
_REASON = re.compile(r"^  # \(because (?P<reason>.*)\)$")
_ACTIONS = {
    "will be created": "create",
    "must be replaced": "replace",
    "will be updated in-place": "update",
    "will be destroyed": "delete",
    "will be read during apply": "read",
}


@dataclass
class Result:
    """One finished `mlform` run."""

    args: list[str]
    code: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err

    def explain(self) -> str:
        return f"mlform {' '.join(self.args)} exited {self.code}\n--- stdout\n{self.out}\n--- stderr\n{self.err}"


@dataclass
class PlanView:
    """What a human-readable plan says will happen: address -> (action, reasons)."""

    changes: dict[str, tuple[str, list[str]]] = field(default_factory=dict)
    summary: str = ""

    def actions(self) -> dict[str, str]:
        return {a: act for a, (act, _r) in self.changes.items()}

    def reasons(self, address: str) -> list[str]:
        return self.changes[address][1]


def parse_plan(text: str) -> PlanView:
    view = PlanView()
    current: str | None = None
    for line in text.splitlines():
        if m := _HEADER.match(line):
            current = m["addr"]
            view.changes[current] = (_ACTIONS[m["what"]], [])
        elif current is not None and (m := _REASON.match(line)):
            view.changes[current][1].append(m["reason"])
        elif not line.startswith("  #"):
            current = None
        if line.startswith("Plan: "):
            view.summary = line.strip()
    return view


class Project:
    """A copy of a project folder in which `mlform` runs."""

    def __init__(self, root: Path):
        self.root = root

    @classmethod
    def copy_of(cls, source: Path, dest: Path) -> Project:
        shutil.copytree(
            source,
            dest,
            ignore=shutil.ignore_patterns(".mlform", "mlform.state*", ".mlform.lock.hcl"),
        )
        return cls(dest)

    def mlform(self, *args: str, timeout: float = 300) -> Result:
        env = dict(os.environ)
        env.update({"MLFORM_IN_AUTOMATION": "1", "NO_COLOR": "1"})
        env.pop("MLFORM_LOG", None)
        proc = subprocess.run(
            [sys.executable, "-m", "mlform.cli.main", *args],
            cwd=self.root,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            stdin=subprocess.DEVNULL,
        )
        return Result(list(args), proc.returncode, proc.stdout, proc.stderr)

    def ok(self, *args: str, timeout: float = 300) -> Result:
        r = self.mlform(*args, timeout=timeout)
        assert r.code == 0, r.explain()
        assert "Traceback" not in r.text, r.explain()
        return r

    def fails(self, *args: str, timeout: float = 300) -> Result:
        """A run that must end in a clear error: exit 1, an `Error:` line, no traceback."""
        r = self.mlform(*args, timeout=timeout)
        assert r.code == 1, r.explain()
        assert "Error" in r.err, r.explain()
        assert "Traceback" not in r.text, r.explain()
        return r

    def plan(self, *args: str) -> tuple[PlanView, Result]:
        r = self.mlform("plan", "-detailed-exitcode", *args)
        assert r.code in (0, 2), r.explain()
        assert "Traceback" not in r.text, r.explain()
        return parse_plan(r.out), r

    def state_list(self) -> list[str]:
        return self.ok("state", "list").out.split()

    def state(self) -> dict[str, Any]:
        return json.loads(self.ok("show", "--json").out)

    def resource(self, address: str) -> dict[str, Any]:
        """The attribute values of one instance, from `mlform show --json`."""
        found: list[dict[str, Any]] = []

        def walk(module: dict[str, Any]) -> None:
            found.extend(module.get("resources", []))
            for child in module.get("child_modules", []):
                walk(child)

        walk(self.state()["values"]["root_module"])
        for r in found:
            if r["address"] == address:
                return r["values"]
        raise AssertionError(f"{address} not in state: {[r['address'] for r in found]}")

    def output(self, name: str) -> str:
        return self.ok("output", "-raw", name).out

    def write(self, rel: str, text: str) -> None:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)

    def processes(self) -> list[tuple[int, str]]:
        """Live processes that belong to this project: started in it or naming it."""
        mine = str(self.root)
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmd = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
                cwd = os.readlink(entry / "cwd")
                status = (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if status == "Z":
                continue
            if mine in cmd or cwd == mine or cwd.startswith(mine + "/"):
                found.append((int(entry.name), cmd.strip()))
        return found

    def destroy_and_check(self) -> None:
        """`mlform destroy -auto-approve`; then nothing of this project may still run."""
        r = self.mlform("destroy", "-auto-approve")
        deadline = time.monotonic() + 10
        while (left := self.processes()) and time.monotonic() < deadline:
            time.sleep(0.2)
        for pid, _cmd in left:  # never leave a stray server behind, even when the test fails
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        assert r.code == 0, r.explain()
        assert not left, f"processes left running after destroy: {left}"


@contextmanager
def project(name: str, tmp_path: Path) -> Iterator[Project]:
    """A fresh copy of e2e_projects/<name> (or a path), initialized; destroyed at the end."""
    source = Path(name) if Path(name).is_absolute() else PROJECTS / name
    p = Project.copy_of(source, tmp_path / source.name)
    p.ok("init")
    try:
        yield p
    finally:
        p.destroy_and_check()


def http(url: str, body: Any = None, timeout: float = 30) -> Any:
    """GET (or POST a JSON body) bypassing any proxy settings; the decoded JSON answer."""
    data = None if body is None else json.dumps(body).encode()
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(urllib.request.Request(url, data=data), timeout=timeout) as resp:
        return json.load(resp)
