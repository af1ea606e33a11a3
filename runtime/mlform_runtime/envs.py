"""The environment a command runs in, materialized from its lock and cached on the worker.

An environment spec names either an existing environment (`venv`, used as it is) or a lock: a
list of exact requirement lines installed with no dependency resolution (`--no-deps`: the lock
is the whole closure). A lock is built once per worker: the cache folder
(`MLFORM_RUNTIME_CACHE`, default `~/.cache/mlform-runtime`) keeps `envs/<key>/`, where the key
hashes the interpreter, its version, the machine and the sorted lock lines. A build happens in a
temporary folder renamed into place when complete (a folder that exists is whole), under a file
lock, so two runs on one worker never build the same environment twice. `uv` builds when it is
on PATH (or beside this interpreter), else `python -m venv` and pip. An empty lock is a venv
without packages; no environment at all is the runtime's own interpreter.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mlform_runtime.spec import EnvironmentSpec
from mlform_runtime.stores import now_iso, remove_tree

__all__ = ["EnvError", "Environment", "cache_dir", "materialize"]

MARKER = "mlform-runtime-env.json"
# Variables of the runtime's own interpreter that must not leak into a job's Python.
DROP = (
    "PYTHONHOME",
    "PYTHONPATH",
    "VIRTUAL_ENV",
    "CONDA_PREFIX",
    "PYTHONSTARTUP",
    "__PYVENV_LAUNCHER__",
    "UV_PROJECT_ENVIRONMENT",
)


class EnvError(Exception):
    """The environment cannot be materialized; the message says why and what to do."""


@dataclass(frozen=True)
class Environment:
    python: Path
    bin_dir: Path
    venv: Path | None
    python_version: str
    env: dict[str, str] = field(default_factory=dict)
    key: str | None = None
    lock: tuple[str, ...] = ()
    digest: str | None = None
    # "cached", "built" (by this run), "given" (spec's venv), "runtime" (no environment)
    source: str = "runtime"
    builder: str | None = None


def cache_dir() -> Path:
    value = os.environ.get("MLFORM_RUNTIME_CACHE")
    return Path(value).expanduser() if value else Path.home() / ".cache" / "mlform-runtime"


def find_uv() -> str | None:
    if os.environ.get("MLFORM_RUNTIME_NO_UV"):
        return None
    found = shutil.which("uv")
    if found:
        return found
    beside = Path(sys.executable).parent / "uv"
    return str(beside) if beside.is_file() and os.access(beside, os.X_OK) else None


def _child_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in DROP}


def _version_of(python: str) -> str | None:
    if os.path.realpath(python) == os.path.realpath(sys.executable):
        return platform.python_version()
    try:
        out = subprocess.run(
            [python, "-c", "import platform; print(platform.python_version())"],
            capture_output=True,
            text=True,
            timeout=30,
            env=_child_env(),
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else None


def find_interpreter(request: str | None) -> tuple[str, str]:
    """(interpreter path, version) for a request: None (this interpreter), a path, or a version
    prefix ("3.11", "3.11.7")."""
    if request is None or not request.strip():
        return sys.executable, platform.python_version()
    request = request.strip()
    if "/" in request:
        version = _version_of(request)
        if version is None:
            raise EnvError(f"environment.python {request!r} is not a Python interpreter that runs")
        return request, version

    def matches(version: str) -> bool:
        return version == request or version.startswith(request + ".")

    if matches(platform.python_version()):
        return sys.executable, platform.python_version()
    candidates: list[str] = []
    uv = find_uv()
    if uv is not None:
        try:
            out = subprocess.run(
                [uv, "python", "find", request],
                capture_output=True,
                text=True,
                timeout=60,
                env=_child_env(),
                check=False,
            )
            if out.returncode == 0 and out.stdout.strip():
                candidates.append(out.stdout.strip())
        except (OSError, subprocess.TimeoutExpired):
            pass
    parts = request.split(".")
    for name in (f"python{'.'.join(parts[:2])}", f"python{parts[0]}", "python3"):
        found = shutil.which(name)
        if found:
            candidates.append(found)
    for cand in candidates:
        version = _version_of(cand)
        if version and matches(version):
            return cand, version
    raise EnvError(
        f"no Python {request} on this worker: install it (for example `uv python install "
        f"{request}`) or name an interpreter path in environment.python"
    )


def env_key(interpreter: str, version: str, lock: tuple[str, ...]) -> str:
    doc = {
        "format": 1,
        "interpreter": os.path.realpath(interpreter),
        "version": version,
        "machine": platform.machine(),
        "system": platform.system(),
        "lock": sorted(lock),
    }
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:32]


class _FileLock:
    def __init__(self, path: Path):
        self.path = path
        self.fd: int | None = None

    def acquire(self, on_wait: Callable[[], None] | None = None) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait()
            fcntl.flock(self.fd, fcntl.LOCK_EX)

    def release(self) -> None:
        if self.fd is not None:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
            os.close(self.fd)
            self.fd = None


def _stream(argv: list[str], log: Callable[[str], None]) -> tuple[int, list[str]]:
    tail: list[str] = []
    try:
        proc = subprocess.Popen(
            argv,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            errors="replace",
            env=_child_env(),
        )
    except OSError as e:
        raise EnvError(f"cannot run {argv[0]}: {e.strerror}") from None
    assert proc.stdout is not None
    for line in proc.stdout:
        line = line.rstrip("\n")
        tail = (tail + [line])[-40:]
        log(line)
    return proc.wait(), tail


def _relocate(env_dir: Path, old: str, new: str) -> None:
    """Rewrite the build folder's path to the final one in scripts and path files."""
    targets = [env_dir / "pyvenv.cfg"]
    bindir = env_dir / "bin"
    if bindir.is_dir():
        targets += [p for p in bindir.iterdir() if p.is_file() and not p.is_symlink()]
    targets += list(env_dir.glob("lib/python*/site-packages/*.pth"))
    for p in targets:
        try:
            data = p.read_bytes()
        except OSError:
            continue
        if old.encode() in data and b"\0" not in data[:1024]:
            p.write_bytes(data.replace(old.encode(), new.encode()))


def _build(tmp: Path, interpreter: str, lock: tuple[str, ...], log: Callable[[str], None]) -> str:
    uv = find_uv()
    reqs = tmp.parent / f"{tmp.name}.requirements.txt"
    reqs.write_text("".join(line + "\n" for line in lock))
    try:
        if uv is not None:
            log(f"creating the environment with uv ({len(lock)} locked packages)")
            rc, tail = _stream(
                [uv, "venv", "-q", "--python", interpreter, "--relocatable", str(tmp)], log
            )
            if rc != 0:
                remove_tree(tmp)
                rc, tail = _stream([uv, "venv", "-q", "--python", interpreter, str(tmp)], log)
            if rc == 0 and lock:
                rc, tail = _stream(
                    [
                        uv,
                        "pip",
                        "install",
                        "--python",
                        str(tmp / "bin" / "python"),
                        "--no-deps",
                        "-r",
                        str(reqs),
                    ],
                    log,
                )
            builder = "uv"
        else:
            log(f"creating the environment with venv and pip ({len(lock)} locked packages)")
            argv = [interpreter, "-m", "venv"] + ([] if lock else ["--without-pip"]) + [str(tmp)]
            rc, tail = _stream(argv, log)
            if rc == 0 and lock:
                rc, tail = _stream(
                    [
                        str(tmp / "bin" / "python"),
                        "-m",
                        "pip",
                        "install",
                        "-q",
                        "--disable-pip-version-check",
                        "--no-deps",
                        "-r",
                        str(reqs),
                    ],
                    log,
                )
            builder = "pip"
    finally:
        reqs.unlink(missing_ok=True)
    if rc != 0:
        last = "\n".join(tail[-10:])
        raise EnvError(f"installing the environment's lock failed (exit status {rc}):\n{last}")
    return builder


def materialize(
    spec: EnvironmentSpec | None, log: Callable[[str], None], cache: Path | None = None
) -> Environment:
    """The environment `spec` describes, built into the cache when needed."""
    if spec is None:
        exe = Path(sys.executable)
        venv = Path(sys.prefix) if sys.prefix != sys.base_prefix else None
        return Environment(
            python=exe,
            bin_dir=exe.parent,
            venv=venv,
            python_version=platform.python_version(),
            source="runtime",
        )
    if spec.venv is not None:
        root = Path(spec.venv).expanduser()
        python = root / "bin" / "python"
        if not python.exists():
            raise EnvError(f"environment.venv {root} has no bin/python: build it first")
        return Environment(
            python=python,
            bin_dir=python.parent,
            venv=root,
            python_version=_version_of(str(python)) or "",
            env=dict(spec.env),
            digest=spec.digest,
            source="given",
        )
    interpreter, version = find_interpreter(spec.python)
    key = env_key(interpreter, version, spec.lock)
    root = (cache or cache_dir()) / "envs"
    final = root / key

    def done(source: str, builder: str | None) -> Environment:
        return Environment(
            python=final / "bin" / "python",
            bin_dir=final / "bin",
            venv=final,
            python_version=version,
            env=dict(spec.env),
            key=key,
            lock=spec.lock,
            digest=spec.digest,
            source=source,
            builder=builder,
        )

    def cached() -> str | None:
        try:
            info = json.loads((final / MARKER).read_text())
        except (OSError, ValueError):
            return None
        return str(info.get("builder")) if (final / "bin" / "python").exists() else None

    if (builder := cached()) is not None:
        return done("cached", builder)
    lock = _FileLock(root / f"{key}.lock")
    lock.acquire(lambda: log("waiting for another run that is building the same environment"))
    try:
        if (builder := cached()) is not None:
            return done("cached", builder)
        if final.exists():  # an incomplete folder from an older runtime: not ours to trust
            remove_tree(final)
        tmp = root / f".tmp-{key}-{uuid.uuid4().hex[:8]}"
        try:
            builder = _build(tmp, interpreter, spec.lock, log)
            (tmp / MARKER).write_text(
                json.dumps(
                    {
                        "format": 1,
                        "key": key,
                        "interpreter": interpreter,
                        "python_version": version,
                        "lock": list(spec.lock),
                        "digest": spec.digest,
                        "builder": builder,
                        "created_at": now_iso(),
                    },
                    indent=2,
                )
            )
            _relocate(tmp, str(tmp), str(final))
            os.rename(tmp, final)
        finally:
            if tmp.exists():
                remove_tree(tmp)
        log(f"environment ready: {final}")
        return done("built", builder)
    finally:
        lock.release()
