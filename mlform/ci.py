"""Which CI run, and who, applied: read from the CI system's environment variables.

One detector for GitHub Actions, GitLab CI, Buildkite, CircleCI, Jenkins and generic CI, with
one shape (system, repository, run_id, commit, ref, actor, url, pull_request). The state records
it in each serial's meta; lineage records carry it; `mlform ci comment` asks it which forge it
runs on. Standard library only, below every layer that uses it.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Any

__all__ = ["applied_by", "ci_run", "os_user", "pull_request", "who"]


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
