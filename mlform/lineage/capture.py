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

import getpass
import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from mlform.lineage import probe

ML_KINDS = ("dataset", "environment", "cluster", "training_job", "deployment")

GPU_FIELDS = probe.GPU_FIELDS
HOST_FIELDS = probe.HOST_FIELDS
parse_nvidia_smi = probe.parse_nvidia_smi


def _first(env: Mapping[str, str], *names: str) -> str:
    """The first of these variables that is set and not empty, else ""."""
    for n in names:
        if env.get(n):
            return env[n]
    return ""


def _truthy(value: str | None) -> bool:
    return (value or "").lower() in ("true", "1", "yes")


def _github_event_pull_request(path: str) -> str:
    """The pull request number in a GitHub Actions event payload (`GITHUB_EVENT_PATH`): a
    `pull_request` event's, or an `issue_comment` event's on a pull request; "" otherwise."""
    if not path:
        return ""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    if not isinstance(data, dict):
        return ""
    pr = data.get("pull_request")
    if isinstance(pr, dict) and pr.get("number") is not None:
        return str(pr["number"])
    issue = data.get("issue")
    if isinstance(issue, dict) and issue.get("pull_request") and issue.get("number") is not None:
        return str(issue["number"])
    return ""


def pull_request(environ: Mapping[str, str] | None = None) -> str:
    """The number of the pull (merge) request this CI run is for, "" when it is for none or the
    CI does not say. `MLFORM_CI_PULL_REQUEST` names it where the CI cannot: the run that applies
    a merged pull request's plan on the main branch."""
    env = os.environ if environ is None else environ
    if env.get("MLFORM_CI_PULL_REQUEST"):
        return env["MLFORM_CI_PULL_REQUEST"].lstrip("#!")
    if _truthy(env.get("GITHUB_ACTIONS")):
        ref = env.get("GITHUB_REF", "")
        parts = ref.split("/")
        if len(parts) == 4 and parts[:2] == ["refs", "pull"] and parts[2].isdigit():
            return parts[2]
        return _github_event_pull_request(env.get("GITHUB_EVENT_PATH", ""))
    if _truthy(env.get("GITLAB_CI")):
        return env.get("CI_MERGE_REQUEST_IID", "")
    if _truthy(env.get("BUILDKITE")):
        value = env.get("BUILDKITE_PULL_REQUEST", "")
        return value if value.isdigit() else ""
    if _truthy(env.get("CIRCLECI")):
        tail = env.get("CIRCLE_PULL_REQUEST", "").rstrip("/").rsplit("/", 1)[-1]
        return tail if tail.isdigit() else ""
    if env.get("JENKINS_URL"):
        return env.get("CHANGE_ID", "")
    return ""


def ci_run(environ: Mapping[str, str] | None = None) -> dict[str, Any] | None:
    """The CI run this process belongs to; None outside CI. One shape for every system, kept in
    each serial's meta (`mlform history`) and in every lineage record: `system`, `repository`,
    `run_id`, `commit`, `ref`, `actor` (who started the run), `url`, `pull_request` (the pull or
    merge request's number), and what else the system names (`run_attempt`, `workflow`,
    `job_id`). Unknown values are ""."""
    env = os.environ if environ is None else environ
    run = _ci_run(env)
    if run is not None:
        run["pull_request"] = pull_request(env)
    return run


def _ci_run(env: Mapping[str, str]) -> dict[str, Any] | None:
    if _truthy(env.get("GITHUB_ACTIONS")):
        server = env.get("GITHUB_SERVER_URL") or "https://github.com"
        repo = env.get("GITHUB_REPOSITORY", "")
        run_id = env.get("GITHUB_RUN_ID", "")
        return {
            "system": "github-actions",
            "repository": repo,
            "run_id": run_id,
            "commit": env.get("GITHUB_SHA", ""),
            "ref": env.get("GITHUB_REF", ""),
            "actor": _first(env, "GITHUB_TRIGGERING_ACTOR", "GITHUB_ACTOR"),
            "url": f"{server}/{repo}/actions/runs/{run_id}" if repo and run_id else "",
            "run_attempt": env.get("GITHUB_RUN_ATTEMPT", ""),
            "workflow": env.get("GITHUB_WORKFLOW", ""),
        }
    if _truthy(env.get("GITLAB_CI")):
        return {
            "system": "gitlab-ci",
            "repository": env.get("CI_PROJECT_PATH", ""),
            "run_id": env.get("CI_PIPELINE_ID", ""),
            "commit": env.get("CI_COMMIT_SHA", ""),
            "ref": env.get("CI_COMMIT_REF_NAME", ""),
            "actor": env.get("GITLAB_USER_LOGIN", ""),
            "url": env.get("CI_PIPELINE_URL", ""),
            "job_id": env.get("CI_JOB_ID", ""),
        }
    if _truthy(env.get("BUILDKITE")):
        return {
            "system": "buildkite",
            "repository": _first(env, "BUILDKITE_PIPELINE_SLUG", "BUILDKITE_REPO"),
            "run_id": _first(env, "BUILDKITE_BUILD_NUMBER", "BUILDKITE_BUILD_ID"),
            "commit": env.get("BUILDKITE_COMMIT", ""),
            "ref": env.get("BUILDKITE_BRANCH", ""),
            "actor": _first(
                env,
                "BUILDKITE_BUILD_CREATOR_EMAIL",
                "BUILDKITE_BUILD_CREATOR",
                "BUILDKITE_BUILD_AUTHOR",
            ),
            "url": env.get("BUILDKITE_BUILD_URL", ""),
            "job_id": env.get("BUILDKITE_JOB_ID", ""),
        }
    if _truthy(env.get("CIRCLECI")):
        owner, name = env.get("CIRCLE_PROJECT_USERNAME", ""), env.get("CIRCLE_PROJECT_REPONAME", "")
        return {
            "system": "circleci",
            "repository": f"{owner}/{name}" if owner and name else name,
            "run_id": _first(env, "CIRCLE_WORKFLOW_ID", "CIRCLE_BUILD_NUM"),
            "commit": env.get("CIRCLE_SHA1", ""),
            "ref": _first(env, "CIRCLE_BRANCH", "CIRCLE_TAG"),
            "actor": env.get("CIRCLE_USERNAME", ""),
            "url": env.get("CIRCLE_BUILD_URL", ""),
            "job_id": env.get("CIRCLE_BUILD_NUM", ""),
        }
    if env.get("JENKINS_URL"):
        return {
            "system": "jenkins",
            "repository": env.get("JOB_NAME", ""),
            "run_id": _first(env, "BUILD_NUMBER", "BUILD_ID"),
            "commit": env.get("GIT_COMMIT", ""),
            "ref": env.get("GIT_BRANCH", ""),
            # Set by the Build User Vars plugin; the commit's author is not who started it.
            "actor": env.get("BUILD_USER_ID", ""),
            "url": env.get("BUILD_URL", ""),
        }
    if _truthy(env.get("CI")):
        return {
            "system": env.get("CI_NAME") or "ci",
            "repository": _first(env, "CI_REPOSITORY", "CI_REPO"),
            "run_id": _first(env, "CI_RUN_ID", "BUILD_ID", "CI_BUILD_ID"),
            "commit": _first(env, "CI_COMMIT", "CI_COMMIT_SHA"),
            "ref": _first(env, "CI_BRANCH", "CI_REF"),
            "actor": _first(env, "CI_ACTOR", "CI_USER"),
            "url": _first(env, "CI_BUILD_URL", "CI_URL"),
        }
    return None


def os_user() -> str:
    """The account this process runs as."""
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user database (containers)
        return str(os.getuid()) if hasattr(os, "getuid") else "unknown"


def applied_by(
    environ: Mapping[str, str] | None = None, ci: dict[str, Any] | None = None
) -> dict[str, str]:
    """Who applied: the person a CI run names as its actor (with `via` the CI system and
    `os_user` the account the job ran as), else this process's user; and the host."""
    run = ci if ci is not None else ci_run(environ)
    host = socket.gethostname()
    if run and run.get("actor"):
        return {
            "user": str(run["actor"]),
            "host": host,
            "via": str(run["system"]),
            "os_user": os_user(),
        }
    return {"user": os_user(), "host": host}


def who() -> dict[str, str]:
    """Who applied, as `applied_by()` (the name lineage records have used)."""
    return applied_by()


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
