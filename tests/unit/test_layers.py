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


def test_state_and_lineage_point_down_the_map() -> None:
    """Lineage renders and queries history without the CLI; state records who applied (mlform.ci)
    without importing lineage, which sits above it."""
    found = []
    for mod, names in _all_imports().items():
        for name in names:
            if _under(mod, "mlform.lineage") and _under(name, "mlform.cli"):
                found.append((mod, name))
            if _under(mod, "mlform.state") and _under(name, "mlform.lineage"):
                found.append((mod, name))
    assert not found, found


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


def _imported_names(path: Path) -> list[str]:
    """Every dotted name a module imports, `from a import b` counted as `a.b` too."""
    out = list(imports(path))
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and not node.level:
            out += [f"{node.module}.{a.name}" for a in node.names]
    return out


def test_lineage_and_kinds_reach_stored_objects_only_through_providers() -> None:
    """`mlform gc` and `mlform reproduce` ask each provider's artifact store
    (`Provider.artifacts`); the local provider's content store and venv layout are its own
    (`mlform_local.store`), so neither the lineage nor the kinds import it or any provider."""
    assert not (PACKAGE / "kinds" / "store.py").exists()
    offenders = sorted(
        (module_name(path), name)
        for path in sorted(PACKAGE.rglob("*.py"))
        if _under(module_name(path), "mlform.lineage") or _under(module_name(path), "mlform.kinds")
        for name in _imported_names(path)
        if name.startswith("mlform_") or name.split(".")[-1] == "store"
    )
    assert not offenders, offenders


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


# -- one home for each repeated piece ---------------------------------------------------------

PROVIDERS = ROOT / "providers"


def _sources() -> dict[str, ast.Module]:
    """Every module of mlform and of the in-repository providers, parsed."""
    paths = [*PACKAGE.rglob("*.py"), *PROVIDERS.glob("*/mlform_*/**/*.py")]
    return {
        str(p.relative_to(ROOT)): ast.parse(p.read_text(encoding="utf-8"), str(p))
        for p in sorted(paths)
    }


def _where(pred) -> set[str]:  # type: ignore[no-untyped-def]
    return {path for path, tree in _sources().items() if any(pred(n) for n in ast.walk(tree))}


def _name_of(node: ast.AST | None) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def test_one_translation_of_pydantic_errors() -> None:
    """Providers' kinds turn a model's refusal into a ConfigError through
    mlform.sdk.schema.parse_config; nobody else catches pydantic's ValidationError."""

    def catches(node: ast.AST) -> bool:
        if not isinstance(node, ast.ExceptHandler):
            return False
        types = node.type.elts if isinstance(node.type, ast.Tuple) else [node.type]
        return any(_name_of(t) == "ValidationError" for t in types)

    assert _where(catches) == {"mlform/sdk/schema.py"}


def test_one_plugin_registry() -> None:
    """Providers and backends are both found by mlform.sdk.plugins."""

    def lists_entry_points(node: ast.AST) -> bool:
        return isinstance(node, ast.Call) and _name_of(node.func) == "entry_points"

    assert _where(lists_entry_points) == {"mlform/sdk/plugins.py"}
    backends = (PACKAGE / "state" / "backends" / "__init__.py").read_text(encoding="utf-8")
    assert "plugins.load_backend(" in backends


def test_one_duration_grammar() -> None:
    """Durations are read by mlform.durations, the lowest layer: the CLI's --lock-timeout, the
    kinds' timeouts and timeadd all call it, and no one else spells out duration units."""
    assert not [n for n in imports(PACKAGE / "durations.py") if _under(n, "mlform")]
    for user in ("cli/run_options.py", "kinds/common.py", "lang/functions/dates.py"):
        assert "mlform.durations" in imports(PACKAGE / user), user

    def spells_units(node: ast.AST) -> bool:
        return (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and ("ms|s|m|h" in node.value or "ns|us" in node.value)
        )

    assert _where(spells_units) == set()


def test_one_ci_detector() -> None:
    """Whether this is a CI run, and which (GitHub Actions, GitLab, ...), is read in one place,
    for state and lineage alike: only one module reads the CI systems' own markers."""
    markers = {"GITHUB_ACTIONS", "GITLAB_CI", "BUILDKITE", "CIRCLECI", "JENKINS_URL"}

    def reads_a_marker(node: ast.AST) -> bool:
        if isinstance(node, ast.Call) and _name_of(node.func) in ("get", "getenv") and node.args:
            key = node.args[0]
        elif isinstance(node, ast.Subscript):
            key = node.slice
        else:
            return False
        return isinstance(key, ast.Constant) and key.value in markers

    assert _where(reads_a_marker) == {"mlform/ci.py"}
