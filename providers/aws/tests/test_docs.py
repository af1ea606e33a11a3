"""docs/providers/aws.md documents every setting of the provider and of the S3 backend, and
the stand-in's export lines are what it prints."""

from __future__ import annotations

import re
from pathlib import Path

from mlform_aws.backend import ARGUMENTS
from mlform_aws.provider import AwsConfig
from mlform_aws.standin import StandIn, export_lines

PAGE = Path(__file__).resolve().parents[3] / "docs" / "providers" / "aws.md"


def section(title: str) -> str:
    text = PAGE.read_text(encoding="utf-8")
    start = text.index(f"## {title}")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else None]


def test_every_provider_argument_is_documented() -> None:
    text = section("The provider")
    for name in AwsConfig.model_fields:
        assert f"`{name}" in text, f"docs/providers/aws.md: provider argument {name}"


def test_every_backend_argument_is_documented() -> None:
    text = section("The S3 backend")
    for name in ARGUMENTS:
        assert f"`{name}" in text, f"docs/providers/aws.md: backend argument {name}"


def test_the_export_lines_shown_are_the_stand_ins() -> None:
    shown = re.findall(r"^export (\w+)=", section("The stand-in"), re.MULTILINE)
    printed = [line.split()[1].split("=")[0] for line in export_lines(StandIn(port=1).env())]
    assert shown == printed
