"""Edges where mlform's parser must accept or reject exactly what Terraform's does: blanks after
a heredoc's closing marker, combining marks in identifiers, and commas between the items of an
object constructor."""

from __future__ import annotations

import pytest

from mlform.config.lexer import IDENT, is_identifier, tokenize
from mlform.config.parser import parse_file
from mlform.lang.eval import EvalContext, evaluate


def value_of(text: str, name: str = "a") -> object:
    f, diags = parse_file("t.mlf.hcl", text)
    assert not diags, [(d.summary, d.detail) for d in diags]
    assert f is not None
    value, vdiags = evaluate(f.body.attributes[name].expr, EvalContext({}))
    assert not vdiags
    return value.v


def errors(text: str) -> list[tuple[str, int, int]]:
    _, diags = parse_file("t.mlf.hcl", text)
    return [(d.summary, d.subject.start.line, d.subject.start.column) for d in diags if d.subject]


# -- heredoc closing marker followed by blanks ---------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "a = <<EOT\nhello\nEOT  \n",
        "a = <<EOT\nhello\nEOT\t\n",
        "a = <<EOT\nhello\nEOT \t \r\n",
        "a = <<EOT\nhello\nEOT  ",  # at the end of the file
    ],
)
def test_blanks_after_the_closing_marker(text: str) -> None:
    assert value_of(text) == "hello\n"


def test_blanks_after_an_indented_closing_marker_and_what_follows() -> None:
    text = "a = <<-EOT\n    hello\n    EOT   \nb = 2\n"
    assert value_of(text) == "hello\n"
    assert value_of(text, "b") == 2


def test_text_after_the_marker_still_is_not_a_closing_line() -> None:
    # "EOT x" is a line of the heredoc, so the heredoc runs on to the real marker.
    assert value_of("a = <<EOT\nEOT x\nEOT\n") == "EOT x\n"
    assert errors("a = <<EOT\nhello\nEOT x\n") == [("Unterminated template string", 1, 5)]


# -- combining marks in identifiers --------------------------------------------------------------


def test_combining_mark_in_an_attribute_name() -> None:
    name = "ne\u0301e"  # "née" with a combining acute accent
    f, diags = parse_file("t.mlf.hcl", f"{name} = 1\nb = 2\n")
    assert not diags
    assert f is not None
    assert list(f.body.attributes) == [name, "b"]


def test_combining_marks_in_references_and_object_keys() -> None:
    text = "a = { cafe\u0301 = 1, x\u0308y = 2 }\n"
    obj = value_of(text)
    assert isinstance(obj, dict)
    assert {k: v.v for k, v in obj.items()} == {"cafe\u0301": 1, "x\u0308y": 2}
    f, diags = parse_file("t.mlf.hcl", "a = var.nai\u0308ve-x.b\n")
    assert not diags
    toks = tokenize("var.nai\u0308ve-x.b")
    idents = [
        toks.text[s:e]
        for k, s, e in zip(toks.kinds, toks.starts, toks.ends, strict=True)
        if k == IDENT
    ]
    assert idents == ["var", "nai\u0308ve-x", "b"]


def test_is_identifier_follows_unicode_identifier_rules() -> None:
    assert is_identifier("ne\u0301e")
    assert is_identifier("a\u0301-b")
    assert not is_identifier("\u0301a")  # a combining mark cannot start a name
    assert not is_identifier("1a")
    assert not is_identifier("a b")


def test_other_invalid_characters_are_still_reported() -> None:
    assert errors("a = 1 \u00a7 2\n")[0][0] == "Invalid character"


# -- commas in object constructors ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ("a = { b = 1\n, c = 2 }\n", 2, 1),
        ("a = { , b = 1 }\n", 1, 7),
        ("a = { b = 1,, c = 2 }\n", 1, 13),
        ("a = {\n  b = 1\n  ,\n}\n", 3, 3),
    ],
)
def test_a_comma_that_does_not_follow_an_item_is_an_error(
    text: str, line: int, column: int
) -> None:
    assert errors(text) == [("Invalid expression", line, column)]


@pytest.mark.parametrize(
    "text",
    [
        "a = { b = 1, c = 2 }\n",
        "a = { b = 1, c = 2, }\n",
        "a = {\n  b = 1,\n  c = 2,\n}\n",
        "a = {\n  b = 1\n  c = 2\n}\n",
        "a = {\n\n  b = 1,\n\n  c = 2\n\n}\n",
    ],
)
def test_commas_and_newlines_after_items_are_accepted(text: str) -> None:
    assert set(value_of(text)) == {"b", "c"}  # type: ignore[arg-type]
