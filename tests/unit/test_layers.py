"""Every import points down the map in DESIGN.md section 4: the configuration front end, the
language, the kinds, the state and the SDK know nothing of the engine, the CLI or a provider,
and mlform's dependencies are declared where they are used."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "mlform"

# Lower layers, and what none of their modules may import (at module level or inside a
# function: a lazy import is still a dependency).
LOWER = ("mlform.config", "mlform.lang", "mlform.kinds", "mlform.state", "mlform.sdk")
HIGHER = ("mlform.cli", "mlform.engine", "mlform.ui", "mlform_")

# Known violations still to be removed. Each must still exist (the test says when one is
# fixed, so that the entry goes too).
KNOWN: set[tuple[str, str]] = set()


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path) -> list[str]:
    """The absolute names a module imports (relative imports resolved)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    out: list[str] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                name = ".".join([*base, node.module] if node.module else base)
            else:
                name = node.module or ""
            out.append(name)
    return out


def _all_imports() -> dict[str, list[str]]:
    return {module_name(p): imports(p) for p in sorted(PACKAGE.rglob("*.py"))}


def _under(name: str, prefix: str) -> bool:
    return (
        name.startswith(prefix)
        if prefix.endswith("_")
        else (name == prefix or name.startswith(prefix + "."))
    )


def test_lower_layers_import_nothing_above_them() -> None:
    found = set()
    for mod, names in _all_imports().items():
        if not any(_under(mod, low) for low in LOWER):
            continue
        for name in names:
            if any(_under(name, high) for high in HIGHER):
                found.add((mod, name))
    unexpected = sorted(found - KNOWN)
    assert not unexpected, "imports pointing up the map (DESIGN.md section 4):\n" + "\n".join(
        f"  {m} imports {n}" for m, n in unexpected
    )
    fixed = sorted(KNOWN - found)
    assert not fixed, f"fixed, remove from KNOWN: {fixed}"


def test_the_console_scope_is_engine_work() -> None:
    assert not (PACKAGE / "config" / "static_eval.py").exists()
    names = imports(PACKAGE / "engine" / "console_scope.py")
    assert not [n for n in names if _under(n, "mlform.cli")]


def test_mlform_imports_no_provider_package() -> None:
    offenders = sorted(
        (mod, name)
        for mod, names in _all_imports().items()
        for name in names
        if name.startswith("mlform_")
    )
    assert set(offenders) <= KNOWN, offenders


def _project() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]


def _names(reqs: list[str]) -> set[str]:
    import re

    return {re.split(r"[<>=!~\[; ]", r, maxsplit=1)[0].lower() for r in reqs}


def test_python_hcl2_is_a_test_dependency_only() -> None:
    """The parser's test oracle: nothing in mlform imports it, so it is not installed with it."""
    project = _project()
    assert "python-hcl2" not in _names(project["dependencies"])
    assert "python-hcl2" in _names(project["optional-dependencies"]["test"])
    users = [m for m, names in _all_imports().items() if any(_under(n, "hcl2") for n in names)]
    assert users == []


@pytest.mark.parametrize("dist, module", [("regex", "regex")])
def test_what_mlform_imports_is_declared(dist: str, module: str) -> None:
    """A third-party module mlform imports at run time is one of its own dependencies (not one
    that happens to come with another package)."""
    users = [m for m, names in _all_imports().items() if any(_under(n, module) for n in names)]
    assert users, f"nothing imports {module}: drop the dependency"
    assert dist in _names(_project()["dependencies"])
