"""The `guardrails` block of `mlform { ... }`, as written: its settings, read before anything is
evaluated (so each is a literal), and the mistakes in it. `mlform.engine.guardrails` holds a plan
to them."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from mlform.diagnostics import Diagnostic, Range, error, suggestion

if TYPE_CHECKING:
    from mlform.config.syntax import Attribute, Block

__all__ = ["BLOCK", "SETTINGS", "Guardrails", "check_block", "is_pinned", "read_guardrails"]

BLOCK = "guardrails"

NUMBERS = ("max_gpus", "max_price_per_hour", "max_job_cost")
LISTS = ("allowed_providers", "allowed_regions")
BOOLS = ("require_seed", "require_pinned_packages")
SETTINGS = NUMBERS + LISTS + BOOLS

# `name==version`, with extras and an environment marker allowed (`torch[cuda]==2.4.1`,
# `pywin32==306; sys_platform == "win32"`); `===` (arbitrary equality) pins too. Wildcards
# (`==2.*`) and ranges do not.
_PINNED = re.compile(
    r"^\s*[A-Za-z0-9][A-Za-z0-9._-]*\s*(\[[^\]]*\])?\s*===?\s*[^\s,;*<>=!~]+\s*(;.*)?$"
)


@dataclass(frozen=True)
class Guardrails:
    """The settings of a `guardrails` block; None (or False) where it sets nothing."""

    max_gpus: Decimal | None = None
    max_price_per_hour: Decimal | None = None
    max_job_cost: Decimal | None = None
    allowed_providers: tuple[str, ...] | None = None
    allowed_regions: tuple[str, ...] | None = None
    require_seed: bool = False
    require_pinned_packages: bool = False
    # Where each setting is written, for the note under a violation.
    ranges: Mapping[str, Range] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not any(getattr(self, name) not in (None, False) for name in SETTINGS)


def is_pinned(requirement: str) -> bool:
    """Whether a package requirement names one exact version (`scikit-learn==1.5.2`)."""
    return bool(_PINNED.match(requirement))


# -- the block ---------------------------------------------------------------------------------


def check_block(block: Block) -> list[Diagnostic]:
    """The `guardrails` block's mistakes: unknown settings, nested blocks, values of the wrong
    type (each setting is a literal: the block is read before anything is evaluated)."""
    return _read(block)[1]


def read_guardrails(block: Block | None) -> Guardrails:
    """The settings of a (checked) `guardrails` block; an empty Guardrails without one."""
    if block is None:
        return Guardrails()
    return _read(block)[0]


def _read(block: Block) -> tuple[Guardrails, list[Diagnostic]]:
    from mlform.config.decode import static_value

    diags: list[Diagnostic] = []
    for b in block.body.blocks:
        diags.append(
            error(
                "Unsupported block type",
                f'Blocks of type "{b.type}" are not expected in a guardrails block: it holds only '
                f"settings ({', '.join(SETTINGS)}).",
                b.type_range,
            )
        )
    values: dict[str, Any] = {}
    ranges: dict[str, Range] = {}
    for name, attr in block.body.attributes.items():
        if name not in SETTINGS:
            diags.append(
                error(
                    "Unsupported argument",
                    f'An argument named "{name}" is not expected in a guardrails block.'
                    f"{suggestion(name, SETTINGS)} The settings are {', '.join(SETTINGS)}.",
                    attr.name_range,
                )
            )
            continue
        value = static_value(attr.expr)
        raw = value.v if value is not None else None
        ranges[name] = attr.range
        if name in NUMBERS:
            if isinstance(raw, int | Decimal) and not isinstance(raw, bool) and raw >= 0:
                values[name] = Decimal(raw)
            else:
                diags.append(_bad(attr, "a literal number, zero or more, such as 16"))
        elif name in LISTS:
            items = raw if isinstance(raw, list | tuple) else None
            texts = [i.v for i in items] if items is not None else []
            if items is None or not all(isinstance(t, str) for t in texts):
                diags.append(_bad(attr, 'a literal list of strings, such as ["local", "aws"]'))
            else:
                values[name] = tuple(texts)
        elif isinstance(raw, bool):
            values[name] = raw
        else:
            diags.append(_bad(attr, "true or false"))
    return Guardrails(**values, ranges=ranges), diags


def _bad(attr: Attribute, what: str) -> Diagnostic:
    return error(
        "Invalid guardrail",
        f'"{attr.name}" must be {what}: guardrails are read before anything is evaluated, so '
        "they cannot refer to variables or other values.",
        attr.expr.range,
    )
