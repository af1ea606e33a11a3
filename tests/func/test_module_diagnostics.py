"""An error inside one instance of many says which: a module called twice prints its error once
per call, each naming the module instance (`with module.iris.test_object.o,`) and the caller's
line that passed the value at fault; a resource with count or for_each names the instance
(`with test_object.a[0],`). A resource of the root module with a single instance is shown as
before, without a `with` line."""

from __future__ import annotations

import json
import re

import pytest

MODULE = """\
variable "n" {}

resource "test_object" "o" {
  value = var.n + 1
}
"""

TWICE = """\
provider "test" { store = "objects.json" }

module "iris" {
  source = "./m"
  n      = "abc"
}

module "wine" {
  source = "./m"
  n      = "def"
}
"""


def errors(text: str) -> list[str]:
    """Each `Error:` block of a command's standard error."""
    return ["Error:" + b for b in re.split(r"^Error:", text, flags=re.M)[1:]]


def block_of(blocks: list[str], address: str) -> str:
    found = [b for b in blocks if f"  with {address},\n" in b]
    assert len(found) == 1, (address, blocks)
    return found[0]


def test_an_error_in_a_module_called_twice_names_each_call(write, mlform) -> None:
    write(MODULE, "m/main.mlf.hcl")
    write(TWICE)
    res = mlform("plan")
    assert res.code == 1, str(res)
    assert "Traceback" not in res.all
    blocks = errors(res.err)
    assert len(blocks) == 2, res.err
    assert blocks[0] != blocks[1]
    for name, line, value in (("iris", 5, '"abc"'), ("wine", 10, '"def"')):
        block = block_of(blocks, f"module.{name}.test_object.o")
        assert block.startswith("Error: Invalid operand\n"), block
        # The module's own line, then the caller's line that passed the value.
        assert "  on m/main.mlf.hcl line 4, column 11:\n     4:   value = var.n + 1\n" in block
        caller = (
            f"  var.n is given to module.{name} by its caller, "
            f"on main.mlf.hcl line {line}, column 12:\n"
            f"  {line:>4}:   n      = {value}\n"
        )
        assert caller in block, block
        assert block.index("line 4, column 11") < block.index(caller)
        assert "Unsuitable value for left operand: a number is required." in block


def test_a_value_passed_down_two_modules_names_both_callers(write, mlform) -> None:
    write(MODULE, "outer/inner/main.mlf.hcl")
    write(
        'variable "x" {}\n\nmodule "inner" {\n  source = "./inner"\n  n      = var.x\n}\n',
        "outer/main.mlf.hcl",
    )
    write(
        'provider "test" { store = "objects.json" }\n\nmodule "outer" {\n  source = "./outer"\n  x      = "abc"\n}\n'
    )
    res = mlform("plan")
    assert res.code == 1, str(res)
    (block,) = errors(res.err)
    assert "  with module.outer.module.inner.test_object.o,\n" in block
    inner = "  var.n is given to module.outer.module.inner by its caller, on outer/main.mlf.hcl line 5, column 12:"
    outer = "  var.x is given to module.outer by its caller, on main.mlf.hcl line 5, column 12:"
    assert inner in block and outer in block
    assert block.index(inner) < block.index(outer)


@pytest.mark.parametrize(
    "expansion, addresses",
    [
        ("count = 2", ["test_object.a[0]", "test_object.a[1]"]),
        ('for_each = toset(["p", "q"])', ['test_object.a["p"]', 'test_object.a["q"]']),
    ],
)
def test_an_error_in_each_instance_names_the_instance(
    write, mlform, expansion: str, addresses: list[str]
) -> None:
    write(
        'provider "test" { store = "objects.json" }\n\n'
        f'resource "test_object" "a" {{\n  {expansion}\n  value = upper(1 + "x")\n}}\n'
    )
    res = mlform("plan")
    assert res.code == 1, str(res)
    blocks = errors(res.err)
    assert len(blocks) == 2, res.err
    for address in addresses:
        block = block_of(blocks, address)
        assert "  on main.mlf.hcl line 5, column 21:" in block
        assert "given to" not in block  # no module: no caller to show


def test_a_single_root_instance_has_no_with_line(write, mlform) -> None:
    write(
        'provider "test" { store = "objects.json" }\n\nresource "test_object" "a" {\n  value = 1 + "x"\n}\n'
    )
    res = mlform("plan")
    assert res.code == 1, str(res)
    (block,) = errors(res.err)
    assert "  with " not in block
    assert block.startswith("Error: Invalid operand\n\n  on main.mlf.hcl line 4, column 15:")


def test_a_provider_refusal_in_a_module_names_the_call(write, mlform) -> None:
    """The local provider refuses a dataset source that does not exist: each call of the
    module is named, with the line that passed it the path."""
    write(
        'variable "src" {}\n\nresource "dataset" "d" {\n  source = var.src\n}\n', "m/main.mlf.hcl"
    )
    write(
        'module "iris" {\n  source = "./m"\n  src    = "./nope-iris"\n}\n\n'
        'module "wine" {\n  source = "./m"\n  src    = "./nope-wine"\n}\n'
    )
    res = mlform("plan")
    assert res.code == 1, str(res)
    blocks = errors(res.err)
    assert len(blocks) == 2, res.err
    for name, line in (("iris", 3), ("wine", 8)):
        block = block_of(blocks, f"module.{name}.dataset.d")
        assert f"Error: dataset source ./nope-{name} does not exist" in block
        assert "  on m/main.mlf.hcl line 4, column 12:" in block
        assert (
            f"  var.src is given to module.{name} by its caller, on main.mlf.hcl line {line}, "
            "column 12:" in block
        )


def test_validate_checks_a_module_once(write, mlform) -> None:
    """validate checks modules, not their instances: a mistake in a module is one error, as
    before, and its JSON has no address."""
    write(MODULE.replace("var.n + 1", '1 + "x"'), "m/main.mlf.hcl")
    write(TWICE)
    res = mlform("validate", "--json")
    doc = json.loads(res.out)
    assert [d["summary"] for d in doc["diagnostics"]] == ["Invalid operand"], doc
    assert "address" not in doc["diagnostics"][0]
