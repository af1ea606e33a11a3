"""Training runs on this machine, through the runtime (`mlform_runtime`, docs/runtime.md).

A run lives in `<data_dir>/runs/<address-safe>/<run_id>/`:

    job.json            what the run is (address, fingerprint and its inputs, args, attempts,
                        the idempotency token, the facts plan and submit computed), written
                        before anything starts
    attempt-<n>/        one runtime output location per attempt: spec.json, status.json,
                        log.txt, result.json, runtime.out (the detached runtime's own output)
    work/               the runtime's work folders (removed by the runtime after a success)

`runs/tokens/<sha256(token)[:32]>.json` names the run a submit with that idempotency token
started, so a submit whose answer was lost is found again (`find_by_token`) and never started
twice. An attempt folder is created with `mkdir` (which fails when it exists), so two callers
that both decide to start attempt n (an apply and a plan polling the same failed run) start it
once.

The runtime is started from mlform's own environment (`sys.executable -m mlform_runtime run
SPEC --detach`): it returns at once, and the run outlives the CLI. What a run means (its
variables, ranks, metrics, the model's digest, the lineage facts read on the worker) is decided
by the runtime alone; this module only writes specs and reads what the runtime wrote.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mlform.sdk import ProviderError
from mlform_local.process import address_safe, is_alive, proc_start_time, tail_lines

__all__ = ["Attempt", "Run", "new_run_id", "run_by_token"]

JOB_FILE = "job.json"
STATUS, LOG, RESULT, CANCEL = "status.json", "log.txt", "result.json", "cancel"
# A runtime that has not written its first status this long after it was started is gone.
START_GRACE_S = 30.0
# The heartbeat asked of the runtime: a cancel or a dead runtime is seen within a few seconds.
HEARTBEAT_S = 1.0
STOP_GRACE_S = 5.0


def new_run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:8]


def runs_root(data_dir: Path) -> Path:
    return Path(data_dir) / "runs"


def _token_path(data_dir: Path, token: str) -> Path:
    return (
        runs_root(data_dir) / "tokens" / f"{hashlib.sha256(token.encode()).hexdigest()[:32]}.json"
    )


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


def run_by_token(data_dir: Path, token: str) -> Run | None:
    """The run a submit with this idempotency token started, if any."""
    ref = _read_json(_token_path(data_dir, token))
    if not isinstance(ref, dict) or not ref.get("run_dir"):
        return None
    run = Run(Path(ref["run_dir"]))
    return run if run.job is not None else None


@dataclass
class Attempt:
    """One runtime output location."""

    n: int
    folder: Path

    @property
    def status(self) -> dict[str, Any] | None:
        doc = _read_json(self.folder / STATUS)
        return doc if isinstance(doc, dict) else None

    @property
    def result(self) -> dict[str, Any] | None:
        doc = _read_json(self.folder / RESULT)
        return doc if isinstance(doc, dict) else None

    @property
    def log_path(self) -> Path:
        return self.folder / LOG

    def lines(self) -> list[str]:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return []
        # A line being written has no newline yet: only whole lines are given.
        return text.splitlines() if text.endswith("\n") else text.splitlines()[:-1]

    def runtime_alive(self) -> bool:
        """Whether the runtime of this attempt still runs (by its status' pid, or the pid the
        detached start printed while no status exists yet)."""
        status = self.status
        if status is not None and isinstance(status.get("pid"), int):
            return is_alive(int(status["pid"]), None)
        launched = _read_json(self.folder / "launcher.json")
        if isinstance(launched, dict) and isinstance(launched.get("pid"), int):
            return is_alive(int(launched["pid"]), launched.get("start_time"))
        return False

    def started_at(self) -> float:
        try:
            return (self.folder / "spec.json").stat().st_mtime
        except OSError:
            return time.time()


class Run:
    """One training run: its folder, its job record and its attempts."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)

    @classmethod
    def create(
        cls, data_dir: Path, address: str, run_id: str, job: dict[str, Any], token: str | None
    ) -> Run:
        folder = runs_root(data_dir) / address_safe(address) / run_id
        folder.mkdir(parents=True, exist_ok=False)
        run = cls(folder)
        _write_json(folder / JOB_FILE, {**job, "run_id": run_id, "token": token})
        if token:
            # After job.json: a token that names a run always names a whole one.
            _write_json(_token_path(data_dir, token), {"run_dir": str(folder), "run_id": run_id})
        return run

    @property
    def job(self) -> dict[str, Any] | None:
        doc = _read_json(self.folder / JOB_FILE)
        return doc if isinstance(doc, dict) else None

    @property
    def run_id(self) -> str:
        return self.folder.name

    def attempts(self) -> list[Attempt]:
        out = []
        for child in self.folder.glob("attempt-*"):
            try:
                out.append(Attempt(int(child.name.split("-", 1)[1]), child))
            except ValueError:
                continue
        return sorted(out, key=lambda a: a.n)

    def latest(self) -> Attempt | None:
        found = self.attempts()
        return found[-1] if found else None

    @property
    def cancelled(self) -> bool:
        return (self.folder / CANCEL).exists()

    # -- starting ---------------------------------------------------------------------------

    def start_attempt(self, n: int, spec: dict[str, Any], data_dir: Path) -> Attempt | None:
        """Start attempt `n` with the runtime, detached; None when another caller already did."""
        folder = self.folder / f"attempt-{n}"
        try:
            folder.mkdir(parents=True)
        except FileExistsError:
            return None
        attempt = Attempt(n, folder)
        spec = {
            **spec,
            "run_id": f"{self.run_id}-a{n}",
            "output": {"uri": str(folder)},
            "heartbeat_s": HEARTBEAT_S,
            "stop_grace_s": STOP_GRACE_S,
        }
        _write_json(folder / "spec.json", spec)
        argv = [
            sys.executable,
            "-m",
            "mlform_runtime",
            "run",
            str(folder / "spec.json"),
            "--detach",
            "--quiet",
            "--cache",
            str(Path(data_dir) / "runtime"),
            "--work-dir",
            str(self.folder / "work"),
            "--detach-log",
            str(folder / "runtime.out"),
        ]
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME")}
        try:
            proc = subprocess.run(
                argv,
                capture_output=True,
                text=True,
                env=env,
                cwd=str(self.folder),
                stdin=subprocess.DEVNULL,
                timeout=60,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as e:
            raise ProviderError("cannot start the runtime for the training job", str(e)) from e
        if proc.returncode != 0:
            raise ProviderError(
                "the runtime refused the training job's spec",
                (proc.stderr or proc.stdout).strip() + f"\n\nspec: {folder / 'spec.json'}",
            )
        try:
            pid = int(proc.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            pid = 0
        if pid:
            _write_json(folder / "launcher.json", {"pid": pid, "start_time": proc_start_time(pid)})
        return attempt

    # -- stopping ---------------------------------------------------------------------------

    def cancel(self, reason: str = "cancelled") -> None:
        """Mark the run cancelled (no further attempt starts), ask the runtime of the latest
        attempt to stop (the `cancel` object, and SIGTERM to it), and wait until it ended."""
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / CANCEL).write_text(reason + "\n")
        attempt = self.latest()
        if attempt is None or attempt.result is not None:
            return
        subprocess.run(
            [
                sys.executable,
                "-m",
                "mlform_runtime",
                "cancel",
                str(attempt.folder),
                "--reason",
                reason,
            ],
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=60,
            check=False,
        )
        status = attempt.status
        pid = status.get("pid") if status else None
        if not isinstance(pid, int):
            launched = _read_json(attempt.folder / "launcher.json") or {}
            pid = launched.get("pid")
        if isinstance(pid, int) and pid > 0 and attempt.runtime_alive():
            try:
                os.kill(pid, signal.SIGTERM)
            except OSError:
                pass
        deadline = time.monotonic() + STOP_GRACE_S + 10
        while time.monotonic() < deadline:
            if attempt.result is not None or not attempt.runtime_alive():
                return
            time.sleep(0.1)

    # -- reading ----------------------------------------------------------------------------

    def lines(self) -> list[str]:
        """The log of every attempt, in order; a line before each attempt after the first."""
        total = int((self.job or {}).get("attempts") or 1)
        out: list[str] = []
        for attempt in self.attempts():
            if attempt.n > 1:
                out.append(f"retrying: attempt {attempt.n} of {total}")
            out += attempt.lines()
        return out

    def tail(self, attempt: Attempt, n: int = 20) -> list[str]:
        lines = [line for line in attempt.lines() if not line.startswith("[mlform-runtime] ")]
        if not lines:
            lines = tail_lines(attempt.folder / "runtime.out", n)
        return lines[-n:]
