"""Helpers for the standard function tests: evaluate expressions through the parser and the
evaluator, call functions directly, and look at the diagnostics of failing calls."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlform.config.parser import parse_expression
from mlform.diagnostics import Diagnostic
from mlform.lang.eval import EvalContext, evaluate
from mlform.lang.functions import FunctionContext, call_function
from mlform.lang.types import BOOL, NUMBER, STRING, ListType
from mlform.lang.values import Value, from_python, null, object_of, string, unknown

TESTDATA = Path(__file__).resolve().parents[3] / "testdata" / "functions"


def fctx() -> FunctionContext:
    return FunctionContext(base_dir=TESTDATA)


def scope() -> EvalContext:
    return EvalContext(
        {
            "var": object_of(
                {
                    "later": unknown(STRING),
                    "later_num": unknown(NUMBER),
                    "later_bool": unknown(BOOL),
                    "later_list": unknown(ListType(STRING)),
                    "secret": string("hunter2").mark("sensitive"),
                    "nothing": null(STRING),
                }
            ),
            "path": object_of({"module": string(str(TESTDATA))}),
        },
        fctx(),
    )


def ev(src: str) -> Value:
    """The value of an expression that must evaluate without errors."""
    expr, diags = parse_expression(src)
    assert expr is not None and not diags, diags
    value, diags = evaluate(expr, scope())
    assert not diags, [f"{d.summary}: {d.detail}" for d in diags]
    return value


def same(src: str, expected: str) -> None:
    """`src` evaluates to exactly the value (type included) of the expression `expected`."""
    got, want = ev(src), ev(expected)
    assert got == want, f"{src}: got {got!r}, want {want!r}"


def err(src: str) -> Diagnostic:
    """The first error of an expression that must fail."""
    expr, diags = parse_expression(src)
    assert expr is not None and not diags, diags
    _, diags = evaluate(expr, scope())
    errors = [d for d in diags if d.is_error]
    assert errors, f"{src}: expected an error"
    return errors[0]


def call(name: str, *args: Any) -> Value:
    """Call a function directly; plain Python arguments become values as HCL literals would."""
    return call_function(name, [from_python(a) for a in args], fctx())
