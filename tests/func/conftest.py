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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from cli_harness import Mlform, Result, Store, instances, state_of  # noqa: F401 - Result: for the tests' type hints

ENGINE_DATA = Path(__file__).resolve().parent.parent / "testdata" / "engine"


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


@pytest.fixture
def store(workdir: Path) -> Store:
    return Store(workdir / "objects.json")


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
