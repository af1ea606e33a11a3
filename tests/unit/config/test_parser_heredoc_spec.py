"""Heredocs as HCL's own specification suite expects them (specsuite/tests/expressions)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlform.config.parser import parse_file
from mlform.lang import ast

SPEC = Path(__file__).parents[2] / "testdata" / "parser" / "hcl_spec_heredoc.hcl"
VARS = {"bar": "Bar", "space_bar": "  Bar"}

EXPECTED = {
    "normal": {
        "basic": "Foo\nBar\nBaz\n",
        "indented": "    Foo\n    Bar\n    Baz\n",
        "indented_more": "    Foo\n      Bar\n    Baz\n",
        "interp": "    Foo\n    Bar\n    Baz\n",
        "newlines_between": "Foo\n\nBar\n\nBaz\n",
        "indented_newlines_between": "    Foo\n\n    Bar\n\n    Baz\n",
        "marker_at_suffix": "    NOT EOT\n",
    },
    "flush": {
        "basic": "Foo\nBar\nBaz\n",
        "indented": "Foo\nBar\nBaz\n",
        "indented_more": "Foo\n  Bar\nBaz\n",
        "indented_less": "  Foo\nBar\n  Baz\n",
        "interp": "Foo\nBar\nBaz\n",
        "interp_indented_more": "Foo\n  Bar\nBaz\n",
        "interp_indented_less": "  Foo\n  Bar\n  Baz\n",
        "tabs": "Foo\n Bar\n Baz\n",
        "newlines_between": "Foo\n\nBar\n\nBaz\n",
        "indented_newlines_between": "Foo\n\nBar\n\nBaz\n",
    },
}


def render(e: ast.Expr) -> str:
    """The string a heredoc makes, with interpolations of the names in VARS."""
    if isinstance(e, ast.Literal):
        return str(e.value.v)
    assert isinstance(e, ast.Template)
    out = ""
    for p in e.parts:
        if isinstance(p, ast.TemplateLiteral):
            out += p.text
        else:
            assert isinstance(p, ast.TemplateInterp) and isinstance(p.expr, ast.ScopeTraversal)
            out += VARS[p.expr.root]
    return out


@pytest.mark.parametrize(
    "group, name",
    [(g, n) for g, cases in EXPECTED.items() for n in cases],
)
def test_heredoc_spec(group: str, name: str) -> None:
    f, diags = parse_file(SPEC)
    assert diags == []
    obj = f.body.attributes[group].expr
    assert isinstance(obj, ast.ObjectCons)
    items = {i.key.value.v: i.value for i in obj.items}  # type: ignore[attr-defined]
    assert render(items[name]) == EXPECTED[group][name]
