"""A new user's mistakes on the command line: wrong flags and wrong paths are diagnostics with
exit code 1, never mistaken for "changes present" by a script using --detailed-exitcode."""

from __future__ import annotations

CONFIG = """
provider "test" { store = "objects.json" }
resource "test_object" "a" { value = "x" }
"""


def test_a_var_file_that_is_a_folder_says_so(mlform, write, workdir) -> None:
    write(CONFIG)
    (workdir / "vars").mkdir()
    res = mlform("plan", "-var-file", "vars")
    assert res.code == 1, str(res)
    assert 'Given variables file "vars" is a folder, not a file.' in res.err


def test_a_usage_error_with_detailed_exitcode_is_not_read_as_changes(mlform, write) -> None:
    write(CONFIG)
    res = mlform("plan", "--detailed-exitcode", "--no-such-flag")
    assert "No such option" in res.err
    assert res.code == 1, str(res)


def test_fmt_takes_terraforms_flag_values(mlform, workdir) -> None:
    messy = 'resource "a" "b" {\nx=1\n}\n'
    (workdir / "a.mlf.hcl").write_text(messy)
    check = mlform("fmt", "-check=true")
    assert check.code == 3, str(check)
    assert check.out == "a.mlf.hcl\n"
    shown = mlform.ok("fmt", "-list=false", "-write=false")
    assert shown.out == 'resource "a" "b" {\n  x = 1\n}\n'
    assert (workdir / "a.mlf.hcl").read_text() == messy
    listed = mlform.ok("fmt", "-check=false", "-write=true")
    assert listed.out == "a.mlf.hcl\n"
    assert (workdir / "a.mlf.hcl").read_text() == 'resource "a" "b" {\n  x = 1\n}\n'


VARS = 'variable "x" { type = string }\nvariable "n" {\n  type    = number\n  default = 1\n}\n'


def test_a_variable_reference_in_a_var_file_says_variables_may_not_be_used(mlform, write) -> None:
    write(VARS)
    write("x = var.y\n", "a.mlfvars.hcl")
    res = mlform("plan", "-var-file", "a.mlfvars.hcl")
    assert res.code == 1, str(res)
    assert "Error: Variables not allowed" in res.err
    assert "on a.mlfvars.hcl line 1, column 5:" in res.err
    assert "Variables may not be used here" in res.err
    assert 'There is no variable named "var"' not in res.err


def test_a_bad_value_from_the_environment_names_its_source(mlform, write) -> None:
    write(VARS)
    res = mlform("plan", "-var", "x=1", env={"MLFORM_VAR_n": "abc"})
    assert res.code == 1, str(res)
    assert "a number is required. The value came from the MLFORM_VAR_n environment" in res.err
    res = mlform("plan", "-var", "x=1", "-var", "n=abc")
    assert "The value came from the command line (--var n=...)." in res.err
