"""The operators of the expression language on known, unmarked operands of the right type.

Arithmetic is exact: integers stay Python ints, other numbers are Decimals in
`values.NUMBER_CONTEXT`, so `0.1 + 0.2 == 0.3` holds as it does in Terraform. `%` keeps the sign
of the dividend, as Terraform's does. Equality (`==`, `!=`) compares types and values without
converting (`1 == "1"` is false) and is unknown when an unknown part could decide it.

Errors are `OperationError`s; the evaluator turns them into diagnostics with the operator's range.
"""

from __future__ import annotations

import decimal
from decimal import Decimal
from fractions import Fraction

from mlform.lang.types import BOOL, DYNAMIC, NUMBER, ListType, MapType, SetType, Type
from mlform.lang.values import (
    FALSE,
    INT_BITS,
    NUMBER_CONTEXT,
    TRUE,
    UNKNOWN,
    Number,
    NumberRangeError,
    Value,
    normalize_number,
    unknown,
)

__all__ = [
    "OperationError",
    "arithmetic",
    "as_float",
    "compare",
    "equals",
    "numbers_equal",
    "round512",
    "shortest_decimal",
]


class OperationError(Exception):
    """An operation that cannot be done on its (well-typed) operands: division by zero."""


# --- numbers as Terraform computes them -------------------------------------------------------------
#
# Terraform's numbers are binary floats with a 512-bit mantissa: a literal is rounded to one, and
# so is every result. Most results are then exactly the decimal one expects (`0.1 + 0.2` prints
# 0.3), but not all: `1 - 0.99` is 0.0100…0003 (155 digits). mlform computes each operation on the
# 512-bit values, rounds the result the same way, and stores the shortest decimal that rounds to
# that float: the very text Terraform prints, and an exact input for the next operation.

FLOAT_BITS = 512
# A decimal with no more significant digits than this is already the shortest text of the
# 512-bit float nearest to it (512 bits hold about 154 decimal digits).
SHORT_DIGITS = 150
_WIDE = decimal.Context(prec=2000, Emax=999999, Emin=-999999)


def round512(x: Fraction) -> Fraction:
    """The 512-bit binary float nearest to `x` (ties to even), as an exact fraction."""
    if x == 0:
        return x
    neg = x < 0
    x = -x if neg else x
    num, den = x.numerator, x.denominator
    e = num.bit_length() - den.bit_length() - FLOAT_BITS
    while True:
        if e >= 0:
            q, r = divmod(num, den << e)
            twice, d2 = 2 * r, den << e
        else:
            q, r = divmod(num << -e, den)
            twice, d2 = 2 * r, den
        if twice > d2 or (twice == d2 and q & 1):
            q += 1
        if q >= 1 << FLOAT_BITS:
            e += 1
        elif q < 1 << (FLOAT_BITS - 1):
            e -= 1
        else:
            break
    out = Fraction(q << e) if e >= 0 else Fraction(q, 1 << -e)
    return -out if neg else out


def as_float(n: Number) -> Fraction:
    """A number as the 512-bit float Terraform holds for it."""
    if isinstance(n, int) and n.bit_length() <= FLOAT_BITS:
        return Fraction(n)
    return round512(Fraction(n))


def shortest_decimal(x: Fraction) -> Decimal:
    """The shortest decimal that rounds to the 512-bit float `x`."""
    if x.denominator == 1 and x.numerator.bit_length() <= FLOAT_BITS:
        return Decimal(x.numerator)
    num, den = Decimal(x.numerator), Decimal(x.denominator)
    # Rounding x to more digits only brings it closer, so the digit count can be bisected.
    lo, hi = 1, 200
    while lo < hi:
        mid = (lo + hi) // 2
        d = decimal.Context(prec=mid, Emax=999999, Emin=-999999).divide(num, den)
        if round512(Fraction(d)) == x:
            hi = mid
        else:
            lo = mid + 1
    return decimal.Context(prec=lo, Emax=999999, Emin=-999999).divide(num, den)


def _number(exact: Decimal | None, x: Fraction) -> Number:
    """The stored form of the 512-bit result `x`; `exact` is the decimal result of the same
    operation on the written decimals, used when it names that same float."""
    if x.denominator == 1:
        return normalize_number(x.numerator)
    if exact is not None and exact.is_finite():
        exact = exact.normalize(_WIDE)
        if len(exact.as_tuple().digits) <= SHORT_DIGITS and round512(Fraction(exact)) == x:
            return normalize_number(exact)
    return normalize_number(shortest_decimal(x))


def _dec(n: Number) -> Decimal:
    return n if isinstance(n, Decimal) else Decimal(n)


def arithmetic(op: str, a: Number, b: Number) -> Number:
    """`a op b` for op in + - * / %, as Terraform computes it. A result out of mlform's range of
    numbers (`mlform.lang.limits.MAX_EXPONENT`) is an `OperationError`."""
    try:
        n = _arithmetic(op, a, b)
    except NumberRangeError as e:
        raise OperationError(str(e)) from None
    if type(n) is int and n.bit_length() > INT_BITS:
        try:
            return normalize_number(n)
        except NumberRangeError as e:
            raise OperationError(str(e)) from None
    return n


def _arithmetic(op: str, a: Number, b: Number) -> Number:
    ints = isinstance(a, int) and isinstance(b, int)
    if op == "+":
        if ints:
            return a + b
        return _number(_WIDE.add(_dec(a), _dec(b)), round512(as_float(a) + as_float(b)))
    if op == "-":
        if ints:
            return a - b
        return _number(_WIDE.subtract(_dec(a), _dec(b)), round512(as_float(a) - as_float(b)))
    if op == "*":
        if ints:
            return a * b
        return _number(_WIDE.multiply(_dec(a), _dec(b)), round512(as_float(a) * as_float(b)))
    if op == "/":
        if b == 0:
            raise OperationError("can't divide by zero")
        if ints and a % b == 0:
            return a // b
        exact = NUMBER_CONTEXT.divide(_dec(a), _dec(b))
        return _number(exact, round512(as_float(a) / as_float(b)))
    if op == "%":
        if b == 0:
            raise OperationError("can't use modulo with zero")
        if ints:
            # Truncated division: the remainder has the sign of the dividend.
            q = abs(a) // abs(b)  # type: ignore[operator]  # both ints here (`ints`)
            if (a < 0) != (b < 0):
                q = -q
            return a - b * q
        fa, fb = as_float(a), as_float(b)
        ratio = round512(fa / fb)
        whole = int(ratio)  # toward zero, as big.Float.Int does
        r = round512(fa - round512(fb * whole))
        try:
            exact: Decimal | None = _WIDE.remainder(_dec(a), _dec(b))
        except decimal.InvalidOperation:  # the quotient has more digits than _WIDE holds
            exact = None
        return _number(exact, r)
    raise ValueError(f"not an arithmetic operator: {op}")


def compare(op: str, a: Number, b: Number) -> bool:
    if _long(a) or _long(b):
        a, b = as_float(a), as_float(b)  # type: ignore[assignment]
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


def _long(n: Number) -> bool:
    return isinstance(n, Decimal) and len(n.as_tuple().digits) > SHORT_DIGITS


def numbers_equal(a: Number, b: Number) -> bool:
    """Whether two numbers are the same 512-bit float, as Terraform compares them."""
    if a == b:
        return True
    if _long(a) or _long(b):
        return as_float(a) == as_float(b)
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
        if a.type is NUMBER:
            return numbers_equal(a.v, b.v)
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
