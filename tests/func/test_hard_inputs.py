"""Hard inputs through the CLI: each ends in a diagnostic or a result, quickly, never in
"internal error" (what `mlform` prints when an unexpected exception escapes)."""

from __future__ import annotations

import importlib.util
import random
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import Mlform, Result

_FUZZ = Path(__file__).resolve().parents[2] / "scripts" / "fuzz.py"
_spec = importlib.util.spec_from_file_location("mlform_fuzz_cli", _FUZZ)
assert _spec is not None and _spec.loader is not None
fuzz = importlib.util.module_from_spec(_spec)
sys.modules["mlform_fuzz_cli"] = fuzz
_spec.loader.exec_module(fuzz)


def write(workdir: Path, text: str, name: str = "main.mlf.hcl") -> None:
    (workdir / name).write_text(text, encoding="utf-8")


def no_internal_error(res: Result) -> None:
    assert "internal error" not in res.all.lower(), str(res)
    assert "Traceback" not in res.all, str(res)


def timed(mlform: Mlform, *args: str, stdin: str | None = None) -> Result:
    start = time.monotonic()
    res = mlform(*args, stdin=stdin, timeout=60)
    assert time.monotonic() - start < 10, f"mlform {' '.join(args)} took too long"
    no_internal_error(res)
    return res


# The last is past what Python's Decimal can hold at all (the CLI fuzzer found it).
@pytest.mark.parametrize(
    "lit", ["1e999999", "1e99999999", "1e9999999999", "1e999999999999999999999"]
)
def test_huge_exponent_in_a_file_and_through_var(mlform: Mlform, workdir: Path, lit: str) -> None:
    write(workdir, f'variable "n" {{\n  type = number\n}}\nlocals {{\n  x = {lit}\n}}\n')
    res = timed(mlform, "validate")
    assert res.code == 1
    assert "Number out of range" in res.err
    assert "line 5, column 7" in res.err
    write(workdir, 'variable "n" {\n  type = number\n}\noutput "n" {\n  value = var.n\n}\n')
    res = timed(mlform, "plan", "--var", f"n={lit}")
    assert res.code == 1 and "out of range" in res.err


def test_console_goes_on_after_errors(mlform: Mlform, workdir: Path) -> None:
    lines = ["1e9999999", "1" * 5001, "1e9999 > 1", 'format("%0999999999d", 1)', "1 + 1"]
    res = timed(mlform, "console", stdin="\n".join(lines) + "\n")
    assert res.code == 1
    out = res.out.splitlines()
    # 5,001 digits, rounded to Terraform's 512-bit precision.
    assert len(out[0]) == 5001 and out[0].startswith("1" * 150)
    assert out[1:] == ["true", "2"]
    assert "Number out of range" in res.err and "width at offset 2 is too large" in res.err


def test_long_chains_and_deep_blocks(mlform: Mlform, workdir: Path) -> None:
    chain = " + ".join(["1"] * 600)
    write(workdir, f'output "sum" {{\n  value = {chain}\n}}\n')
    res = timed(mlform, "validate")
    assert res.code == 0, str(res)
    res = timed(mlform, "plan")
    assert "sum = 600" in res.out, str(res)
    res = timed(mlform, "fmt", "-check", "main.mlf.hcl")
    assert res.code == 0, str(res)
    (workdir / "main.mlf.hcl").unlink()
    deep = "".join(f"b{i} {{\n" for i in range(490)) + "}\n" * 490
    write(workdir, deep, "deep.mlf.hcl")
    res = timed(mlform, "fmt", "deep.mlf.hcl")
    assert res.code != 0 and "Blocks nested too deeply" in res.err
    res = timed(mlform, "validate")
    assert res.code == 1 and "Blocks nested too deeply" in res.err


def test_nul_in_a_module_source(mlform: Mlform, workdir: Path) -> None:
    write(workdir, 'module "m" {\n  source = "./m\\u0000x"\n}\n')
    res = timed(mlform, "validate")
    assert res.code == 1 and "Invalid module source" in res.err
    assert "line 2, column 12" in res.err


@pytest.mark.parametrize("name", ["a" * 300, "/".join(["b" * 200] * 30)])
def test_a_module_source_the_system_refuses(mlform: Mlform, workdir: Path, name: str) -> None:
    """A name longer than the file system allows is the user's mistake: a diagnostic on the
    source line from validate, plan and init alike (it was an internal OSError)."""
    write(workdir, f'module "m" {{\n  source = "./{name}"\n}}\n')
    for cmd in (("validate",), ("plan",), ("init",)):
        res = timed(mlform, *cmd)
        assert res.code == 1, str(res)
        assert "Error: Module not found" in res.err, str(res)
        assert "on main.mlf.hcl line 2" in res.err, str(res)


def test_var_file_dev_null_and_attribute_named(mlform: Mlform, workdir: Path) -> None:
    write(
        workdir,
        'variable "o" {\n  type = object({ a = number })\n}\noutput "a" {\n  value = var.o.a\n}\n',
    )
    res = timed(mlform, "plan", "--var-file", "/dev/null", "--var", "o={a=1}")
    assert res.code == 0, str(res)
    res = timed(mlform, "plan", "--var", 'o={a="x"}')
    assert res.code == 1
    assert 'attribute "a": a number is required' in res.err
    res = timed(mlform, "plan", "--var-file", str(workdir / "missing.mlfvars.hcl"))
    assert "does not exist" in res.err


def test_default_not_matching_type_is_reported_on_the_default_line(
    mlform: Mlform, workdir: Path
) -> None:
    write(workdir, 'variable "n" {\n  type    = number\n  default = "abc"\n}\n')
    for args in (["validate"], ["plan", "--var", "n=1"]):
        res = timed(mlform, *args)
        assert res.code == 1
        assert "Invalid default value for variable" in res.err
        assert "line 3, column 13" in res.err
        assert "a number is required" in res.err


def test_nfc_string_equality_through_the_console(mlform: Mlform) -> None:
    res = timed(
        mlform,
        "console",
        stdin='"cafe\\u0301" == "caf\\u00e9"\nlength("cafe\\u0301")\nstrrev("cafe\\u0301")\n',
    )
    assert res.out.splitlines() == ["true", "4", '"éfac"']


def test_a_fuzzed_sample_through_the_cli(mlform: Mlform, workdir: Path) -> None:
    rng = random.Random(11)
    inputs = list(fuzz.inputs(400, 11))
    sample = rng.sample(inputs, 12)
    failures = []
    for name, text, is_expr in sample:
        body = f"locals {{\n  v = {text}\n}}\n" if is_expr else text
        failures += fuzz.check_cli(name, body, workdir)
    assert not failures, "\n".join(f"{f.name} [{f.stage}]: {f.what}" for f in failures)
