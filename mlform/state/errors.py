"""The errors the state layer raises: one root (`StateError`), the lock and journal failures;
and the warnings it gives on the way (`notify`).

The errors are `DiagnosticsError`s, so a command that lets them through prints a clean message
with what to do next rather than a traceback. A warning (a dead run's lock replaced) goes to the
handler the CLI sets with `set_notice_handler`; without one it is only kept by the session.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from mlform.diagnostics import Diagnostic, DiagnosticsError, error

if TYPE_CHECKING:
    from mlform.state.backends import LockInfo

_notice_handler: Callable[[Diagnostic], None] | None = None


def set_notice_handler(handler: Callable[[Diagnostic], None] | None) -> None:
    """Where the state layer's warnings go (the CLI prints them on standard error)."""
    global _notice_handler
    _notice_handler = handler


def notify(diag: Diagnostic) -> None:
    if _notice_handler is not None:
        _notice_handler(diag)


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


class JournalError(StateError):
    """The journal could not be written or synced: nothing more may be sent to a provider.

    A create whose intent is not in the journal could be made twice after a crash, so every
    operation stops; what was already done is kept (in the state the run then writes, or in the
    journal the next run replays). `errno` is the failing call's (ENOSPC for a full disk).
    """

    def __init__(self, cause: OSError, path: object):
        import errno as errno_codes
        import os

        self.errno = cause.errno
        self.path = path
        if cause.errno == errno_codes.ENOSPC:
            what = "No space left on device"
            todo = "Free space and run apply again"
        else:
            what = cause.strerror or os.strerror(cause.errno or 0) or str(cause)
            todo = "Fix the cause and run apply again"
        super().__init__(
            f"{what} while writing the journal: nothing more was created",
            f"{todo}. The state journal {path} could not record what this run does, so "
            "mlform stopped before sending anything more to a provider. What was already done "
            "is kept: in the state written at the end of this run or, if that failed too, in "
            "the journal, which the next run replays (looking up unfinished creates by their "
            "tokens, so that nothing is created twice).",
        )
