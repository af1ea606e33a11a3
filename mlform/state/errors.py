"""The errors the state layer raises: one root (`StateError`) and the lock failure.

Both are `DiagnosticsError`s, so a command that lets them through prints a clean message with
what to do next rather than a traceback.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from mlform.diagnostics import DiagnosticsError, error

if TYPE_CHECKING:
    from mlform.state.backends import LockInfo


class StateError(DiagnosticsError):
    """Reading, writing or editing state failed; `summary` says what, `detail` what to do."""

    def __init__(self, summary: str, detail: str = ""):
        self.summary = summary
        self.detail = detail
        super().__init__([error(summary, detail)])

    def __str__(self) -> str:
        return f"{self.summary}\n\n{self.detail}" if self.detail else self.summary


class LockError(StateError):
    """The state is locked by someone else (or could not be locked); `info` names the holder."""

    def __init__(self, summary: str, detail: str = "", info: LockInfo | None = None):
        self.info = info
        super().__init__(summary, detail)
