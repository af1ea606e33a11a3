"""Numeric functions: abs, ceil, floor, log, max, min, parseint, pow, signum.

Numbers stay exact (int or Decimal) except in `log` and `pow`, which Terraform computes with
64-bit floats too.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from typing import Any

from mlform.lang.functions._core import FunctionContext, FunctionError, Param, register
from mlform.lang.functions._util import whole
from mlform.lang.types import DYNAMIC, NUMBER, STRING, Type
from mlform.lang.values import SENSITIVE, Value, number

N = Param("num", NUMBER)


@register(
    "abs",
    "numeric",
    [N],
    NUMBER,
    description="Returns the absolute value of the given number.",
    examples=[("abs(23)", "23"), ("abs(0)", "0"), ("abs(-12.4)", "12.4")],
)
def _abs(args: list[Value], fctx: FunctionContext) -> Value:
    n = args[0].v
    # copy_abs, not abs(): Decimal arithmetic would round to the default 28 digits.
    return number(n.copy_abs() if isinstance(n, Decimal) else abs(n))


@register(
    "ceil",
    "numeric",
    [N],
    NUMBER,
    description="Returns the closest whole number that is greater than or equal to the given value.",
    examples=[("ceil(5)", "5"), ("ceil(5.1)", "6")],
)
def _ceil(args: list[Value], fctx: FunctionContext) -> Value:
    n = args[0].v
    return number(n if isinstance(n, int) else int(n.to_integral_value(ROUND_CEILING)))


@register(
    "floor",
    "numeric",
    [N],
    NUMBER,
    description="Returns the closest whole number that is less than or equal to the given value.",
    examples=[("floor(5)", "5"), ("floor(4.9)", "4"), ("floor(-1.5)", "-2")],
)
def _floor(args: list[Value], fctx: FunctionContext) -> Value:
    n = args[0].v
    return number(n if isinstance(n, int) else int(n.to_integral_value(ROUND_FLOOR)))


def _float(n: int | Decimal) -> float:
    try:
        return float(n)
    except OverflowError:
        return math.inf if n > 0 else -math.inf


def _from_float(f: float) -> Value:
    if math.isnan(f) or math.isinf(f):
        raise FunctionError("the result is not a finite number")
    if f == int(f) and abs(f) < 2**63:
        return number(int(f))
    return number(f)


@register(
    "log",
    "numeric",
    [N, Param("base", NUMBER)],
    NUMBER,
    description="Returns the logarithm of a given number in a given base (computed in floating "
    "point, as Terraform does).",
    examples=[("log(50, 10)", "1.6989700043360185"), ("log(16, 2)", "4"), ("log(1, 10)", "0")],
)
def _log(args: list[Value], fctx: FunctionContext) -> Value:
    x, base = _float(args[0].v), _float(args[1].v)
    try:
        num = math.log(x) if x > 0 else (-math.inf if x == 0 else math.nan)
        den = math.log(base) if base > 0 else (-math.inf if base == 0 else math.nan)
        return _from_float(num / den)
    except ZeroDivisionError:
        raise FunctionError("the result is not a finite number") from None


@register(
    "pow",
    "numeric",
    [N, Param("power", NUMBER)],
    NUMBER,
    description="Calculates an exponent, by raising its first argument to the power of the "
    "second (in floating point, as Terraform does).",
    examples=[("pow(3, 2)", "9"), ("pow(4, 0)", "1"), ("pow(2, -1)", "0.5")],
)
def _pow(args: list[Value], fctx: FunctionContext) -> Value:
    try:
        return _from_float(math.pow(_float(args[0].v), _float(args[1].v)))
    except (OverflowError, ValueError):
        raise FunctionError("the result is not a finite number") from None


@register(
    "signum",
    "numeric",
    [N],
    NUMBER,
    description="Determines the sign of a number, returning -1, 0 or 1.",
    examples=[("signum(-13)", "-1"), ("signum(0)", "0"), ("signum(344)", "1")],
    notes=["As in Terraform, the number must be whole: `signum(0.5)` is an error."],
)
def _signum(args: list[Value], fctx: FunctionContext) -> Value:
    # Terraform reads the number into a 64-bit integer first, so a fraction is an error.
    n = args[0].v
    if not isinstance(n, int) or not -(2**63) <= n < 2**63:
        raise FunctionError(
            "value must be a whole number, between -9223372036854775808 and 9223372036854775807"
        )
    return number((n > 0) - (n < 0))


def _extreme(args: list[Value], pick: Callable[[Iterable[Any]], Any]) -> Value:
    if not args:
        raise FunctionError("must pass at least one number")
    return number(pick(a.v for a in args))


@register(
    "max",
    "numeric",
    [],
    NUMBER,
    variadic=Param("numbers", NUMBER),
    description="Takes one or more numbers and returns the greatest number from the set.",
    examples=[("max(12, 54, 3)", "54"), ("max([12, 54, 3]...)", "54")],
    notes=["At least one number is required."],
)
def _max(args: list[Value], fctx: FunctionContext) -> Value:
    return _extreme(args, max)


@register(
    "min",
    "numeric",
    [],
    NUMBER,
    variadic=Param("numbers", NUMBER),
    description="Takes one or more numbers and returns the smallest number from the set.",
    examples=[("min(12, 54, 3)", "3"), ("min([12, 54, 3]...)", "3")],
    notes=["At least one number is required."],
)
def _min(args: list[Value], fctx: FunctionContext) -> Value:
    return _extreme(args, min)


_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _parseint_type(args: list[Value]) -> Type:
    if args[0].type != STRING:
        raise FunctionError(f"first argument must be a string, not {args[0].type.friendly()}", 0)
    return NUMBER


@register(
    "parseint",
    "numeric",
    [Param("number", DYNAMIC, allow_marked=True), Param("base", NUMBER, allow_marked=True)],
    _parseint_type,
    description="Parses the given string as a representation of an integer in the specified "
    "base and returns the resulting number. The base must be between 2 and 62 inclusive.",
    examples=[
        ('parseint("100", 10)', "100"),
        ('parseint("FF", 16)', "255"),
        ('parseint("-10", 16)', "-16"),
        ('parseint("1011111011101111", 2)', "48879"),
        ('parseint("aA", 62)', "656"),
    ],
    notes=[
        "For bases up to 36 letters are case-insensitive; above 36, lowercase letters are "
        "10 to 35 and uppercase letters 36 to 61.",
        "A string that is not an integer in that base is an error, and so is a number: the "
        "first argument must be a string.",
    ],
)
def _parseint(args: list[Value], fctx: FunctionContext) -> Value:
    num_arg, num_marks = args[0].unmark_deep()
    base_arg, base_marks = args[1].unmark_deep()
    marks = num_marks | base_marks
    text = num_arg.v
    base = whole(base_arg, 1)
    if base < 2 or base > 62:
        raise FunctionError("base must be a whole number between 2 and 62 inclusive", 1)
    shown_num = "(sensitive value)" if SENSITIVE in num_marks else _go_quote(text)
    shown_base = "(sensitive value)" if SENSITIVE in base_marks else str(base)
    failed = FunctionError(f"cannot parse {shown_num} as a base {shown_base} integer", 0)
    s = text
    sign = 1
    if s[:1] in ("+", "-"):
        sign = -1 if s[0] == "-" else 1
        s = s[1:]
    if not s:
        raise failed
    total = 0
    for ch in s:
        d = _DIGITS.find(ch.lower() if base <= 36 else ch)
        if d < 0 or d >= base:
            raise failed
        total = total * base + d
    return number(sign * total).with_marks(marks)


def _go_quote(s: str) -> str:
    import json

    return json.dumps(s, ensure_ascii=False)
