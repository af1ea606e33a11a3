"""Starting, supervising and stopping the local provider's processes, and their log files.

Two shapes of process live here:

- foreground runs (training jobs): one or more shell commands started together, their output
  streamed line by line to the caller and to a log file, stopped as a whole on timeout, on Ctrl-C
  or when one of them fails;
- detached servers (deployments, the endpoint proxy): started in their own session so that they
  outlive `mlform`, identified afterwards by (PID, start time) so that a PID the kernel has reused
  for another program is never taken for ours, and stopped by process group, TERM then KILL.
"""

from __future__ import annotations

import collections
import errno
import os
import queue
import re
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "DetachedProcess",
    "ProcessSpec",
    "RunResult",
    "address_safe",
    "free_port",
    "group_alive",
    "is_alive",
    "log_dir",
    "proc_start_time",
    "run_foreground",
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


_SHELL_SYNTAX = re.compile(
    r"[;&|()<>`\n{}]|^\s*[A-Za-z_][A-Za-z0-9_]*=|^\s*(cd|export|source|\.|exec|set)\b"
)


def exec_form(command: str) -> str:
    """`exec <command>` for a simple command, so that the shell is replaced by the program and
    the PID recorded is the server's own; a command with shell syntax (`a && b`, redirections,
    leading assignments) is left as it is (its process group is still stopped as a whole)."""
    if _SHELL_SYNTAX.search(command):
        return command
    return "exec " + command


@dataclass(frozen=True)
class DetachedProcess:
    """A server started by `spawn_detached`: what the state records to find it again."""

    pid: int
    start_time: int
    log_path: str

    def to_dict(self) -> dict[str, object]:
        return {"pid": self.pid, "start_time": self.start_time, "log_path": self.log_path}


def spawn_detached(
    command: str | Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    log_path: Path,
) -> DetachedProcess:
    """Start `command` (a shell string, or an argv list) in its own session, stdin from /dev/null
    and stdout/stderr appended to `log_path`, so that it survives the `mlform` process and its
    Ctrl-C."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(command, str):
        command = exec_form(command)
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(
            command,
            shell=isinstance(command, str),
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


# --- foreground runs ----------------------------------------------------------------------------


@dataclass
class ProcessSpec:
    """One process of a foreground run."""

    command: str
    cwd: Path
    env: Mapping[str, str]
    # Put before each output line ("[rank 1] "), empty for a single process.
    prefix: str = ""


@dataclass
class RunResult:
    """How a foreground run ended."""

    returncodes: list[int | None]
    timed_out: bool = False
    cancelled: bool = False
    tail: list[str] = field(default_factory=list)
    duration_s: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.timed_out and not self.cancelled and all(rc == 0 for rc in self.returncodes)


def _pump(stream, idx: int, q: queue.Queue[tuple[int, str | None]]) -> None:
    for raw in iter(stream.readline, b""):
        q.put((idx, raw.decode("utf-8", "replace").rstrip("\r\n")))
    stream.close()
    q.put((idx, None))


def run_foreground(
    specs: Sequence[ProcessSpec],
    *,
    log_path: Path,
    on_line: Callable[[str], None],
    timeout: float | None = None,
    cancel_event: threading.Event | None = None,
    grace: float = 5.0,
) -> RunResult:
    """Run the processes of `specs` together through the shell, each in its own process group,
    streaming every output line (with its prefix) to `on_line` and to `log_path`.

    Ends when all have exited; or, as soon as one fails, the timeout passes or `cancel_event` is
    set, stops every group still running (TERM, then KILL after `grace`), as torch's launcher
    does when one rank dies."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    q: queue.Queue[tuple[int, str | None]] = queue.Queue()
    tail: collections.deque[str] = collections.deque(maxlen=TAIL_LINES)
    procs: list[subprocess.Popen[bytes]] = []
    started = time.monotonic()
    result = RunResult(returncodes=[None] * len(specs))
    with open(log_path, "a", encoding="utf-8") as log:
        try:
            for i, spec in enumerate(specs):
                p = subprocess.Popen(
                    spec.command,
                    shell=True,
                    cwd=str(spec.cwd),
                    env=dict(spec.env),
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
                procs.append(p)
                threading.Thread(target=_pump, args=(p.stdout, i, q), daemon=True).start()
            open_streams = len(procs)
            stopping = False
            while open_streams or any(p.poll() is None for p in procs):
                try:
                    idx, line = q.get(timeout=0.1)
                except queue.Empty:
                    idx, line = -1, None
                if idx >= 0:
                    if line is None:
                        open_streams -= 1
                    else:
                        text = specs[idx].prefix + line
                        log.write(text + "\n")
                        log.flush()
                        tail.append(text)
                        on_line(text)
                if stopping:
                    continue
                reason = None
                if timeout is not None and time.monotonic() - started > timeout:
                    result.timed_out = True
                    reason = "timeout"
                elif cancel_event is not None and cancel_event.is_set():
                    result.cancelled = True
                    reason = "cancel"
                elif any(p.poll() not in (None, 0) for p in procs):
                    reason = "failed"
                if reason is not None and any(p.poll() is None for p in procs):
                    stopping = True
                    threading.Thread(target=_stop_all, args=(procs, grace), daemon=True).start()
        finally:
            # Whatever happened above (even an exception in on_line), leave nothing running.
            _stop_all(procs, grace)
    for i, p in enumerate(procs):
        result.returncodes[i] = p.returncode
    result.tail = list(tail)
    result.duration_s = time.monotonic() - started
    return result


def _stop_all(procs: Sequence[subprocess.Popen[bytes]], grace: float) -> None:
    for p in procs:
        if p.poll() is None or group_alive(p.pid, reap=False):
            _signal_group(p.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if all(p.poll() is not None and not group_alive(p.pid, reap=False) for p in procs):
            return
        time.sleep(0.05)
    for p in procs:
        _signal_group(p.pid, signal.SIGKILL)
    for p in procs:
        try:
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
