"""Lineage: the facts recorded with every ML instance (`capture`), the graphs read back from the
state history (`query`, `render`), comparisons of two serials (`diff`), re-running a recorded
job (`reproduce`) and the retention of stored objects (`gc`)."""

from __future__ import annotations

from typing import NoReturn


def fail(summary: str, detail: str = "") -> NoReturn:
    """End a lineage command with a diagnostic (no source range: the mistake is in the command
    line, not in a file)."""
    from mlform.diagnostics import DiagnosticsError, error

    raise DiagnosticsError([error(summary, detail)])
