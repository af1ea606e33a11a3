"""The CI examples work: examples/ci/github's workflow passes actionlint, examples/ci/gitlab's
pipeline has the shape GitLab needs, and the workflow's own plan and apply steps, run as scripts
in a test repository (git, the test provider, a state both jobs share), plan a pull request,
post its Markdown page to a local fake of GitHub's API, apply the saved plan after the merge,
and refuse a plan that another merge made stale.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from fake_forge import TOKEN, Forge, serve

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples" / "ci"
WORKFLOW = EXAMPLES / "github" / ".github" / "workflows" / "mlform.yml"
GITLAB = EXAMPLES / "gitlab" / ".gitlab-ci.yml"
GOLDEN = ROOT / "tests" / "testdata" / "show-markdown" / "ci-workflow"
REPO = "acme/models"


def workflow() -> dict[Any, Any]:
    return yaml.safe_load(WORKFLOW.read_text())


def step(job: str, step_id: str) -> dict[str, Any]:
    (found,) = [s for s in workflow()["jobs"][job]["steps"] if s.get("id") == step_id]
    return found


# -- the files ------------------------------------------------------------------------------------


def actionlint() -> str | None:
    beside = Path(sys.executable).parent / "actionlint"
    return str(beside) if beside.exists() else shutil.which("actionlint")


def test_the_github_workflow_passes_actionlint():
    binary = actionlint()
    if binary is None:
        pytest.skip("actionlint is not installed (pip install -e '.[test]' brings it)")
    try:
        res = subprocess.run(
            [binary, "-no-color", str(WORKFLOW)], capture_output=True, text=True, timeout=120
        )
    except OSError as exc:
        pytest.skip(f"the actionlint binary cannot run here: {exc}")
    assert res.returncode == 0, res.stdout + res.stderr


def test_actionlint_finds_a_broken_workflow(tmp_path):
    """The lint above can fail: a workflow with an unknown job property is refused."""
    binary = actionlint()
    if binary is None:
        pytest.skip("actionlint is not installed (pip install -e '.[test]' brings it)")
    broken = tmp_path / ".github" / "workflows" / "x.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text(WORKFLOW.read_text().replace("runs-on:", "run-on:", 1))
    res = subprocess.run([binary, "-no-color", str(broken)], capture_output=True, text=True)
    assert res.returncode != 0


def test_the_github_workflow_plans_pull_requests_and_applies_on_merge():
    wf = workflow()
    on = wf[True] if True in wf else wf["on"]  # YAML 1.1 reads the key `on` as true
    assert "pull_request" in on and on["push"]["branches"] == ["main"]
    plan, apply = wf["jobs"]["plan"], wf["jobs"]["apply"]
    assert plan["permissions"]["pull-requests"] == "write"
    assert step("plan", "plan")["run"].strip() == "ci/plan.sh"
    uploads = [s for s in plan["steps"] if str(s.get("uses", "")).startswith("actions/upload-art")]
    assert "tfplan" in uploads[0]["with"]["path"]
    # One apply at a time, never cancelled half way.
    assert apply["concurrency"] == {"group": "mlform-apply", "cancel-in-progress": False}
    assert step("apply", "apply")["run"].startswith("ci/apply.sh")
    published = [s for s in apply["steps"] if "lineage" in str(s.get("with", {}).get("name", ""))]
    assert published and "lineage-*.html" in published[0]["with"]["path"]


def test_the_gitlab_pipeline_has_its_shape():
    ci = yaml.safe_load(GITLAB.read_text())
    assert ci["stages"] == ["plan", "apply"]
    for name in ("plan", "apply"):
        job = ci[name]
        assert job["stage"] in ci["stages"] and isinstance(job["script"], list)
        assert job["rules"] and all("if" in r for r in job["rules"])
    assert "merge_request_event" in ci["plan"]["rules"][0]["if"]
    assert ci["plan"]["script"] == ["ci/plan.sh"]
    assert any(p.endswith("/tfplan") for p in ci["plan"]["artifacts"]["paths"])
    assert ci["apply"]["resource_group"] == "mlform-apply"
    assert ci["apply"]["script"][-1].startswith("ci/apply.sh")
    assert any("lineage" in p for p in ci["apply"]["artifacts"]["paths"])
    assert ci["apply"]["artifacts"]["when"] == "always"


# -- the steps, run --------------------------------------------------------------------------------

EXPR = re.compile(r"\$\{\{\s*(.+?)\s*\}\}")


def resolve(text: str, values: dict[str, str]) -> str:
    def one(m: re.Match[str]) -> str:
        assert m.group(1) in values, f"the workflow uses {m.group(0)}, which this test lacks"
        return values[m.group(1)]

    return EXPR.sub(one, text)


class Repo:
    """An origin repository, and checkouts of it as a CI job makes them."""

    def __init__(self, root: Path, forge: Forge):
        self.root = root
        self.forge = forge
        self.origin = root / "origin.git"
        self.shared = root / "shared"  # the state and the provider's objects, as a remote backend
        self.shared.mkdir()
        self.n = 0
        self.git_env = {
            "GIT_AUTHOR_NAME": "dev",
            "GIT_AUTHOR_EMAIL": "dev@example.com",
            "GIT_COMMITTER_NAME": "dev",
            "GIT_COMMITTER_EMAIL": "dev@example.com",
            "GIT_CONFIG_GLOBAL": os.devnull,
            "GIT_CONFIG_NOSYSTEM": "1",
        }

    def git(self, cwd: Path, *args: str) -> str:
        env = {**os.environ, **self.git_env}
        res = subprocess.run(
            ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=False
        )
        assert res.returncode == 0, f"git {' '.join(args)}: {res.stderr}"
        return res.stdout

    def config(self, objects: dict[str, str]) -> str:
        body = "\n".join(
            f'resource "test_object" "{name}" {{\n  value = "{value}"\n}}\n'
            for name, value in objects.items()
        )
        return (
            'mlform {\n  backend "local" {\n'
            f'    path = "{self.shared}/mlform.state.json"\n  }}\n}}\n\n'
            f'provider "test" {{\n  store = "{self.shared}/objects.json"\n}}\n\n{body}'
        )

    def create(self, objects: dict[str, str]) -> None:
        work = self.root / "init"
        work.mkdir()
        self.git(work, "init", "-q", "-b", "main")
        (work / "ci").mkdir()
        for script in ("plan.sh", "apply.sh"):
            shutil.copy(EXAMPLES / "scripts" / script, work / "ci" / script)
        shutil.copytree(EXAMPLES / "github" / ".github", work / ".github")
        (work / ".gitignore").write_text("mlform-out/\n.mlform/\n")
        (work / "main.mlf.hcl").write_text(self.config(objects))
        self.git(work, "add", "-A")
        self.git(work, "commit", "-q", "-m", "the configuration")
        self.git(self.root, "clone", "-q", "--bare", str(work), str(self.origin))

    def checkout(self, name: str) -> Path:
        self.n += 1
        d = self.root / f"{self.n:02d}-{name}"
        self.git(self.root, "clone", "-q", str(self.origin), str(d))
        return d

    def pull_request(self, number: int, objects: dict[str, str]) -> str:
        """A branch changing the configuration, pushed to origin."""
        d = self.checkout(f"pr{number}-branch")
        branch = f"pr-{number}"
        self.git(d, "checkout", "-q", "-b", branch)
        (d / "main.mlf.hcl").write_text(self.config(objects))
        self.git(d, "commit", "-q", "-am", f"change {number}")
        self.git(d, "push", "-q", "origin", branch)
        self.forge.comments.setdefault((REPO, str(number)), [])
        return branch

    def merge_ref(self, branch: str, name: str) -> Path:
        """What GitHub checks out for a pull request: the branch merged into main."""
        d = self.checkout(name)
        self.git(d, "merge", "-q", "--no-ff", "-m", f"Merge {branch}", f"origin/{branch}")
        return d

    def merge(self, branch: str) -> None:
        d = self.merge_ref(branch, f"merge-{branch}")
        self.git(d, "push", "-q", "origin", "HEAD:main")

    def run_step(
        self, cwd: Path, job: str, step_id: str, number: int, **extra: str
    ) -> subprocess.CompletedProcess[str]:
        """Run a workflow step's `run` with its env, as GitHub's runner does (bash -eo pipefail)."""
        wf = workflow()
        s = step(job, step_id)
        event = cwd.parent / f"event-{number}.json"
        event.write_text(json.dumps({"pull_request": {"number": number}}))
        values = {
            "secrets.GITHUB_TOKEN": TOKEN,
            "github.token": TOKEN,
            "steps.find.outputs.pr": str(number),
        }
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("MLFORM_", "TF_", "GITHUB_", "GITLAB_", "CI_", "RUNNER_"))
        }
        env.update({k: resolve(str(v), values) for k, v in wf.get("env", {}).items()})
        env.update(
            {
                "CI": "true",
                "GITHUB_ACTIONS": "true",
                "GITHUB_REPOSITORY": REPO,
                "GITHUB_API_URL": self.forge.url,
                "GITHUB_SERVER_URL": "https://github.example",
                "GITHUB_RUN_ID": str(100 + self.n),
                "GITHUB_ACTOR": "octo",
                "GITHUB_SHA": self.git(cwd, "rev-parse", "HEAD").strip(),
                "GITHUB_REF": f"refs/pull/{number}/merge" if job == "plan" else "refs/heads/main",
                "GITHUB_EVENT_PATH": str(event) if job == "plan" else "",
                "NO_COLOR": "1",
                "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
            }
        )
        env.update({k: resolve(str(v), values) for k, v in s.get("env", {}).items()})
        env.update(extra)
        return subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", resolve(s["run"], values)],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )

    def plan(self, branch: str, number: int) -> Path:
        """The plan job: checkout of the merge ref, the plan step; returns the artifact folder."""
        d = self.merge_ref(branch, f"plan-pr{number}")
        res = self.run_step(d, "plan", "plan", number)
        assert res.returncode == 0, res.stdout + res.stderr
        assert TOKEN not in res.stdout + res.stderr
        return d / "mlform-out"

    def apply(self, artifact: Path, number: int, **extra: str) -> subprocess.CompletedProcess[str]:
        """The apply job: a fresh checkout of main, the artifact downloaded, the apply step."""
        d = self.checkout(f"apply-pr{number}")
        shutil.copytree(artifact, d / "mlform-out")
        return self.run_step(d, "apply", "apply", number, **extra)

    def objects(self) -> dict[str, Any]:
        from mlform.testing.provider import load_objects

        return load_objects(self.shared / "objects.json")

    def state(self) -> dict[str, Any]:
        return json.loads((self.shared / "mlform.state.json").read_text())


@pytest.fixture
def repo(tmp_path):
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    with serve(Forge(page_size=2)) as forge:
        yield Repo(tmp_path, forge)


def values_of(objects: dict[str, Any]) -> list[Any]:
    return sorted(o.get("args", o).get("value") for o in objects.values())


def test_plan_comment_and_apply_on_merge(repo, golden):
    repo.create({})
    # The first pull request creates what the configuration declares.
    b1 = repo.pull_request(1, {"model": "v1"})
    repo.merge(b1)
    first = repo.plan(b1, 1)
    res = repo.apply(first, 1)
    assert res.returncode == 0, res.stdout + res.stderr
    assert repo.state()["serial"] == 1

    # The second changes one object and adds another: its plan is drawn and posted.
    repo.forge.add(REPO, 2, "LGTM once the plan is green")
    b2 = repo.pull_request(2, {"model": "v2", "endpoint": "e1"})
    out = repo.plan(b2, 2)
    page = (out / "plan.md").read_text()
    assert (out / "tfplan").is_file() and (out / "plan-full.md").read_text() == page
    ids = golden.id_names(repo.state())
    golden.check(GOLDEN / "output.md", golden.normalize(page, ids))
    assert repo.forge.bodies(REPO, 2) == ["LGTM once the plan is green", page]
    posts = [r for r in repo.forge.requests if r.method == "POST"]
    assert posts[-1].path == f"/repos/{REPO}/issues/2/comments"
    assert posts[-1].headers["authorization"] == f"Bearer {TOKEN}"

    # A new push to the pull request updates the same comment.
    again = repo.plan(b2, 2)
    assert repo.forge.bodies(REPO, 2)[1] == (again / "plan.md").read_text()
    assert len(repo.forge.bodies(REPO, 2)) == 2
    assert [r.method for r in repo.forge.requests][-1] == "PATCH"

    # Merged, the saved plan is applied exactly; the history names the run and the PR.
    repo.merge(b2)
    res = repo.apply(again, 2, MLFORM_LINEAGE_ADDR="test_object.model")
    assert res.returncode == 0, res.stdout + res.stderr
    assert "Apply complete! Resources: 1 added, 1 changed, 0 destroyed." in res.stdout
    assert values_of(repo.objects()) == ["e1", "v2"]
    assert repo.state()["serial"] == 2
    apply_out = repo.root / f"{repo.n:02d}-apply-pr2" / "mlform-out"
    history = (apply_out / "history.txt").read_text()
    assert "PR #2" in history.splitlines()[-1] and "github-actions acme/models run" in history
    page = (apply_out / "lineage-test_object.model.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "test_object.model" in page


def test_a_plan_made_stale_by_another_merge_is_refused(repo):
    repo.create({})
    b1 = repo.pull_request(1, {"model": "v1"})
    repo.merge(b1)
    assert repo.apply(repo.plan(b1, 1), 1).returncode == 0
    # Two pull requests planned against the same state and main.
    b3 = repo.pull_request(3, {"model": "v3"})
    b4 = repo.pull_request(4, {"model": "v1", "extra": "x"})
    plan3, plan4 = repo.plan(b3, 3), repo.plan(b4, 4)
    repo.merge(b3)
    assert repo.apply(plan3, 3).returncode == 0
    before = (repo.objects(), repo.state()["serial"])
    repo.merge(b4)
    res = repo.apply(plan4, 4)
    assert res.returncode == 1, res.stdout + res.stderr
    assert "Saved plan is stale" in res.stderr
    assert "the state changed since the plan was made (serial 1 then, serial 2 now)" in res.stderr
    assert "make a new plan from the current branch" in res.stderr
    assert (repo.objects(), repo.state()["serial"]) == before  # nothing applied


def test_apply_without_a_plan_is_refused(repo):
    repo.create({})
    d = repo.checkout("apply-without-plan")
    res = repo.run_step(d, "apply", "apply", 9)
    assert res.returncode == 1 and "No saved plan at" in res.stderr
    assert not (repo.shared / "objects.json").exists()
