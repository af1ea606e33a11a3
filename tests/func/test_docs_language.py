"""The console examples of docs/language.md give what the page says.

Each ```console block whose lines start with `> ` is a transcript: an expression, then what
`mlform console` prints for it. All expressions are piped, in docs/examples/language/ (the
configuration the page shows), to `mlform console --json` (none may fail) and to `mlform
console`, whose output must equal the page's transcripts.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from conftest import Mlform

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "language.md"
EXAMPLE = ROOT / "docs" / "examples" / "language"


def transcripts() -> list[tuple[int, str, str]]:
    """(page line, expression, expected output) for every `> ` line of the console blocks."""
    found: list[tuple[int, str, list[str]]] = []
    in_block = in_transcript = False
    for n, line in enumerate(PAGE.read_text(encoding="utf-8").splitlines(), 1):
        if line == "```console":
            in_block, in_transcript = True, False
        elif line == "```":
            in_block = in_transcript = False
        elif in_block and line.startswith("> "):
            in_transcript = True
            found.append((n, line[2:], []))
        elif in_transcript:
            found[-1][2].append(line)
    return [(n, expr, "\n".join(result)) for n, expr, result in found]


ITEMS = transcripts()


@pytest.fixture
def console(mlform: Mlform) -> Mlform:
    shutil.copytree(EXAMPLE, mlform.cwd / "language")
    mlform.cwd = mlform.cwd / "language"
    return mlform


def test_page_has_transcripts() -> None:
    assert len(ITEMS) >= 40
    assert all(expected for _n, _e, expected in ITEMS), "an expression without its result"


def test_every_expression_evaluates_with_json(console: Mlform) -> None:
    stdin = "".join(expr + "\n" for _n, expr, _r in ITEMS)
    res = console("console", "--json", stdin=stdin)
    results = [json.loads(line) for line in res.out.splitlines()]
    assert len(results) == len(ITEMS), str(res)
    for (n, expr, _r), got in zip(ITEMS, results, strict=True):
        assert "error" not in got, f"docs/language.md line {n}: {expr} -> {got}"
        assert "type" in got
    assert res.code == 0, str(res)


def test_console_prints_what_the_page_says(console: Mlform) -> None:
    stdin = "".join(expr + "\n" for _n, expr, _r in ITEMS)
    res = console("console", stdin=stdin)
    assert res.code == 0, str(res)
    want = "".join(expected + "\n" for _n, _e, expected in ITEMS)
    if res.out != want:
        # Find the first expression whose output differs, for a readable failure.
        got = res.out
        for n, expr, expected in ITEMS:
            chunk = expected + "\n"
            assert got.startswith(chunk), (
                f"docs/language.md line {n}: {expr}\nexpected:\n{expected}\ngot:\n{got[: len(chunk) + 80]}"
            )
            got = got[len(chunk) :]
    assert res.out == want


def test_the_page_intro_example(console: Mlform) -> None:
    res = console("console", stdin="local.names[0]\n")
    assert res.out == '"digits"\n'
