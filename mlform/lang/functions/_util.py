"""Small helpers shared by the function families: whole numbers, grapheme clusters, sequences."""

from __future__ import annotations

import unicodedata
from decimal import Decimal

from mlform.lang.functions._core import FunctionError
from mlform.lang.types import DYNAMIC, ListType, SetType, TupleType, Type
from mlform.lang.values import UNKNOWN, Value


def whole(v: Value, arg_index: int | None = None, what: str = "") -> int:
    """The integer a number argument holds; an error when it has a fractional part."""
    n = v.v
    if isinstance(n, int):
        return n
    if isinstance(n, Decimal) and n == n.to_integral_value():
        return int(n)
    raise FunctionError(what or "value must be a whole number", arg_index)


def graphemes(s: str) -> list[str]:
    """`s` split into user-perceived characters: a base character with the combining marks,
    variation selectors and zero-width-joined characters that follow it; CR LF stays together."""
    out: list[str] = []
    join_next = False
    for ch in s:
        if out and (
            join_next
            or unicodedata.combining(ch)
            or ch in "\u200d\ufe0e\ufe0f"
            or 0x1F3FB <= ord(ch) <= 0x1F3FF
            or (ch == "\n" and out[-1] == "\r")
            or unicodedata.category(ch) in ("Mn", "Me", "Mc")
        ):
            out[-1] += ch
        else:
            out.append(ch)
        join_next = ch == "\u200d"
    return out


def is_sequence_type(t: Type) -> bool:
    return isinstance(t, ListType | SetType | TupleType)


def elem_type_of(t: Type) -> Type:
    if isinstance(t, ListType | SetType):
        return t.elem
    return DYNAMIC


def known(v: Value) -> bool:
    return v.v is not UNKNOWN
