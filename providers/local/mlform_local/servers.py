"""Model servers on this machine, through the runtime (`mlform-runtime serve`, docs/runtime.md).

Each replica of a deployment's revision is one runtime started detached from mlform's own
environment (`sys.executable -m mlform_runtime serve SPEC --detach`), so that it outlives the
CLI. The runtime owns everything about the server: its variables, its working copy of the code,
the health probes, restarts with backoff after a crash or failed probes, and the endpoint of its
own (a port it picks, reported in `status.json`). This module only writes the spec, starts the
runtime, reads what it reports and stops it.

A replica's output location is a folder: `spec.json`, `status.json`, `log.txt` (the server's
output and the runtime's own lines), `runtime.out` (the detached runtime's stdout and stderr).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlform.sdk import ProviderError
from mlform_local import process

__all__ = ["Replica", "start_replica"]

SPEC, STATUS, LOG, CANCEL = "spec.json", "status.json", "log.txt", "cancel"
# How often the runtime rewrites its status: a dead or changed server is seen within this.
HEARTBEAT_S = 1.0
# Between SIGTERM and SIGKILL, when the runtime stops its server.
SERVER_GRACE_S = 10.0
# A runtime that wrote no status this long after it was started is taken for dead.
START_GRACE_S = 30.0
RUNTIME_PREFIX = "[mlform-runtime] "
# The runtime's line when its server first passes the health check.
HEALTHY_LINE = RUNTIME_PREFIX + "healthy ("


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _write_json(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(json.dumps(value, sort_keys=True, indent=1, default=str))
    os.replace(tmp, path)


@dataclass(frozen=True)
class Replica:
    """One running `mlform-runtime serve`: what the state records to find it again."""

    revision: int
    replica: int
    pid: int  # the runtime's
    start_time: int | None
    output: Path
    run_id: str
    cache: Path

    def to_dict(self) -> dict[str, Any]:
        return {
            "revision": self.revision,
            "replica": self.replica,
            "pid": self.pid,
            "start_time": self.start_time,
            "output": str(self.output),
            "run_id": self.run_id,
            "cache": str(self.cache),
            "log_path": str(self.log_path),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Replica:
        return cls(
            revision=int(d.get("revision") or 0),
            replica=int(d.get("replica") or 0),
            pid=int(d.get("pid") or 0),
            start_time=d.get("start_time"),
            output=Path(str(d.get("output") or "")),
            run_id=str(d.get("run_id") or ""),
            cache=Path(str(d.get("cache") or "")),
        )

    # -- what the runtime reports -------------------------------------------------------------

    @property
    def log_path(self) -> Path:
        return self.output / LOG

    @property
    def status(self) -> dict[str, Any]:
        doc = _read_json(self.output / STATUS)
        return doc if isinstance(doc, dict) else {}

    def alive(self) -> bool:
        return process.is_alive(self.pid, self.start_time)

    @property
    def endpoint_port(self) -> int | None:
        port = self.status.get("port")
        return port if isinstance(port, int) and port > 0 else None

    def lines(self) -> list[str]:
        """The whole lines of the log so far."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return []
        return text.splitlines() if text.endswith("\n") else text.splitlines()[:-1]

    def tail(self, n: int = process.TAIL_LINES) -> str:
        """The last lines of the server's own output (else the runtime's), for an error."""
        lines = self.lines()
        own = [line for line in lines if not line.startswith(RUNTIME_PREFIX)]
        shown = (own or lines or process.tail_lines(self.output / "runtime.out", n))[-n:]
        return "\n".join(shown) or "(no output)"

    # -- stopping -----------------------------------------------------------------------------

    def stop(self, reason: str = "stopped by mlform") -> None:
        """Ask the runtime to stop (the `cancel` object and SIGTERM: it stops its server with
        a grace period, then exits); KILL after that. A server the runtime left behind (the
        runtime was killed) is stopped too. Its work folder is removed."""
        try:
            self.output.mkdir(parents=True, exist_ok=True)
            (self.output / CANCEL).write_text(reason + "\n")
        except OSError:
            pass
        server = self.status.get("server_pid")
        process.stop(self.pid, self.start_time, grace=SERVER_GRACE_S + 5)
        if isinstance(server, int) and server > 0 and _own_session(server):
            process.stop(server, None, grace=SERVER_GRACE_S)
        if self.run_id and self.cache.parts:
            work = self.cache / "serve" / self.run_id
            if work.is_dir():
                import shutil

                shutil.rmtree(work, ignore_errors=True)


def _own_session(pid: int) -> bool:
    """Whether `pid` leads a session of its own, as the runtime starts its servers: a PID
    reused since by an ordinary program is left alone."""
    try:
        return os.getsid(pid) == pid and process.is_alive(pid, None)
    except OSError:
        return False


def start_replica(
    spec: dict[str, Any], output: Path, *, revision: int, replica: int, cache: Path
) -> Replica:
    """Write the spec into a fresh output location and start the runtime on it, detached."""
    if output.exists():
        import shutil

        shutil.rmtree(output, ignore_errors=True)
    output.mkdir(parents=True)
    run_id = str(spec["run_id"])
    spec = {
        **spec,
        "output": {"uri": str(output)},
        "heartbeat_s": HEARTBEAT_S,
        "stop_grace_s": SERVER_GRACE_S,
    }
    _write_json(output / SPEC, spec)
    argv = [
        sys.executable,
        "-m",
        "mlform_runtime",
        "serve",
        str(output / SPEC),
        "--detach",
        "--quiet",
        "--cache",
        str(cache),
        "--detach-log",
        str(output / "runtime.out"),
    ]
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
    try:
        proc = subprocess.run(
            argv,
            capture_output=True,
            text=True,
            env=env,
            cwd=str(output),
            stdin=subprocess.DEVNULL,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise ProviderError("cannot start the runtime for the deployment", str(e)) from e
    if proc.returncode != 0:
        raise ProviderError(
            "the runtime refused the deployment's server spec",
            (proc.stderr or proc.stdout).strip() + f"\n\nspec: {output / SPEC}",
        )
    try:
        pid = int(proc.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError) as e:
        raise ProviderError(
            "the runtime did not say which process serves", proc.stdout + proc.stderr
        ) from e
    return Replica(
        revision=revision,
        replica=replica,
        pid=pid,
        start_time=process.proc_start_time(pid),
        output=output,
        run_id=run_id,
        cache=cache,
    )
