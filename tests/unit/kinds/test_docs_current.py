"""docs/resources.md is what `python -m mlform.kinds.docs` generates from the kinds' schemas."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from mlform.kinds import PORTABLE_KINDS
from mlform.kinds.docs import render_markdown
from mlform.sdk.schema import body_schema

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / "docs" / "resources.md"


def test_committed_reference_is_current() -> None:
    assert DOC.read_text(encoding="utf-8") == render_markdown(), (
        "docs/resources.md is stale: run `python -m mlform.kinds.docs > docs/resources.md`"
    )


def test_module_entry_point_prints_the_same() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "mlform.kinds.docs"],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout
    assert out == render_markdown()


def test_every_field_is_described_and_listed() -> None:
    import importlib

    text = render_markdown()
    for kind in PORTABLE_KINDS:
        module = importlib.import_module(f"mlform.kinds.{kind}")
        assert f"## `{kind}`" in text
        for model, computed in ((module.Args, False), (module.Attrs, True)):
            body = body_schema(model, computed)
            bodies = [body, *(b.body for b in body.blocks.values())]
            for b in bodies:
                for name, attr in b.attributes.items():
                    assert attr.description, f"{kind}.{name} has no description"
                    assert f"| `{name}` |" in text, f"{kind}.{name} missing from the reference"
            for name in body.blocks:
                assert f"#### `{name}` block" in text


def test_reference_rows_carry_the_schema_marks() -> None:
    text = render_markdown()
    # training_job.command is required and forces replacement; retries does neither.
    assert any(
        line.startswith("| `command` | `string` | required |  | yes |")
        for line in text.splitlines()
    )
    assert any(
        line.startswith("| `retries` | `number` | optional | `0` | no |")
        for line in text.splitlines()
    )
