"""The generic call path: arity, conversion, null, unknown and sensitive handling, errors."""

from __future__ import annotations

import pytest
from fnhelp import call

from mlform.lang.functions import FAMILIES, FUNCTIONS, FunctionContext, FunctionError, call_function
from mlform.lang.types import NUMBER, STRING, ListType
from mlform.lang.values import list_of, number, string, unknown


def test_registry_is_complete_and_consistent() -> None:
    for name, f in FUNCTIONS.items():
        assert f.name == name
        assert f.family in FAMILIES
        assert f.signature().startswith(f"{name}(")
    # Every family of Terraform's library is present.
    assert {f.family for f in FUNCTIONS.values()} == set(FAMILIES)
    assert "try" not in FUNCTIONS and "can" not in FUNCTIONS  # special forms of the evaluator


def test_unknown_function() -> None:
    with pytest.raises(FunctionError) as e:
        call_function("nope", [], FunctionContext())
    assert (e.value.summary, e.value.detail) == (
        "Call to unknown function",
        'There is no function named "nope".',
    )


def test_arity_errors_carry_what_a_diagnostic_needs() -> None:
    with pytest.raises(FunctionError) as e:
        call("substr", "abc", 1)
    assert e.value.summary == "Not enough function arguments"
    assert e.value.detail == 'Function "substr" expects 3 argument(s). Missing value for "length".'
    assert e.value.function == "substr"
    with pytest.raises(FunctionError) as e:
        call("upper", "a", "b")
    assert e.value.summary == "Too many function arguments"
    assert e.value.arg_index == 1


def test_argument_errors_name_the_parameter_and_its_index() -> None:
    with pytest.raises(FunctionError) as e:
        call("join", ",", ["a"], "x")
    assert e.value.arg_index == 2
    assert e.value.detail == 'Invalid value for "lists" parameter: list of string required.'


def test_arguments_are_converted_to_the_parameter_types() -> None:
    assert call("upper", 5).v == "5"
    assert call("abs", "-3").v == 3
    assert call("join", "-", [1, True]).v == "1-true"


def test_unknown_argument_gives_unknown_of_the_return_type() -> None:
    ctx = FunctionContext()
    v = call_function("upper", [unknown(STRING)], ctx)
    assert not v.is_known and v.type == STRING
    v = call_function("split", [string(","), unknown(STRING)], ctx)
    assert not v.is_known and v.type == ListType(STRING)
    # A nested unknown is enough.
    v = call_function("sum", [list_of(NUMBER, [number(1), unknown(NUMBER)])], ctx)
    assert not v.is_known and v.type == NUMBER


def test_sensitive_marks_reach_the_result_known_or_not() -> None:
    ctx = FunctionContext()
    secret = string("abc").mark("sensitive")
    assert call_function("upper", [secret], ctx).is_sensitive
    assert call_function("upper", [unknown(STRING).mark("sensitive")], ctx).is_sensitive
    # A parameter that sees its marks still passes them to an unknown result.
    v = call_function("base64decode", [unknown(STRING).mark("sensitive")], ctx)
    assert not v.is_known and v.is_sensitive
    # nonsensitive is the one way to drop the mark.
    assert not call_function("nonsensitive", [secret], ctx).is_sensitive


def test_extreme_inputs_end_as_errors() -> None:
    with pytest.raises(FunctionError) as e:
        call("pow", 10, 400)
    assert e.value.summary == "Error in function call"
