"""Type constraint expressions (`type = ...` of a variable) read into types."""

from __future__ import annotations

import pytest

from mlform.config.parser import parse_expression
from mlform.lang.convert import convert
from mlform.lang.typeexpr import type_from_expr
from mlform.lang.types import (
    BOOL,
    DYNAMIC,
    NUMBER,
    STRING,
    ListType,
    MapType,
    ObjectType,
    SetType,
    TupleType,
)
from mlform.lang.values import number, object_of, string


def parse_type(src: str):
    expr, diags = parse_expression(src, "t.mlf.hcl")
    assert expr is not None and not diags
    return type_from_expr(expr)


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        ("string", STRING),
        ("number", NUMBER),
        ("bool", BOOL),
        ("any", DYNAMIC),
        ("list(string)", ListType(STRING)),
        ("set(any)", SetType(DYNAMIC)),
        ("map(list(number))", MapType(ListType(NUMBER))),
        ("tuple([string, number])", TupleType((STRING, NUMBER))),
        ("tuple([])", TupleType(())),
        ("object({})", ObjectType.of({})),
        (
            "object({a = number, b = list(string)})",
            ObjectType.of({"a": NUMBER, "b": ListType(STRING)}),
        ),
        ("object({a = optional(string)})", ObjectType.of({"a": STRING}, optional=["a"])),
        ("(string)", STRING),
        ("list", ListType(DYNAMIC)),
        ("map", MapType(DYNAMIC)),
        ("list(list(string))", ListType(ListType(STRING))),
    ],
)
def test_type_constraints(src: str, expected) -> None:
    t, diags = parse_type(src)
    assert not diags
    assert t == expected


def test_optional_with_default() -> None:
    t, diags = parse_type(
        'map(object({a = number, b = optional(string, "x"), c = optional(number, 2)}))'
    )
    assert not diags
    inner = t.elem
    assert inner.optional == frozenset({"b", "c"})
    assert inner.default_for("b") == string("x")
    assert inner.default_for("c") == number(2)
    got = convert(object_of({"k": object_of({"a": number(1)})}), t)
    assert got.v["k"] == object_of({"a": number(1), "b": string("x"), "c": number(2)})


def test_default_is_converted_to_the_attribute_type() -> None:
    t, diags = parse_type("object({n = optional(string, 5)})")
    assert not diags
    assert t.default_for("n") == string("5")


@pytest.mark.parametrize(
    ("src", "detail"),
    [
        ("strng", 'The keyword "strng" is not a valid type specification.'),
        ("set", "The set type constructor requires one argument specifying the element type."),
        ("list(string, number)", None),
        (
            "optional(string)",
            'Keyword "optional" is valid only as a modifier for object type attributes.',
        ),
        ("lists(string)", 'Keyword "lists" is not a valid type constructor.'),
        ("tuple(string)", "The tuple type constructor requires a list of element types."),
        ("object([string])", None),
        ('object({a = optional(number, "x")})', None),
        ("var.x", None),
    ],
)
def test_invalid_type_constraints(src: str, detail: str | None) -> None:
    t, diags = parse_type(src)
    assert t is DYNAMIC
    assert diags and diags[0].is_error
    assert diags[0].summary in (
        "Invalid type specification",
        "Invalid default value for optional attribute",
    )
    assert diags[0].subject is not None
    if detail is not None:
        assert diags[0].detail == detail


@pytest.mark.parametrize(
    ("src", "summary"),
    [
        ('"string"', "Invalid quoted type constraints"),
        ('"list"', "Invalid quoted type constraints"),
        ('"list(string)"', "Invalid legacy variable type hint"),
        ("set", "Invalid type specification"),
        ("list(list)", "Invalid type specification"),
    ],
)
def test_legacy_type_forms(src: str, summary: str) -> None:
    t, diags = parse_type(src)
    assert t is DYNAMIC
    assert [d.summary for d in diags] == [summary]
