"""parse_expression: every expression form of HCL's native syntax, with its tree and ranges."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hcl_tree_dump import dump

from mlform.config.parser import parse_expression
from mlform.diagnostics import Pos
from mlform.lang import ast


def parsed(text: str) -> ast.Expr:
    expr, diags = parse_expression(text)
    assert diags == [], [d.summary + ": " + d.detail for d in diags]
    assert expr is not None
    return expr


@pytest.mark.parametrize(
    "text, tree",
    [
        # literals
        ("1", "1"),
        ("1.5", "1.5"),
        ("1e3", "1000"),
        ("2.50E-1", "0.25"),
        ("true", "true"),
        ("false", "false"),
        ("null", "null"),
        ('"abc"', "'abc'"),
        ('""', "''"),
        # operators and precedence
        ("1 + 2 * 3", "(+ 1 (* 2 3))"),
        ("(1 + 2) * 3", "(* (parens (+ 1 2)) 3)"),
        ("1 - 2 - 3", "(- (- 1 2) 3)"),
        ("a || b && c", "(|| a (&& b c))"),
        ("a == b || c != d", "(|| (== a b) (!= c d))"),
        ("a < b == c >= d", "(== (< a b) (>= c d))"),
        ("a + b < c * d", "(< (+ a b) (* c d))"),
        ("a % b / c", "(/ (% a b) c)"),
        ("!a && -b", "(&& (! a) (- b))"),
        ("- -1", "(- (- 1))"),
        ("-a.b", "(- a.b)"),
        ("!x == y", "(== (! x) y)"),
        # conditionals
        ("a ? b : c", "(? a b c)"),
        ("a ? b : c ? d : e", "(? a b (? c d e))"),
        ("a > 1 ? b + 1 : c", "(? (> a 1) (+ b 1) c)"),
        # traversals
        ("var.region", "var.region"),
        ('a.b[0]["k"].c', "a.b[0]['k'].c"),
        ("a.0.b", "a[0].b"),
        ("a.0.1", "a[0][1]"),
        ("x[var.i]", "(index x var.i)"),
        ("x[var.i].y", "(. (index x var.i) y)"),
        ("f(x).a", "(. (call f x) a)"),
        ("f(x)[0]", "(index (call f x) 0)"),
        ('"s"[0]', "(index 's' 0)"),
        ("(a).b", "(. (parens a) b)"),
        ("x[1 + 1]", "(index x (+ 1 1))"),
        # splats
        ("x.*.a", "(splat-attr x (. @ a))"),
        ("x.*.a.b", "(splat-attr x (. (. @ a) b))"),
        ("x.*", "(splat-attr x @)"),
        ("x.*.a[0]", "(index (splat-attr x (. @ a)) 0)"),
        ("x[*]", "(splat x @)"),
        ("x[*].a[0].b", "(splat x (. (index (. @ a) 0) b))"),
        ("x[*].a[*].b", "(splat x (splat (. @ a) (. @ b)))"),
        ("aws_instance.web[*].id", "(splat aws_instance.web (. @ id))"),
        # function calls
        ("f()", "(call f)"),
        ("f(1, 2)", "(call f 1 2)"),
        ("f(1, 2,)", "(call f 1 2)"),
        ("f(1,\n  2\n)", "(call f 1 2)"),
        ("f(a, b...)", "(call f a b...)"),
        ("provider::aws::arn_parse(x)", "(call provider::aws::arn_parse x)"),
        ("max(1, min(2, 3))", "(call max 1 (call min 2 3))"),
        # tuples and objects
        ("[]", "[]"),
        ("[1, 2, 3,]", "[1 2 3]"),
        ("[\n 1,\n 2\n]", "[1 2]"),
        ("{}", "{}"),
        ('{ a = 1, "b" : 2, (c) = 3 }', "{'a'=1 'b'=2 (parens c)=3}"),
        ("{\n a = 1\n b = 2\n}", "{'a'=1 'b'=2}"),
        ("{ a = 1, b = 2, }", "{'a'=1 'b'=2}"),
        ("{ var.k = 1 }", "{var.k=1}"),
        ("{ a = { b = [1] } }", "{'a'={'b'=[1]}}"),
        ("[{\n a = 1\n}, {b = 2}]", "[{'a'=1} {'b'=2}]"),
        # for expressions
        ("[for x in xs : x * 2]", "(for x in xs: (* x 2))"),
        ("[for i, x in xs : x if i > 0]", "(for i,x in xs: x if (> i 0))"),
        ("{for k, v in m : k => v}", "(for k,v in m: k => v)"),
        ("{for k, v in m : v => k...}", "(for k,v in m: v => k...)"),
        (
            '{\n  for k, v in m :\n  k => upper(v)\n  if v != ""\n}',
            "(for k,v in m: k => (call upper v) if (!= v ''))",
        ),
        ("[for x in [1, 2] : [for y in x : y]]", "(for x in [1 2]: (for y in x: y))"),
        # templates
        ('"a ${b} c"', "(tpl 'a ' ${b} ' c')"),
        ('"${x}"', "(wrap x)"),
        ('"${x}${y}"', "(tpl ${x} ${y})"),
        ('"x-${a.b[0]}-${f(1)}"', "(tpl 'x-' ${a.b[0]} '-' ${(call f 1)})"),
        ('"esc \\n \\t \\" \\\\ \\u00e9 \\U0001F600"', "'esc \\n \\t \" \\\\ é 😀'"),
        ('"$${x} %%{y}"', "'${x} %{y}'"),
        ('"cost: $5 and 50%"', "'cost: $5 and 50%'"),
        ('"a ${ "b ${c}" } d"', "(tpl 'a ' ${(tpl 'b ' ${c})} ' d')"),
        ('"%{ if a }yes%{ else }no%{ endif }"', "(tpl %if a ['yes'] else ['no'])"),
        ('"%{ if a }yes%{ endif }"', "(tpl %if a ['yes'])"),
        ('"%{ for x in xs }${x},%{ endfor }"', "(tpl %for x in xs [${x} ','])"),
        ('"%{ for k, v in m }${k}=${v} %{ endfor }"', "(tpl %for k,v in m [${k} '=' ${v} ' '])"),
        ('"a  ${~ b ~}  c"', "(tpl 'a' ${b} 'c')"),
        ('"a  %{~ if x ~}  y  %{~ endif ~}  c"', "(tpl 'a' %if x ['y'] 'c')"),
        ('"${ {a = 1}.a }"', "(wrap (. {'a'=1} a))"),
        ('"${ [for x in y : x] }"', "(wrap (for x in y: x))"),
    ],
)
def test_expression_tree(text: str, tree: str) -> None:
    assert dump(parsed(text)) == tree


def test_numbers_are_exact() -> None:
    e = parsed("0.1")
    assert isinstance(e, ast.Literal)
    assert e.value.v == Decimal("0.1")
    big = parsed("123456789012345678901234567890")
    assert isinstance(big, ast.Literal)
    assert big.value.v == 123456789012345678901234567890
    assert isinstance(parsed("1.0").value.v, int)  # type: ignore[attr-defined]


def test_heredocs() -> None:
    e = parsed("<<EOT\nhello\n  ${name}\nEOT\n")
    assert dump(e) == "(tpl 'hello\\n  ' ${name} '\\n')"
    e = parsed("<<-EOT\n    a\n      b\n    ${c}\n    EOT")
    assert dump(e) == "(tpl 'a\\n  b\\n' ${c} '\\n')"
    # A line that starts with an interpolation has no indentation to remove.
    e = parsed("<<-EOT\n    a\n${c}\n    EOT")
    assert dump(e) == "(tpl '    a\\n' ${c} '\\n')"
    # Blank lines do not count; backslashes are literal in heredocs.
    e = parsed("<<-EOT\n  a\\n\n\n  b\n  EOT")
    assert dump(e) == "'a\\\\n\\n\\nb\\n'"
    assert dump(parsed("<<EOT\nEOT")) == "''"
    e = parsed("<<EOT\n%{ for x in xs ~}\n${x}\n%{ endfor ~}\nEOT")
    assert dump(e) == "(tpl %for x in xs [${x} '\\n'])"
    e = parsed("<<EOT\n  NOT EOT\nEOT")
    assert dump(e) == "'  NOT EOT\\n'"


def test_ranges() -> None:
    e = parsed("a + foo.bar[0]")
    assert isinstance(e, ast.BinaryOp)
    r = e.right.range
    assert (r.start.line, r.start.column, r.start.byte) == (1, 5, 4)
    assert (r.end.line, r.end.column, r.end.byte) == (1, 15, 14)
    assert isinstance(e.right, ast.ScopeTraversal)
    steps = e.right.steps
    assert (steps[0].range.start.column, steps[0].range.end.column) == (8, 12)
    assert (steps[1].range.start.column, steps[1].range.end.column) == (12, 15)
    assert (e.right.root_range.start.column, e.right.root_range.end.column) == (5, 8)
    e = parsed("[\n  1,\n  f(2)\n]")
    assert isinstance(e, ast.TupleCons)
    call = e.items[1]
    assert isinstance(call, ast.FunctionCall)
    assert (call.range.start.line, call.range.start.column) == (3, 3)
    assert (call.name_range.end.line, call.name_range.end.column) == (3, 4)
    assert (e.range.end.line, e.range.end.column, e.range.end.byte) == (4, 2, 15)


def test_start_position_offsets_ranges() -> None:
    expr, diags = parse_expression("a +\nb", "main.mlf.hcl", Pos(10, 5, 200))
    assert diags == []
    assert isinstance(expr, ast.BinaryOp)
    assert expr.left.range.start == Pos(10, 5, 200)
    assert expr.right.range.start == Pos(11, 1, 204)


@pytest.mark.parametrize(
    "text, summary, column",
    [
        ("1 +", "Invalid expression", 4),
        ("a b", "Extra characters after expression", 3),
        ("f(1 2)", "Missing argument separator", 5),
        ("[1 2]", "Missing item separator", 4),
        ("{a = 1 b = 2}", "Missing attribute separator", 8),
        ("{a 1}", "Missing key/value separator", 4),
        ("(1", "Unbalanced parentheses", 3),
        ("a.", "Invalid attribute name", 3),
        ("x[1", "Missing close bracket on index", 4),
        ("a ? b", "Missing false expression in conditional", 6),
        ("[for x xs : x]", "Invalid 'for' expression", 8),
        ("{for x in xs : x}", "Invalid 'for' expression", 17),
        ('"${a b}"', "Extra characters after interpolation expression", 6),
        ('"%{ if a }x"', "Unexpected end of template", 2),
        ('"%{ endif }"', "Unexpected endif directive", 2),
        ('"%{ bogus }"', "Invalid template control keyword", 5),
        ('"a\\qb"', "Invalid escape sequence", 3),
        ('"abc', "Unterminated template string", 1),
        ("a ' b", "Invalid character", 3),
        ("f(x...,y)", "Missing closing parenthesis", 7),
    ],
)
def test_expression_errors(text: str, summary: str, column: int) -> None:
    expr, diags = parse_expression(text)
    assert diags, text
    assert diags[0].summary == summary
    assert diags[0].detail
    assert diags[0].subject is not None
    assert diags[0].subject.start.column == column
    assert diags[0].subject.filename == "<expression>"
