"""docs/resources.md is what `python -m mlform.kinds.docs` generates from the kinds' schemas and
the local provider's declarations (found by entry point: the generator imports no provider)."""

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


def test_provider_sections_come_from_what_a_provider_declares() -> None:
    """Any installed provider documents itself: the built-in test provider, found by its entry
    point, gets the same section the local one does, from its own docstring and models."""
    from mlform.testing.provider import TestProvider

    text = render_markdown(["test"])
    assert "[the test provider](#the-test-provider)" in text
    section = text[text.index("## The test provider") :]
    assert "## The local provider" not in text
    assert '### `provider "test"` settings' in section
    for name in body_schema(TestProvider.config).names():
        assert f"| `{name}` |" in section
    assert "| `dataset` | not implemented |" in section


def test_the_local_section_is_the_local_providers_own_text() -> None:
    from mlform_local.provider import LocalProvider

    text = render_markdown()
    section = text[text.index("## The local provider") :]
    first = " ".join((LocalProvider.__doc__ or "").split("\n\n")[0].split())
    assert section.splitlines()[2].startswith(first)
    for kind, cls in LocalProvider.kinds.items():
        assert f"| `{kind}` | {' '.join(cls.description.split())} |" in section


def test_an_uninstalled_provider_is_refused_with_what_to_install() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "mlform.kinds.docs", "--provider", "nosuch"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert out.returncode == 1
    assert out.stdout == ""
    assert "pip install mlform-provider-nosuch" in out.stderr
