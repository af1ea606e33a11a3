"""Golden files for the human and JSON plans (tests/testdata/render/<case>/)."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from mlform.ui.json_plan import plan_json
from mlform.ui.plan_render import render_plan, word_wrap

from .render_cases import CASES, SCHEMAS

GOLDEN = Path(__file__).resolve().parents[2] / "testdata" / "render"
UPDATE = os.environ.get("MLFORM_UPDATE_GOLDEN") == "1"


def check(path: Path, actual: str) -> None:
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual, encoding="utf-8")
    assert path.exists(), f"missing golden file {path}; run with MLFORM_UPDATE_GOLDEN=1"
    assert actual == path.read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(CASES))
def test_human_plan(name: str) -> None:
    plan = CASES[name]()
    text = render_plan(plan, color=False, schemas=SCHEMAS.get(name))
    check(GOLDEN / name / "expected.txt", text)


@pytest.mark.parametrize("name", sorted(CASES))
def test_json_plan(name: str) -> None:
    plan = CASES[name]()
    doc = plan_json(plan)
    json.dumps(doc, allow_nan=False)  # plain JSON all the way down
    check(GOLDEN / name / "expected.json", json.dumps(doc, indent=2, ensure_ascii=False) + "\n")


def test_color_only_adds_escape_codes() -> None:
    plan = CASES["replace"]()
    colored = render_plan(plan, color=True)
    assert "\x1b[31m" in colored and "\x1b[1m" in colored
    assert re.sub(r"\x1b\[[0-9;]*m", "", colored) == render_plan(plan, color=False)
    check(GOLDEN / "replace" / "expected_color.txt", colored)


def test_secrets_never_appear() -> None:
    plan = CASES["sensitive_and_unknown"]()
    for text in (render_plan(plan), json.dumps(plan_json(plan))):
        assert "hunter2" not in text and "s3cret" not in text


def test_word_wrap() -> None:
    assert word_wrap("a " * 50, 20).split("\n")[0] == "a a a a a a a a a a"
    assert word_wrap("  literal " + "x " * 60, 20).count("\n") == 0
