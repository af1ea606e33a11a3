"""Operators on numbers: Terraform's 512-bit binary floats, and equality without conversion."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from mlform.lang.convert import format_number
from mlform.lang.ops import (
    OperationError,
    arithmetic,
    as_float,
    compare,
    equals,
    numbers_equal,
    round512,
    shortest_decimal,
)
from mlform.lang.types import NUMBER, STRING
from mlform.lang.values import number, string, tuple_of, unknown


def test_round512_keeps_512_bits() -> None:
    x = round512(Fraction(1, 3))
    m = x.numerator  # x is m / 2**k
    assert x.denominator & (x.denominator - 1) == 0  # a power of two
    assert m.bit_length() <= 512
    assert abs(x - Fraction(1, 3)) < Fraction(1, 2**512)
    assert round512(Fraction(5)) == 5
    assert round512(x) == x


def test_shortest_decimal_round_trips() -> None:
    for text in ("0.1", "0.3", "123.456", "1e-30"):
        x = as_float(Decimal(text))
        assert shortest_decimal(x) == Decimal(text)


@pytest.mark.parametrize(
    ("a", "op", "b", "text"),
    [
        # The result Terraform gives for `1 - 0.99` (a 512-bit float printed in full).
        (
            "1",
            "-",
            "0.99",
            "0.01000000000000000000000000000000000000000000000000000000000000000000000000000000"
            "0000000000000000000000000000000000000000000000000000000000000000000000000003",
        ),
        ("0.1", "+", "0.2", "0.3"),
        ("0.10", "*", "1.5", "0.15"),
        ("10", "/", "4", "2.5"),
        ("6", "/", "3", "2"),
        ("7", "%", "3", "1"),
        ("-7", "%", "3", "-1"),
        ("7", "%", "-3", "1"),
        ("5.5", "%", "2", "1.5"),
        ("-7.5", "%", "2", "-1.5"),
        ("12345678901234567890", "*", "10", "123456789012345678900"),
    ],
)
def test_arithmetic(a: str, op: str, b: str, text: str) -> None:
    result = arithmetic(op, number(a).v, number(b).v)
    assert format_number(result) == text


def test_division_by_zero_is_an_error() -> None:
    with pytest.raises(OperationError):
        arithmetic("/", 1, 0)
    with pytest.raises(OperationError):
        arithmetic("%", Decimal("1.5"), 0)


def test_numbers_compare_as_their_floats() -> None:
    third = arithmetic("/", 1, 3)
    assert numbers_equal(arithmetic("*", third, 3), 1)
    assert numbers_equal(arithmetic("+", Decimal("0.1"), Decimal("0.2")), Decimal("0.3"))
    assert not numbers_equal(arithmetic("-", 1, Decimal("0.99")), Decimal("0.01"))
    assert compare("<", third, Decimal("0.34"))
    assert compare(">=", 2, Decimal("2.0"))


def test_equality_does_not_convert() -> None:
    assert equals(number(1), string("1")).v is False
    assert equals(tuple_of([number(1)]), tuple_of([number(1)])).v is True
    assert equals(unknown(STRING), string("a")).is_known is False
    assert equals(unknown(STRING), number(1)).v is False
    assert equals(unknown(NUMBER), unknown(NUMBER)).is_known is False
    assert equals(tuple_of([unknown(NUMBER)]), tuple_of([number(1), number(2)])).v is False
