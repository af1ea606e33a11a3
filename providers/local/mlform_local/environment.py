"""The local `environment`: a Python virtual environment built on this host, cached by request.

The environment's id is a content address of its request (`mlform.kinds.environment.
environment_id`), and it is built once into `<data_dir>/envs/<id>`: a second resource, workspace
or apply with the same request finds it there and returns at once. A build happens in
`<id>.tmp-<random>` and is renamed into place only when complete (its record `mlform-env.json`
written), so a failed or interrupted build leaves nothing that looks built. `uv` builds it when
found (on PATH or beside the running Python), else `python -m venv` and pip.

Destroy forgets the resource but keeps the built environment: it is a cache entry that other
resources with the same request, and the lineage of models trained in it, may still use.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import uuid
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from mlform.kinds import environment as schema
from mlform.kinds.common import now_iso, planned_attrs
from mlform.kinds.environment import (
    environment_id,
    lock_digest,
    normalized_request,
    platform_tag,
)
from mlform.sdk import (
    ConfigError,
    Context,
    Kind,
    Planned,
    ProviderError,
    ResourceState,
    is_wholly_known,
)
from mlform.sdk.schema import parse_config
from mlform_local.provider import hold_applied, provider_data_dir
from mlform_local.store import (
    ENV_MARKER,
    environment_info,
    environment_path,
    environment_python,
    envs_dir,
    held_by_token,
    hold,
    is_held,
    release,
    remove_tree,
)

# Prints the exact version and every installed distribution, run with the new environment's Python.
_INSPECT = (
    "import importlib.metadata as m, json, platform, sys\n"
    "lock = {}\n"
    "for d in m.distributions():\n"
    "    name = d.metadata['Name']\n"
    "    if name: lock[name] = d.version\n"
    "print(json.dumps({'python_version': platform.python_version(), 'lock': lock,\n"
    "                  'os': platform.system(), 'machine': platform.machine()}))\n"
)


def _host_platform(python_version: str) -> str:
    """This host's platform tag for an environment built before platforms were recorded."""
    import platform as _platform

    return platform_tag(_platform.system(), _platform.machine(), python_version)


# -- finding a Python ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Interpreter:
    path: str
    version: str  # "3.11.7"


def _version_matches(request: str, version: str) -> bool:
    want = request.strip().split(".")
    have = version.split(".")
    return have[: len(want)] == want


@lru_cache(maxsize=64)
def _probe(path: str) -> Interpreter | None:
    """The real interpreter behind `path` (pyenv shims resolve to their target); None when it
    does not run."""
    try:
        out = subprocess.run(
            [
                path,
                "-c",
                "import sys, platform; print(platform.python_version()); print(sys.executable)",
            ],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    lines = out.stdout.split()
    if out.returncode != 0 or len(lines) < 2:
        return None
    return Interpreter(path=lines[1], version=lines[0])


def _candidates(request: str) -> list[str]:
    names = [f"python{request}"] if re.fullmatch(r"\d+\.\d+", request) else []
    names += ["python3", "python"]
    seen: list[str] = []
    for name in names:
        found = shutil.which(name)
        if found and found not in seen:
            seen.append(found)
    # Versions installed beside the one PATH points at: pyenv, uv-managed, the usual prefixes.
    roots = [
        Path.home() / ".pyenv" / "versions",
        Path(os.environ.get("PYENV_ROOT", "/nonexistent")) / "versions",
    ]
    for root in roots:
        if root.is_dir():
            for child in sorted(root.iterdir()):
                exe = child / "bin" / "python3"
                if exe.exists():
                    seen.append(str(exe))
    uv_dir = Path(os.environ.get("UV_PYTHON_INSTALL_DIR", Path.home() / ".local/share/uv/python"))
    if uv_dir.is_dir():
        for child in sorted(uv_dir.iterdir()):
            exe = child / "bin" / "python3"
            if exe.exists():
                seen.append(str(exe))
    for prefix in ("/usr/local/bin", "/usr/bin", "/opt/homebrew/bin"):
        p = Path(prefix)
        if p.is_dir():
            for exe in sorted(p.glob("python3.*")):
                if re.fullmatch(r"python3\.\d+", exe.name):
                    seen.append(str(exe))
    base = getattr(sys, "_base_executable", None) or sys.executable
    seen.append(base)
    out: list[str] = []
    for s in seen:
        if s not in out:
            out.append(s)
    return out


def available_pythons() -> list[Interpreter]:
    """Every distinct Python found on this host, newest first."""
    found: dict[str, Interpreter] = {}
    for path in _candidates("3"):
        interp = _probe(path)
        if interp is not None:
            found.setdefault(os.path.realpath(interp.path), interp)
    return sorted(
        found.values(),
        key=lambda i: [int(x) for x in re.findall(r"\d+", i.version)[:3]],
        reverse=True,
    )


def find_python(request: str) -> Interpreter | None:
    """The newest Python on this host whose version starts with `request` ("3.11" or "3.11.7")."""
    uv = find_uv()
    if uv is not None:
        try:
            out = subprocess.run(
                [uv, "python", "find", "--system", request],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
            if out.returncode == 0 and out.stdout.strip():
                interp = _probe(out.stdout.strip().splitlines()[-1])
                if interp is not None and _version_matches(request, interp.version):
                    return interp
        except (OSError, subprocess.TimeoutExpired):
            pass
    matches = []
    for path in _candidates(request):
        interp = _probe(path)
        if interp is not None and _version_matches(request, interp.version):
            matches.append(interp)
    if not matches:
        return None
    return max(matches, key=lambda i: [int(x) for x in re.findall(r"\d+", i.version)[:3]])


def find_uv() -> str | None:
    """`uv` on PATH, else beside the running Python (a virtual environment's bin)."""
    found = shutil.which("uv")
    if found:
        return found
    beside = Path(sys.executable).parent / "uv"
    return str(beside) if beside.exists() else None


# -- installer errors ---------------------------------------------------------------------------

_NOT_FOUND = [
    re.compile(r"Because ([A-Za-z0-9_.\-\[\]]+) was not found in the package registry"),
    re.compile(r"No matching distribution found for ([^\s]+)"),
    re.compile(r"([A-Za-z0-9_.\-]+) was not found in the package registry"),
]
_NO_VERSION = [
    re.compile(r"there is no version of ([^\s,]+)"),
    re.compile(
        r"Could not find a version that satisfies the requirement ([^\s]+) \(from versions: [^)]+\)"
    ),
]


def explain_install_failure(output: str) -> tuple[str, str | None]:
    """(summary, package) for an installer's failed output: which requirement could not be
    satisfied, when it says so."""
    for rx in _NOT_FOUND:
        m = rx.search(output)
        if m:
            name = m.group(1).strip("`'\".,")
            return f'package "{name}" was not found in the package index', name
    for rx in _NO_VERSION:
        m = rx.search(output)
        if m:
            name = m.group(1).strip("`'\".,")
            return f'no release of "{name}" matches the requirement', name
    m = re.search(r"(?:Failed to parse|Invalid requirement):? `?([^`\n]+)`?", output)
    if m:
        return f"invalid requirement: {m.group(1).strip()}", m.group(1).strip()
    return "installing the packages failed", None


# -- building -----------------------------------------------------------------------------------


class _EnvLock:
    """An exclusive lock on one environment id, so two processes never build it at once."""

    def __init__(self, path: Path):
        self.path = path
        self._fd: int | None = None

    def __enter__(self) -> _EnvLock:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


def _stream(
    argv: Sequence[str],
    ctx: Context,
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    shown_as: tuple[str, str] | None = None,
) -> tuple[int, str]:
    """Run a command, sending each output line to `ctx.log`; (exit status, last lines).
    `shown_as` (build folder name, final folder name): the lines a user reads name the folder
    the environment will have ("Activate with: source …/bin/activate"), not the build folder
    that is renamed away."""
    tail: deque[str] = deque(maxlen=200)
    try:
        proc = subprocess.Popen(
            list(argv),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            errors="replace",
            cwd=cwd,
            env=env,
        )
    except OSError as e:
        raise ProviderError(f"cannot run {argv[0]}: {e.strerror}") from None
    assert proc.stdout is not None
    for line in proc.stdout:
        line = line.rstrip("\n")
        tail.append(line)
        ctx.log(line.replace(*shown_as) if shown_as else line)
        if ctx.cancelled:
            proc.terminate()
            proc.wait()
            raise ProviderError("building the environment was cancelled", retryable=True)
    return proc.wait(), "\n".join(tail)


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


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    for var in (
        "VIRTUAL_ENV",
        "PYTHONHOME",
        "PYTHONPATH",
        "CONDA_PREFIX",
        "UV_PROJECT_ENVIRONMENT",
    ):
        env.pop(var, None)
    return env


def build_environment(
    data_dir: Path,
    *,
    env_id: str,
    request: dict[str, Any],
    interpreter: Interpreter,
    packages: list[str],
    requirements_path: Path | None,
    extra: dict[str, Any],
    ctx: Context,
) -> dict[str, Any]:
    """Build the environment `env_id` unless it is built, and return its record."""
    root = envs_dir(data_dir)
    root.mkdir(parents=True, exist_ok=True)
    final = environment_path(data_dir, env_id)
    with _EnvLock(root / f"{env_id}.lock"):
        info = environment_info(data_dir, env_id)
        if info is not None:
            return info
        if final.exists():  # a folder without a record: not ours to trust
            remove_tree(final)
        tmp = root / f"{env_id}.tmp-{uuid.uuid4().hex[:8]}"
        try:
            installer = _install(tmp, interpreter, packages, requirements_path, ctx, final)
            out = subprocess.run(
                [str(tmp / "bin" / "python"), "-c", _INSPECT],
                capture_output=True,
                text=True,
                timeout=120,
                check=False,
                env=_child_env(),
            )
            if out.returncode != 0:
                raise ProviderError("the new environment's Python does not run", out.stderr[-2000:])
            facts = json.loads(out.stdout)
            lock = dict(sorted(facts["lock"].items(), key=lambda kv: kv[0].lower()))
            # The platform the lock was resolved for: this host, with the environment's Python.
            target = platform_tag(facts["os"], facts["machine"], facts["python_version"])
            info = {
                "id": env_id,
                "request": request,
                "lock": lock,
                "platform": target,
                "digest": lock_digest(lock, target),
                "python_version": facts["python_version"],
                "python": interpreter.path,
                "env": request.get("env", {}),
                "installer": installer,
                "created_at": now_iso(),
                **extra,
            }
            (tmp / ENV_MARKER).write_text(json.dumps(info, indent=2, sort_keys=True))
            _relocate(tmp, str(tmp), str(final))
            os.rename(tmp, final)
        except BaseException:
            remove_tree(tmp)
            raise
        return info


def _install(
    tmp: Path,
    interpreter: Interpreter,
    packages: list[str],
    requirements_path: Path | None,
    ctx: Context,
    final: Path | None = None,
) -> str:
    """Create the virtual environment at `tmp` (renamed to `final` once built) and install into
    it; returns the installer used."""
    shown_as = (tmp.name, final.name) if final is not None else None
    env = _child_env()
    uv = find_uv()
    cwd = requirements_path.parent if requirements_path is not None else None
    reqs = ["-r", str(requirements_path)] if requirements_path is not None else []
    if uv is not None:
        ctx.log(f"creating a virtual environment with Python {interpreter.version} (uv)")
        venv = [uv, "venv", "--python", interpreter.path]
        rc, tail = _stream([*venv, "--relocatable", str(tmp)], ctx, env=env, shown_as=shown_as)
        if rc != 0 and "--relocatable" in tail:
            # An older uv without --relocatable: the scripts are rewritten after the rename.
            remove_tree(tmp)
            rc, tail = _stream([*venv, str(tmp)], ctx, env=env, shown_as=shown_as)
        if rc != 0:
            raise ProviderError("creating the virtual environment failed", tail[-3000:])
        if packages or reqs:
            ctx.log("installing: " + " ".join(packages + reqs))
            rc, tail = _stream(
                [uv, "pip", "install", "--python", str(tmp / "bin" / "python"), *packages, *reqs],
                ctx,
                cwd=cwd,
                env=env,
                shown_as=shown_as,
            )
            if rc != 0:
                raise install_failure(tail, tmp)
        return "uv"
    ctx.log(f"creating a virtual environment with Python {interpreter.version} (venv)")
    rc, tail = _stream([interpreter.path, "-m", "venv", str(tmp)], ctx, env=env, shown_as=shown_as)
    if rc != 0:
        raise ProviderError("creating the virtual environment failed", tail[-3000:])
    if packages or reqs:
        ctx.log("installing: " + " ".join(packages + reqs))
        rc, tail = _stream(
            [
                str(tmp / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--disable-pip-version-check",
                *packages,
                *reqs,
            ],
            ctx,
            cwd=cwd,
            env=env,
            shown_as=shown_as,
        )
        if rc != 0:
            raise install_failure(tail, tmp)
    return "pip"


def install_failure(tail: str, tmp: Path) -> ProviderError:
    """The installer's failure as the user's problem: which package, pointing at `packages`
    when one is named; the build folder, removed by now, is not quoted."""
    summary, name = explain_install_failure(tail)
    detail = re.sub(r"\S*" + re.escape(tmp.name), "<the new environment>", tail[-3000:])
    if name:
        return ConfigError(summary, detail, attribute="packages")
    return ProviderError(summary, detail)


# -- the kind -----------------------------------------------------------------------------------


def parse_args(desired: dict[str, Any]) -> schema.Args:
    return parse_config(schema.Args, desired)


def default_python() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"


@dataclass(frozen=True)
class _Request:
    args: schema.Args
    python: str
    requirements_path: Path | None
    requirements: str | None
    request: dict[str, Any]
    id: str


class EnvironmentKind(Kind):
    """A virtual environment built with uv (or venv and pip), cached by its request."""

    args = schema.Args
    attrs = schema.Attrs
    description = (
        "A Python virtual environment with the packages asked for, built once per request and "
        "recorded with every installed distribution's exact version."
    )

    def _request(self, desired: dict[str, Any], ctx: Context) -> _Request:
        args = parse_args(desired)
        python = (args.python or default_python()).strip()
        if not re.fullmatch(r"\d+(\.\d+){0,2}", python):
            raise ConfigError(
                f'python = "{args.python}" is not a version',
                'Give a version such as "3.11" or "3.11.7".',
                attribute="python",
            )
        for i, p in enumerate(args.packages):
            if not p.strip():
                raise ConfigError(f"packages[{i}] is empty", attribute="packages")
        req_path: Path | None = None
        req_text: str | None = None
        if args.requirements_file:
            req_path = ctx.path(args.requirements_file)
            try:
                req_text = req_path.read_text()
            except FileNotFoundError:
                raise ConfigError(
                    f"requirements file {args.requirements_file} does not exist",
                    f"Looked for {req_path}. {ctx.path_hint(args.requirements_file)}",
                    attribute="requirements_file",
                ) from None
            except OSError as e:
                raise ConfigError(
                    f"cannot read requirements file {args.requirements_file}: {e.strerror}",
                    attribute="requirements_file",
                ) from None
        return _Request(
            args=args,
            python=python,
            requirements_path=req_path,
            requirements=req_text,
            request=normalized_request(
                python=python,
                packages=args.packages,
                requirements=req_text,
                env=args.env,
                image=args.image,
                cuda=args.cuda,
            ),
            id=environment_id(
                python=python,
                packages=args.packages,
                requirements=req_text,
                env=args.env,
                image=args.image,
                cuda=args.cuda,
            ),
        )

    def _interpreter(self, python: str) -> Interpreter:
        interp = find_python(python)
        if interp is None:
            have = available_pythons()
            listed = ", ".join(f"{i.version} ({i.path})" for i in have) or "none"
            raise ConfigError(
                f"Python {python} is not installed on this host",
                f"Pythons found: {listed}.\nInstall it (for example `uv python install {python}`) "
                "or choose one of those.",
                attribute="python",
            )
        return interp

    def _attrs(self, data_dir: Path, env_id: str, info: dict[str, Any] | None) -> dict[str, Any]:
        uri = str(environment_path(data_dir, env_id))
        if info is None:
            return planned_attrs(schema.Attrs, id=env_id, uri=uri)
        return {
            "id": env_id,
            "lock": info["lock"],
            "digest": info["digest"],
            "uri": uri,
            "python_version": info["python_version"],
            "platform": info.get("platform") or _host_platform(info["python_version"]),
        }

    def plan(self, prior: ResourceState | None, desired: dict[str, Any], ctx: Context) -> Planned:
        if not is_wholly_known(desired):
            return Planned(
                action="create" if prior is None else "replace",
                attrs=planned_attrs(schema.Attrs),
                reasons=[] if prior is None else ["arguments not known until apply"],
                args=dict(desired),
            )
        data_dir = provider_data_dir(self.provider, ctx)
        req = self._request(desired, ctx)
        info = environment_info(data_dir, req.id)
        if info is None:
            self._interpreter(req.python)  # refuse a Python the host lacks now, not at apply
        attrs = self._attrs(data_dir, req.id, info)
        normalized = req.args.model_dump()
        private = {"id": req.id}
        if prior is None:
            return Planned("create", attrs, args=normalized, private=private)
        before = {**schema.Args().model_dump(), **(prior.args or {})}
        if prior.id != req.id:
            reasons, paths = [], []
            for name in ("python", "packages", "requirements_file", "env", "image", "cuda"):
                if before.get(name) != normalized[name]:
                    paths.append(name)
                    reasons.append(_describe_change(name, before.get(name), normalized[name]))
            if not paths:
                paths.append("requirements_file" if req.requirements is not None else "python")
                reasons.append(
                    "requirements file content changed"
                    if req.requirements is not None
                    else "the request's normal form changed"
                )
            return Planned(
                "replace",
                attrs,
                reasons=reasons,
                replace_paths=paths,
                args=normalized,
                private=private,
            )
        reasons = []
        was, now = prior.attrs.get("platform"), attrs.get("platform")
        if isinstance(was, str) and isinstance(now, str) and was != now:
            # The same request for another machine: another lock, another environment.
            return Planned(
                "replace",
                attrs,
                reasons=[f"platform changed {was} → {now}"],
                replace_paths=["python"],
                args=normalized,
                private=private,
            )
        if info is None:
            reasons.append(
                f"the built environment {req.id[:16]}… is missing from {envs_dir(data_dir)}; it will be built again"
            )
        elif prior.attrs.get("digest") != info["digest"]:
            reasons.append("the cached environment was rebuilt with different packages")
        if reasons:
            return Planned("update", attrs, reasons=reasons, args=normalized, private=private)
        return Planned("noop", attrs, args=normalized, private=private)

    def _apply(self, planned: Planned, ctx: Context) -> ResourceState:
        data_dir = provider_data_dir(self.provider, ctx)
        req = self._request(planned.args, ctx)
        info = environment_info(data_dir, req.id)
        if info is None:
            interp = self._interpreter(req.python)
            ctx.progress(0, None, f"building environment {req.id[:16]}…")
            info = build_environment(
                data_dir,
                env_id=req.id,
                request=req.request,
                interpreter=interp,
                packages=list(req.args.packages),
                requirements_path=req.requirements_path,
                extra={"image": req.args.image, "cuda": req.args.cuda},
                ctx=ctx,
            )
        attrs = self._attrs(data_dir, req.id, info)
        lineage = {
            "python_version": info["python_version"],
            "packages": info["lock"],
            "digest": info["digest"],
            "installer": info.get("installer"),
            "platform": attrs.get("platform"),
            "image": req.args.image,
            "cuda": req.args.cuda,
        }
        ctx.lineage.update(lineage)
        return ResourceState(id=req.id, args=req.args.model_dump(), attrs=attrs, lineage=lineage)

    def create(self, planned: Planned, ctx: Context) -> ResourceState:
        return hold_applied(self.provider, schema.KIND, self._apply(planned, ctx), ctx)

    def update(self, prior: ResourceState, planned: Planned, ctx: Context) -> ResourceState:
        return hold_applied(self.provider, schema.KIND, self._apply(planned, ctx), ctx, prior)

    def read(self, state: ResourceState, ctx: Context) -> ResourceState | None:
        data_dir = provider_data_dir(self.provider, ctx)
        try:
            info = environment_info(data_dir, state.id)
        except ValueError:
            return None
        if info is None or not environment_python(data_dir, state.id).exists():
            return None
        if not is_held(data_dir, schema.KIND, state):
            return None  # deleted
        return ResourceState(
            id=state.id,
            args=state.args,
            attrs=self._attrs(data_dir, state.id, info),
            lineage=state.lineage,
            private=state.private,
        )

    def delete(self, state: ResourceState, ctx: Context) -> None:
        # Only the resource's reference goes: the built environment is a cache entry other
        # resources may share, and the lineage of models trained in it points there.
        release(provider_data_dir(self.provider, ctx), schema.KIND, state)

    def find_by_token(self, token: str, ctx: Context) -> ResourceState | None:
        data_dir = provider_data_dir(self.provider, ctx)
        state = held_by_token(data_dir, schema.KIND, token)
        if state is None or environment_info(data_dir, state.id) is None:
            return None
        return state

    def import_(self, id: str, ctx: Context) -> ResourceState:
        data_dir = provider_data_dir(self.provider, ctx)
        try:
            info = environment_info(data_dir, id)
        except ValueError:
            info = None
        if info is None:
            raise ProviderError(
                f"no built environment {id}",
                f"Import an environment by its id (env-<hex>) as listed in {envs_dir(data_dir)}.",
            )
        request = info.get("request", {})
        args = schema.Args(
            python=request.get("python"),
            packages=request.get("packages", []),
            env=request.get("env", {}),
            image=info.get("image"),
            cuda=info.get("cuda"),
        ).model_dump()
        state = ResourceState(id=id, args=args, attrs=self._attrs(data_dir, id, info))
        return hold(data_dir, schema.KIND, state, address=ctx.address)


def _describe_change(name: str, old: Any, new: Any) -> str:
    if name == "packages" and isinstance(old, list) and isinstance(new, list):
        added = [p for p in new if p not in old]
        removed = [p for p in old if p not in new]
        parts = [f'added "{p}"' for p in added] + [f'removed "{p}"' for p in removed]
        return "packages: " + (", ".join(parts) if parts else "order changed")
    if name == "env" and isinstance(old, dict) and isinstance(new, dict):
        keys = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
        return "env changed: " + ", ".join(keys)
    return f"{name} changed {json.dumps(old, default=str)} → {json.dumps(new, default=str)}"
