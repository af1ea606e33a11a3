"""The operators of the expression language on known, unmarked operands of the right type.

Arithmetic is exact: integers stay Python ints, other numbers are Decimals in
`values.NUMBER_CONTEXT`, so `0.1 + 0.2 == 0.3` holds as it does in Terraform. `%` keeps the sign
of the dividend, as Terraform's does. Equality (`==`, `!=`) compares types and values without
converting (`1 == "1"` is false) and is unknown when an unknown part could decide it.

Errors are `OperationError`s; the evaluator turns them into diagnostics with the operator's range.
"""

from __future__ import annotations

from decimal import Decimal

from mlform.lang.types import BOOL, DYNAMIC, ListType, MapType, SetType, Type
from mlform.lang.values import (
    FALSE,
    NUMBER_CONTEXT,
    TRUE,
    UNKNOWN,
    Number,
    Value,
    normalize_number,
    unknown,
)

__all__ = ["OperationError", "arithmetic", "compare", "equals"]


class OperationError(Exception):
    """An operation that cannot be done on its (well-typed) operands: division by zero."""


def _dec(n: Number) -> Decimal:
    return n if isinstance(n, Decimal) else Decimal(n)


def arithmetic(op: str, a: Number, b: Number) -> Number:
    """`a op b` for op in + - * / %."""
    if op == "+":
        if isinstance(a, int) and isinstance(b, int):
            return a + b
        return normalize_number(NUMBER_CONTEXT.add(_dec(a), _dec(b)))
    if op == "-":
        if isinstance(a, int) and isinstance(b, int):
            return a - b
        return normalize_number(NUMBER_CONTEXT.subtract(_dec(a), _dec(b)))
    if op == "*":
        if isinstance(a, int) and isinstance(b, int):
            return a * b
        return normalize_number(NUMBER_CONTEXT.multiply(_dec(a), _dec(b)))
    if op == "/":
        if b == 0:
            raise OperationError("can't divide by zero")
        if isinstance(a, int) and isinstance(b, int) and a % b == 0:
            return a // b
        return normalize_number(NUMBER_CONTEXT.divide(_dec(a), _dec(b)))
    if op == "%":
        if b == 0:
            raise OperationError("can't use modulo with zero")
        if isinstance(a, int) and isinstance(b, int):
            # Truncated division: the remainder has the sign of the dividend.
            q = abs(a) // abs(b)
            if (a < 0) != (b < 0):
                q = -q
            return a - b * q
        return normalize_number(NUMBER_CONTEXT.remainder(_dec(a), _dec(b)))
    raise ValueError(f"not an arithmetic operator: {op}")


def compare(op: str, a: Number, b: Number) -> bool:
    if op == "<":
        return a < b
    if op == ">":
        return a > b
    if op == "<=":
        return a <= b
    if op == ">=":
        return a >= b
    raise ValueError(f"not a comparison operator: {op}")


# --- equality --------------------------------------------------------------------------------------


def equals(a: Value, b: Value) -> Value:
    """`a == b` as Terraform decides it: a bool, or an unknown bool. Marks are the caller's."""
    a_known, b_known = a.v is not UNKNOWN, b.v is not UNKNOWN
    if not a_known and not b_known:
        return unknown(BOOL)
    if a_known != b_known:
        known, other = (a, b) if a_known else (b, a)
        if known.v is None or other.type.has_dynamic():
            return unknown(BOOL)
        if known.type != other.type:
            return FALSE
        return unknown(BOOL)
    if a.v is None and b.v is None:
        return TRUE
    if a.v is None or b.v is None:
        return FALSE
    if not _types_may_match(a.type, b.type):
        return FALSE
    result = _deep_equal(a, b)
    if result is None:
        return unknown(BOOL)
    return TRUE if result else FALSE


def _types_may_match(a: Type, b: Type) -> bool:
    if a == b:
        return True
    if a is DYNAMIC or b is DYNAMIC:
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, ListType | SetType | MapType):
        return _types_may_match(a.elem, b.elem)  # type: ignore[attr-defined]
    if a.is_tuple():
        return len(a.elems) == len(b.elems) and all(  # type: ignore[attr-defined]
            _types_may_match(x, y)
            for x, y in zip(a.elems, b.elems, strict=True)  # type: ignore[attr-defined]
        )
    if a.is_object():
        ai, bi = a.attrs, b.attrs  # type: ignore[attr-defined]
        return ai.keys() == bi.keys() and all(_types_may_match(ai[k], bi[k]) for k in ai)
    return False


def _deep_equal(a: Value, b: Value) -> bool | None:
    """True/False, or None when unknown parts leave the answer open."""
    if a.v is UNKNOWN or b.v is UNKNOWN:
        return None
    if a.v is None or b.v is None:
        return a.v is None and b.v is None
    if a.type.is_primitive() or b.type.is_primitive():
        if a.type != b.type:
            return False
        return a.v == b.v
    if type(a.type) is not type(b.type):
        return False
    if isinstance(a.v, tuple):
        if len(a.v) != len(b.v):
            return False
        if a.type.is_set():
            return _set_equal(a.v, b.v)
        undecided = False
        for x, y in zip(a.v, b.v, strict=True):
            r = _deep_equal(x, y)
            if r is False:
                return False
            if r is None:
                undecided = True
        return None if undecided else True
    if isinstance(a.v, dict):
        if a.v.keys() != b.v.keys():
            return False
        undecided = False
        for k, x in a.v.items():
            r = _deep_equal(x, b.v[k])
            if r is False:
                return False
            if r is None:
                undecided = True
        return None if undecided else True
    return bool(a.v == b.v)


def _set_equal(xs: tuple[Value, ...], ys: tuple[Value, ...]) -> bool | None:
    if any(not x.is_wholly_known() for x in xs) or any(not y.is_wholly_known() for y in ys):
        return None
    for x in xs:
        if not any(_deep_equal(x, y) for y in ys):
            return False
    return True
