"""`mlform validate`, `mlform console` over modules, and `mlform init` with modules and providers,
driven through the real CLI."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

TESTDATA = Path(__file__).parent.parent / "testdata" / "validate"


def run(
    args: list[str], cwd: Path, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, "MLFORM_IN_AUTOMATION": "1", "NO_COLOR": "1", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "mlform.cli.main", *args],
        cwd=cwd,
        input=stdin,
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
    )


@pytest.fixture
def case(tmp_path: Path):
    def copy(name: str) -> Path:
        dst = tmp_path / name
        shutil.copytree(TESTDATA / name, dst)
        return dst

    return copy


def test_broken_configuration_reports_every_problem_with_location(case) -> None:
    d = case("broken")
    r = run(["validate"], d)
    assert r.returncode == 1
    err = r.stderr
    assert "Traceback" not in err
    # The unknown block type stops decoding of nothing else: all problems come together.
    assert 'Blocks of type "varable" are not expected here. Did you mean "variable"?' in err
    assert "on main.mlf.hcl line 1, column 1:" in err
    assert 'Duplicate resource "dataset" configuration' in err
    assert "main.mlf.hcl:8,1" in err  # where the first declaration was


def test_meaning_errors_after_structure_is_fixed(case) -> None:
    d = case("broken")
    text = (d / "main.mlf.hcl").read_text()
    text = text.replace('varable "x" {}\n', "")
    text = text[: text.rindex('resource "dataset" "digits" {\n  source = "./other"')]
    (d / "main.mlf.hcl").write_text(text)
    r = run(["validate"], d)
    assert r.returncode == 1
    err = r.stderr
    assert 'An argument named "enviroment" is not expected here. Did you mean "environment"?' in err
    assert (
        'An input variable with the name "sed" has not been declared. Did you mean "seed"?' in err
    )
    assert "local.a → local.b → local.a" in err
    assert "Invalid operand" in err and "a number is required" in err
    # Each with its snippet and a marker under the span.
    assert '    12:   enviroment = "env-1"\n' in err
    assert "          ^^^^^^^^^^\n" in err


def test_validate_json(case) -> None:
    d = case("broken")
    r = run(["validate", "--json"], d)
    assert r.returncode == 1
    data = json.loads(r.stdout)
    assert data["valid"] is False
    assert (
        data["error_count"]
        == len([x for x in data["diagnostics"] if x["severity"] == "error"])
        >= 2
    )
    first = data["diagnostics"][0]
    assert first["range"]["filename"] == "main.mlf.hcl"
    assert first["range"]["start"]["line"] == 1


def test_valid_modules_with_for_each(case) -> None:
    d = case("modules")
    r = run(["validate"], d)
    assert r.returncode == 0, r.stderr
    assert "Success! The configuration is valid." in r.stdout


def test_console_sees_module_outputs_and_variables(case) -> None:
    d = case("modules")
    r = run(
        ["console", "--json"],
        d,
        stdin="module.team.b.label\nvar.teams.b.tags\nlength(module.team)\n",
    )
    assert r.returncode == 0, r.stderr
    lines = [json.loads(line) for line in r.stdout.splitlines()]
    assert lines[0] == {"value": "team-b", "type": "string"}
    assert lines[1] == {"value": ["x"], "type": ["list", "string"]}
    assert lines[2] == {"value": 2, "type": "number"}


def test_variable_precedence(case) -> None:
    d = case("modules")
    (d / "main.mlf.hcl").write_text(
        (d / "main.mlf.hcl").read_text() + '\nvariable "who" {\n  default = "default"\n}\n'
    )
    q = "var.who\n"

    def who(env: dict[str, str] | None = None, extra: list[str] | None = None) -> str:
        r = run(["console", *(extra or [])], d, stdin=q, env=env)
        assert r.returncode == 0, r.stderr
        return r.stdout.strip()

    assert who() == '"default"'
    assert who(env={"MLFORM_VAR_who": "env"}) == '"env"'
    (d / "mlform.mlfvars.hcl").write_text('who = "file"\n')
    assert who(env={"MLFORM_VAR_who": "env"}) == '"file"'
    (d / "b.auto.mlfvars.hcl").write_text('who = "auto-b"\n')
    (d / "a.auto.mlfvars.hcl").write_text('who = "auto-a"\n')
    assert who() == '"auto-b"'  # auto files in lexical order: the last wins
    (d / "cli.mlfvars.hcl").write_text('who = "var-file"\n')
    assert who(extra=["--var-file", "cli.mlfvars.hcl"]) == '"var-file"'
    assert who(extra=["--var-file", "cli.mlfvars.hcl", "--var", "who=cli"]) == '"cli"'
    assert who(extra=["--var", "who=cli", "--var-file", "cli.mlfvars.hcl"]) == '"var-file"'


def test_required_variable_without_value_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "main.mlf.hcl").write_text(
        'variable "x" {\n  type = number\n}\n\nresource "test_object" "a" {\n  value = var.x\n}\n'
    )
    r = run(["plan"], tmp_path)
    assert r.returncode == 1
    assert "No value for required variable" in r.stderr
    assert 'The root module input variable "x" is not set' in r.stderr
    r = run(["plan", "--var", "x=oops"], tmp_path)
    assert r.returncode == 1
    assert "a number is required" in r.stderr  # taken as text, as Terraform does
    r = run(["plan", "--var", "x=[1]"], tmp_path)
    assert r.returncode == 1
    assert "Invalid value for input variable" in r.stderr
    r = run(["plan", "--var", "x=3"], tmp_path)
    assert r.returncode == 0, r.stderr


def test_failing_validation_reports_its_message(case) -> None:
    d = case("modules")
    (d / "main.mlf.hcl").write_text(
        (d / "main.mlf.hcl").read_text().replace("name     = each.key", 'name     = ""')
    )
    r = run(["validate"], d)
    assert r.returncode == 1
    assert "A team needs a name." in r.stderr
    assert "modules/child/main.mlf.hcl" in r.stderr


def test_no_traceback_unless_debug(tmp_path: Path) -> None:
    (tmp_path / "main.mlf.hcl").write_text('resource "test_object" "a" {\n  value = 1\n')
    r = run(["validate"], tmp_path)
    assert r.returncode == 1
    assert "Traceback" not in r.stderr
    assert "main.mlf.hcl" in r.stderr


def _git(*args: str, cwd: Path) -> None:
    subprocess.run(
        ["git", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        env={
            **os.environ,
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@e",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@e",
        },
    )


def test_init_fetches_git_modules_at_a_ref_and_locks_providers(case, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(TESTDATA / "modules" / "modules" / "child", repo / "child")
    _git("init", "-q", cwd=repo)
    _git("add", ".", cwd=repo)
    _git("commit", "-qm", "v1", cwd=repo)
    _git("tag", "v1", cwd=repo)
    (repo / "child" / "main.mlf.hcl").write_text(
        (repo / "child" / "main.mlf.hcl").read_text().replace("team-", "squad-")
    )
    _git("commit", "-qam", "v2", cwd=repo)
    d = case("modules")
    main = (
        (d / "main.mlf.hcl")
        .read_text()
        .replace('"./modules/child"', f'"git::file://{repo}//child?ref=v1"')
    )
    main += '\nresource "test_object" "t" {\n  value = 1\n}\n'
    (d / "main.mlf.hcl").write_text(main)
    r = run(["validate"], d)
    assert r.returncode == 1 and "Run `mlform init`" in r.stderr
    r = run(["init"], d)
    assert r.returncode == 0, r.stderr
    lock = (d / ".mlform.lock.hcl").read_text()
    assert 'provider "test"' in lock
    r = run(["console"], d, stdin="module.team.a.label\n")
    assert r.stdout.strip() == '"team-a"'  # v1, not the later commit


def test_init_names_the_pip_command_for_a_missing_provider(tmp_path: Path) -> None:
    (tmp_path / "main.mlf.hcl").write_text(
        'mlform {\n  required_providers {\n    nosuch = { version = ">= 1.0" }\n  }\n}\n'
    )
    r = run(["init"], tmp_path)
    assert r.returncode == 1
    assert "pip install mlform-provider-nosuch" in r.stderr


def test_init_refuses_a_provider_version_outside_the_constraint(tmp_path: Path) -> None:
    (tmp_path / "main.mlf.hcl").write_text(
        'mlform {\n  required_providers {\n    test = { version = ">= 99" }\n  }\n}\n'
    )
    r = run(["init"], tmp_path)
    assert r.returncode == 1
    assert "Provider version does not match" in r.stderr


def test_warm_validate_reuses_the_result_until_a_file_changes(case) -> None:
    d = case("modules")
    assert run(["validate"], d).returncode == 0
    assert (d / ".mlform" / "cache" / "validate.json").is_file()
    assert run(["validate"], d).returncode == 0
    child = d / "modules" / "child" / "main.mlf.hcl"
    child.write_text(child.read_text().replace("var.size * 10", 'var.size * "x"'))
    r = run(["validate"], d)
    assert r.returncode == 1, "a changed module file must invalidate the cached result"
    assert "Invalid operand" in r.stderr


def test_function_calls_are_not_allowed_in_variable_values(tmp_path: Path) -> None:
    (tmp_path / "main.mlf.hcl").write_text('variable "x" {}\n\noutput "x" {\n  value = var.x\n}\n')
    (tmp_path / "a.auto.mlfvars.hcl").write_text('x = upper("a")\n')
    r = run(["plan"], tmp_path)
    assert r.returncode == 1
    assert "Function calls not allowed" in r.stderr
    assert "on a.auto.mlfvars.hcl line 1, column 5:" in r.stderr
