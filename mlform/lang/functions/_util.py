"""Small helpers shared by the function families: whole numbers, grapheme clusters, sequences."""

from __future__ import annotations

import unicodedata
from decimal import Decimal

from mlform.lang.functions._core import FunctionError
from mlform.lang.types import DYNAMIC, ListType, SetType, TupleType, Type
from mlform.lang.values import UNKNOWN, Value

INT64_MESSAGE = "value must be a whole number, between -9223372036854775808 and 9223372036854775807"


def whole(v: Value, arg_index: int | None = None, prefix: str = "", bounded: bool = True) -> int:
    """The integer a number argument holds, as Terraform reads one into a 64-bit integer (or,
    with `bounded=False`, a big integer); an error in Terraform's words when it cannot be."""
    n = v.v
    if isinstance(n, Decimal) and n == n.to_integral_value():
        n = int(n)
    if isinstance(n, int) and (not bounded or -(2**63) <= n < 2**63):
        return n
    message = INT64_MESSAGE if bounded else "value must be a whole number"
    raise FunctionError(prefix + message, arg_index)


def _regional(ch: str) -> bool:
    return 0x1F1E6 <= ord(ch) <= 0x1F1FF


def graphemes(s: str) -> list[str]:
    """`s` split into user-perceived characters: a base character with the combining marks,
    variation selectors, skin-tone modifiers and zero-width-joined characters that follow it;
    flag emoji (pairs of regional indicators) and CR LF stay together. This covers the text
    configurations hold; it is not the whole of Unicode's segmentation rules."""
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
            or (_regional(ch) and len(out[-1]) == 1 and _regional(out[-1]))
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
