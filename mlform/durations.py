"""Durations as users write them (`"90s"`, `"1h30m"`, `"-1.5h"`), read in one place.

A duration is a sequence of parts, each a number followed by a unit (`1h` `30m`); one scanner
reads them all. Three spellings use it, each kept as its users know it:

- `go_duration`: Go's `time.ParseDuration`, which Terraform's `timeadd` uses. Units ns, us (µs),
  ms, s, m, h; numbers like `1.5`, `1.` and `.5`; a leading sign; `"0"` is the only number
  without a unit. Nanoseconds out, and Go's own error texts (`time: unknown unit "x" in
  duration "1x"`), its limit included: no more than 2^63 - 1 nanoseconds (about 292 years).
- `duration_seconds`: what mlform's own settings take, the CLI's `--lock-timeout 30s` and a
  kind's `timeout = "2h"`. A bare number is seconds; units ms, s, m, h, and d (days) where
  `days=True`; numbers like `90` or `1.5`; no sign. Seconds out; the caller words the error.

Nothing here knows the CLI, the language or the kinds: they import it (DESIGN.md section 4).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Context, Decimal

__all__ = ["DurationError", "duration_seconds", "go_duration"]


class DurationError(ValueError):
    """The text is not a duration; the message says why (Go's words for `go_duration`)."""


GO_UNITS: Mapping[str, Decimal] = {
    "ns": Decimal(1),
    "us": Decimal(1000),
    "µs": Decimal(1000),  # U+00B5 micro sign
    "μs": Decimal(1000),  # U+03BC Greek small letter mu
    "ms": Decimal(10**6),
    "s": Decimal(10**9),
    "m": Decimal(60 * 10**9),
    "h": Decimal(3600 * 10**9),
}
SECOND_UNITS: Mapping[str, Decimal] = {
    "ms": Decimal("0.001"),
    "s": Decimal(1),
    "m": Decimal(60),
    "h": Decimal(3600),
}
DAY_UNITS: Mapping[str, Decimal] = {**SECOND_UNITS, "d": Decimal(86400)}

_GO_NUMBER = re.compile(r"\d+\.?\d*|\.\d+")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
# As Go reads a unit: every character up to the next digit or dot.
_UNIT = re.compile(r"[^\d.]*")
_MAX_NS = 1 << 63
_EXACT = Context(prec=80)


class _Bad(Exception):
    def __init__(self, unit: str | None = None, missing: bool = False):
        self.unit = unit
        self.missing = missing


def _parts(text: str, number: re.Pattern[str], units: Mapping[str, Decimal]) -> list[Decimal]:
    """Each part's value in the units' base (exact); `_Bad` at the first part that is not a
    number followed by a known unit."""
    out: list[Decimal] = []
    pos = 0
    while pos < len(text):
        m = number.match(text, pos)
        if m is None:
            raise _Bad()
        u = _UNIT.match(text, m.end())
        unit = u.group() if u else ""
        if not unit:
            raise _Bad(missing=True)
        if unit not in units:
            raise _Bad(unit)
        out.append(_EXACT.multiply(Decimal(m.group()), units[unit]))
        pos = m.end() + len(unit)
    return out


def go_duration(text: str) -> int:
    """Nanoseconds from a Go duration (`"1h30m"`, `"-1.5h"`, `"300ms"`), as Go's
    `time.ParseDuration` reads it; `DurationError` with Go's message otherwise."""
    s = text
    negative = False
    if s[:1] in ("+", "-"):
        negative = s[0] == "-"
        s = s[1:]
    if s == "0":
        return 0
    invalid = DurationError(f'time: invalid duration "{text}"')
    if not s:
        raise invalid
    try:
        parts = _parts(s, _GO_NUMBER, GO_UNITS)
    except _Bad as bad:
        if bad.missing:
            raise DurationError(f'time: missing unit in duration "{text}"') from None
        if bad.unit is not None:
            raise DurationError(f'time: unknown unit "{bad.unit}" in duration "{text}"') from None
        raise invalid from None
    total = 0
    for part in parts:
        total += int(part)  # Go drops each part's fraction of a nanosecond
        if total > _MAX_NS:
            raise invalid
    if not negative and total > _MAX_NS - 1:
        raise invalid
    return -total if negative else total


def duration_seconds(text: str, *, days: bool = False) -> float:
    """Seconds from `"30s"`, `"2m"`, `"1h30m"`, `"500ms"`, a bare `"90"` (and `"2d"` with
    `days`); surrounding blanks are ignored. `DurationError` otherwise (the caller words it)."""
    s = text.strip()
    if _NUMBER.fullmatch(s):
        return float(s)
    if not s:
        raise DurationError(f"not a duration: {text!r}")
    try:
        parts = _parts(s, _NUMBER, DAY_UNITS if days else SECOND_UNITS)
    except _Bad:
        raise DurationError(f"not a duration: {text!r}") from None
    return float(sum(parts, Decimal(0)))
