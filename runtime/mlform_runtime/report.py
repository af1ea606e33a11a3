"""What the runtime tells its provider through the output location: `status.json` (rewritten
at every change and every heartbeat), `log.txt` (appended, flushed at least every second),
`result.json` (written once, at the end), and the `cancel` object it watches."""

from __future__ import annotations

import os
import socket
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from mlform_runtime.stores import Location, StoreError

__all__ = ["Reporter", "iso_now"]

STATUS, LOG, RESULT, CANCEL = "status.json", "log.txt", "result.json", "cancel"
RUNTIME_PREFIX = "[mlform-runtime] "
LOG_FLUSH_S = 0.5


def iso_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Reporter:
    """Keeps the status document and the log of one run or server."""

    def __init__(
        self,
        out: Location,
        status: dict[str, Any],
        heartbeat_s: float,
        *,
        echo: bool = True,
        on_heartbeat: Callable[[], None] | None = None,
    ):
        self.out = out
        self.heartbeat_s = heartbeat_s
        self.echo = echo
        self.on_heartbeat = on_heartbeat
        self._lock = threading.Lock()
        self._pending: list[str] = []
        self._stop = threading.Event()
        self.cancel_requested = threading.Event()
        self.cancel_reason: str | None = None
        self.status: dict[str, Any] = {
            "format": 1,
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started_at": iso_now(),
            "heartbeat_s": heartbeat_s,
            "last_log_line": None,
            **status,
        }
        self._threads: list[threading.Thread] = []
        self.errors = 0

    # -- log

    def line(self, text: str) -> None:
        """One line of the command's output."""
        with self._lock:
            self._pending.append(text)
            if text.strip():
                self.status["last_log_line"] = text[-500:]
        if self.echo:
            try:
                sys.stdout.write(text + "\n")
                sys.stdout.flush()
            except (OSError, ValueError):
                pass

    def say(self, text: str) -> None:
        """One line of the runtime's own."""
        self.line(RUNTIME_PREFIX + text)

    def flush_log(self) -> None:
        with self._lock:
            lines, self._pending = self._pending, []
        if lines:
            self._safely(self.out.append_bytes, LOG, ("\n".join(lines) + "\n").encode())

    # -- status

    def update(self, **fields: Any) -> None:
        with self._lock:
            self.status.update(fields)
        self.write_status()

    def write_status(self) -> None:
        with self._lock:
            self.status["heartbeat_at"] = iso_now()
            doc = dict(self.status)
        self._safely(self.out.write_json, STATUS, doc)

    def _safely(self, fn: Callable[..., None], *args: Any) -> None:
        """Reporting must not stop the run: a failed write is retried at the next beat."""
        try:
            fn(*args)
        except (OSError, StoreError) as e:
            self.errors += 1
            if self.errors <= 3 and self.echo:
                sys.stderr.write(f"{RUNTIME_PREFIX}cannot write to the output location: {e}\n")

    # -- cancel

    def check_cancel(self) -> bool:
        if not self.cancel_requested.is_set():
            try:
                data = self.out.read_bytes(CANCEL)
            except (OSError, StoreError):
                data = None
            if data is not None:
                self.request_cancel(data.decode("utf-8", "replace").strip() or "cancel requested")
        return self.cancel_requested.is_set()

    def request_cancel(self, reason: str) -> None:
        if not self.cancel_requested.is_set():
            self.cancel_reason = reason
            self.cancel_requested.set()

    # -- threads

    def start(self) -> None:
        def logger() -> None:
            while not self._stop.wait(LOG_FLUSH_S):
                self.flush_log()

        def heart() -> None:
            while not self._stop.wait(self.heartbeat_s):
                self.check_cancel()
                if self.on_heartbeat is not None:
                    self.on_heartbeat()
                self.write_status()

        for target, name in ((logger, "log"), (heart, "heartbeat")):
            t = threading.Thread(target=target, name=name, daemon=True)
            t.start()
            self._threads.append(t)
        self.write_status()

    def close(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(timeout=10)
        self.flush_log()
