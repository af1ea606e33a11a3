"""Lineage end to end through the real `mlform` command: history summaries, `lineage` (upstream
per serial, downstream across serials, every format, the HTML page in a headless browser),
`diff`, `reproduce` and `gc`, on the quickstart applied three times and on a tiny configuration
(an environment with no packages and a few-line job) for the faster checks.

The state files on disk are read directly as an independent witness of what was recorded.
Every deployment a test starts is destroyed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
QUICKSTART = REPO / "examples" / "quickstart"

_CI_PREFIXES = ("MLFORM_", "TF_", "GITHUB_", "GITLAB_", "CI_", "BUILDKITE", "CIRCLE", "JENKINS")


# -- running mlform ------------------------------------------------------------------------------


@dataclass
class Run:
    code: int
    out: str
    err: str

    def __str__(self) -> str:
        return f"exit {self.code}\n--stdout--\n{self.out}\n--stderr--\n{self.err}"


def mlform(cwd: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 600) -> Run:
    """Run the CLI as a user in automation would, with no CI variables unless `env` sets them."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(_CI_PREFIXES) and k != "CI"}
    base.update({"MLFORM_IN_AUTOMATION": "1", "NO_COLOR": "1", "COLUMNS": "200"})
    base.update(env or {})
    proc = subprocess.run(
        [sys.executable, "-m", "mlform.cli.main", *args],
        cwd=cwd,
        env=base,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    return Run(proc.returncode, proc.stdout, proc.stderr)


def ok(cwd: Path, *args: str, **kw: Any) -> Run:
    r = mlform(cwd, *args, **kw)
    assert r.code == 0, str(r)
    return r


def state_file(cwd: Path, serial: int | None = None) -> dict[str, Any]:
    if serial is None:
        return json.loads((cwd / "mlform.state.json").read_text())
    return json.loads((cwd / "mlform.state.json.history" / f"{serial:08d}.json").read_text())


def instance(state: dict[str, Any], rtype: str, name: str) -> dict[str, Any]:
    for r in state["resources"]:
        if r["type"] == rtype and r["name"] == name:
            return r["instances"][0]
    raise AssertionError(f"{rtype}.{name} not in serial {state['serial']}")


def nodes_by_kind(graph: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [n for n in graph["nodes"] if n["kind"] == kind]


# -- the quickstart, applied three times ---------------------------------------------------------


@dataclass
class Loop:
    dir: Path
    states: dict[int, dict[str, Any]]

    def digest(self, serial: int) -> str:
        return instance(self.states[serial], "dataset", "digits")["attributes"]["digest"]

    def job(self, serial: int) -> dict[str, Any]:
        return instance(self.states[serial], "training_job", "digits")


@pytest.fixture(scope="module")
def loop(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Loop]:
    if shutil.which("uv") is None and not (Path(sys.executable).parent / "uv").exists():
        pytest.skip("the quickstart's environment is built with uv, which is not installed")
    d = tmp_path_factory.mktemp("lineage") / "quickstart"
    shutil.copytree(QUICKSTART, d, ignore=shutil.ignore_patterns(".mlform", "mlform.state*"))
    csv = d / "data" / "digits" / "digits.csv"
    rows = csv.read_text().splitlines(keepends=True)
    ok(d, "init")
    try:
        ok(d, "apply", "-auto-approve")
        csv.write_text("".join(rows[:1500]))
        ok(d, "apply", "-auto-approve", "-var", "c=0.5")
        csv.write_text("".join(rows[:1200]))
        ok(d, "apply", "-auto-approve", "-var", "c=0.1")
        states = {s: state_file(d, s) for s in (1, 2, 3)}
        yield Loop(d, states)
    finally:
        mlform(d, "destroy", "-auto-approve", "-var", "c=0.1")


@pytest.mark.slow
def test_history_names_what_each_apply_retrained(loop: Loop) -> None:
    out = ok(loop.dir, "history").out
    lines = [ln for ln in out.splitlines() if re.match(r"^\d+\s", ln)]
    assert [ln.split()[0] for ln in lines] == ["1", "2", "3"]
    assert "trained training_job.digits" in lines[0]
    for ln in lines[1:]:
        assert "retrained training_job.digits" in ln
        assert "redeployed deployment.api" in ln


@pytest.mark.slow
def test_diff_first_and_third_names_data_param_and_metric_deltas(loop: Loop) -> None:
    text = ok(loop.dir, "diff", "1", "3").out
    assert f"datasets.digits: {loop.digest(1)} → {loop.digest(3)}" in text
    assert "params.c: 1 → 0.1" in text
    acc1 = loop.job(1)["attributes"]["metrics"]["accuracy"]
    acc3 = loop.job(3)["attributes"]["metrics"]["accuracy"]
    assert f"metrics.accuracy: {acc1} → {acc3}" in text

    data = json.loads(ok(loop.dir, "diff", "1", "3", "training_job.digits", "--json").out)
    (job,) = data["instances"]
    assert job["status"] == "changed"
    changes = {c["path"]: c for c in job["inputs"] + job["outputs"]}
    assert changes["datasets.digits"]["before"] == loop.digest(1)
    assert changes["datasets.digits"]["after"] == loop.digest(3)
    assert changes["params.c"]["after"] == pytest.approx(0.1)
    assert changes["metrics.accuracy"]["delta"] == pytest.approx(acc3 - acc1)
    assert changes["model_digest"]["before"] == loop.job(1)["attributes"]["model_digest"]
    assert "seed" not in changes  # unchanged inputs are not listed
    assert job["packages"] == {}  # same lock


@pytest.mark.slow
def test_lineage_of_the_deployment_shows_each_serials_dataset(loop: Loop) -> None:
    digests = {s: loop.digest(s) for s in (1, 2, 3)}
    assert len(set(digests.values())) == 3
    for s, digest in digests.items():
        g = json.loads(
            ok(loop.dir, "lineage", "deployment.api", "--serial", str(s), "--format", "json").out
        )
        assert g["serial"] == s
        (ds,) = nodes_by_kind(g, "dataset")
        assert ds["details"]["digest"] == digest
        (job,) = nodes_by_kind(g, "training_job")
        assert job["details"]["model_digest"] == loop.job(s)["attributes"]["model_digest"]
        assert job["details"]["datasets"] == {"digits": digest}
        (env,) = nodes_by_kind(g, "environment")
        assert env["details"]["packages"]["scikit-learn"] == "1.5.2"
        assert nodes_by_kind(g, "code")[0]["details"]["digest"].startswith("sha256:")
        text = ok(loop.dir, "lineage", "deployment.api", "--serial", str(s)).out
        assert digest in text
        assert all(d not in text for d in digests.values() if d != digest)


@pytest.mark.slow
def test_downstream_from_the_dataset_reaches_the_deployment(loop: Loop) -> None:
    g = json.loads(
        ok(loop.dir, "lineage", "dataset.digits", "--downstream", "--format", "json").out
    )
    nodes = {n["key"]: n for n in g["nodes"]}
    consumers: dict[str, list[str]] = {}
    for e in g["edges"]:
        consumers.setdefault(e["to"], []).append(e["from"])

    def reach(key: str) -> set[str]:
        seen, todo = set(), [key]
        while todo:
            k = todo.pop()
            for c in consumers.get(k, []):
                if c not in seen:
                    seen.add(c)
                    todo.append(c)
        return seen

    for s in (1, 2, 3):
        (version,) = [
            k for k, n in nodes.items() if n["kind"] == "dataset" and n["id"] == loop.digest(s)
        ]
        reached = {nodes[k]["address"] for k in reach(version)}
        assert {"training_job.digits", "deployment.api"} <= reached
    serving = [
        n for n in nodes.values() if n["kind"] == "deployment" and n["details"]["in_latest_serial"]
    ]
    assert [n["details"]["model_digest"] for n in serving] == [
        loop.job(3)["attributes"]["model_digest"]
    ]
    text = ok(loop.dir, "lineage", "dataset.digits", "--downstream").out
    assert text.count("deployment.api") == 3


@pytest.mark.slow
def test_dot_and_mermaid_name_every_node(loop: Loop) -> None:
    g = json.loads(ok(loop.dir, "lineage", "deployment.api", "--format", "json").out)
    dot = ok(loop.dir, "lineage", "deployment.api", "--format", "dot").out
    mer = ok(loop.dir, "lineage", "deployment.api", "--format", "mermaid").out
    assert dot.startswith("digraph lineage {") and dot.rstrip().endswith("}")
    assert mer.startswith("flowchart LR")
    for n in g["nodes"]:
        assert n["address"] in dot and n["address"] in mer
    assert dot.count("->") == len(g["edges"]) == mer.count("-->")


@pytest.mark.slow
def test_html_page_is_self_contained_and_draws_every_node(loop: Loop, tmp_path: Path) -> None:
    g = json.loads(ok(loop.dir, "lineage", "deployment.api", "--format", "json").out)
    page = ok(loop.dir, "lineage", "deployment.api", "--format", "html").out
    assert page.startswith("<!DOCTYPE html>")
    # Nothing is loaded from elsewhere: no scripts, style sheets, images or remote references.
    for needle in ("<script", "<link", "<img", "src=", "@import", 'href="http', "url(http"):
        assert needle not in page
    svg = page[page.index("<svg") : page.index("</svg>")]
    drawn = re.findall(r'data-address="([^"]+)"', svg)
    assert sorted(drawn) == sorted(n["address"] for n in g["nodes"])
    assert svg.count('class="edge"') == len(g["edges"])
    for n in g["nodes"]:  # each node's details beside the graph
        assert f"<h2>{n['address']}" in page
    assert loop.digest(3) in page

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium is not installed: the page was checked as text only")
    f = tmp_path / "lineage.html"
    f.write_text(page)
    dom = subprocess.run(
        [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", f.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    ).stdout
    rendered = re.findall(r'<g class="node"[^>]*data-address="([^"]+)"', dom)
    assert sorted(rendered) == sorted(n["address"] for n in g["nodes"])


@pytest.mark.slow
def test_reproduce_first_serial_rebuilds_the_first_model(loop: Loop) -> None:
    before = (loop.dir / "mlform.state.json").read_bytes()
    r = ok(loop.dir, "reproduce", "training_job.digits", "--serial", "1", "--json")
    out = json.loads(r.out)
    recorded = loop.job(1)["attributes"]
    assert out["match"] is True
    assert out["model_digest"] == recorded["model_digest"]
    assert out["metrics"] == recorded["metrics"]
    assert out["lock_differences"] == []
    assert out["scratch"] is None
    # The current state and the working directory's store are untouched.
    assert (loop.dir / "mlform.state.json").read_bytes() == before
    assert not list((loop.dir / ".mlform" / "reproduce").iterdir())
    # A deployment is followed to the job behind it.
    text = ok(loop.dir, "reproduce", "deployment.api", "--serial", "2").out
    assert "Match: training_job.digits from serial 2 was reproduced." in text
    assert loop.job(2)["attributes"]["model_digest"] in text


# -- a tiny configuration: fast checks ------------------------------------------------------------

TINY_CONFIG = """
variable "scale" {
  type    = number
  default = 1
}

resource "dataset" "rows" {
  source = "./data"
}

resource "environment" "bare" {
  packages = []
}

resource "cluster" "here" {}

resource "training_job" "tiny" {
  cluster     = cluster.here.id
  environment = environment.bare.id
  code        = "./src"
  command     = "python train.py"
  datasets    = { rows = dataset.rows.id }
  params      = { scale = var.scale }
  seed        = 7
}
"""

TINY_TRAIN = '''
"""The scaled data, shuffled by the seed: deterministic given data, params and seed."""
import json
import os
import random
from pathlib import Path

data = Path(os.environ["MLFORM_DATA_ROWS"])
files = [data] if data.is_file() else sorted(p for p in data.rglob("*") if p.is_file())
numbers = [float(x) for f in files for x in f.read_text().split()]
params = json.loads(os.environ["MLFORM_PARAMS"])
random.Random(int(os.environ["MLFORM_SEED"])).shuffle(numbers)
weights = [round(n * params["scale"], 6) for n in numbers]
Path(os.environ["MLFORM_OUTPUT_DIR"], "model.json").write_text(json.dumps(weights))
Path(os.environ["MLFORM_METRICS_FILE"]).write_text(
    json.dumps({"total": round(sum(weights), 6), "count": len(weights)})
)
'''


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    d = tmp_path / "tiny"
    (d / "src").mkdir(parents=True)
    (d / "data").mkdir()
    (d / "main.mlf.hcl").write_text(TINY_CONFIG)
    (d / "src" / "train.py").write_text(TINY_TRAIN)
    (d / "data" / "rows.txt").write_text("1 2 3\n4 5\n")
    ok(d, "init")
    return d


def test_training_lineage_holds_host_facts_and_gpu_fields(tiny: Path) -> None:
    import platform
    import socket

    ok(tiny, "apply", "-auto-approve")
    lin = instance(state_file(tiny), "training_job", "tiny")["lineage"]
    host = lin["host"]
    assert host["hostname"] == socket.gethostname()
    assert host["python"] == platform.python_version()
    assert host["os"] == platform.platform()
    assert host["cpu_model"]
    assert host["cpu_count"] == os.cpu_count()
    hw = lin["hardware"]
    for k in ("gpu_model", "gpu_count", "driver_version", "cuda_version", "cudnn_version"):
        assert k in hw  # present even when empty
    if shutil.which("nvidia-smi") is None:
        assert hw["gpu_model"] is None and hw["gpu_count"] == 0
        assert hw["driver_version"] is None and hw["cuda_version"] is None
        assert hw["cudnn_version"] is None
    else:
        assert hw["gpu_count"] >= 1 and hw["gpu_model"] and hw["driver_version"]
    assert lin["environment"]["packages"] == {}  # an environment with no packages: empty lock
    assert lin["environment"]["python"]
    assert lin["seed"] == 7 and lin["params"] == {"scale": 1}
    assert lin["code"]["dirty"] is False and "git_branch" in lin["code"]
    assert lin["applied_by"]["user"] and lin["ci"] is None


def test_ci_run_shows_in_lineage_and_history(tiny: Path) -> None:
    ci = {
        "CI": "true",
        "GITHUB_ACTIONS": "true",
        "GITHUB_RUN_ID": "123",
        "GITHUB_REPOSITORY": "acme/models",
        "GITHUB_SHA": "0123abc",
        "GITHUB_ACTOR": "octo",
        "GITHUB_REF": "refs/pull/42/merge",
    }
    ok(tiny, "apply", "-auto-approve", env=ci)
    lin = instance(state_file(tiny), "training_job", "tiny")["lineage"]
    assert lin["ci"]["system"] == "github-actions"
    assert lin["ci"]["run_id"] == "123"
    assert lin["ci"]["repository"] == "acme/models"
    assert lin["ci"]["actor"] == "octo"
    assert lin["ci"]["url"] == "https://github.com/acme/models/actions/runs/123"
    g = json.loads(ok(tiny, "lineage", "training_job.tiny", "--format", "json").out)
    (job,) = nodes_by_kind(g, "training_job")
    assert job["details"]["ci"]["run_id"] == "123"
    page = ok(tiny, "lineage", "training_job.tiny", "--format", "html").out
    assert "<th>run_id</th><td>123</td>" in page
    assert lin["ci"]["pull_request"] == "42" and "<th>pull_request</th><td>42</td>" in page
    # Who applied is the run's actor, beside the run id, in the lineage and in the history.
    assert lin["applied_by"]["user"] == "octo" and lin["applied_by"]["via"] == "github-actions"
    assert "<th>user</th><td>octo</td>" in page
    (row,) = ok(tiny, "history").out.splitlines()[1:]
    assert re.split(r"\s{2,}", row)[2:5] == [
        "octo",
        "apply",
        "github-actions acme/models run 123 PR #42",
    ]
    (entry,) = json.loads(ok(tiny, "history", "--json").out)
    assert entry["who"]["user"] == "octo"
    # The serial's meta and the lineage record say the same, in one shape.
    assert entry["ci"] == lin["ci"]


def _three_versions(d: Path) -> dict[int, str]:
    """Apply with three different data files; return each serial's dataset digest."""
    digests = {}
    for serial, text in ((1, "1 2 3\n"), (2, "4 5 6 7\n"), (3, "8 9\n")):
        (d / "data" / "rows.txt").write_text(text)
        ok(d, "apply", "-auto-approve", "-var", f"scale={serial}")
        digests[serial] = instance(state_file(d), "dataset", "rows")["attributes"]["digest"]
    return digests


def _snapshot_dir(d: Path, digest: str) -> Path:
    return d / ".mlform" / "store" / "snapshots" / digest.split(":", 1)[1]


def test_gc_keeps_what_kept_serials_need_and_reproduce_still_works(tiny: Path) -> None:
    digests = _three_versions(tiny)
    model1 = instance(state_file(tiny, 1), "training_job", "tiny")["attributes"]["model_digest"]

    dry = ok(tiny, "gc", "--keep-serials", "2", "--dry-run").out
    assert f"Would remove snapshot {digests[1]}" in dry
    assert f"Would remove model {model1}" in dry
    assert digests[2] not in dry and digests[3] not in dry
    assert _snapshot_dir(tiny, digests[1]).is_dir()  # a dry run removes nothing

    # Serial 1's run folder is not needed by serials 2 and 3 either.
    run1 = instance(state_file(tiny, 1), "training_job", "tiny")["attributes"]["id"]
    (run1_dir,) = (tiny / ".mlform" / "runs").glob(f"*/{run1}")
    assert f"Would remove run folder {run1}" in dry
    kept_runs = {
        instance(state_file(tiny, s), "training_job", "tiny")["attributes"]["id"] for s in (2, 3)
    }
    assert run1 not in kept_runs

    report = json.loads(ok(tiny, "gc", "--keep-serials", "2", "--json").out)
    removed = {r["name"] for r in report["removals"]}
    # The run-cache record of serial 1's run goes with its model, and its run folder.
    fp1 = instance(state_file(tiny, 1), "training_job", "tiny")["attributes"]["fingerprint"]
    assert removed == {digests[1], model1, fp1, run1}
    assert not (tiny / ".mlform" / "store" / "runs" / f"{fp1.split(':')[1]}.json").exists()
    assert not run1_dir.exists()
    for run in kept_runs:
        assert list((tiny / ".mlform" / "runs").glob(f"*/{run}"))
    assert report["bytes_freed"] > 0
    assert not _snapshot_dir(tiny, digests[1]).exists()
    for s in (2, 3):
        assert _snapshot_dir(tiny, digests[s]).is_dir()
    assert "Nothing to remove." in ok(tiny, "gc", "--keep-serials", "2").out

    # What serial 2 needs is still there: it reproduces.
    r = ok(tiny, "reproduce", "training_job.tiny", "--serial", "2")
    assert "Match: training_job.tiny from serial 2 was reproduced." in r.out
    # Serial 1's data is gone: reproduce names it and runs nothing.
    r = mlform(tiny, "reproduce", "training_job.tiny", "--serial", "1")
    assert r.code == 1, str(r)
    assert "Cannot reproduce training_job.tiny from serial 1: 1 input is no longer available" in (
        r.err + r.out
    )
    assert f'dataset "rows" {digests[1]}' in r.err + r.out
    assert "Nothing was run." in r.err + r.out
    assert not (tiny / ".mlform" / "reproduce").exists() or not list(
        (tiny / ".mlform" / "reproduce").iterdir()
    )


def test_reproduce_reports_a_mismatch_and_keeps_the_run(tiny: Path) -> None:
    # A job whose output depends on something outside its recorded inputs cannot be reproduced.
    (tiny / "src" / "train.py").write_text(
        TINY_TRAIN.replace(
            "weights = [", "import time\nnumbers.append(time.time_ns())\nweights = ["
        )
    )
    ok(tiny, "apply", "-auto-approve")
    r = mlform(tiny, "reproduce", "training_job.tiny", "--json")
    assert r.code == 1, str(r)
    out = json.loads(r.out)
    recorded = instance(state_file(tiny), "training_job", "tiny")["attributes"]
    assert out["match"] is False
    assert out["model_digest"] != recorded["model_digest"]
    assert {c["path"] for c in out["metric_changes"]} == {"total"}
    assert out["scratch"] and Path(out["scratch"]).is_dir()
    text = mlform(tiny, "reproduce", "training_job.tiny").out
    assert "Mismatch: training_job.tiny from serial 1 was not reproduced." in text
    assert f"model digest: recorded {recorded['model_digest']}" in text
    # Scratch runs are removable by gc.
    assert "Removed scratch" in ok(tiny, "gc").out


def test_diff_lists_metric_deltas_and_unchanged_serials(tiny: Path) -> None:
    _three_versions(tiny)
    text = ok(tiny, "diff", "1", "3", "training_job.tiny").out
    assert "params.scale: 1 → 3" in text
    assert "metrics.total: 6.0 → 51.0 (+45)" in text
    assert "No differences." in ok(tiny, "diff", "2", "2").out


def test_mistakes_are_diagnostics(tiny: Path) -> None:
    ok(tiny, "apply", "-auto-approve")
    r = mlform(tiny, "lineage", "training_job.nope")
    assert r.code == 1 and "training_job.nope is not in serial 1" in r.err, str(r)
    assert "Traceback" not in r.err
    r = mlform(tiny, "diff", "1", "9")
    assert r.code == 1 and "Serial 9 is not in the history" in r.err, str(r)
    assert "keeps serials: 1" in r.err
    r = mlform(tiny, "reproduce", "dataset.rows")
    assert r.code == 1 and "not a training job" in r.err, str(r)
    r = mlform(tiny, "lineage", "dataset.rows", "--downstream", "--format", "json")
    g = json.loads(r.out)
    assert {n["address"] for n in g["nodes"]} == {"dataset.rows", "training_job.tiny"}


def test_code_comes_from_its_commit_when_the_snapshot_is_gone(tiny: Path) -> None:
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q", "-b", "main"], cwd=tiny, check=True)
    subprocess.run([*git, "add", "src", "data"], cwd=tiny, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "job"], cwd=tiny, check=True)
    ok(tiny, "apply", "-auto-approve")
    job = instance(state_file(tiny), "training_job", "tiny")
    code = job["lineage"]["code"]
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=tiny, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert code["git_commit"] == head and code["git_branch"] == "main"
    assert code["dirty"] is False and code["git_remote"] is None

    # The code snapshot disappears from the store: the commit still has the code.
    from mlform_local.store import Store

    Store(tiny / ".mlform").remove_snapshot(code["digest"])
    (tiny / "src" / "train.py").write_text("raise SystemExit('the working copy changed')\n")
    r = ok(tiny, "reproduce", "training_job.tiny")
    assert "Match: training_job.tiny from serial 1 was reproduced." in r.out

    # Without the commit either, reproduce names the code and stops.
    shutil.rmtree(tiny / ".git")
    r = mlform(tiny, "reproduce", "training_job.tiny")
    assert r.code == 1, str(r)
    assert f"code {code['digest']}: its snapshot is not in the content store" in r.err
    assert f"commit {head} is not in the repository" in r.err
