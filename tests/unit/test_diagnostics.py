"""Rendering a diagnostic: the instance it is about and the notes that point at other lines."""

from __future__ import annotations

import json
from dataclasses import replace

from mlform.diagnostics import Note, Pos, Range, error, render


def _at(filename: str, line: int, col: int, width: int) -> Range:
    return Range(filename, Pos(line, col, 0), Pos(line, col + width, width))


SOURCES = {
    "m/main.mlf.hcl": 'variable "n" {}\n\nresource "test_object" "o" {\n  value = var.n + 1\n}\n',
    "main.mlf.hcl": 'module "iris" {\n  source = "./m"\n  n      = "abc"\n}\n',
}


def test_a_diagnostic_names_its_instance_and_the_callers_line() -> None:
    d = error("Invalid operand", "A number is required.", _at("m/main.mlf.hcl", 4, 11, 5))
    d = replace(
        d,
        address="module.iris.test_object.o",
        notes=(Note("var.n is given to module.iris by its caller", _at("main.mlf.hcl", 3, 12, 5)),),
    )
    assert render(d, SOURCES) == (
        "Error: Invalid operand\n"
        "\n"
        "  with module.iris.test_object.o,\n"
        "  on m/main.mlf.hcl line 4, column 11:\n"
        "     4:   value = var.n + 1\n"
        "                  ^^^^^\n"
        "\n"
        "  var.n is given to module.iris by its caller, on main.mlf.hcl line 3, column 12:\n"
        '     3:   n      = "abc"\n'
        "                   ^^^^^\n"
        "\n"
        "A number is required.\n"
    )
    doc = json.loads(json.dumps(d.to_json()))
    assert doc["address"] == "module.iris.test_object.o"
    assert doc["notes"][0]["message"] == "var.n is given to module.iris by its caller"
    assert doc["notes"][0]["range"]["start"]["line"] == 3


def test_without_an_address_nothing_changes() -> None:
    d = error("Invalid operand", "A number is required.", _at("m/main.mlf.hcl", 4, 11, 5))
    assert "with" not in render(d, SOURCES)
    assert "address" not in d.to_json() and "notes" not in d.to_json()
