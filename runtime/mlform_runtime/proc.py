"""Processes the runtime supervises: each in a session (process group) of its own, so that
stopping it stops everything it started; output read line by line by a thread per process."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["Group", "free_port", "signal_name"]


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def signal_name(num: int) -> str:
    try:
        return signal.Signals(num).name
    except ValueError:
        return f"signal {num}"


@dataclass
class _Member:
    proc: subprocess.Popen[bytes]
    prefix: str
    reader: threading.Thread
    returncode: int | None = None


@dataclass
class Group:
    """Commands started through the shell, each in its own session."""

    on_line: Callable[[str], None]
    members: list[_Member] = field(default_factory=list)

    def start(self, command: str, cwd: Path, env: Mapping[str, str], prefix: str = "") -> int:
        proc = subprocess.Popen(
            ["/bin/sh", "-c", command],
            cwd=str(cwd),
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

        def pump() -> None:
            assert proc.stdout is not None
            for raw in iter(proc.stdout.readline, b""):
                self.on_line(prefix + raw.decode("utf-8", "replace").rstrip("\r\n"))
            proc.stdout.close()

        reader = threading.Thread(target=pump, name=f"output-{proc.pid}", daemon=True)
        reader.start()
        self.members.append(_Member(proc, prefix, reader))
        return proc.pid

    @property
    def pids(self) -> list[int]:
        return [m.proc.pid for m in self.members]

    def poll(self) -> list[int | None]:
        for m in self.members:
            if m.returncode is None:
                m.returncode = m.proc.poll()
        return [m.returncode for m in self.members]

    def running(self) -> bool:
        return any(rc is None for rc in self.poll())

    def signal(self, sig: int) -> None:
        for m in self.members:
            if m.proc.poll() is None:
                try:
                    os.killpg(m.proc.pid, sig)
                except (ProcessLookupError, PermissionError):
                    pass

    def stop(self, grace: float) -> None:
        """TERM every process group still running; KILL what is left after `grace` seconds.
        Children a command left behind in its group are stopped with it."""
        self.signal(signal.SIGTERM)
        deadline = time.monotonic() + grace
        while self.running() and time.monotonic() < deadline:
            time.sleep(0.05)
        self.signal(signal.SIGKILL)
        for m in self.members:
            try:
                # The group may hold children that outlive the shell: kill it whole.
                os.killpg(m.proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
            m.proc.wait()
        self.poll()

    def wait_output(self, timeout: float = 5.0) -> None:
        """Let the reader threads pass on the last lines."""
        deadline = time.monotonic() + timeout
        for m in self.members:
            m.reader.join(max(0.0, deadline - time.monotonic()))
