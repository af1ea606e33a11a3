"""parse_hcl: bodies, attributes, blocks, comments, ranges and syntax errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from hcl_tree_dump import dump, dump_body

from mlform.config.parser import parse_expression, parse_file, parse_hcl, parse_template
from mlform.diagnostics import Pos, render
from mlform.lang import ast


def body_lines(text: str) -> list[str]:
    f, diags = parse_hcl(text, "main.mlf.hcl")
    assert diags == [], [f"{d.summary}: {d.detail} at {d.subject}" for d in diags]
    return dump_body(f.body)


def errors(text: str) -> list[tuple[str, int, int]]:
    _, diags = parse_hcl(text, "main.mlf.hcl")
    for d in diags:
        assert d.detail and d.subject is not None
    return [(d.summary, d.subject.start.line, d.subject.start.column) for d in diags]  # type: ignore[union-attr]


def test_attributes_and_blocks() -> None:
    text = """
# a comment
variable "seed" {
  default = 42 // trailing comment
}

resource "training_job" "digits" {
  /* a block
     comment */
  params = { c = 1.0 }
  seed   = var.seed

  health_check {
    path = "/health"
  }
}
locals {
}
empty {}
one "label" { x = 1 }
bare label1 "label2" {
  a = [
    1, # comment inside brackets
    2,
  ]
}
"""
    assert body_lines(text) == [
        "variable 'seed' {",
        "  default = 42",
        "}",
        "resource 'training_job' 'digits' {",
        "  params = {'c'=1}",
        "  seed = var.seed",
        "  health_check {",
        "    path = '/health'",
        "  }",
        "}",
        "locals {",
        "}",
        "empty {",
        "}",
        "one 'label' {",
        "  x = 1",
        "}",
        "bare 'label1' 'label2' {",
        "  a = [1 2]",
        "}",
    ]


def test_empty_and_comment_only_files() -> None:
    assert body_lines("") == []
    assert body_lines("\n\n# nothing\n// here\n/* at all */") == []
    assert body_lines("a = 1") == ["a = 1"]  # no final newline
    assert body_lines("\ufeffa = 1\r\nb = 2\r\n") == ["a = 1", "b = 2"]


def test_object_for_expression_across_lines_in_a_body() -> None:
    text = "locals {\n  m = {\n    for k, v in var.m :\n    k => v\n  }\n  n = 1\n}\n"
    assert body_lines(text) == [
        "locals {",
        "  m = (for k,v in var.m: k => v)",
        "  n = 1",
        "}",
    ]


def test_multiline_expressions_in_a_body() -> None:
    text = (
        "x = merge(\n  a,\n  b,\n)\ny = [\n  for s in z :\n  s\n]\nz = (\n  1 +\n  2\n)\n"
        "w = {\n  a = 1,\n  b = [\n    2\n  ]\n}\n"
    )
    assert body_lines(text) == [
        "x = (call merge a b)",
        "y = (for s in z: s)",
        "z = (parens (+ 1 2))",
        "w = {'a'=1 'b'=[2]}",
    ]


def test_heredoc_in_a_body() -> None:
    text = 'user_data = <<-EOT\n    #!/bin/sh\n    echo "${var.x}"\n  EOT\nnext = 1\n'
    assert body_lines(text) == [
        "user_data = (tpl '#!/bin/sh\\necho \"' ${var.x} '\"\\n')",
        "next = 1",
    ]


def test_ranges_of_body_elements() -> None:
    text = 'resource "a" b {\n  name = "x"\n}\n'
    f, diags = parse_hcl(text, "main.mlf.hcl")
    assert diags == []
    assert f.source == text
    (blk,) = f.body.blocks
    assert blk.type_range.start == Pos(1, 1, 0)
    assert blk.type_range.end == Pos(1, 9, 8)
    assert [(r.start.column, r.end.column) for r in blk.label_ranges] == [(10, 13), (14, 15)]
    assert blk.range.end == Pos(3, 2, 31)
    assert blk.def_range.end == Pos(1, 15, 14)
    assert blk.body.range is not None and blk.body.range.start == Pos(1, 16, 15)
    attr = blk.body.attributes["name"]
    assert attr.name_range.start == Pos(2, 3, 19)
    assert attr.name_range.end == Pos(2, 7, 23)
    assert attr.range.end == Pos(2, 13, 29)
    assert attr.expr.range.start == Pos(2, 10, 26)
    assert f.body.range is not None and f.body.range.end.byte == len(text)
    assert all(r.filename == "main.mlf.hcl" for r in (attr.range, blk.range))


@pytest.mark.parametrize(
    "text, expected",
    [
        ("a = 1\na = 2\n", [("Attribute redefined", 2, 1)]),
        ("= 1\n", [("Argument or block definition required", 1, 1)]),
        ("a 1\n", [("Argument or block definition required", 1, 3)]),
        ("a = 1 b = 2\n", [("Missing newline after argument", 1, 7)]),
        ("a {\n  b = 1\n", [("Unclosed configuration block", 1, 3)]),
        ('a "x" = {\n}\n', [("Invalid block definition", 1, 7)]),
        ("a { b = 1 c = 2 }\n", [("Invalid single-argument block definition", 1, 11)]),
        ("a { b {} }\n", [("Invalid single-argument block definition", 1, 5)]),
        ("a {} b = 1\n", [("Missing newline after block definition", 1, 6)]),
        ("a = \n", [("Invalid expression", 1, 5)]),
        ('a = "abc\nb = 1\n', [("Unterminated template string", 1, 5)]),
        ("a = <<EOT\nxyz\n", [("Unterminated template string", 1, 5)]),
        ("a = 1\n}\nb = 2\n", [("Unexpected closing brace", 2, 1)]),
        ('a "${x}" {\n}\n', [("Invalid block label", 1, 4)]),
        ("a = 'x'\n", [("Invalid character", 1, 5)]),
        ("a = 1 /* never closed\n", [("Unterminated comment", 1, 7)]),
        ("a = [1, 2\nb = 3\n", [("Missing item separator", 2, 1)]),
    ],
)
def test_body_errors(text: str, expected: list[tuple[str, int, int]]) -> None:
    assert errors(text) == expected


def test_several_errors_are_reported_and_parsing_goes_on() -> None:
    text = """\
a = 1 +
b = 2
block {
  c = )
  d = 4
  d = 5
}
e = [
f = 6
"""
    assert errors(text) == [
        ("Invalid expression", 1, 8),
        ("Invalid expression", 4, 7),
        ("Attribute redefined", 6, 3),
        ("Missing item separator", 9, 3),
    ]
    f, _ = parse_hcl(text, "x.mlf.hcl")
    # What could be read was kept: b, the block with its d, and the first definition of d.
    assert dump_body(f.body) == ["b = 2", "block {", "  d = 4", "}"]


def test_attribute_redefined_mentions_the_first() -> None:
    _, diags = parse_hcl("x = 1\n\nx = 2\n", "dup.mlf.hcl")
    (d,) = diags
    assert 'The argument "x" was already set at dup.mlf.hcl line 1' in d.detail
    assert d.subject is not None and (d.subject.start.column, d.subject.end.column) == (1, 2)


def test_rendered_error_points_at_the_span() -> None:
    text = "a = 1\nb = foo(1 2)\n"
    _, diags = parse_hcl(text, "main.mlf.hcl")
    out = render(diags[0], {"main.mlf.hcl": text})
    assert out.splitlines()[:5] == [
        "Error: Missing argument separator",
        "",
        "  on main.mlf.hcl line 2, column 11:",
        "     2: b = foo(1 2)",
        "                  ^",
    ]


def test_parse_template() -> None:
    expr, diags = parse_template(
        "Hello ${name}!\n%{ for x in xs ~}\n- ${x}\n%{ endfor ~}\n", "t.tpl"
    )
    assert diags == []
    assert dump(expr) == "(tpl 'Hello ' ${name} '!\\n' %for x in xs ['- ' ${x} '\\n'])"
    expr, diags = parse_template("no interpolation, $${literal} \\n", "t.tpl")
    assert dump(expr) == "'no interpolation, ${literal} \\\\n'"
    expr, diags = parse_template("${x}", "t.tpl")
    assert isinstance(expr, ast.TemplateWrap)
    expr, diags = parse_template("a ${b", "t.tpl")
    assert expr is None
    assert diags[0].summary == "Unclosed template interpolation sequence"
    expr, diags = parse_template("", "t.tpl")
    assert dump(expr) == "''"


def test_parse_template_start_position() -> None:
    expr, diags = parse_template("ab${x}", "t.tpl", Pos(3, 4, 50))
    assert diags == [] and isinstance(expr, ast.Template)
    interp = expr.parts[1]
    assert interp.range.start == Pos(3, 6, 52)


def test_parse_file_picks_the_syntax(tmp_path: Path) -> None:
    native = tmp_path / "main.mlf.hcl"
    native.write_text('variable "x" {\n  default = 1\n}\n')
    f, diags = parse_file(native)
    assert diags == [] and f.filename == str(native)
    assert f.body.blocks[0].labels == ["x"]
    js = tmp_path / "main.mlf.json"
    js.write_text('{"variable": {"x": {"default": 1}}}')
    f, diags = parse_file(js)
    assert diags == [] and f.body.from_json
    assert f.body.blocks[0].labels == ["x"]
    f, diags = parse_file(tmp_path / "given.mlf.hcl", text="a = 2\n")
    assert diags == [] and dump_body(f.body) == ["a = 2"]


def test_parse_file_unreadable(tmp_path: Path) -> None:
    f, diags = parse_file(tmp_path / "missing.mlf.hcl")
    assert diags[0].summary == "Failed to read file"
    bad = tmp_path / "bad.mlf.hcl"
    bad.write_bytes(b'a = "\xff"\n')
    f, diags = parse_file(bad)
    assert diags[0].summary == "Invalid file encoding"


def test_primitive_literals_as_in_hcl_spec() -> None:
    text = (
        "whole_number = 5\n"
        "fractional_number_precision = 3.14159265358979323846264338327950288419716939937510582097494459\n"
        'string_unicode_astral = "👩👩👧👦"\n'
        'string_unicode_nonnorm = "an\u0303os"\n'
        "true = true\nfalse = false\nnull = null\n"
    )
    f, diags = parse_hcl(text, "p.hcl")
    assert diags == []
    a = {name: attr.expr.value.v for name, attr in f.body.attributes.items()}  # type: ignore[attr-defined]
    assert a["whole_number"] == 5
    assert str(a["fractional_number_precision"]) == (
        "3.14159265358979323846264338327950288419716939937510582097494459"
    )
    assert a["string_unicode_astral"] == "👩👩👧👦"
    assert a["string_unicode_nonnorm"] == "a\u00f1os"  # normalized (NFC), as HCL does
    assert (a["true"], a["false"], a["null"]) == (True, False, None)


@pytest.mark.parametrize(
    "text",
    [
        'a { b = "foo", c = "bar" }\n',
        'a { b = "foo"\n}\n',
        'a { b = "foo"\n  c = "bar" }\n',
        'a { b = "foo"\n  c = "bar"\n}\n',
        "a { d {} }\n",
    ],
)
def test_invalid_single_line_blocks_from_hcl_spec(text: str) -> None:
    assert [e[0] for e in errors(text)] == ["Invalid single-argument block definition"]


def test_absurd_nesting_is_a_diagnostic_not_a_crash() -> None:
    deep = "(" * 5000 + "1" + ")" * 5000
    _, diags = parse_hcl(f"a = {deep}\nb = 2\n", "deep.hcl")
    assert [d.summary for d in diags] == ["Expression nested too deeply"]
    expr, diags = parse_expression(deep)
    assert expr is None and diags[0].summary == "Expression nested too deeply"
    from mlform.config.json_parser import parse_json

    _, diags = parse_json('{"a": ' + "[" * 5000 + "]" * 5000 + "}", "deep.json")
    assert diags[0].summary == "Value nested too deeply"
