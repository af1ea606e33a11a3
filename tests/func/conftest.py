"""Fixtures for driving the real `mlform` command against the built-in test provider.

`workdir` gives a fresh working directory; `case(name)` copies a folder of
tests/testdata/engine into it; `mlform(*args)` runs the CLI as a subprocess there, as a user
in automation would (no terminal, `MLFORM_IN_AUTOMATION=1`, `NO_COLOR=1`); `store` reads the
test provider's objects (journal included) so that a test can count them, and edits or removes
one by hand to make drift; `state()` / `insts()` read the committed state; `golden` compares
rendered output with golden files after naming what varies (ids, times, lineages).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from mlform.testing.provider import load_objects

ENGINE_DATA = Path(__file__).resolve().parent.parent / "testdata" / "engine"


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


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    d = tmp_path / "work"
    d.mkdir()
    return d


@pytest.fixture
def mlform(workdir: Path) -> Mlform:
    return Mlform(workdir)


@pytest.fixture
def case(workdir: Path) -> Callable[[str], Path]:
    """Copy tests/testdata/engine/<name>/*.hcl (not its golden files) into the working dir."""

    def copy(name: str) -> Path:
        src = ENGINE_DATA / name
        for f in src.iterdir():
            if f.is_file() and f.name.endswith(".hcl"):
                shutil.copy(f, workdir / f.name)
            elif f.is_dir():
                shutil.copytree(f, workdir / f.name, dirs_exist_ok=True)
        return src

    return copy


@pytest.fixture
def write(workdir: Path) -> Callable[[str, str], Path]:
    """Write a file (usually main.mlf.hcl) in the working directory."""

    def put(text: str, name: str = "main.mlf.hcl") -> Path:
        p = workdir / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
        return p

    return put


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


@pytest.fixture
def store(workdir: Path) -> Store:
    return Store(workdir / "objects.json")


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


@pytest.fixture
def state(workdir: Path) -> Callable[..., dict[str, Any]]:
    """The committed state of a workspace (default: "default"), as JSON."""
    return lambda workspace="default": state_of(workdir, workspace)


@pytest.fixture
def insts(workdir: Path) -> Callable[..., dict[str, dict[str, Any]]]:
    """The instances of a workspace's committed state, by address."""
    return lambda workspace="default": instances(state_of(workdir, workspace))


# -- golden files -------------------------------------------------------------------------------

TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z")
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
TOKEN = re.compile(r"\b[0-9a-f]{32}\b")
VERSION = re.compile(r'"mlform_version": "[^"]*"')


def id_names(state: dict[str, Any] | None) -> dict[str, str]:
    """Each object id in a state, named after the instance that holds it."""
    if not state:
        return {}
    return {i["id"]: f"<id of {a}>" for a, i in instances(state).items() if i.get("id")}


def normalize(text: str, ids: dict[str, str]) -> str:
    """Ids, times, lineages, tokens and the version vary from run to run; name them."""
    for oid, name in ids.items():
        text = text.replace(oid, name)
    text = TIME.sub("<time>", text)
    text = UUID.sub("<uuid>", text)
    text = TOKEN.sub("<token>", text)
    return VERSION.sub('"mlform_version": "<version>"', text)


def normalize_json(text: str, ids: dict[str, str]) -> str:
    """The JSON document pretty-printed, with every string (key or value) normalized."""

    def walk(v: Any) -> Any:
        if isinstance(v, str):
            return normalize(v, ids)
        if isinstance(v, dict):
            return {
                walk(k): "<version>" if k == "mlform_version" else walk(x) for k, x in v.items()
            }
        if isinstance(v, list):
            return [walk(x) for x in v]
        return v

    return json.dumps(walk(json.loads(text)), indent=2, ensure_ascii=False) + "\n"


def check_golden(path: Path, actual: str) -> None:
    """Compare with a golden file; MLFORM_UPDATE_GOLDEN=1 rewrites it (review the diff!)."""
    if os.environ.get("MLFORM_UPDATE_GOLDEN") == "1":
        path.write_text(actual)
    if not path.exists():
        pytest.fail(f"missing golden file {path}; run with MLFORM_UPDATE_GOLDEN=1 and review it")
    assert actual == path.read_text(), f"output differs from {path}"


@dataclass
class Golden:
    normalize: Callable[[str, dict[str, str]], str]
    normalize_json: Callable[[str, dict[str, str]], str]
    id_names: Callable[[dict[str, Any] | None], dict[str, str]]
    check: Callable[[Path, str], None]


@pytest.fixture
def golden() -> Golden:
    return Golden(normalize, normalize_json, id_names, check_golden)
