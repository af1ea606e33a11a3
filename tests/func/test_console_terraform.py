"""`mlform console` against Terraform's own console: every expression recorded from the real
`terraform console` (tests/testdata/console/terraform_oracle/recorded.tsv, written by record.py
there) piped through `mlform console`, the outputs compared exactly, errors by their summary.

Where mlform deliberately follows a later Terraform than the 1.0.3 that was recorded, the
expression is listed in DIFFERENCES with the reason (and in docs/language.md).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from mlform.cli.main import cli

ORACLE = Path(__file__).parent.parent / "testdata" / "console" / "terraform_oracle"
NL = "↵"

# Why mlform answers differently from the Terraform 1.0.3 that was recorded. Each is listed in
# docs/language.md ("Differences from Terraform").
SENSITIVE = (
    "Terraform 1.0.3 prints a sensitive value as (sensitive); later consoles, and mlform, print "
    "(sensitive value)"
)
TYPE_FUNCTION = "type() is a console function of later Terraform versions; 1.0.3 does not have it"
TYPED_NULL = (
    "later Terraform consoles show a typed null with its conversion (tostring(null)); 1.0.3 "
    "prints a bare null"
)
NEGATIVE_ZERO = (
    "Terraform's numbers are big floats with a negative zero; mlform's integers are exact and "
    "have none, so -0 is 0"
)
MULTI_LINE = (
    "Terraform 1.0.3's console reads each line as a whole expression; mlform, like later "
    "consoles, reads on while a bracket or heredoc is open"
)
SUM_CONVERTS = (
    "sum() in later Terraform converts each element to a number; 1.0.3 panics inside the function"
)
YAML_EMPTY = "an empty YAML document decodes to null since go-cty-yaml 1.0.3; Terraform 1.0.3 fails"
NETMASK_IPV6 = (
    "later Terraform refuses an IPv6 prefix in cidrnetmask (IPv6 has no netmask notation); 1.0.3 "
    "printed a mask"
)
NONSENSITIVE = "since Terraform 1.7, nonsensitive() of a value that is not sensitive returns it"
RANGE_ZERO_STEP = (
    "mlform refuses a zero step as an invalid argument at once; Terraform 1.0.3 runs into its "
    "1024-values limit (an error in both)"
)
INFINITY = (
    "mlform's numbers are exact decimals and always finite: where Terraform gives an infinity, "
    "mlform reports an error"
)
NEGATIVE_NEWBITS = (
    "cidrsubnet with negative newbits widens the prefix in Terraform 1.0.3 (no check); mlform "
    "refuses it, as the documentation says newbits extends the prefix"
)

# expression -> (reason, what mlform prints for it: its answer, or !Summary for an error).
DIFFERENCES: dict[str, tuple[str, str]] = {
    "tostring(null)": (TYPED_NULL, "tostring(null)"),
    "type(1)": (TYPE_FUNCTION, "number"),
    'type("a")': (TYPE_FUNCTION, "string"),
    "type(tolist([1]))": (TYPE_FUNCTION, "list(number)"),
    'type([1, "a"])': (TYPE_FUNCTION, "tuple([\n    number,\n    string,\n])"),
    "type({a = 1})": (TYPE_FUNCTION, "object({\n    a: number,\n})"),
    "-0": (NEGATIVE_ZERO, "0"),
    "<<EOT\nhello\nworld\nEOT": (MULTI_LINE, "<<EOT\nhello\nworld\n\nEOT"),
    "<<-EOT\n    indented\n      more\n    EOT": (MULTI_LINE, "<<EOT\nindented\n  more\n\nEOT"),
    "<<EOT\n${1 + 1}\nEOT": (MULTI_LINE, "<<EOT\n2\n\nEOT"),
    "<<EOT\n%{for x in [1,2]}${x}\n%{endfor}EOT": (MULTI_LINE, "!Unterminated template string"),
    'sum(["1", 2])': (SUM_CONVERTS, "3"),
    'yamldecode("")': (YAML_EMPTY, "null"),
    'cidrnetmask("fd00::/64")': (NETMASK_IPV6, "!Error in function call"),
    "tonumber(null)": (TYPED_NULL, "tonumber(null)"),
    "tobool(null)": (TYPED_NULL, "tobool(null)"),
    "tomap(null)": (TYPED_NULL, "tomap(null) /* of dynamic */"),
    "tolist(null)": (TYPED_NULL, "tolist(null) /* of dynamic */"),
    "type(null)": (TYPE_FUNCTION, "dynamic"),
    "type(true)": (TYPE_FUNCTION, "bool"),
    'type(toset(["a"]))': (TYPE_FUNCTION, "set(string)"),
    'type(tomap({a = "x"}))': (TYPE_FUNCTION, "map(string)"),
    "type([])": (TYPE_FUNCTION, "tuple([])"),
    "type({})": (TYPE_FUNCTION, "object({})"),
    "type([[1]])": (TYPE_FUNCTION, "tuple([\n    tuple([\n        number,\n    ]),\n])"),
    "type({a = [1], b = {c = true}})": (
        TYPE_FUNCTION,
        "object({\n    a: tuple([\n        number,\n    ]),\n    b: object({\n        c: bool,\n    }),\n})",
    ),
    "type(tolist([]))": (TYPE_FUNCTION, "list(dynamic)"),
    "type(sensitive(1))": (TYPE_FUNCTION, "number"),
    'nonsensitive("x")': (NONSENSITIVE, '"x"'),
    "0 * -1": (NEGATIVE_ZERO, "0"),
    "range(1, 3, 0)": (RANGE_ZERO_STEP, "!Invalid function argument"),
    "nonsensitive(1)": (NONSENSITIVE, "1"),
    "log(0, 10)": (INFINITY, "!Error in function call"),
    "log(10, 1)": (INFINITY, "!Error in function call"),
    'tonumber("Inf")': (INFINITY, "!Invalid function argument"),
    'jsondecode("-0")': (NEGATIVE_ZERO, "0"),
    'cidrsubnet("10.0.0.0/24", -1, 0)': (NEGATIVE_NEWBITS, "!Error in function call"),
    "[1, 2": (MULTI_LINE, "!Unterminated tuple constructor expression"),
}


def _recorded() -> list[tuple[str, str]]:
    out = []
    for line in (ORACLE / "recorded.tsv").read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        expr, answer = line.split("\t")
        out.append((expr.replace(NL, "\n"), answer.replace(NL, "\n")))
    return out


RECORDED = _recorded()


def _mlform(expr: str, tmp_path: Path) -> tuple[int, str, str]:
    here = os.getcwd()
    try:
        result = CliRunner().invoke(cli, ["-C", str(tmp_path), "console"], input=expr + "\n")
    finally:
        os.chdir(here)  # -C changes the directory of the whole process
    return result.exit_code, result.stdout, result.stderr


def _check(expr: str, answer: str, tmp_path: Path) -> None:
    code, out, err = _mlform(expr, tmp_path)
    if "(sensitive)" in answer:  # SENSITIVE: the same value, hidden under the later wording
        answer = answer.replace("(sensitive)", "(sensitive value)")
    if answer.startswith("!"):
        assert code == 1, f"terraform fails with {answer[1:]!r}, mlform printed {out!r}"
        assert f"Error: {answer[1:]}\n" in err, err
    else:
        assert code == 0, err
        assert out == answer + "\n"


@pytest.mark.parametrize(("expr", "answer"), RECORDED, ids=[e for e, _ in RECORDED])
def test_same_answer_as_terraform(expr: str, answer: str, tmp_path: Path) -> None:
    if expr in DIFFERENCES:
        # A documented difference: mlform's own answer is checked instead, and it must still
        # differ from Terraform 1.0.3's (or the entry is stale).
        ours = DIFFERENCES[expr][1]
        assert ours != answer, f"{expr!r} now matches Terraform; drop it from DIFFERENCES"
        _check(expr, ours, tmp_path)
        return
    _check(expr, answer, tmp_path)


def test_recording_covers_hundreds_of_expressions() -> None:
    assert len(RECORDED) >= 500
    assert not set(DIFFERENCES) - {e for e, _ in RECORDED}
    assert len(DIFFERENCES) < len(RECORDED) // 20  # differences stay the exception


def _terraform() -> str | None:
    """A Terraform binary of the version the answers were recorded from (1.0.3), if any: other
    versions print some values differently ("(sensitive value)" since 1.x later)."""
    venv = Path(__file__).parents[2] / ".venv" / "bin" / "terraform"
    found = str(venv) if venv.exists() else shutil.which("terraform")
    if found is None:
        return None
    try:
        version = subprocess.run(
            [found, "version"], capture_output=True, text=True, timeout=60
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    return found if version.startswith("Terraform v1.0.3") else None


@pytest.mark.skipif(_terraform() is None, reason="no Terraform 1.0.3 binary to compare with live")
@pytest.mark.parametrize(("expr", "answer"), RECORDED[::40], ids=[e for e, _ in RECORDED[::40]])
def test_recording_still_matches_live_terraform(expr: str, answer: str, tmp_path: Path) -> None:
    proc = subprocess.run(
        [str(_terraform()), "console", "-no-color"],
        input=expr + "\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
    )
    if answer.startswith("!"):
        assert proc.returncode != 0
        assert f"Error: {answer[1:]}" in proc.stderr
    else:
        assert proc.stdout.rstrip("\n") == answer


def test_json_form_fails_exactly_where_terraform_fails(tmp_path: Path) -> None:
    # `--json` gives one line per expression: a value where Terraform printed one, the same
    # error summary where it failed.
    here = os.getcwd()
    wrong = []
    try:
        for expr, answer in RECORDED:
            expected = DIFFERENCES[expr][1] if expr in DIFFERENCES else answer
            result = CliRunner().invoke(
                cli, ["-C", str(tmp_path), "console", "--json"], input=expr + "\n"
            )
            lines = result.stdout.splitlines()
            got = json.loads(lines[0]) if len(lines) == 1 else {"lines": lines}
            if expected.startswith("!"):
                ok = got.get("error") == expected[1:]
            else:
                ok = "value" in got and "type" in got and "error" not in got
            if not ok:
                wrong.append((expr, expected, got))
    finally:
        os.chdir(here)
    assert not wrong, wrong[:5]
