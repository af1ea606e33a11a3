"""Starting, supervising and stopping the local provider's processes, and their log files.

The endpoint proxy of a deployment is started in its own session so that it outlives `mlform`;
it and the runtimes (`mlform_runtime`, started by `mlform_local.runs` and `mlform_local.servers`)
are identified afterwards by (PID, start time) so that a PID the kernel has reused for another
program is never taken for ours, and stopped by process group, TERM then KILL. Running, probing
and restarting jobs and servers is the runtime's.
"""

from __future__ import annotations

import errno
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "DetachedProcess",
    "address_safe",
    "free_port",
    "group_alive",
    "is_alive",
    "log_dir",
    "proc_start_time",
    "spawn_detached",
    "stop",
    "tail_lines",
]

# How many trailing log lines a failure carries in its error.
TAIL_LINES = 20


# --- log files --------------------------------------------------------------------------------


def address_safe(address: str) -> str:
    """A file-name-safe form of a resource address: `module.m.job["a b"]` -> `module.m.job_a_b_`."""
    return re.sub(r"[^A-Za-z0-9._-]+", "_", address).strip("_") or "resource"


def log_dir(data_dir: Path, address: str) -> Path:
    """Where the logs of the resource at `address` are kept: `<data_dir>/logs/<address-safe>/`."""
    return Path(data_dir) / "logs" / address_safe(address)


def tail_lines(path: Path, n: int = TAIL_LINES) -> list[str]:
    """The last `n` lines of a log file ([] when it does not exist)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            f.seek(max(0, size - 64 * 1024))
            data = f.read()
    except OSError:
        return []
    lines = data.decode("utf-8", "replace").splitlines()
    return lines[-n:]


# --- process identity ---------------------------------------------------------------------------


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except (OSError, ValueError):
        return None
    # The command name (field 2) is in parentheses and may itself hold spaces and ')'.
    rest = raw[raw.rfind(")") + 2 :].split()
    return rest  # rest[0] is field 3 (state)


def proc_start_time(pid: int) -> int | None:
    """The process' start time in clock ticks since boot (field 22 of /proc/<pid>/stat); None
    when there is no such process. Together with the PID it names one process for good."""
    fields = _stat_fields(pid)
    if fields is None:
        return None
    return int(fields[19])


def _reap(pid: int) -> None:
    # A detached server we started ourselves becomes a zombie when it exits while we still run;
    # collect it so that it stops counting as present.
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass
    except OSError:
        pass


def is_alive(pid: int, start_time: int | None) -> bool:
    """Whether the process `pid` that started at `start_time` still runs (not a zombie)."""
    if pid <= 0:
        return False
    _reap(pid)
    fields = _stat_fields(pid)
    if fields is None or fields[0] in ("Z", "X"):
        return False
    return start_time is None or int(fields[19]) == start_time


def group_alive(pgid: int, *, reap: bool = True) -> bool:
    """Whether any process of the process group `pgid` still runs (zombies excluded). `reap=False`
    when a `Popen` object owns the leader: reaping it here would hide its exit status."""
    if reap:
        _reap(pgid)
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # kill(0) also succeeds for zombies: look for a member that is not one.
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields and int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            return True
    return False


def stop(pid: int, start_time: int | None, *, grace: float = 5.0) -> bool:
    """Stop the process group led by `pid` (TERM, then KILL after `grace` seconds), but only if
    `pid` is still the process that started at `start_time`. Returns whether it was running."""
    if not is_alive(pid, start_time):
        # The leader is gone; its group may still hold children (a shell's server).
        if start_time is None or proc_start_time(pid) is None:
            _signal_group(pid, signal.SIGKILL)
        return False
    _signal_group(pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not group_alive(pid):
            return True
        time.sleep(0.05)
    _signal_group(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5.0
    while time.monotonic() < deadline and group_alive(pid):
        time.sleep(0.05)
    return True


def _signal_group(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        pass
    except PermissionError:
        pass


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_free(port: int) -> bool:
    """Whether `port` on 127.0.0.1 can be bound now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError as e:
            if e.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


# --- detached servers ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DetachedProcess:
    """A server started by `spawn_detached`: what the state records to find it again."""

    pid: int
    start_time: int
    log_path: str

    def to_dict(self) -> dict[str, object]:
        return {"pid": self.pid, "start_time": self.start_time, "log_path": self.log_path}


def spawn_detached(
    command: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    log_path: Path,
) -> DetachedProcess:
    """Start `command` (an argv list) in its own session, stdin from /dev/null and stdout/stderr
    appended to `log_path`, so that it survives the `mlform` process and its Ctrl-C."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            list(command),
            cwd=str(cwd),
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
        )
    start = proc_start_time(proc.pid)
    if start is None:  # it already exited and was reaped: report it as started-and-gone
        start = -1
    # The Popen object is dropped on purpose: the process is not ours to wait for. Python keeps
    # it on an internal list and reaps it if it exits while we run.
    return DetachedProcess(pid=proc.pid, start_time=start, log_path=str(log_path))
