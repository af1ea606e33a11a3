"""Lineage facts the engine adds to every ML instance it applies: who applied it, when, from which
CI run, and the facts about this host a provider did not record (Python, OS, CPU model, GPU model
and count, driver, CUDA, cuDNN, the git branch and remote of the code).

Providers add what only they know (inputs, outputs, job ARNs) through `ResourceState.lineage`;
`enrich` fills in the rest without overwriting anything the provider recorded. Fields about the
GPU are always present: empty (None, 0) on a host without one, so a record says "no GPU" rather
than "not recorded". Host facts are read once per process: `nvidia-smi` and the environment's
torch are slow to ask.
"""

from __future__ import annotations

import getpass
import json
import os
import platform
import shutil
import socket
import subprocess
import sys
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

ML_KINDS = ("dataset", "environment", "cluster", "training_job", "deployment")

# The GPU fields every training record carries, empty where the host has no GPU.
GPU_FIELDS = (
    "gpu_model",
    "gpu_count",
    "driver_version",
    "cuda_version",
    "cudnn_version",
    "torch_cuda_version",
)
HOST_FIELDS = ("hostname", "os", "machine", "python", "cpu_model", "cpu_count")


def ci_identity(environ: dict[str, str] | None = None) -> dict[str, Any] | None:
    """The CI run this process belongs to, from the variables GitHub Actions, GitLab CI and
    generic CI systems set; None outside CI."""
    env = os.environ if environ is None else environ
    if env.get("GITHUB_ACTIONS") == "true":
        server = env.get("GITHUB_SERVER_URL", "https://github.com")
        repo = env.get("GITHUB_REPOSITORY", "")
        run_id = env.get("GITHUB_RUN_ID", "")
        return {
            "system": "github-actions",
            "repository": repo,
            "commit": env.get("GITHUB_SHA", ""),
            "ref": env.get("GITHUB_REF", ""),
            "run_id": run_id,
            "run_attempt": env.get("GITHUB_RUN_ATTEMPT", ""),
            "actor": env.get("GITHUB_ACTOR", ""),
            "workflow": env.get("GITHUB_WORKFLOW", ""),
            "url": f"{server}/{repo}/actions/runs/{run_id}" if repo and run_id else "",
        }
    if env.get("GITLAB_CI") == "true":
        return {
            "system": "gitlab-ci",
            "repository": env.get("CI_PROJECT_PATH", ""),
            "commit": env.get("CI_COMMIT_SHA", ""),
            "ref": env.get("CI_COMMIT_REF_NAME", ""),
            "run_id": env.get("CI_PIPELINE_ID", ""),
            "job_id": env.get("CI_JOB_ID", ""),
            "actor": env.get("GITLAB_USER_LOGIN", ""),
            "url": env.get("CI_PIPELINE_URL", ""),
        }
    if env.get("CI", "").lower() in ("true", "1", "yes"):
        return {
            "system": env.get("CI_NAME", "ci"),
            "repository": env.get("CI_REPOSITORY", env.get("CI_REPO", "")),
            "commit": env.get("CI_COMMIT", env.get("CI_COMMIT_SHA", "")),
            "run_id": env.get("CI_RUN_ID", env.get("BUILD_ID", env.get("CI_BUILD_ID", ""))),
            "actor": env.get("CI_ACTOR", ""),
        }
    return None


def who() -> dict[str, str]:
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no user database (containers)
        user = str(os.getuid()) if hasattr(os, "getuid") else "unknown"
    return {"user": user, "host": socket.gethostname()}


# -- host facts ---------------------------------------------------------------------------------


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as f:
            for line in f:
                if line.lower().startswith(("model name", "hardware", "cpu model")):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or ""


@lru_cache(maxsize=1)
def host_facts() -> dict[str, Any]:
    """This host: name, OS, machine, mlform's Python, CPU model and count."""
    return {
        "hostname": socket.gethostname(),
        "os": platform.platform(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "cpu_model": _cpu_model(),
        "cpu_count": os.cpu_count() or 0,
    }


def _run(cmd: list[str], timeout: float = 20.0) -> str | None:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout if out.returncode == 0 else None


def parse_nvidia_smi(query: str, banner: str) -> dict[str, Any]:
    """GPU facts from `nvidia-smi --query-gpu=name,driver_version --format=csv,noheader` and
    the banner of plain `nvidia-smi` (the only place the CUDA version is printed)."""
    names: list[str] = []
    driver: str | None = None
    for line in query.splitlines():
        cols = [c.strip() for c in line.split(",")]
        if len(cols) >= 2 and cols[0]:
            names.append(cols[0])
            driver = driver or cols[1]
    cuda: str | None = None
    for token in ("CUDA Version:", "CUDA UMD Version:"):
        if token in banner:
            cuda = banner.split(token, 1)[1].split()[0].strip("|") or None
            break
    return {
        "gpu_model": names[0] if names else None,
        "gpu_count": len(names),
        "driver_version": driver if names else None,
        "cuda_version": cuda if names else None,
    }


@lru_cache(maxsize=1)
def gpu_facts() -> dict[str, Any]:
    """GPU model and count, driver and CUDA version from `nvidia-smi`; empty (None, 0) without
    one."""
    empty = {"gpu_model": None, "gpu_count": 0, "driver_version": None, "cuda_version": None}
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return empty
    query = _run([smi, "--query-gpu=name,driver_version", "--format=csv,noheader"])
    if query is None:
        return empty
    return parse_nvidia_smi(query, _run([smi]) or "")


_TORCH_PROBE = (
    "import json\n"
    "try:\n"
    "    import torch\n"
    "except Exception:\n"
    "    print(json.dumps(None)); raise SystemExit\n"
    "c = torch.backends.cudnn.version() if torch.backends.cudnn.is_available() else None\n"
    "print(json.dumps({'torch': torch.__version__, 'cuda': torch.version.cuda,"
    " 'cudnn': str(c) if c else None}))\n"
)


@lru_cache(maxsize=16)
def torch_facts(python: str) -> dict[str, Any] | None:
    """torch's version and the CUDA and cuDNN versions it was built with, asked of the
    environment's own interpreter; None when the environment has no torch."""
    out = _run([python, "-c", _TORCH_PROBE], timeout=120.0)
    if not out:
        return None
    try:
        data = json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None
    return data if isinstance(data, dict) else None


def _env_python(env_path: str | None) -> str | None:
    if not env_path:
        return None
    p = Path(env_path) / ("Scripts/python.exe" if os.name == "nt" else "bin/python")
    return str(p) if p.exists() else None


def _env_lock(env_path: str | None) -> dict[str, str] | None:
    """The exact versions of a built environment (its `mlform-env.json` record)."""
    if not env_path:
        return None
    try:
        info = json.loads((Path(env_path) / "mlform-env.json").read_text())
    except (OSError, ValueError):
        return None
    lock = info.get("lock")
    return dict(lock) if isinstance(lock, dict) else None


def git_facts(path: str | None) -> dict[str, Any]:
    """The branch and remote URL of the repository holding `path` (None outside git)."""
    out: dict[str, Any] = {"git_branch": None, "git_remote": None}
    if not path or shutil.which("git") is None:
        return out
    folder = Path(path)
    cwd = str(folder if folder.is_dir() else folder.parent)
    if not Path(cwd).is_dir():
        return out
    branch = _run(["git", "-C", cwd, "rev-parse", "--abbrev-ref", "HEAD"])
    if branch is not None:
        out["git_branch"] = branch.strip() or None
        remote = _run(["git", "-C", cwd, "remote", "get-url", "origin"])
        out["git_remote"] = remote.strip() if remote else None
    return out


def _fill(target: dict[str, Any], facts: dict[str, Any]) -> None:
    """Add each fact the record lacks or left None; never overwrite what a provider recorded."""
    for k, v in facts.items():
        if target.get(k) is None or (k == "gpu_count" and not target.get(k) and v):
            target[k] = v


def training_facts(lineage: dict[str, Any]) -> dict[str, Any]:
    """A training record with host, hardware, package and code facts filled in."""
    out = dict(lineage)
    host = dict(out.get("host") or {})
    _fill(host, host_facts())
    out["host"] = host

    hw = dict(out.get("hardware") or {})
    _fill(hw, gpu_facts())
    env = dict(out.get("environment") or {}) if isinstance(out.get("environment"), dict) else {}
    lock = _env_lock(env.get("path"))
    if lock is not None and env.get("packages") is None:
        env["packages"] = lock
    if env:
        out["environment"] = env
    torch = None
    if lock is not None and "torch" in lock:
        py = _env_python(env.get("path"))
        torch = torch_facts(py) if py else None
    hw.setdefault("cudnn_version", None)
    hw.setdefault("torch_cuda_version", None)
    if torch:
        _fill(hw, {"cudnn_version": torch.get("cudnn"), "torch_cuda_version": torch.get("cuda")})
        hw.setdefault("torch_version", torch.get("torch"))
    for k in GPU_FIELDS:
        hw.setdefault(k, 0 if k == "gpu_count" else None)
    out["hardware"] = hw

    code = out.get("code")
    if isinstance(code, dict):
        code = dict(code)
        if code.get("git_commit") and ("git_branch" not in code or "git_remote" not in code):
            _fill(code, git_facts(code.get("path")))
        code.setdefault("git_branch", None)
        code.setdefault("git_remote", None)
        code["dirty"] = bool(code.get("git_dirty_digest"))
        out["code"] = code
    return out


def enrich(
    lineage: dict[str, Any] | None,
    kind: str,
    provider_facts: dict[str, Any] | None = None,
) -> dict[str, Any] | None:
    """A provider's lineage record with the engine's facts added (applied_by, applied_at, ci, and
    for training jobs the host and GPU facts the provider did not record). `provider_facts` are
    what the provider put in `ctx.lineage` during the call (a job ARN, node addresses): they are
    added where the record does not already hold the key. Kinds that are not ML kinds keep what
    the provider gave (usually None)."""
    if kind not in ML_KINDS and lineage is None and not provider_facts:
        return None
    out = dict(lineage or {})
    for k, v in (provider_facts or {}).items():
        out.setdefault(k, v)
    if kind == "training_job":
        out = training_facts(out)
    out["applied_by"] = who()
    out["applied_at"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    out["ci"] = ci_identity()
    return out


def current_environment_facts() -> dict[str, Any]:
    """This host's facts, in the shape of a training record's `host` and `hardware`, to compare a
    record with the host that reproduces it."""
    return {"host": dict(host_facts()), "hardware": dict(gpu_facts()), "python": sys.version}
