"""Numeric functions, with Terraform's results and errors."""

from __future__ import annotations

import pytest
from fnhelp import err, ev, same


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        ("abs(23)", "23"),
        ("abs(0)", "0"),
        ("abs(-12.4)", "12.4"),
        ('abs("-3")', "3"),
        ("ceil(5)", "5"),
        ("ceil(5.1)", "6"),
        ("ceil(-5.1)", "-5"),
        ("floor(4.9)", "4"),
        ("floor(-1.5)", "-2"),
        ("floor(5)", "5"),
        ("log(50, 10)", "1.6989700043360185"),
        ("log(16, 2)", "4"),
        ("log(1, 10)", "0"),
        ("pow(3, 2)", "9"),
        ("pow(4, 0)", "1"),
        ("pow(2, -1)", "0.5"),
        ("pow(2, 0.5)", "1.4142135623730951"),
        ("signum(-13)", "-1"),
        ("signum(0)", "0"),
        ("signum(344)", "1"),
        ("max(12, 54, 3)", "54"),
        ("max([12, 54, 3]...)", "54"),
        ("max(1.5, 1.25)", "1.5"),
        ("min(12, 54, 3)", "3"),
        ('min("4", 5)', "4"),
        ('parseint("100", 10)', "100"),
        ('parseint("FF", 16)', "255"),
        ('parseint("ff", 16)', "255"),
        ('parseint("-10", 16)', "-16"),
        ('parseint("+7", 8)', "7"),
        ('parseint("1011111011101111", 2)', "48879"),
        ('parseint("aA", 62)', "656"),
        ('parseint("zz", 36)', "1295"),
        ('parseint("12345678901234567890123", 10)', "12345678901234567890123"),
    ],
)
def test_numeric(src: str, expected: str) -> None:
    same(src, expected)


def test_no_digits_are_lost_to_decimal_defaults() -> None:
    # Python's Decimal operators round to 28 digits; the functions must not.
    assert ev("abs(-1/3) == 1/3").v is True
    assert str(ev("sum([0.1234567890123456789012345678901, 1])").v) == (
        "1.1234567890123456789012345678901"
    )
    assert len(ev('format("%v", 1/3)').v) > 100
    assert ev("range(0, 0.3000000000000000000000000000001, 0.1)").length() == 4


def test_numbers_stay_exact() -> None:
    assert str(ev("abs(-0.1) + 0.2").v) == "0.3"
    assert str(ev("max(0.1, 0.25)").v) == "0.25"
    assert str(ev("sum([0.1, 0.2])").v) == "0.3"
    assert ev("ceil(12345678901234567890.5)").v == 12345678901234567891


@pytest.mark.parametrize(
    ("src", "summary", "detail"),
    [
        (
            "max()",
            "Error in function call",
            'Call to function "max" failed: must pass at least one number.',
        ),
        (
            'abs("x")',
            "Invalid function argument",
            'Invalid value for "num" parameter: a number is required.',
        ),
        (
            "abs(null)",
            "Invalid function argument",
            'Invalid value for "num" parameter: argument must not be null.',
        ),
        (
            "abs()",
            "Not enough function arguments",
            'Function "abs" expects 1 argument(s). Missing value for "num".',
        ),
        ("abs(1, 2)", "Too many function arguments", 'Function "abs" expects only 1 argument(s).'),
        (
            'parseint("12", 1)',
            "Invalid function argument",
            'Invalid value for "base" parameter: base must be a whole number between 2 and 62 '
            "inclusive.",
        ),
        (
            'parseint("12", 63)',
            "Invalid function argument",
            'Invalid value for "base" parameter: base must be a whole number between 2 and 62 '
            "inclusive.",
        ),
        (
            'parseint("xx", 10)',
            "Invalid function argument",
            'Invalid value for "number" parameter: cannot parse "xx" as a base 10 integer.',
        ),
        (
            'parseint("2", 2)',
            "Invalid function argument",
            'Invalid value for "number" parameter: cannot parse "2" as a base 2 integer.',
        ),
        (
            'parseint("", 10)',
            "Invalid function argument",
            'Invalid value for "number" parameter: cannot parse "" as a base 10 integer.',
        ),
    ],
)
def test_numeric_errors(src: str, summary: str, detail: str) -> None:
    d = err(src)
    assert (d.summary, d.detail) == (summary, detail)


def test_signum_wants_a_whole_number() -> None:
    d = err("signum(-0.5)")
    assert d.detail == (
        'Call to function "signum" failed: value must be a whole number, between '
        "-9223372036854775808 and 9223372036854775807."
    )


def test_parseint_wants_a_string() -> None:
    d = err("parseint(10, 10)")
    assert (
        d.detail
        == 'Invalid value for "number" parameter: first argument must be a string, not number.'
    )
    d = err('parseint(sensitive("zz"), 10)')
    assert d.detail.endswith("cannot parse (sensitive value) as a base 10 integer.")
    assert ev('parseint(sensitive("10"), 10)').is_sensitive
    assert not ev("parseint(var.later, 10)").is_known


def test_unknown_and_sensitive() -> None:
    v = ev("abs(var.later_num)")
    assert not v.is_known and v.type == ev("1").type
    s = ev("max(1, length(var.secret))")
    assert s.v == 7 and s.is_sensitive
