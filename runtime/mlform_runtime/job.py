"""`mlform-runtime run`: one training job, from its spec to its result.

Steps, each reported in `status.json` and `log.txt` at the output location:

1. Refuse a second runtime on the same output (a lock where the output is a local folder, a
   fresh heartbeat elsewhere); do nothing when `result.json` already records this run's
   success (a provider may start a run again without fear); stop at once when `cancel` exists.
2. `preparing`: fetch the code (a writable copy) and the datasets (read in place or cached by
   digest); materialize the environment from its lock.
3. `running`: run the command through the shell in the code's copy, with the `MLFORM_*`
   variables (one process per rank when `nodes > 1` and no `rank` is given); heartbeat; stop
   the process groups on timeout, SIGTERM/SIGINT or a `cancel` object.
4. On exit: read the metrics; on success digest the model folder and upload it into the store;
   write `result.json` (exit status, model, metrics, timings, the worker's lineage facts), then
   the final status.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlform_runtime import (
    EXIT_BUSY,
    EXIT_CANCELLED,
    EXIT_ERROR,
    EXIT_FAILED,
    EXIT_OK,
    EXIT_TIMEOUT,
    EXIT_USAGE,
)
from mlform_runtime.digest import DigestError
from mlform_runtime.envs import DROP, EnvError, Environment, cache_dir, materialize
from mlform_runtime.fetch import FetchError, fetch_readonly, fetch_writable
from mlform_runtime.proc import Group, free_port, signal_name
from mlform_runtime.report import RESULT, Reporter, iso_now
from mlform_runtime.spec import Spec
from mlform_runtime.stores import (
    MODELS,
    Location,
    StoreError,
    open_location,
    open_store,
    remove_tree,
)

__all__ = ["Options", "env_name", "job_env", "run_job"]

PREPARING, RUNNING = "preparing", "running"
SUCCEEDED, FAILED, CANCELLED = "succeeded", "failed", "cancelled"
TERMINAL = (SUCCEEDED, FAILED, CANCELLED)
LOCK_NAME = ".runtime.lock"


@dataclass(frozen=True)
class Options:
    cache: Path | None = None
    work_root: Path | None = None
    echo: bool = True
    keep_work: bool = False


def env_name(name: str) -> str:
    """The variable suffix for a dataset or param name (`"train-v2"` → `"TRAIN_V2"`), as in
    mlform's `training_job.env_name`."""
    return re.sub(r"[^A-Za-z0-9]", "_", name).upper()


class _Abort(Exception):
    """Preparing failed: (exit code, reason)."""

    def __init__(self, code: int, reason: str):
        super().__init__(reason)
        self.code = code
        self.reason = reason


def job_env(
    spec: Spec,
    env: Environment,
    *,
    data_dir: Path,
    data_paths: dict[str, Path],
    model_dir: Path,
    metrics_file: Path,
    checkpoint_dir: Path,
    base: dict[str, str] | None = None,
) -> dict[str, str]:
    """The variables of the job's process (rank variables are added per rank): the worker's
    own, less the runtime interpreter's; the environment's bin first on PATH and VIRTUAL_ENV;
    the environment's `env`; the spec's `env`; then the documented MLFORM_* variables (which
    win)."""
    source = dict(os.environ if base is None else base)
    out = {k: v for k, v in source.items() if k not in DROP}
    out["PATH"] = str(env.bin_dir) + os.pathsep + out.get("PATH", os.defpath)
    if env.venv is not None:
        out["VIRTUAL_ENV"] = str(env.venv)
    out["PYTHONUNBUFFERED"] = "1"
    out.update(env.env)
    out.update(spec.env)
    if spec.visible_devices is not None:
        out["CUDA_VISIBLE_DEVICES"] = spec.visible_devices
    params = dict(spec.params)
    out["MLFORM_PARAMS"] = json.dumps(params, sort_keys=True)
    for name, value in params.items():
        out[f"MLFORM_PARAM_{env_name(name)}"] = (
            value if isinstance(value, str) else json.dumps(value, sort_keys=True)
        )
    if spec.seed is not None:
        out["MLFORM_SEED"] = str(spec.seed)
        out["PYTHONHASHSEED"] = str(spec.seed)
    out["MLFORM_DATA_DIR"] = str(data_dir)
    for name, path in data_paths.items():
        out[f"MLFORM_DATA_{env_name(name)}"] = str(path)
    out["MLFORM_OUTPUT_DIR"] = str(model_dir)
    out["MLFORM_MODEL_DIR"] = str(model_dir)
    out["MLFORM_METRICS_FILE"] = str(metrics_file)
    out["MLFORM_CHECKPOINT_DIR"] = str(checkpoint_dir)
    out["MLFORM_RUN_ID"] = spec.run_id
    if spec.address:
        out["MLFORM_ADDRESS"] = spec.address
    if spec.fingerprint:
        out["MLFORM_FINGERPRINT"] = spec.fingerprint
    return out


def rank_envs(spec: Spec) -> list[tuple[str, dict[str, str]]]:
    """(log prefix, rank variables) per process this worker starts."""
    if spec.nodes == 1:
        return [("", {})]
    addr = spec.master_addr or "127.0.0.1"
    port = spec.master_port or free_port()
    common = {"MASTER_ADDR": addr, "MASTER_PORT": str(port), "WORLD_SIZE": str(spec.nodes)}
    if spec.rank is not None:
        r = str(spec.rank)
        return [
            ("", {**common, "RANK": r, "NODE_RANK": r, "LOCAL_RANK": "0", "LOCAL_WORLD_SIZE": "1"})
        ]
    return [
        (
            f"[rank {i}] ",
            {
                **common,
                "RANK": str(i),
                "NODE_RANK": str(i),
                "LOCAL_RANK": str(i),
                "LOCAL_WORLD_SIZE": str(spec.nodes),
            },
        )
        for i in range(spec.nodes)
    ]


def _heartbeat_fresh(status: Any, now: float) -> bool:
    """True when a status says another runtime is running and beat recently."""
    if not isinstance(status, dict) or status.get("state") not in (PREPARING, RUNNING):
        return False
    try:
        from datetime import datetime

        beat = datetime.fromisoformat(str(status["heartbeat_at"]).replace("Z", "+00:00"))
        every = float(status.get("heartbeat_s") or 5.0)
    except (KeyError, ValueError, TypeError):
        return False
    if status.get("host") == socket.gethostname() and isinstance(status.get("pid"), int):
        try:
            os.kill(status["pid"], 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass
    return now - beat.timestamp() < 3 * every + 1


class _OutputLock:
    """One runtime per output location: a file lock where the output is a local folder."""

    def __init__(self, out: Location):
        self.fd: int | None = None
        folder = out.local_dir()
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
            self.fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)

    def try_acquire(self) -> bool:
        if self.fd is None:
            return True
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False


def _metrics(path: Path, say: Callable[[str], None]) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        say(f"warning: MLFORM_METRICS_FILE is not valid JSON ({e}); metrics left empty")
        return {}
    if not isinstance(data, dict):
        say("warning: MLFORM_METRICS_FILE does not hold a JSON object; metrics left empty")
        return {}
    return data


def _probe(env: Environment, variables: dict[str, str], cwd: Path) -> dict[str, Any]:
    """The worker's lineage facts, read by the job's interpreter with the job's variables."""
    import subprocess

    source = (Path(__file__).with_name("probe.py")).read_text(encoding="utf-8")
    try:
        out = subprocess.run(
            [str(env.python), "-c", source],
            capture_output=True,
            text=True,
            env=variables,
            cwd=str(cwd),
            timeout=120,
            check=False,
        )
        facts = json.loads(out.stdout) if out.returncode == 0 else None
    except (OSError, ValueError, subprocess.TimeoutExpired):
        facts = None
    return facts if isinstance(facts, dict) else {}


def _failure_reason(codes: list[int | None]) -> str:
    if len(codes) > 1:
        failed = [f"rank {i} exited with {rc}" for i, rc in enumerate(codes) if rc]
        return ", ".join(failed) or "a rank failed"
    rc = codes[0] if codes else None
    if rc is not None and rc < 0:
        return f"killed by {signal_name(-rc)}"
    return f"exit status {rc}"


def run_job(spec: Spec, opts: Options) -> int:
    """Run the job; the runtime's exit status (see docs/runtime.md)."""
    t0 = time.monotonic()
    try:
        out = open_location(spec.output)
        lock = _OutputLock(out)
    except (StoreError, OSError) as e:
        sys.stderr.write(f"mlform-runtime: cannot open the output location: {e}\n")
        return EXIT_ERROR
    if not lock.try_acquire():
        sys.stderr.write(
            f"mlform-runtime: another runtime is running {spec.run_id} into {out.uri()}\n"
        )
        return EXIT_BUSY
    try:
        prior = out.read_json(RESULT)
        status_doc = out.read_json("status.json")
    except StoreError as e:
        sys.stderr.write(f"mlform-runtime: cannot read the output location: {e}\n")
        return EXIT_ERROR
    if lock.fd is None and _heartbeat_fresh(status_doc, time.time()):
        sys.stderr.write(
            f"mlform-runtime: {spec.run_id} is already running on {status_doc.get('host')} "
            f"(pid {status_doc.get('pid')}, heartbeat {status_doc.get('heartbeat_at')})\n"
        )
        return EXIT_BUSY
    if isinstance(prior, dict) and prior.get("state") == SUCCEEDED:
        if prior.get("run_id") == spec.run_id and prior.get("fingerprint") == spec.fingerprint:
            if opts.echo:
                print(f"mlform-runtime: {spec.run_id} already succeeded; nothing to do")
            return EXIT_OK
        sys.stderr.write(
            f"mlform-runtime: {out.uri()} already holds the result of run "
            f"{prior.get('run_id')} (fingerprint {prior.get('fingerprint')}): give each run an "
            "output location of its own\n"
        )
        return EXIT_USAGE

    reporter = Reporter(
        out,
        {
            "kind": "job",
            "state": PREPARING,
            "run_id": spec.run_id,
            "address": spec.address,
            "fingerprint": spec.fingerprint,
            "job_pids": [],
            "exit_code": None,
            "reason": None,
            "finished_at": None,
            "job_started_at": None,
        },
        spec.heartbeat_s,
        echo=opts.echo,
    )
    previous_handlers = {}

    def on_signal(signum: int, _frame: Any) -> None:
        reporter.request_cancel(f"the runtime received {signal_name(signum)}")

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        previous_handlers[sig] = signal.signal(sig, on_signal)
    reporter.start()
    reporter.say(
        f"run {spec.run_id}"
        + (f" of {spec.address}" if spec.address else "")
        + f" on {socket.gethostname()} (pid {os.getpid()})"
    )
    try:
        return _run(spec, opts, out, reporter, prior, t0)
    finally:
        reporter.close()
        for sig, handler in previous_handlers.items():
            signal.signal(sig, handler)


def _run(
    spec: Spec, opts: Options, out: Location, reporter: Reporter, prior: Any, t0: float
) -> int:
    say = reporter.say
    started_at = reporter.status["started_at"]
    cache = opts.cache or cache_dir()
    work_root = opts.work_root or Path(os.environ.get("MLFORM_RUNTIME_WORK") or cache / "work")
    work = work_root / spec.run_id
    timings: dict[str, Any] = {"started_at": started_at}
    lineage: dict[str, Any] = {}
    facts: dict[str, Any] = {}
    codes: list[int | None] = []
    state, reason, exit_code = FAILED, None, EXIT_ERROR
    model: dict[str, Any] | None = None
    metrics: dict[str, Any] = {}
    metrics_file = work / "metrics.json"

    if isinstance(prior, dict) and prior.get("state") in (FAILED, CANCELLED):
        say(f"the last run ended {prior.get('state')} ({prior.get('reason')}): running again")
    try:
        if reporter.check_cancel():
            raise _Abort(EXIT_CANCELLED, reporter.cancel_reason or "cancel requested")
        # -- prepare
        store = open_store(spec.store) if spec.store is not None else None
        work.mkdir(parents=True, exist_ok=True)
        code_dir = work / "code"
        remove_tree(code_dir)
        if spec.code is not None:
            fetch_writable("code", spec.code, store, code_dir, say)
        code_dir.mkdir(parents=True, exist_ok=True)
        data_dir = work / "data"
        remove_tree(data_dir)
        data_dir.mkdir(parents=True)
        data_paths: dict[str, Path] = {}
        for name, art in spec.datasets.items():
            if reporter.check_cancel():
                raise _Abort(EXIT_CANCELLED, reporter.cancel_reason or "cancel requested")
            path = fetch_readonly(f'dataset "{name}"', art, store, cache, say)
            data_paths[name] = path
            os.symlink(path, data_dir / name)
        env = materialize(spec.environment, reporter.line, cache)
        if env.source == "cached":
            say(f"environment {env.venv} (cached)")
        model_dir = work / "model"
        remove_tree(model_dir)  # an empty folder on every run
        model_dir.mkdir()
        metrics_file.unlink(missing_ok=True)
        checkpoint_dir = work / "checkpoints"  # kept across runs of this run id
        checkpoint_dir.mkdir(exist_ok=True)
        variables = job_env(
            spec,
            env,
            data_dir=data_dir,
            data_paths=data_paths,
            model_dir=model_dir,
            metrics_file=metrics_file,
            checkpoint_dir=checkpoint_dir,
        )
        timings["prepare_s"] = round(time.monotonic() - t0, 3)
        if reporter.check_cancel():
            raise _Abort(EXIT_CANCELLED, reporter.cancel_reason or "cancel requested")

        # -- run
        probe_result: dict[str, Any] = {}
        prober = threading.Thread(
            target=lambda: probe_result.update(_probe(env, variables, code_dir)), daemon=True
        )
        prober.start()
        group = Group(reporter.line)
        for prefix, extra in rank_envs(spec):
            group.start(spec.command, code_dir, {**variables, **extra}, prefix)
        job_t0 = time.monotonic()
        timings["job_started_at"] = iso_now()
        reporter.update(
            state=RUNNING, job_pids=group.pids, job_started_at=timings["job_started_at"]
        )
        deadline = job_t0 + spec.timeout_s if spec.timeout_s else None
        stopped_for: str | None = None
        while True:
            codes = group.poll()
            if all(rc is not None for rc in codes):
                break
            if any(rc not in (None, 0) for rc in codes):
                say("a rank failed: stopping the others")
                group.stop(spec.stop_grace_s)
                codes = group.poll()
                break
            if deadline is not None and time.monotonic() >= deadline:
                stopped_for = "timeout"
                say(f"timed out after {spec.timeout_s:g}s: stopping the job")
                group.stop(spec.stop_grace_s)
                break
            if reporter.cancel_requested.wait(0.1) or reporter.check_cancel():
                stopped_for = "cancel"
                say(f"cancelled ({reporter.cancel_reason}): stopping the job")
                group.stop(spec.stop_grace_s)
                break
        codes = group.poll()
        group.wait_output()
        timings["run_s"] = round(time.monotonic() - job_t0, 3)
        prober.join(timeout=60)
        facts = probe_result
        metrics = _metrics(metrics_file, say)
        if stopped_for == "timeout":
            state, reason, exit_code = FAILED, f"timed out after {spec.timeout_s:g}s", EXIT_TIMEOUT
        elif stopped_for == "cancel":
            state, reason, exit_code = CANCELLED, reporter.cancel_reason, EXIT_CANCELLED
        elif all(rc == 0 for rc in codes):
            if spec.rank is not None and spec.rank > 0:
                state, exit_code = SUCCEEDED, EXIT_OK
            else:
                up_t0 = time.monotonic()
                assert store is not None
                say("storing the model")
                tree = store.put_tree(
                    model_dir, namespace=MODELS, origin=f"{spec.address or 'job'} run {spec.run_id}"
                )
                model = {
                    "uri": store.uri(tree.digest),
                    "digest": tree.digest,
                    "files": tree.count,
                    "bytes": tree.bytes,
                }
                local = store.tree_path(tree.digest)
                if local is not None:
                    model["path"] = str(local)
                timings["upload_s"] = round(time.monotonic() - up_t0, 3)
                say(f"model {tree.digest} ({tree.count} files, {tree.bytes} bytes)")
                state, exit_code = SUCCEEDED, EXIT_OK
        else:
            state, reason, exit_code = FAILED, _failure_reason(codes), EXIT_FAILED
        lineage = {
            "environment": {
                "python": env.python_version,
                "interpreter": str(env.python),
                "venv": str(env.venv) if env.venv else None,
                "lock": list(env.lock),
                "digest": env.digest,
                "key": env.key,
                "source": env.source,
                "builder": env.builder,
            },
        }
    except _Abort as e:
        state = CANCELLED if e.code == EXIT_CANCELLED else FAILED
        reason, exit_code = e.reason, e.code
    except (FetchError, EnvError, StoreError, DigestError, OSError) as e:
        state, reason, exit_code = FAILED, f"error: {e}", EXIT_ERROR
        say(f"error: {e}")

    finished_at = iso_now()
    timings.update(finished_at=finished_at, duration_s=round(time.monotonic() - t0, 3))
    result = {
        "format": 1,
        "kind": "job",
        "run_id": spec.run_id,
        "address": spec.address,
        "fingerprint": spec.fingerprint,
        "state": state,
        "reason": reason,
        "exit_code": exit_code,
        "returncodes": codes,
        "model": model,
        "metrics": metrics,
        "timings": timings,
        "lineage": {
            **lineage,
            "host": facts.get("host") or {},
            "hardware": facts.get("hardware") or {},
            "packages": facts.get("packages") or {},
            "code": {"digest": spec.code.digest, "uri": spec.code.uri} if spec.code else None,
            "datasets": {n: {"digest": a.digest, "uri": a.uri} for n, a in spec.datasets.items()},
            "params": dict(spec.params),
            "seed": spec.seed,
            "command": spec.command,
            "nodes": spec.nodes,
            "rank": spec.rank,
            "visible_devices": spec.visible_devices,
        },
        "log": {"uri": out.uri("log.txt")},
    }
    if state == SUCCEEDED:
        say(f"succeeded in {timings['duration_s']:.1f}s")
    elif reason:
        say(f"{state}: {reason}")
    reporter.flush_log()
    out.write_json(RESULT, result)
    reporter.update(state=state, reason=reason, exit_code=exit_code, finished_at=finished_at)
    if state == SUCCEEDED and not opts.keep_work:
        remove_tree(work)  # the model is stored; checkpoints are kept only for a run to resume
    return exit_code
