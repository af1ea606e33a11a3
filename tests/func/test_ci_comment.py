"""`mlform ci comment`: one plan comment per pull request and workspace, posted or updated through
GitHub's and GitLab's REST APIs, against a local fake of them (tests/func/fake_forge.py) that
checks each request's method, path, headers and body."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from fake_forge import TOKEN, Forge, serve

REPO = "acme/models"
PAGE = "<!-- mlform:plan default -->\n## mlform plan\n\n| add | change |\n"

# Whatever the machine running the tests has set, these runs see only what each test gives.
CLEAN = {
    k: ""
    for k in (
        "GITHUB_ACTIONS",
        "GITHUB_TOKEN",
        "GH_TOKEN",
        "GITHUB_REPOSITORY",
        "GITHUB_API_URL",
        "GITHUB_REF",
        "GITHUB_EVENT_PATH",
        "GITLAB_CI",
        "GITLAB_TOKEN",
        "CI_JOB_TOKEN",
        "CI_API_V4_URL",
        "CI_PROJECT_ID",
        "CI_PROJECT_PATH",
        "CI_MERGE_REQUEST_IID",
    )
}


@pytest.fixture
def forge():
    with serve() as f:
        yield f


def github_env(forge: Forge, **extra: str) -> dict[str, str]:
    return {
        **CLEAN,
        "GITHUB_ACTIONS": "true",
        "GITHUB_API_URL": forge.url,
        "GITHUB_REPOSITORY": REPO,
        "GITHUB_TOKEN": TOKEN,
        "GITHUB_REF": "refs/pull/12/merge",
        **extra,
    }


def no_secret(res) -> None:
    assert TOKEN not in res.all and "Traceback" not in res.all, str(res)


def test_posts_a_comment_after_looking_through_every_page(forge, mlform, write):
    for i in range(3):
        forge.add(REPO, 12, f"a review remark {i}")
    write(PAGE, "plan.md")
    res = mlform.ok("ci", "comment", "--file", "plan.md", env=github_env(forge))
    no_secret(res)
    gets = [r for r in forge.requests if r.method == "GET"]
    assert [(r.path, r.query["page"]) for r in gets] == [
        ("/repos/acme/models/issues/12/comments", "1"),
        ("/repos/acme/models/issues/12/comments", "2"),
    ]
    (post,) = [r for r in forge.requests if r.method == "POST"]
    assert post.path == "/repos/acme/models/issues/12/comments"
    assert post.body == {"body": PAGE}
    for r in forge.requests:
        assert r.headers["authorization"] == f"Bearer {TOKEN}"
        assert r.headers["accept"] == "application/vnd.github+json"
        assert r.headers["x-github-api-version"] == "2022-11-28"
        assert r.headers["user-agent"].startswith("mlform/")
    assert forge.bodies(REPO, 12)[-1] == PAGE
    assert res.out.startswith("Posted the plan on acme/models#12: https://gh/acme/models/pull/12")


def test_updates_the_comment_it_posted_before(forge, mlform, write, tmp_path):
    forge.add(REPO, 7, "first")
    forge.add(REPO, 7, "second")
    forge.add(REPO, 7, "third")
    old = forge.add(REPO, 7, "<!-- mlform:plan default -->\nan old plan")
    forge.add(REPO, 7, "<!-- mlform:plan staging -->\nanother workspace's plan")
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"action": "synchronize", "pull_request": {"number": 7}}))
    write(PAGE, "plan.md")
    env = github_env(forge, GITHUB_REF="refs/heads/feature", GITHUB_EVENT_PATH=str(event))
    res = mlform.ok("ci", "comment", "--file", "plan.md", env=env)
    no_secret(res)
    (patch,) = [r for r in forge.requests if r.method == "PATCH"]
    assert patch.path == f"/repos/acme/models/issues/comments/{old}"
    assert patch.body == {"body": PAGE}
    assert not [r for r in forge.requests if r.method == "POST"]
    # It stopped at the page that held the comment.
    assert [r.query["page"] for r in forge.requests if r.method == "GET"] == ["1", "2"]
    bodies = forge.bodies(REPO, 7)
    assert bodies[3] == PAGE and bodies[4].endswith("another workspace's plan")
    assert res.out.startswith("Updated the plan comment on acme/models#7:")
    # A second run edits the same comment again: still one per workspace.
    write(PAGE + "| 2 | 0 |\n", "plan.md")
    mlform.ok("ci", "comment", "--file", "plan.md", env=env)
    assert sum("mlform:plan default" in b for b in forge.bodies(REPO, 7)) == 1
    assert forge.bodies(REPO, 7)[3].endswith("| 2 | 0 |\n")


def test_a_page_without_marker_gets_the_workspaces(forge, mlform, write):
    forge.add(REPO, 3, "<!-- mlform:plan default -->\nthe default workspace's")
    write("just a plan\n", "plan.md")
    env = github_env(forge, GITHUB_REF="")
    mlform.ok("ci", "comment", "--file", "plan.md", "--pr", "3", "--workspace", "prod", env=env)
    (post,) = [r for r in forge.requests if r.method == "POST"]
    assert post.body == {"body": "<!-- mlform:plan prod -->\njust a plan\n"}
    assert forge.bodies(REPO, 3)[0].endswith("the default workspace's")


def test_options_name_the_repository_and_pull_request(forge, mlform, write):
    forge.add("other/repo", 44, "hello")
    write(PAGE, "plan.md")
    env = {**CLEAN, "GITHUB_API_URL": forge.url, "GH_TOKEN": TOKEN}
    res = mlform.ok(
        "ci", "comment", "--file", "plan.md", "--repo", "other/repo", "--pr", "44", env=env
    )
    no_secret(res)
    assert forge.bodies("other/repo", 44) == ["hello", PAGE]


def test_a_body_longer_than_a_comment_is_cut(forge, mlform, write):
    forge.add(REPO, 12, "x")
    write(PAGE + ("a line of the plan\n" * 5000), "plan.md")
    mlform.ok("ci", "comment", "--file", "plan.md", env=github_env(forge))
    body = forge.bodies(REPO, 12)[-1]
    assert len(body) <= 65_536 and body.startswith(PAGE)
    assert "cut to fit the 65,536-character limit" in body


def test_a_refused_token_is_a_clear_error(forge, mlform, write):
    forge.add(REPO, 12, "x")
    forge.token = "the-real-token"
    write(PAGE, "plan.md")
    res = mlform("ci", "comment", "--file", "plan.md", env=github_env(forge))
    assert res.code == 1, str(res)
    no_secret(res)
    assert "GitHub refused the token" in res.err and "Bad credentials" in res.err
    assert "GITHUB_TOKEN" in res.err


def test_an_unknown_pull_request_is_a_clear_error(forge, mlform, write):
    write(PAGE, "plan.md")
    res = mlform("ci", "comment", "--file", "plan.md", "--pr", "999", env=github_env(forge))
    assert res.code == 1, str(res)
    no_secret(res)
    assert "GitHub has no pull request acme/models#999" in res.err and "--pr" in res.err


def test_an_unreachable_api_is_a_clear_error(mlform, write):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    write(PAGE, "plan.md")
    env = {**CLEAN, "GITHUB_API_URL": f"http://127.0.0.1:{port}", "GITHUB_TOKEN": TOKEN}
    res = mlform("ci", "comment", "--file", "plan.md", "--repo", REPO, "--pr", "1", env=env)
    assert res.code == 1, str(res)
    no_secret(res)
    assert f"Cannot reach the GitHub API at http://127.0.0.1:{port}" in res.err


@pytest.mark.parametrize(
    ("env", "args", "message"),
    [
        ({"GITHUB_REPOSITORY": REPO, "GITHUB_TOKEN": TOKEN}, (), "Which pull request?"),
        ({"GITHUB_TOKEN": TOKEN}, ("--pr", "1"), "Which repository?"),
        ({"GITHUB_REPOSITORY": REPO}, ("--pr", "1"), "No token to comment with"),
        ({"GITHUB_TOKEN": TOKEN}, ("--repo", "nope", "--pr", "1"), "Invalid repository"),
        ({"GITHUB_TOKEN": TOKEN, "GITHUB_REPOSITORY": REPO}, ("--pr", "x1"), "Invalid pull"),
        (
            {"GITLAB_CI": "true", "GITLAB_TOKEN": TOKEN, "CI_PROJECT_ID": "5"},
            (),
            "Which merge request?",
        ),
    ],
)
def test_what_is_missing_is_named(env, args, message, mlform, write):
    write(PAGE, "plan.md")
    res = mlform("ci", "comment", "--file", "plan.md", *args, env={**CLEAN, **env})
    assert res.code == 1 and message in res.err, str(res)
    no_secret(res)


def test_a_missing_file_is_a_clear_error(mlform):
    res = mlform("ci", "comment", "--file", "nope.md", env={**CLEAN, "GITHUB_TOKEN": TOKEN})
    assert res.code == 1 and "Cannot read nope.md" in res.err and "Traceback" not in res.all


def gitlab_env(forge: Forge, **extra: str) -> dict[str, str]:
    return {
        **CLEAN,
        "GITLAB_CI": "true",
        "CI_API_V4_URL": f"{forge.url}/api/v4",
        "CI_PROJECT_ID": "42",
        "CI_MERGE_REQUEST_IID": "5",
        "GITLAB_TOKEN": TOKEN,
        **extra,
    }


def test_gitlab_notes_posted_then_updated(forge, mlform, write):
    for i in range(3):
        forge.add("42", 5, f"note {i}")
    write(PAGE, "plan.md")
    res = mlform.ok("ci", "comment", "--file", "plan.md", env=gitlab_env(forge))
    no_secret(res)
    gets = [r for r in forge.requests if r.method == "GET"]
    assert [(r.path, r.query["page"]) for r in gets] == [
        ("/api/v4/projects/42/merge_requests/5/notes", "1"),
        ("/api/v4/projects/42/merge_requests/5/notes", "2"),
    ]
    (post,) = [r for r in forge.requests if r.method == "POST"]
    assert post.path == "/api/v4/projects/42/merge_requests/5/notes" and post.body == {"body": PAGE}
    assert all(r.headers["private-token"] == TOKEN for r in forge.requests)
    assert res.out.startswith("Posted the plan on 42!5")
    forge.requests.clear()
    write(PAGE + "again\n", "plan.md")
    mlform.ok("ci", "comment", "--file", "plan.md", env=gitlab_env(forge))
    (put,) = [r for r in forge.requests if r.method == "PUT"]
    note = forge.comments[("42", "5")][3]
    assert put.path == f"/api/v4/projects/42/merge_requests/5/notes/{note['id']}"
    assert note["body"] == PAGE + "again\n" and len(forge.comments[("42", "5")]) == 4


def test_gitlab_job_token_and_project_path(forge, mlform, write):
    forge.add("group/sub/proj", 9, "hi")
    write(PAGE, "plan.md")
    env = gitlab_env(
        forge, GITLAB_TOKEN="", CI_JOB_TOKEN=TOKEN, CI_PROJECT_ID="", CI_MERGE_REQUEST_IID=""
    )
    res = mlform.ok(
        "ci", "comment", "--file", "plan.md", "--repo", "group/sub/proj", "--pr", "9", env=env
    )
    no_secret(res)
    (post,) = [r for r in forge.requests if r.method == "POST"]
    assert post.path == "/api/v4/projects/group%2Fsub%2Fproj/merge_requests/9/notes"
    assert post.headers["job-token"] == TOKEN and "private-token" not in post.headers


def test_gitlab_refused_token(forge, mlform, write):
    forge.add("42", 5, "x")
    forge.token = "another"
    write(PAGE, "plan.md")
    res = mlform("ci", "comment", "--file", "plan.md", env=gitlab_env(forge))
    assert res.code == 1 and "GitLab refused the token" in res.err, str(res)
    no_secret(res)


def test_the_page_from_show_goes_up_whole(forge, mlform, workdir):
    """What `mlform show --format markdown` prints is what is posted, marker and all."""
    from mlform.plans import plan_from_dict, write_plan

    data = Path(__file__).resolve().parent.parent / "testdata" / "show-markdown" / "ml-plan"
    write_plan(workdir / "tfplan", plan_from_dict(json.loads((data / "plan.json").read_text())), {})
    page = mlform.ok("show", "--format", "markdown", "tfplan").out
    (workdir / "plan.md").write_text(page)
    forge.add(REPO, 12, "<!-- mlform:plan prod -->\nold")
    mlform.ok("ci", "comment", "--file", "plan.md", env=github_env(forge))
    assert forge.bodies(REPO, 12) == [page]
