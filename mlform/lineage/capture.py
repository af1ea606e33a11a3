"""Lineage facts the engine adds to every ML instance it applies: who applied it, when, and
from which CI run. Providers add what only they know (inputs, hardware, outputs) through
`ResourceState.lineage`; this module adds what the engine knows."""

from __future__ import annotations

import getpass
import os
import socket
from datetime import UTC, datetime
from typing import Any

ML_KINDS = ("dataset", "environment", "cluster", "training_job", "deployment")


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


def enrich(lineage: dict[str, Any] | None, kind: str) -> dict[str, Any] | None:
    """A provider's lineage record with the engine's facts added (applied_by, applied_at, ci).
    Kinds that are not ML kinds keep what the provider gave (usually None)."""
    if kind not in ML_KINDS and lineage is None:
        return None
    out = dict(lineage or {})
    out["applied_by"] = who()
    out["applied_at"] = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    out["ci"] = ci_identity()
    return out
