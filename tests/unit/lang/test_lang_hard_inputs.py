"""Inputs at and past mlform's limits (mlform.lang.limits): huge numbers, deep nesting, long
operator chains, allocating functions. Each is a value or a diagnostic, quickly; never an
exception or a recursion error."""

from __future__ import annotations

import random
import time
from decimal import Decimal

import pytest

from mlform.config.fmt import format_source
from mlform.config.parse_cache import decode_file, encode_file
from mlform.config.parser import parse_expression, parse_hcl
from mlform.lang import ast
from mlform.lang.convert import convert, format_number
from mlform.lang.eval import EvalContext, evaluate
from mlform.lang.limits import MAX_EXPONENT, MAX_NESTING
from mlform.lang.render import render_hcl, value_to_json
from mlform.lang.types import STRING
from mlform.lang.values import NumberRangeError, normalize_number, number


def run(src: str) -> tuple[str | None, list[str]]:
    """The console rendering of `src`, or None, and the diagnostics' summaries and details."""
    expr, diags = parse_expression(src)
    if expr is None:
        return None, [f"{d.summary}: {d.detail}" for d in diags]
    value, diags = evaluate(expr, EvalContext({}))
    if diags:
        return None, [f"{d.summary}: {d.detail}" for d in diags]
    return render_hcl(value), []


# --- numbers ---------------------------------------------------------------------------------


@pytest.mark.parametrize("lit", ["1e999999", "1e99999999", "1e9999999999", "-1e10000", "1e-10000"])
def test_out_of_range_literal_is_a_diagnostic_with_its_range(lit: str) -> None:
    start = time.monotonic()
    expr, diags = parse_expression(f"[1, {lit}]")
    assert time.monotonic() - start < 1
    assert expr is None
    assert [d.summary for d in diags] == ["Number out of range"]
    lit_start = 5 if lit.startswith("-") else 4  # the minus is an operator, not the literal
    assert diags[0].subject is not None
    assert diags[0].subject.start.column == lit_start + 1
    assert diags[0].subject.end.column == 5 + len(lit)


def test_largest_numbers_in_range_print_in_full() -> None:
    out, diags = run("1e9999")
    assert not diags and out == "1" + "0" * 9999
    # Past Python's limit on integer text; rounded to Terraform's precision (512 bits).
    out, diags = run("1234567890" * 500 + "1")
    assert not diags and out is not None and len(out) == 5001
    assert out.startswith("1234567890" * 15) and out.endswith("0000")


def test_arithmetic_past_the_range_is_an_operation_error() -> None:
    for src in ("1e9999 * 1e9999", "1e-9999 / 1e9999", "-1e9999 - 1e9999 * 10"):
        out, diags = run(src)
        assert out is None
        assert any("out of range" in d for d in diags), diags


def test_numbers_keep_precision_rules() -> None:
    assert run("0.1 + 0.2 == 0.3")[0] == "true"
    assert run("1e9999 % 7")[1] == []
    # An integer past INT_DIGITS is a Decimal but still equal to the same int.
    n = normalize_number(10**500)
    assert isinstance(n, Decimal) and n == 10**500
    with pytest.raises(NumberRangeError):
        normalize_number(Decimal(f"1e{MAX_EXPONENT + 1}"))


def test_string_to_number_out_of_range_names_the_range() -> None:
    out, diags = run('tonumber("1e999999")')
    assert out is None and "out of range" in diags[0]


def test_format_number_of_huge_values() -> None:
    assert format_number(normalize_number(Decimal("1.5e5000"))) == "15" + "0" * 4999
    assert convert(number(10**600), STRING).v == "1" + "0" * 600


# --- nesting ---------------------------------------------------------------------------------

WRAPPERS = {
    "tuple": ("[", "]"),
    "object": ("{a = ", "}"),
    "call": ("tolist([", "])"),
    "parens": ("(", ")"),
    "template": ('"${', '}"'),
    "index": ("[", "][0]"),
    "try": ("try(", ", 0)"),
}


def nested(kind: str, depth: int) -> str:
    """An expression nested `depth` levels deep (each wrapper counts its expressions)."""
    open_, close = WRAPPERS[kind]
    return open_ * depth + "1" + close * depth


@pytest.mark.parametrize("kind", sorted(WRAPPERS))
def test_nesting_at_the_limit_is_walked_by_everything(kind: str) -> None:
    # Find the deepest nesting the parser takes, then check it is close to MAX_NESTING.
    depth = MAX_NESTING
    while parse_expression(nested(kind, depth))[0] is None:
        depth -= 1
    assert depth >= MAX_NESTING // 2 - 1
    src = nested(kind, depth)
    out, diags = run(src)
    assert not diags and out is not None
    # The whole front end on the deepest expression a file takes (the block is a level too):
    # walkers, cache, formatter.
    text = f"locals {{\n  v = {nested(kind, depth - 1)}\n}}\n"
    file, diags = parse_hcl(text, "deep.mlf.hcl")
    assert not diags
    value_expr = file.body.blocks[0].body.attributes["v"].expr
    list(ast.traversals(value_expr))
    list(ast.walk(value_expr))
    again = decode_file(encode_file(file), "deep.mlf.hcl", text)
    assert again is not None
    value, diags = evaluate(again.body.blocks[0].body.attributes["v"].expr, EvalContext({}))
    assert not diags
    render_hcl(value)
    value_to_json(value)
    format_source(text, "deep.mlf.hcl")
    # One level more is refused with a diagnostic.
    _, diags = parse_expression(nested(kind, depth + 1))
    assert [d.summary for d in diags] == ["Expression nested too deeply"]
    assert str(MAX_NESTING) in diags[0].detail


@pytest.mark.parametrize("depth", [MAX_NESTING + 1, 490, 5000])
def test_too_deep_is_a_diagnostic(depth: int) -> None:
    for kind in WRAPPERS:
        _, diags = parse_expression(nested(kind, depth))
        assert any("nested too deeply" in d.summary for d in diags), (kind, diags)
    _, diags = parse_expression("-" * depth + "1")
    assert [d.summary for d in diags] == ["Expression nested too deeply"]


def test_blocks_at_and_past_the_limit() -> None:
    def blocks(n: int) -> str:
        return "".join(f"b{i} {{\n" for i in range(n)) + "}\n" * n

    text = blocks(MAX_NESTING)
    _, diags = parse_hcl(text, "b.mlf.hcl")
    assert not diags
    assert format_source(text) == format_source(format_source(text))
    for n in (MAX_NESTING + 1, 490, 3000):
        _, diags = parse_hcl(blocks(n), "b.mlf.hcl")
        assert [d.summary for d in diags] == ["Blocks nested too deeply"]


def test_template_directives_past_the_limit() -> None:
    n = MAX_NESTING + 5
    src = "<<EOT\n" + "%{ if true }" * n + "x" + "%{ endif }" * n + "\nEOT\n"
    _, diags = parse_expression(src)
    assert [d.summary for d in diags] == ["Template directives nested too deeply"]
    ok = "<<EOT\n" + "%{ if true }" * 50 + "x" + "%{ endif }" * 50 + "\nEOT\n"
    assert run(f"trimspace({ok})") == ('"x"', [])


# --- long operator chains --------------------------------------------------------------------


def test_long_chains_evaluate_without_recursion() -> None:
    assert run(" + ".join(["1"] * 5000)) == ("5000", [])
    assert run(" - ".join(["1"] * 600)) == ("-598", [])
    assert run(" && ".join(["true"] * 3000)) == ("true", [])
    expr, _ = parse_expression(" + ".join(["x"] * 3000))
    assert isinstance(expr, ast.BinaryChain)
    assert len(list(ast.traversals(expr))) == 3000


def nest(expr: ast.Expr) -> ast.Expr:
    """The same expression with every BinaryChain written out as nested BinaryOps."""
    if isinstance(expr, ast.BinaryChain):
        left = nest(expr.first)
        for op, right, rng in zip(expr.ops, expr.rights, expr.ranges, strict=True):
            left = ast.BinaryOp(op, left, nest(right), rng)
        return left
    if isinstance(expr, ast.BinaryOp):
        return ast.BinaryOp(expr.op, nest(expr.left), nest(expr.right), expr.range)
    return expr


def test_a_chain_means_the_same_as_nested_operators() -> None:
    rng = random.Random(3)
    atoms = ["1", "2.5", "0", "true", "false", '"a"', "null", "x", "-3", "0.1"]
    ops = ["+", "-", "*", "/", "%", "==", "!=", "<", ">=", "&&", "||"]
    ctx = EvalContext({"x": number(7)})
    for _ in range(300):
        n = rng.randint(9, 20)
        src = " ".join(
            x
            for i in range(n)
            for x in ([rng.choice(atoms)] if i == 0 else [rng.choice(ops), rng.choice(atoms)])
        )
        expr, diags = parse_expression(src)
        assert expr is not None, (src, diags)
        v1, d1 = evaluate(expr, ctx)
        v2, d2 = evaluate(nest(expr), ctx)
        assert (v1, [(d.summary, d.detail, str(d.subject)) for d in d1]) == (
            v2,
            [(d.summary, d.detail, str(d.subject)) for d in d2],
        ), src


# --- functions that allocate -----------------------------------------------------------------


@pytest.mark.parametrize(
    "src",
    [
        'format("%0999999999d", 1)',
        'format("%.999999999f", 1)',
        'format("%' + "9" * 5000 + 'd", 1)',
        'formatlist("%0999999999d", [1])',
        'indent(999999999, "a\\nb")',
        "setproduct(range(1000), range(1000), range(1000))",
        'jsondecode("' + "[" * 500 + "]" * 500 + '")',
        'yamldecode("' + "[" * 500 + "]" * 500 + '")',
        "range(0, 1e9999, 1e-9999)",
        'jsondecode("1e999999")',
        'yamldecode("1e999999")',
    ],
)
def test_allocating_functions_are_bounded(src: str) -> None:
    start = time.monotonic()
    out, diags = run(src)
    assert time.monotonic() - start < 2
    assert out is None and diags


def test_format_widths_under_the_limit_work() -> None:
    out, diags = run('length(format("%05000d", 1))')
    assert (out, diags) == ("5000", [])
    out, diags = run('format("%f", 1e9999)')
    assert not diags and out is not None and len(out) == 10000 + 7 + 2


# --- strings ---------------------------------------------------------------------------------


def test_string_literals_are_nfc_after_escapes() -> None:
    assert run('"cafe\\u0301" == "caf\\u00e9"') == ("true", [])
    assert run('length("cafe\\u0301")') == ("4", [])
    assert run('strrev("cafe\\u0301")') == ('"éfac"', [])
    assert run('"cafe\u0301" == "caf\\u00e9"') == ("true", [])
