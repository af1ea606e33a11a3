"""docs/functions.md is what the registry renders, and every documented example gives the result
the documentation shows."""

from __future__ import annotations

from pathlib import Path

import pytest
from fnhelp import scope

from mlform.config.parser import parse_expression
from mlform.lang.eval import evaluate
from mlform.lang.functions import FAMILIES, FUNCTIONS, is_type_value, type_string
from mlform.lang.functions.docs import render_markdown
from mlform.lang.values import Value, object_of, string

DOCS = Path(__file__).resolve().parents[4] / "docs" / "functions.md"

# Results that change on every call, or that the console shows by a placeholder.
NOT_REPRODUCIBLE = {"timestamp", "plantimestamp", "uuid", "bcrypt"}


def test_committed_docs_are_generated() -> None:
    assert DOCS.read_text(encoding="utf-8") == render_markdown(), (
        "docs/functions.md is stale: run `python -m mlform.lang.functions.docs > docs/functions.md`"
    )


def test_every_family_is_documented_and_every_function_has_text() -> None:
    text = render_markdown()
    for title in FAMILIES.values():
        assert f"## {title}" in text
    for name, f in FUNCTIONS.items():
        assert f.description, name
        assert f.examples, name
        assert f"### `{name}`" in text
    assert "### `try(expressions...)`" in text and "### `can(expression)`" in text


def _eval(src: str) -> Value:
    ctx = scope()
    ctx.variables["local"] = object_of({"greeting": string("Hello, ${name}!")})
    expr, diags = parse_expression(src)
    assert expr is not None and not diags, (src, diags)
    value, diags = evaluate(expr, ctx)
    assert not diags, (src, [f"{d.summary}: {d.detail}" for d in diags])
    return value


EXAMPLES = [
    (name, expr, result)
    for name, f in sorted(FUNCTIONS.items())
    for expr, result in f.examples
    if name not in NOT_REPRODUCIBLE
]


@pytest.mark.parametrize(("name", "expr", "result"), EXAMPLES)
def test_documented_examples(name: str, expr: str, result: str) -> None:
    got = _eval(expr)
    if result == "(sensitive value)":
        assert got.is_sensitive
    elif is_type_value(got):
        assert type_string(got.v) == result
    else:
        want = _eval(result)
        assert got.to_python() == want.to_python(), (expr, got, want)
