"""What a person sees while apply runs: each instance starting and finishing, its log lines
prefixed by its address, and progress for long steps."""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

from mlform.engine.walk import Hooks

_VERBS = {
    "create": ("Creating...", "Creation complete"),
    "update": ("Modifying...", "Modifications complete"),
    "replace": ("Replacing...", "Replacement complete"),
    "create_then_delete": ("Replacing...", "Replacement complete"),
    "delete": ("Destroying...", "Destruction complete"),
    "wait": ("Waiting for the job submitted earlier...", "Collected"),
}


class ConsoleHooks(Hooks):
    def __init__(self, stream: TextIO | None = None, color: bool = False):
        self.stream = stream or sys.stdout
        self.color = color
        self._lock = threading.Lock()
        self._last_progress: dict[str, float] = {}

    def _write(self, text: str) -> None:
        with self._lock:
            self.stream.write(text + "\n")
            self.stream.flush()

    def _addr(self, addr: str) -> str:
        return f"\x1b[1m{addr}\x1b[0m" if self.color else addr

    def start(self, addr: str, action: str) -> None:
        self._write(f"{self._addr(addr)}: {_VERBS.get(action, (action + '...', ''))[0]}")

    def done(
        self, addr: str, action: str, seconds: float, id: str | None = None, failed: bool = False
    ) -> None:
        if failed:
            return
        verb = _VERBS.get(action, ("", "Complete"))[1]
        ident = f" [id={id}]" if id else ""
        self._write(f"{self._addr(addr)}: {verb} after {_duration(seconds)}{ident}")

    def log(self, addr: str, line: str) -> None:
        self._write(f"{self._addr(addr)}: {line.rstrip()}")

    def progress(self, addr: str, done: float, total: float | None, message: str) -> None:
        # At most one progress line a second per instance, so logs stay readable in CI.
        now = time.monotonic()
        if now - self._last_progress.get(addr, 0.0) < 1.0 and not (total and done >= total):
            return
        self._last_progress[addr] = now
        if total:
            pct = min(100, int(done * 100 / total)) if total else 0
            self._write(f"{self._addr(addr)}: {message} {pct}%".rstrip())
        elif message:
            self._write(f"{self._addr(addr)}: {message}")

    def message(self, text: str) -> None:
        self._write(text)


def _duration(seconds: float) -> str:
    s = int(round(seconds))
    if s < 60:
        return f"{s}s"
    m, s = divmod(s, 60)
    return f"{m}m{s}s"
