"""The evaluator on parsed expressions: unknown values, sensitive marks, scopes, diagnostics."""

from __future__ import annotations

import pytest

from mlform.config.parser import parse_expression
from mlform.lang.eval import EvalContext, evaluate, evaluate_template_string
from mlform.lang.types import BOOL, DYNAMIC, NUMBER, STRING, ListType, ObjectType
from mlform.lang.values import (
    list_of,
    null,
    number,
    object_of,
    string,
    tuple_of,
    unknown,
)


def ctx() -> EvalContext:
    return EvalContext(
        {
            "var": object_of(
                {
                    "name": string("web"),
                    "count": number(3),
                    "secret": string("hunter2").mark("sensitive"),
                    "later": unknown(STRING),
                    "later_list": unknown(ListType(NUMBER)),
                    "later_bool": unknown(BOOL),
                    "items": list_of(
                        ObjectType.of({"id": STRING}),
                        [object_of({"id": string("a")}), object_of({"id": unknown(STRING)})],
                    ),
                    "nothing": null(STRING),
                }
            ),
            "local": object_of({"region": string("eu")}),
            "later": unknown(),
        }
    )


def ev(src: str, scope: EvalContext | None = None):
    expr, diags = parse_expression(src)
    assert expr is not None and not diags, diags
    return evaluate(expr, scope or ctx())


def ok(src: str, scope: EvalContext | None = None):
    value, diags = ev(src, scope)
    assert not diags, [(d.summary, d.detail) for d in diags]
    return value


def fails(src: str) -> tuple[str, str]:
    value, diags = ev(src)
    errors = [d for d in diags if d.is_error]
    assert errors, f"{src} should fail, gave {value!r}"
    assert not value.is_wholly_known()
    return errors[0].summary, errors[0].detail


# --- unknown values ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("src", "type_"),
    [
        ("var.later", STRING),
        ("var.later + 1", NUMBER),
        ("-var.later", NUMBER),
        ("!var.later_bool", BOOL),
        ('"x-${var.later}"', STRING),
        ('var.later == "x"', BOOL),
        ("var.later_list[0]", NUMBER),
        ("var.later_list[*]", ListType(NUMBER)),
        ("var.later_bool ? 1 : 2", NUMBER),
        ('var.later_bool ? "a" : 1', STRING),
        ("var.later_bool && true", BOOL),
        ("later.anything", DYNAMIC),
        ("[for x in var.later_list : x]", DYNAMIC),
        ("upper(var.later)", STRING),
        ("var.later > 2", BOOL),
        ('"%{if var.later_bool}a%{endif}"', STRING),
        ("try(var.later, 1)", DYNAMIC),
        ("can(var.later)", BOOL),
    ],
)
def test_unknown_propagates_with_the_result_type(src: str, type_) -> None:
    value = ok(src)
    assert not value.is_known
    assert value.type == type_


def test_unknown_inside_a_collection_stays_inside() -> None:
    value = ok("[1, var.later]")
    assert value.is_known and not value.is_wholly_known()
    assert value.v[1] == unknown(STRING)
    value = ok("var.items[*].id")
    assert value.v[0] == string("a") and not value.v[1].is_known


def test_logical_operators_decide_from_one_known_side() -> None:
    assert ok("true || var.later_bool").v is True
    assert ok("var.later_bool || true").v is True
    assert ok("false && var.later_bool").v is False
    assert ok("var.later_bool && false").v is False
    assert not ok("false || var.later_bool").is_known
    assert not ok("true && var.later_bool").is_known


def test_unknown_condition_with_two_nulls_is_null() -> None:
    value = ok("var.later_bool ? null : null")
    assert value.is_null


def test_try_and_can_with_known_values() -> None:
    assert ok('try(var.name, "x")') == string("web")
    assert ok('try(local.region.x, "fallback")') == string("fallback")
    assert ok("can(var.count + 1)").v is True
    assert ok("can(var.name + 1)").v is False


# --- sensitive marks ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "src",
    [
        "var.secret",
        'var.secret == "x"',
        '"pw: ${var.secret}"',
        "upper(var.secret)",
        "length(var.secret)",
        "[var.secret][0]",
        "{a = var.secret}.a",
        "true ? var.secret : var.secret",
        'var.secret != "" ? 1 : 2',
        "[for c in [var.secret] : c][0]",
        '"%{for x in [var.secret]}${x}%{endfor}"',
    ],
)
def test_sensitive_marks_reach_results(src: str) -> None:
    assert ok(src).is_sensitive


def test_for_over_a_sensitive_collection_is_sensitive() -> None:
    scope = ctx().child({"s": tuple_of([string("a")]).mark("sensitive")})
    assert ok("[for x in s : x]", scope).is_sensitive
    assert ok("s[*]", scope).is_sensitive


def test_sensitive_element_leaves_its_container_unmarked() -> None:
    value = ok("[var.secret, 1]")
    assert not value.is_sensitive
    assert value.v[0].is_sensitive


# --- scopes --------------------------------------------------------------------------------------


def test_child_scope_shadows_and_falls_back() -> None:
    outer = ctx()
    inner = outer.child({"x": number(1), "var": object_of({"name": string("inner")})})
    assert (
        ok(
            "x + var.count * 0",
            EvalContext({"x": number(2), "var": object_of({"count": number(1)})}),
        ).v
        == 2
    )
    assert ok("var.name", inner) == string("inner")
    assert ok("local.region", inner) == string("eu")


def test_for_variables_do_not_leak() -> None:
    assert ok("[for x in [1] : [for x in [x + 1] : x * 10]]") == tuple_of([tuple_of([number(20)])])
    summary, _ = fails("[[for x in [1] : x], x]")
    assert summary == "Unknown variable"


# --- diagnostics -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("src", "summary", "detail"),
    [
        (
            "var.nam",
            "Reference to undeclared input variable",
            'An input variable with the name "nam" has not been declared. This variable can be declared with a variable "nam" {} block.',
        ),
        (
            "local.regoin",
            "Reference to undeclared local value",
            'A local value with the name "regoin" has not been declared. Did you mean "region"?',
        ),
        (
            "{name = 1}.nmae",
            "Unsupported attribute",
            'This object does not have an attribute named "nmae". Did you mean "name"?',
        ),
        ("vr.x", "Unknown variable", 'There is no variable named "vr". Did you mean "var"?'),
        (
            "var.items.id",
            "Unsupported attribute",
            'Can\'t access attributes on a list of objects. Did you mean to access attribute "id" for a specific element of the list, or across all elements of the list?',
        ),
        (
            "var.nothing.x",
            "Attempt to get attribute from null value",
            "This value is null, so it does not have any attributes.",
        ),
        (
            '"${var.nothing}!"',
            "Invalid template interpolation value",
            "The expression result is null. Cannot include a null value in a string template.",
        ),
        (
            "lenght([])",
            "Call to unknown function",
            'There is no function named "lenght". Did you mean "length"?',
        ),
        (
            "max(1...)",
            "Invalid expanding argument value",
            "The expanding argument (indicated by ...) must be of a tuple, list, or set type.",
        ),
        (
            "max(null...)",
            "Invalid expanding argument value",
            "The expanding argument (indicated by ...) must not be null.",
        ),
        ("1 / 0", "Operation failed", "Error during operation: can't divide by zero."),
        ("1 % 0", "Operation failed", "Error during operation: can't use modulo with zero."),
        (
            "true ? {a = 1} : {b = true}",
            "Inconsistent conditional result types",
            "The true and false result expressions must have consistent types. The 'true' value includes object attribute \"a\", which is absent in the 'false' value.",
        ),
        ('true ? [1] : [true, "a", {}]', "Inconsistent conditional result types", None),
        ("[null][*].a", "Attempt to get attribute from null value", None),
    ],
)
def test_error_diagnostics(src: str, summary: str, detail: str | None) -> None:
    got_summary, got_detail = fails(src)
    assert got_summary == summary
    if detail is not None:
        assert got_detail == detail


def test_diagnostic_points_at_the_offending_sub_expression() -> None:
    expr, _ = parse_expression("1 + [1, 2][7]", "f.mlf.hcl")
    _, diags = evaluate(expr, ctx())
    rng = diags[0].subject
    assert (rng.start.column, rng.end.column) == (5, 14)
    expr, _ = parse_expression('"a" + 1', "f.mlf.hcl")
    _, diags = evaluate(expr, ctx())
    assert (diags[0].subject.start.column, diags[0].subject.end.column) == (1, 4)


def test_mistakes_in_an_untaken_branch_are_ignored() -> None:
    assert ok("true ? 1 : [1][5]") == number(1)


def test_all_mistakes_are_reported_together() -> None:
    _, diags = ev("[{}.a, [][0], nope]")
    assert [d.summary for d in diags] == [
        "Unsupported attribute",
        "Invalid index",
        "Unknown variable",
    ]


def test_try_failure_lists_every_attempt() -> None:
    summary, detail = fails("try({}.a, [][1])")
    assert summary == "Error in function call"
    assert detail.startswith(
        'Call to function "try" failed: no expression succeeded:\n- Unsupported attribute'
    )
    assert "- Invalid index" in detail
    assert detail.endswith("At least one expression must produce a successful result.")


# --- templates from text -----------------------------------------------------------------------------


def test_evaluate_template_string_with_its_own_variables() -> None:
    value, diags = evaluate_template_string(
        "Hello, ${name}!%{ for x in items } [${x}]%{ endfor }",
        {"name": string("you"), "items": tuple_of([number(1), number(2)])},
    )
    assert not diags
    assert value == string("Hello, you! [1] [2]")


def test_evaluate_template_string_reports_unknown_names() -> None:
    _, diags = evaluate_template_string("${missing}", {}, filename="t.tpl")
    assert diags[0].summary == "Unknown variable"
    assert diags[0].subject.filename == "t.tpl"


def test_templatefile_renders_through_the_evaluator(tmp_path) -> None:
    from mlform.lang.functions import FunctionContext

    (tmp_path / "t.tpl").write_text("%{ for k, v in m ~}\n${k}=${v}\n%{ endfor ~}\n")
    scope = EvalContext({}, FunctionContext(base_dir=tmp_path))
    value = ok('templatefile("t.tpl", {m = {a = 1, b = "x"}})', scope)
    assert value == string("a=1\nb=x\n")


def test_scope_can_word_missing_roots_itself() -> None:
    from mlform.diagnostics import error

    def missing(trav):
        return error("Reference to undeclared resource", f"No {trav.root}.", trav.range)

    scope = EvalContext({}, on_missing=missing).child({"x": number(1)})
    value, diags = ev("[x, aws_thing.a]", scope)
    assert [d.summary for d in diags] == ["Reference to undeclared resource"]
    assert diags[0].detail == "No aws_thing."
