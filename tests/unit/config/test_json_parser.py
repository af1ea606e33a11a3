"""parse_json: HCL's JSON syntax to the same syntax tree as the native syntax."""

from __future__ import annotations

import pytest
from hcl_tree_dump import dump, dump_body

from mlform.config.json_parser import parse_json
from mlform.config.parser import parse_hcl
from mlform.diagnostics import Pos


def lines(text: str) -> list[str]:
    f, diags = parse_json(text, "main.mlf.json")
    assert diags == [], [f"{d.summary}: {d.detail}" for d in diags]
    return dump_body(f.body)


def test_blocks_with_labels_and_attributes() -> None:
    text = """{
  "//": "a comment",
  "variable": {"seed": {"default": 42, "type": "number"}},
  "resource": {
    "training_job": {
      "digits": {
        "seed": "${var.seed}",
        "command": "python train.py --seed ${var.seed}",
        "params": {"c": 1.0, "layers": [64, 32]},
        "lifecycle": {"ignore_changes": ["params"]},
        "enabled": true,
        "note": null
      }
    }
  },
  "locals": {"a": 1, "lifecycle": {"b": 2}},
  "output": {"x": [{"value": 1}, {"value": 2}]}
}"""
    assert lines(text) == [
        "variable 'seed' {",
        "  default = 42",
        "  type = 'number'",
        "}",
        "resource 'training_job' 'digits' {",
        "  seed = (wrap var.seed)",
        "  command = (tpl 'python train.py --seed ' ${var.seed})",
        "  params = {'c'=1 'layers'=[64 32]}",
        "  enabled = true",
        "  note = null",
        "  lifecycle {",
        "    ignore_changes = ['params']",
        "  }",
        "}",
        "locals {",
        "  a = 1",
        "  lifecycle = {'b'=2}",
        "}",
        "output 'x' {",
        "  value = 1",
        "}",
        "output 'x' {",
        "  value = 2",
        "}",
    ]


def test_every_body_is_marked_from_json() -> None:
    f, diags = parse_json('{"resource": {"a": {"b": {"lifecycle": {}}}}}', "m.mlf.json")
    assert diags == []
    assert f.body.from_json
    blk = f.body.blocks[0]
    assert blk.body.from_json and blk.body.blocks[0].body.from_json


def test_dynamic_blocks_and_provisioners() -> None:
    text = """{"resource": {"deployment": {"api": {
      "dynamic": {"port": {"for_each": "${var.ports}", "content": {"number": "${port.value}"}}},
      "provisioner": [{"local-exec": {"command": "echo hi"}}],
      "health_check": {"path": "/health"}
    }}},
    "mlform": {"required_providers": {"local": {"version": ">= 0.1"}},
               "backend": {"local": {"path": "x.state"}}}}"""
    assert lines(text) == [
        "resource 'deployment' 'api' {",
        "  health_check = {'path'='/health'}",
        "  dynamic 'port' {",
        "    for_each = (wrap var.ports)",
        "    content {",
        "      number = (wrap port.value)",
        "    }",
        "  }",
        "  provisioner 'local-exec' {",
        "    command = 'echo hi'",
        "  }",
        "}",
        "mlform {",
        "  required_providers {",
        "    local = {'version'='>= 0.1'}",
        "  }",
        "  backend 'local' {",
        "    path = 'x.state'",
        "  }",
        "}",
    ]


def test_same_tree_as_native_syntax() -> None:
    native = 'variable "x" {\n  default = "a-${var.y}"\n}\nresource "t" "n" {\n  v = [1, 2.5]\n}\n'
    js = '{"variable": {"x": {"default": "a-${var.y}"}}, "resource": {"t": {"n": {"v": [1, 2.5]}}}}'
    fn, _ = parse_hcl(native, "a.mlf.hcl")
    fj, _ = parse_json(js, "a.mlf.json")
    assert dump_body(fn.body) == dump_body(fj.body)


def test_ranges() -> None:
    text = '{\n  "locals": {\n    "name": "x-${var.y}"\n  }\n}'
    f, diags = parse_json(text, "m.mlf.json")
    assert diags == []
    blk = f.body.blocks[0]
    assert blk.type_range.start == Pos(2, 3, 4)
    attr = blk.body.attributes["name"]
    assert attr.name_range.start == Pos(3, 5, 20)
    assert attr.expr.range.start == Pos(3, 13, 28)
    assert attr.expr.range.end == Pos(3, 25, 40)
    interp = attr.expr.parts[1]  # type: ignore[attr-defined]
    assert interp.expr.range.start == Pos(3, 18, 33)
    assert dump(interp.expr) == "var.y"


def test_escapes_and_numbers() -> None:
    assert lines('{"a": "x\\n\\"y\\u00e9", "b": -1.5e2, "c": "$${x}"}') == [
        "a = 'x\\n\"yé'",
        "b = -150",
        "c = '${x}'",
    ]


@pytest.mark.parametrize(
    "text, summary, line, column",
    [
        ("[1]", "Root value must be object", 1, 1),
        ('{"a": 1,}', "Trailing comma in object", 1, 9),
        ('{"a" 1}', "Missing property value colon", 1, 6),
        ('{"a": 1 "b": 2}', "Missing property separator", 1, 9),
        ('{"a": [1 2]}', "Missing array element separator", 1, 10),
        ('{"a": tru}', "Invalid JSON value", 1, 7),
        ("{a: 1}", "Invalid property name", 1, 2),
        ('{"a": 1', "Unclosed object", 1, 1),
        ('{"a": 1} x', "Extraneous data after value", 1, 10),
        ('{"a": 1, "a": 2}', "Attribute redefined", 1, 10),
        ('{"a": "${"}', "Invalid expression", 1, 10),
        ('{"a": "\\q"}', "Invalid JSON string", 1, 7),
        ("", "Missing value", 1, 1),
    ],
)
def test_errors(text: str, summary: str, line: int, column: int) -> None:
    _, diags = parse_json(text, "m.mlf.json")
    assert diags, text
    d = diags[0]
    assert d.summary == summary and d.detail
    assert d.subject is not None
    assert (d.subject.start.line, d.subject.start.column) == (line, column)


def test_comment_properties_only_in_bodies() -> None:
    assert lines('{"locals": {"//": "note", "a": {"//": 1}}}') == [
        "locals {",
        "  a = {'//'=1}",
        "}",
    ]
