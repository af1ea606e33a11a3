"""`mlform console` end to end: the expressions of tests/testdata/console/ piped through the real
command, in human and JSON form, compared with what Terraform's console gives for them."""

from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from mlform.cli.main import cli

DATA = Path(__file__).parent.parent / "testdata" / "console"


def _cases(name: str) -> list[tuple[str, str]]:
    out = []
    for line in (DATA / name).read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        expr, expected = line.split("\t")
        out.append((expr, expected))
    return out


HUMAN = _cases("cases.txt")
JSON_CASES = _cases("json_cases.txt")


def _run(args: list[str], stdin: str, tmp_path: Path) -> object:
    runner = CliRunner()
    here = os.getcwd()
    try:
        return runner.invoke(cli, ["-C", str(tmp_path), "console", *args], input=stdin)
    finally:
        os.chdir(here)  # -C changes the directory of the whole process


@pytest.mark.parametrize(("expr", "expected"), HUMAN, ids=[e for e, _ in HUMAN])
def test_human_output(expr: str, expected: str, tmp_path: Path) -> None:
    result = _run([], expr + "\n", tmp_path)
    if expected.startswith("!"):
        assert result.exit_code == 1, result.output
        assert f"Error: {expected[1:]}\n" in result.stderr
        assert result.stdout == ""
    else:
        assert result.exit_code == 0, result.stderr
        assert result.stdout == expected.replace("↵", "\n") + "\n"


def test_json_output_one_line_per_expression(tmp_path: Path) -> None:
    stdin = "".join(expr + "\n" for expr, _ in JSON_CASES)
    result = _run(["--json"], stdin, tmp_path)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == len(JSON_CASES)
    for (expr, expected), line in zip(JSON_CASES, lines, strict=True):
        got = json.loads(line, parse_float=Decimal)
        assert got == json.loads(expected, parse_float=Decimal), expr


def test_json_covers_every_human_case(tmp_path: Path) -> None:
    # Every case gives exactly one JSON line, an error for exactly the failing ones.
    stdin = "".join(expr + "\n" for expr, _ in HUMAN)
    result = _run(["--json"], stdin, tmp_path)
    lines = result.stdout.splitlines()
    assert len(lines) == len(HUMAN)
    for (expr, expected), line in zip(HUMAN, lines, strict=True):
        got = json.loads(line)
        if expected.startswith("!"):
            assert got["error"] == expected[1:], expr
        else:
            assert "error" not in got, (expr, got)


def test_multi_line_expression_continues_until_brackets_close(tmp_path: Path) -> None:
    stdin = "{\n  a = [1,\n    2]\n}\n[for x in [1] :\n  x]\n"
    result = _run([], stdin, tmp_path)
    assert result.exit_code == 0, result.stderr
    assert result.stdout == '{\n  "a" = [\n    1,\n    2,\n  ]\n}\n[\n  1,\n]\n'


def test_heredoc_input_spans_lines(tmp_path: Path) -> None:
    result = _run(["--json"], "<<EOT\nhello\nEOT\n1\n", tmp_path)
    assert result.stdout.splitlines() == [
        '{"value":"hello\\n","type":"string"}',
        '{"value":1,"type":"number"}',
    ]


def test_errors_go_on_to_the_next_expression(tmp_path: Path) -> None:
    result = _run([], "[1][3]\n1 + 1\n", tmp_path)
    assert result.exit_code == 1
    assert result.stdout == "2\n"
    assert "Error: Invalid index" in result.stderr
    assert "<console-input> line 1, column 1" in result.stderr
    assert "[1][3]" in result.stderr


def test_syntax_error_is_reported_in_json(tmp_path: Path) -> None:
    result = _run(["--json"], "1 +\n2\n", tmp_path)
    lines = [json.loads(x) for x in result.stdout.splitlines()]
    assert "error" in lines[0]
    assert lines[-1] == {"value": 2, "type": "number"}


def test_path_values_come_from_the_working_directory(tmp_path: Path) -> None:
    result = _run(["--json"], "path.module\npath.cwd\n", tmp_path)
    lines = [json.loads(x) for x in result.stdout.splitlines()]
    assert lines[0] == {"value": ".", "type": "string"}
    assert Path(lines[1]["value"]).resolve() == tmp_path.resolve()


def test_sensitive_value_hidden_in_json(tmp_path: Path) -> None:
    result = _run(["--json"], 'sensitive("x")\n', tmp_path)
    assert json.loads(result.stdout) == {"value": None, "type": "string", "sensitive": True}


def test_blank_lines_are_skipped_and_exit_stops(tmp_path: Path) -> None:
    result = _run([], "\n1\n\nexit\n2\n", tmp_path)
    assert result.stdout == "1\n"


def test_blank_line_ends_an_open_expression(tmp_path: Path) -> None:
    result = _run(["--json"], "[1, 2\n\n1 + 1\n", tmp_path)
    lines = [json.loads(x) for x in result.stdout.splitlines()]
    assert "error" in lines[0]
    assert lines[1] == {"value": 2, "type": "number"}


@pytest.mark.parametrize(
    ("text", "open_"),
    [
        ("[1,", True),
        ("{a = 1", True),
        ('"abc"', False),
        ('"${[1,2][0]}"', False),
        ('"${', True),
        ("f(", True),
        ("(1]", False),
        ("1)", False),
        ("<<EOT", True),
        ("<<EOT\nx\nEOT", False),
        ('"$${"', False),
        ("[1] # a comment [", False),
    ],
)
def test_is_incomplete(text: str, open_: bool) -> None:
    from mlform.cli.console_cmd import is_incomplete

    assert is_incomplete(text) is open_
