"""`mlform ci comment`: post a plan's Markdown page on the pull request, or update the one posted.

One comment per workspace and pull request: the page carries a hidden marker line
(`<!-- mlform:plan WORKSPACE -->`, written by `mlform show --format markdown`), and the
comment holding it is found again, across every page of the pull request's comments, and
edited in place, so a pull request shows the latest plan rather than one comment per push.

GitHub: the REST API at `GITHUB_API_URL` (https://api.github.com by default), the token in
`GITHUB_TOKEN` (or `GH_TOKEN`), the repository in `GITHUB_REPOSITORY`, the pull request from
`--pr` or the run's event (`GITHUB_REF=refs/pull/N/merge`, `GITHUB_EVENT_PATH`). GitLab: the
notes API at `CI_API_V4_URL`, the project in `CI_PROJECT_ID`, the merge request in
`CI_MERGE_REQUEST_IID`, the token in `GITLAB_TOKEN` (a project or personal access token with the
`api` scope) or else `CI_JOB_TOKEN`. Only the standard library speaks HTTP here; the token goes
in a header and is never printed.
"""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

import click

from mlform.cli.common import handle_errors
from mlform.diagnostics import DiagnosticsError, error

__all__ = ["ApiError", "CommentTarget", "command", "upsert_comment"]

MARKER = re.compile(r"<!-- mlform:plan (\S+) -->")
GITHUB_LIMIT = 65_536
GITLAB_LIMIT = 1_000_000
PER_PAGE = 100
MAX_PAGES = 100  # 10,000 comments: a pull request with more is not looked through further
TIMEOUT_S = 30.0


class ApiError(Exception):
    """A request the API refused or that did not reach it; the message says what to do."""

    def __init__(self, summary: str, detail: str):
        super().__init__(summary)
        self.summary = summary
        self.detail = detail


@dataclass(frozen=True)
class CommentTarget:
    """Where the comment goes and how to reach it."""

    system: str  # "github" or "gitlab"
    api: str  # the API's base URL, without a trailing slash
    repo: str  # OWNER/NAME on GitHub; the project id or path on GitLab
    number: str  # the pull request's number / the merge request's iid
    token: str = field(repr=False)
    token_var: str = ""  # the variable the token came from, for messages

    @property
    def name(self) -> str:
        return "GitHub" if self.system == "github" else "GitLab"

    @property
    def where(self) -> str:
        sep = "#" if self.system == "github" else "!"
        return f"{self.repo}{sep}{self.number}"

    def headers(self) -> dict[str, str]:
        from mlform import __version__

        head = {
            "Accept": "application/vnd.github+json"
            if self.system == "github"
            else "application/json",
            "User-Agent": f"mlform/{__version__}",
            "Content-Type": "application/json",
        }
        if self.system == "github":
            head["Authorization"] = f"Bearer {self.token}"
            head["X-GitHub-Api-Version"] = "2022-11-28"
        elif self.token_var == "CI_JOB_TOKEN":
            head["JOB-TOKEN"] = self.token
        else:
            head["PRIVATE-TOKEN"] = self.token
        return head


# -- HTTP ----------------------------------------------------------------------------------------


@dataclass
class Response:
    status: int
    headers: Mapping[str, str]
    data: Any


def _scrub(text: str, target: CommentTarget) -> str:
    return text.replace(target.token, "***") if target.token else text


def _request(target: CommentTarget, method: str, url: str, body: Any = None) -> Response:
    import urllib.error
    import urllib.request

    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=target.headers())
    try:
        with urllib.request.urlopen(req, timeout=TIMEOUT_S) as resp:
            raw = resp.read()
            status, headers = resp.status, dict(resp.headers.items())
    except urllib.error.HTTPError as exc:
        raise _http_error(target, method, url, exc) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc
        raise ApiError(
            f"Cannot reach the {target.name} API at {target.api}",
            _scrub(
                f"{method} {url} failed: {reason}. Check the network and "
                f"{'GITHUB_API_URL' if target.system == 'github' else 'CI_API_V4_URL'}.",
                target,
            ),
        ) from None
    try:
        parsed = json.loads(raw) if raw.strip() else None
    except ValueError:
        raise ApiError(
            f"The {target.name} API answered something that is not JSON",
            f"{method} {url} answered {status} with {raw[:200]!r}.",
        ) from None
    return Response(status, {k.lower(): v for k, v in headers.items()}, parsed)


def _http_error(target: CommentTarget, method: str, url: str, exc: Any) -> ApiError:
    try:
        payload = json.loads(exc.read() or b"null")
    except (ValueError, OSError):
        payload = None
    said = ""
    if isinstance(payload, dict):
        said = str(payload.get("message") or payload.get("error") or "")
    said = f" ({_scrub(said, target)})" if said else ""
    code = exc.code
    what = f"{method} {url} answered {code}{said}"
    if code == 401:
        return ApiError(
            f"{target.name} refused the token",
            f"{what}. Check that {target.token_var} holds a valid token.",
        )
    if code == 403:
        need = (
            "the workflow's `permissions: pull-requests: write`"
            if target.system == "github"
            else "a token with the api scope in GITLAB_TOKEN (CI_JOB_TOKEN cannot write notes)"
        )
        return ApiError(
            f"{target.name} does not allow the token to comment on {target.where}",
            f"{what}. Give it {need}.",
        )
    if code == 404:
        kind = "pull request" if target.system == "github" else "merge request"
        return ApiError(
            f"{target.name} has no {kind} {target.where}, or the token cannot see it",
            f"{what}. Check the repository (--repo) and the {kind} number (--pr), and that "
            "the token may read the repository.",
        )
    return ApiError(f"The {target.name} API refused the request", f"{what}.")


def _next_page(target: CommentTarget, resp: Response, url: str) -> str | None:
    """The next page's URL: the Link header's rel="next" (GitHub, GitLab), else GitLab's
    X-Next-Page."""
    link = resp.headers.get("link", "")
    for part in link.split(","):
        m = re.match(r'\s*<([^>]+)>\s*;.*\brel="?next"?', part)
        if m:
            return m.group(1)
    nxt = resp.headers.get("x-next-page", "").strip()
    if nxt:
        base = url.split("?", 1)[0]
        return f"{base}?{urlencode({'per_page': PER_PAGE, 'page': nxt})}"
    return None


# -- the operation -------------------------------------------------------------------------------


def _comments_url(target: CommentTarget) -> str:
    if target.system == "github":
        return f"{target.api}/repos/{target.repo}/issues/{target.number}/comments"
    project = quote(target.repo, safe="")
    return f"{target.api}/projects/{project}/merge_requests/{target.number}/notes"


def _comment_url(target: CommentTarget, comment_id: Any) -> str:
    if target.system == "github":
        return f"{target.api}/repos/{target.repo}/issues/comments/{comment_id}"
    return f"{_comments_url(target)}/{comment_id}"


def find_comment(target: CommentTarget, marker_line: str) -> dict[str, Any] | None:
    """The first comment holding `marker_line`, looking through every page."""
    url: str | None = f"{_comments_url(target)}?{urlencode({'per_page': PER_PAGE, 'page': 1})}"
    pages = 0
    while url and pages < MAX_PAGES:
        resp = _request(target, "GET", url)
        pages += 1
        if not isinstance(resp.data, list):
            raise ApiError(
                f"The {target.name} API answered an unexpected list of comments",
                f"GET {url} did not answer a JSON list.",
            )
        for c in resp.data:
            if isinstance(c, dict) and marker_line in str(c.get("body") or ""):
                return c
        url = _next_page(target, resp, url)
    return None


def fit(body: str, limit: int) -> str:
    """`body` cut at a line to `limit` characters, with a note, when it is longer."""
    if len(body) <= limit:
        return body
    note = (
        "\n\n> [!NOTE]\n> This comment was cut to fit the "
        f"{limit:,}-character limit; make the page with `mlform show --format markdown "
        "--full-output FILE` to keep the summary whole and the rest in FILE.\n"
    )
    cut = body[: limit - len(note)]
    if "\n" in cut:
        cut = cut[: cut.rfind("\n")]
    return cut + note


def upsert_comment(
    target: CommentTarget, body: str, marker_line: str
) -> tuple[str, dict[str, Any]]:
    """Update the comment holding `marker_line`, or post one: ("updated" | "created", the
    comment as the API answered it)."""
    limit = GITHUB_LIMIT if target.system == "github" else GITLAB_LIMIT
    body = fit(body, limit)
    found = find_comment(target, marker_line)
    if found is not None:
        method = "PATCH" if target.system == "github" else "PUT"
        resp = _request(target, method, _comment_url(target, found.get("id")), {"body": body})
        return "updated", resp.data if isinstance(resp.data, dict) else {}
    resp = _request(target, "POST", _comments_url(target), {"body": body})
    return "created", resp.data if isinstance(resp.data, dict) else {}


# -- where from the environment ------------------------------------------------------------------


def detect_system(env: Mapping[str, str]) -> str:
    """Which forge to comment on: GitLab when the CI run is GitLab's, else GitHub. The CI is
    recognised in one place, mlform.lineage.capture."""
    from mlform.ci import ci_run

    run = ci_run(env)
    if (run is not None and run.get("system") == "gitlab-ci") or env.get("CI_MERGE_REQUEST_IID"):
        return "gitlab"
    return "github"


def _missing(summary: str, detail: str) -> DiagnosticsError:
    return DiagnosticsError([error(summary, detail)])


def resolve_target(
    env: Mapping[str, str], system: str | None, pr: str | None, repo: str | None
) -> CommentTarget:
    """The comment's target from the options and the CI's variables; a diagnostic naming the
    variable or option to set when something is missing."""
    from mlform.ci import pull_request

    system = system or detect_system(env)
    if system == "github":
        api = (env.get("GITHUB_API_URL") or "https://api.github.com").rstrip("/")
        repo = repo or env.get("GITHUB_REPOSITORY", "")
        if not repo:
            raise _missing(
                "Which repository?",
                "Give --repo OWNER/NAME, or run in GitHub Actions (GITHUB_REPOSITORY).",
            )
        if not re.fullmatch(r"[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+", repo):
            raise _missing(
                f"Invalid repository {repo!r}", "A GitHub repository is OWNER/NAME: acme/models."
            )
        number = pr or pull_request({**env, "GITHUB_ACTIONS": "true"})
        token_var = "GITHUB_TOKEN" if env.get("GITHUB_TOKEN") else "GH_TOKEN"
        kind, number_hint = (
            "pull request",
            "run on a pull_request event (GITHUB_EVENT_PATH) or give --pr N",
        )
    else:
        api = (env.get("CI_API_V4_URL") or "https://gitlab.com/api/v4").rstrip("/")
        repo = repo or env.get("CI_PROJECT_ID") or env.get("CI_PROJECT_PATH", "")
        if not repo:
            raise _missing(
                "Which project?",
                "Give --repo GROUP/PROJECT (or the project id), or run in GitLab CI "
                "(CI_PROJECT_ID).",
            )
        number = pr or env.get("CI_MERGE_REQUEST_IID", "")
        token_var = "GITLAB_TOKEN" if env.get("GITLAB_TOKEN") else "CI_JOB_TOKEN"
        kind, number_hint = (
            "merge request",
            "run in a merge request pipeline (CI_MERGE_REQUEST_IID) or give --pr N",
        )
    number = number.lstrip("#!")
    if not number:
        raise _missing(f"Which {kind}?", f"This run is not for a {kind}: {number_hint}.")
    if not number.isdigit():
        raise _missing(f"Invalid {kind} number {number!r}", "Give its number: --pr 12.")
    token = env.get(token_var, "")
    if not token:
        hint = (
            "In a workflow: `env: GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}` with "
            "`permissions: pull-requests: write`."
            if system == "github"
            else "Set GITLAB_TOKEN to a project access token with the api scope (a masked CI/CD "
            "variable)."
        )
        names = "GITHUB_TOKEN or GH_TOKEN" if system == "github" else "GITLAB_TOKEN or CI_JOB_TOKEN"
        raise _missing(f"No token to comment with: set {names}", hint)
    return CommentTarget(system, api, repo, number, token, token_var)


def _read_body(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except (OSError, UnicodeDecodeError) as exc:
        reason = getattr(exc, "strerror", None) or str(exc)
        raise _missing(
            f"Cannot read {path}",
            f"{reason}. Make the page with `mlform show --format markdown tfplan > {path}`.",
        ) from None


# -- the command ---------------------------------------------------------------------------------


@click.group("ci")
def command() -> None:
    """Commands for running mlform in CI (docs/ci.md).

    \b
    Examples:
      mlform show --format markdown tfplan > plan.md
      mlform ci comment --file plan.md
    """


@command.command("comment")
@click.option(
    "--file",
    "path",
    required=True,
    help="The Markdown to post: what `mlform show --format markdown PLANFILE` printed (- for "
    "standard input).",
)
@click.option("--pr", default=None, help="The pull (merge) request's number. Default: the run's.")
@click.option(
    "--repo",
    default=None,
    help="OWNER/NAME on GitHub, the project id or path on GitLab. Default: the run's.",
)
@click.option(
    "--system",
    type=click.Choice(["github", "gitlab"]),
    default=None,
    help="Which API. Default: gitlab inside GitLab CI, else github.",
)
@click.option(
    "--workspace",
    default=None,
    help="Whose comment, when the page carries no marker of its own. Default: default.",
)
def comment(
    path: str, pr: str | None, repo: str | None, system: str | None, workspace: str | None
) -> None:
    """Post the plan on the pull request, or update the comment already posted.

    The comment is found again by the hidden `<!-- mlform:plan WORKSPACE -->` line that
    `mlform show --format markdown` writes, so each workspace keeps one comment per pull
    request, edited on every push.

    \b
    Examples:
      mlform plan -out tfplan
      mlform show --format markdown tfplan > plan.md
      mlform ci comment --file plan.md
      mlform ci comment --file plan.md --repo acme/models --pr 12
    """
    from mlform.ui.markdown import marker

    with handle_errors():
        body = _read_body(path)
        target = resolve_target(os.environ, system, pr, repo)
        found = MARKER.search(body)
        if found:
            marker_line = found.group(0)
        else:
            marker_line = marker(workspace or "default")
            body = f"{marker_line}\n{body}"
        try:
            what, data = upsert_comment(target, body, marker_line)
        except ApiError as exc:
            raise DiagnosticsError([error(exc.summary, exc.detail)]) from None
        link = data.get("html_url") or ""
        if not link and target.system == "gitlab" and data.get("id") is not None:
            link = f"note {data['id']}"
        verb = "Updated the plan comment on" if what == "updated" else "Posted the plan on"
        click.echo(f"{verb} {target.where}" + (f": {link}" if link else "."))
