"""The evaluator remembers fractional arithmetic: a remembered result must be exactly what
computing it again gives, whichever equal-valued operands filled the memo first."""

from __future__ import annotations

import itertools
from decimal import Decimal

import pytest

from mlform.lang import eval as E
from mlform.lang.ops import OperationError, arithmetic

# Equal values written differently (2, 2.0, 2.00; 0 and -0) must share memo entries safely.
NUMBERS = [
    0,
    Decimal("0"),
    Decimal("-0"),
    Decimal("0.0"),
    2,
    Decimal("2"),
    Decimal("2.0"),
    Decimal("2.00"),
    -3,
    Decimal("0.1"),
    Decimal("0.10"),
    Decimal("0.2"),
    Decimal("-1.5"),
    Decimal("1e-7"),
    Decimal("123456789.123456789"),
    Decimal("3.3333333333333333333333333333333333333333333333"),
]


def _expected(op: str, a: object, b: object) -> object:
    try:
        return arithmetic(op, a, b)  # type: ignore[arg-type]
    except OperationError as exc:
        return ("error", str(exc))


def _memoised(op: str, a: object, b: object) -> object:
    try:
        return E._arithmetic(op, a, b)
    except OperationError as exc:
        return ("error", str(exc))


@pytest.mark.parametrize("reverse", [False, True])
def test_remembered_results_are_the_computed_ones(reverse: bool) -> None:
    pairs = list(itertools.product(NUMBERS, repeat=2))
    if reverse:
        pairs.reverse()
    E._ARITH_MEMO.clear()
    for op in ("+", "-", "*", "/", "%"):
        for _ in range(2):  # the second pass answers from the memo
            for a, b in pairs:
                got = _memoised(op, a, b)
                want = _expected(op, a, b)
                assert (type(got), str(got)) == (type(want), str(want)), (op, a, b)
    assert E._ARITH_MEMO
