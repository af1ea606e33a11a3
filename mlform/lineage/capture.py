"""Lineage facts the engine adds to every ML instance it applies: who applied it (in CI, the
run's actor), when, from which CI run, and the git branch and remote of the code.

Facts about the machine a job ran on (host, OS, Python, CPU, GPU model and count, driver, CUDA,
cuDNN) are read on that machine, by the provider: it runs `mlform.lineage.probe` where the job
runs (`worker_facts`) and records what it prints in `ResourceState.lineage`. This host adds
nothing of its own there: on a cloud provider it is the laptop, not the machine that trained.
`enrich` adds the rest without overwriting anything the provider recorded. A record with
`hardware` carries every GPU field, empty (None, 0) where the worker had no GPU, so it says "no
GPU" rather than "not recorded".
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from mlform.ci import applied_by, ci_run, os_user, pull_request, who  # noqa: F401 - lineage's own names too
from mlform.lineage import probe

ML_KINDS = ("dataset", "environment", "cluster", "training_job", "deployment")

GPU_FIELDS = probe.GPU_FIELDS
HOST_FIELDS = probe.HOST_FIELDS
parse_nvidia_smi = probe.parse_nvidia_smi


# -- facts of this host, for comparing with a record (`mlform reproduce`) ------------------------


@lru_cache(maxsize=1)
def host_facts() -> dict[str, Any]:
    """This host: name, OS, machine, mlform's Python, CPU model and count."""
    return probe.host_facts()


@lru_cache(maxsize=1)
def gpu_facts() -> dict[str, Any]:
    """This host's GPU model and count, driver and CUDA version from `nvidia-smi`; empty (None,
    0) without one."""
    return probe.gpu_facts()


# -- facts of the worker: read where the job runs ------------------------------------------------


def worker_facts(
    python: str,
    env: Mapping[str, str] | None = None,
    *,
    cwd: str | Path | None = None,
    timeout: float = 180.0,
) -> dict[str, Any] | None:
    """The `host` and `hardware` facts of the machine and environment a job runs in, read by
    running `mlform.lineage.probe` with the job's interpreter `python` and variables `env` (its
    PATH finds the worker's nvidia-smi; its CUDA_VISIBLE_DEVICES says which GPUs the job has).
    None when the probe cannot run or answers nonsense. A provider whose jobs run elsewhere runs
    the same file there and records what it prints."""
    source = Path(probe.__file__).read_text(encoding="utf-8")
    try:
        out = subprocess.run(
            [python, "-c", source],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            env=None if env is None else dict(env),
            cwd=None if cwd is None else str(cwd),
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    try:
        data = json.loads(out.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("hardware"), dict):
        return None
    return data


def _run(cmd: list[str], timeout: float = 20.0) -> str | None:
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout if out.returncode == 0 else None


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
        if target.get(k) is None:
            target[k] = v


def training_facts(lineage: dict[str, Any]) -> dict[str, Any]:
    """A training record with the facts of this side added: the code's git branch and remote
    (the code is read here, where mlform runs). The worker's host, hardware and packages are
    the provider's to record (read where the job ran): they are never taken from this host. A
    record with `hardware` gets every GPU field, empty where the worker had no GPU."""
    out = dict(lineage)
    if isinstance(out.get("hardware"), dict):
        hw = dict(out["hardware"])
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
    ci = ci_run()
    out["applied_by"] = applied_by(ci=ci)
    out["applied_at"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    out["ci"] = ci
    return out


def current_environment_facts() -> dict[str, Any]:
    """This host's facts, in the shape of a training record's `host` and `hardware`, to compare a
    record with the host that reproduces it."""
    return {"host": dict(host_facts()), "hardware": dict(gpu_facts()), "python": sys.version}
