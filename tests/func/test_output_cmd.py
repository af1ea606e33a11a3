"""`mlform output` end to end: outputs recorded through the state API, printed the way
`terraform output` prints them (human, --json, --raw), and its refusals."""

from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from mlform.cli.main import cli
from mlform.cli.output_render import json_indent, raw_text, render_output_value
from mlform.state import OutputRecord
from mlform.state.backends.local import LocalBackend
from mlform.state.session import StateSession

GOLDEN = Path(__file__).parent.parent / "testdata" / "output_cmd"

OUTPUTS = {
    "endpoint": OutputRecord("http://127.0.0.1:8080/<v1>&x", "string"),
    "port": OutputRecord(8080, "number"),
    "ratio": OutputRecord(0.1, "number"),
    "ready": OutputRecord(True, "bool"),
    "password": OutputRecord("hunter2", "string", sensitive=True),
    "tags": OutputRecord(["a", "b"], ["list", "string"]),
    "limits": OutputRecord({"cpu": 2, "gpu": 1}, ["map", "number"]),
    "model": OutputRecord(
        {"uri": "/store/m1", "digest": "sha256:aa", "metrics": {"acc": 0.97}},
        ["object", {"uri": "string", "digest": "string", "metrics": ["map", "number"]}],
    ),
    "notes": OutputRecord("line one\nline two", "string"),
    "nothing": OutputRecord(None, "string"),
}


def run(*args: str) -> Result:
    return CliRunner().invoke(cli, ["output", *args])


def golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("MLFORM_UPDATE_GOLDEN"):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8")


def record(outputs: dict[str, OutputRecord], workspace: str = "default") -> None:
    with StateSession.open(LocalBackend({}, Path(".")), workspace) as sess:
        sess.set_outputs(outputs)
        sess.commit()


def failed(result: Result, summary: str) -> None:
    assert result.exit_code == 1, result.output
    assert f"Error: {summary}" in result.stderr
    assert result.stdout == ""
    assert "Traceback" not in result.output


@pytest.fixture(autouse=True)
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFORM_WORKSPACE", raising=False)
    return tmp_path


def test_all_outputs_human_golden() -> None:
    record(OUTPUTS)
    result = run()
    assert result.exit_code == 0, result.stderr
    assert "hunter2" not in result.stdout
    assert "password = <sensitive>\n" in result.stdout
    golden("all.txt", result.stdout)


def test_all_outputs_json_golden() -> None:
    record(OUTPUTS)
    result = run("--json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout, parse_float=Decimal)
    assert list(data) == sorted(OUTPUTS)
    # Sensitive values are included in JSON, as terraform output -json does.
    assert data["password"] == {"sensitive": True, "type": "string", "value": "hunter2"}
    assert data["ratio"]["value"] == Decimal("0.1")
    assert data["model"]["type"][0] == "object"
    assert "\\u003cv1\\u003e\\u0026x" in result.stdout  # Go's HTML-safe escaping
    golden("all.json", result.stdout)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("endpoint", '"http://127.0.0.1:8080/<v1>&x"\n'),
        ("port", "8080\n"),
        ("ratio", "0.1\n"),
        ("ready", "true\n"),
        ("password", '"hunter2"\n'),  # asked for by name: shown
        ("tags", 'tolist([\n  "a",\n  "b",\n])\n'),
        ("limits", 'tomap({\n  "cpu" = 2\n  "gpu" = 1\n})\n'),
        ("notes", "<<EOT\nline one\nline two\nEOT\n"),
        ("nothing", "tostring(null)\n"),
    ],
)
def test_one_output_human(name: str, expected: str) -> None:
    record(OUTPUTS)
    result = run(name)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("endpoint", '"http://127.0.0.1:8080/\\u003cv1\\u003e\\u0026x"\n'),
        ("port", "8080\n"),
        ("ratio", "0.1\n"),
        ("password", '"hunter2"\n'),
        ("tags", '["a","b"]\n'),
        ("model", '{"digest":"sha256:aa","metrics":{"acc":0.97},"uri":"/store/m1"}\n'),
        ("nothing", "null\n"),
    ],
)
def test_one_output_json(name: str, expected: str) -> None:
    record(OUTPUTS)
    result = run("--json", name)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("endpoint", "http://127.0.0.1:8080/<v1>&x"),
        ("port", "8080"),
        ("ratio", "0.1"),
        ("ready", "true"),
        ("password", "hunter2"),
        ("notes", "line one\nline two"),
    ],
)
def test_raw(name: str, expected: str) -> None:
    record(OUTPUTS)
    result = run("--raw", name)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == expected  # no trailing newline, for $(...)


def test_raw_refuses_complex_and_null_values() -> None:
    record(OUTPUTS)
    result = run("--raw", "tags")
    failed(result, "Unsupported value for raw output")
    assert "list of string" in result.stderr
    assert "--json" in result.stderr
    result = run("--raw", "nothing")
    failed(result, "Unsupported value for raw output")
    assert "is null" in result.stderr


def test_raw_needs_a_name_and_excludes_json() -> None:
    record(OUTPUTS)
    failed(run("--raw"), "Raw output format is only supported for single outputs")
    failed(run("--raw", "--json", "port"), "The --raw and --json options are mutually exclusive")


def test_missing_output_with_hint() -> None:
    record(OUTPUTS)
    result = run("endpont")
    failed(result, 'Output "endpont" not found')
    assert "mlform apply" in result.stderr
    assert 'Did you mean "endpoint"?' in result.stderr
    failed(run("--json", "endpont"), 'Output "endpont" not found')


def test_no_outputs_warns() -> None:
    record({"x": OutputRecord(1, "number")})
    record({})
    result = run()
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "Warning: No outputs found" in result.stderr
    result = run("--json")
    assert result.exit_code == 0
    assert result.stdout == "{}\n"


def test_no_state_at_all() -> None:
    result = run()
    assert result.exit_code == 0
    assert "Warning: No outputs found" in result.stderr
    failed(run("x", "--json"), 'Output "x" not found')


def test_outputs_of_the_selected_workspace(monkeypatch: pytest.MonkeyPatch) -> None:
    record({"where": OutputRecord("default", "string")})
    LocalBackend({}, Path(".")).create_workspace("dev")
    record({"where": OutputRecord("dev", "string")}, "dev")
    assert run("--raw", "where").stdout == "default"
    monkeypatch.setenv("MLFORM_WORKSPACE", "dev")
    assert run("--raw", "where").stdout == "dev"


def test_help_has_an_example() -> None:
    result = run("--help")
    assert result.exit_code == 0
    assert "Examples:" in result.stdout and "mlform output --raw" in result.stdout


# --- the rendering functions apply uses ---------------------------------------------------------


def test_render_output_value_matches_console_form() -> None:
    assert render_output_value({"a": 1}, ["object", {"a": "number"}]) == '{\n  "a" = 1\n}'
    assert render_output_value([1, 2], ["set", "number"]) == "toset([\n  1,\n  2,\n])"
    # A type notation this mlform cannot read still prints the data.
    assert render_output_value("x", ["future-type", "string"]) == '"x"'


def test_raw_text_and_json_indent() -> None:
    assert raw_text(1.5, "number") == "1.5"
    assert raw_text(False, "bool") == "false"
    assert raw_text({"a": 1}, ["map", "number"]) is None
    assert json_indent({"a": [1, {"b": None}], "e": {}}) == (
        '{\n  "a": [\n    1,\n    {\n      "b": null\n    }\n  ],\n  "e": {}\n}'
    )
    assert json_indent({"a": [Decimal("0.1")]}, compact=True) == '{"a":[0.1]}'
