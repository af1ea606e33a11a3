"""Training jobs that outlive the CLI, and the run cache, through the real `mlform` command line
on the tiny project: `apply --detach` returns while the job runs and `plan` shows it running; the
next `apply` waits for it and collects it (and the deployment of its model waits for it) without
starting it again; an apply killed with SIGKILL mid-training leaves the job to be collected exactly
once; `mlform cancel` stops it; a reverted parameter and a new workspace are restored from the run
cache without training. Runs are counted in a file the job itself appends to."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from e2e_cli import Project, http, parse_plan, project

pytestmark = pytest.mark.slow

# Appends a line per run to $MLFORM_PARAM_RUNS, prints a step every 0.2s for `wait` seconds, then
# fits the model as src/train.py does.
SLOW_FIT = """\
import os, runpy, time
with open(os.environ["MLFORM_PARAM_RUNS"], "a") as f:
    f.write("run\\n")
end = time.monotonic() + float(os.environ["MLFORM_PARAM_WAIT"])
step = 0
while time.monotonic() < end:
    print("step", step, flush=True)
    step += 1
    time.sleep(0.2)
runpy.run_path("train.py")
"""


def _slow(p: Project, wait: float, extra: str = "") -> Path:
    """Make training_job.fit run for `wait` seconds (a new fingerprint for each `wait`)."""
    runs = p.root / "runs.txt"
    p.write("src/slow_fit.py", SLOW_FIT)
    main = (p.root / "main.mlf.hcl").read_text()
    start = main.index('resource "training_job" "fit"')
    end = main.index("\n}", start) + 2
    block = (
        'resource "training_job" "fit" {\n'
        "  cluster     = cluster.box.id\n"
        "  environment = environment.py.id\n"
        '  code        = "./src"\n'
        '  command     = "python slow_fit.py"\n'
        "  datasets    = { points = dataset.points.id }\n"
        "  seed        = 1\n"
        f'  params      = {{ runs = "{runs}", wait = {wait}{extra} }}\n'
        "}"
    )
    p.write("main.mlf.hcl", main[:start] + block + main[end:])
    return runs


def _runs(path: Path) -> int:
    return len(path.read_text().splitlines()) if path.exists() else 0


def _job_processes(p: Project) -> list[str]:
    """The training job's processes (the deployment's `mlform_runtime serve` keeps serving)."""
    return [c for _pid, c in p.processes() if "slow_fit.py" in c or "mlform_runtime run" in c]


def _wait_for(cond, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.1)


def test_detach_plan_and_collect_once_with_the_deployment_waiting(tmp_path: Path) -> None:
    with project("tiny", tmp_path) as p:
        runs = _slow(p, 0)
        p.ok("apply", "-auto-approve")
        assert _runs(runs) == 1
        endpoint = p.output("endpoint")

        runs = _slow(p, 8)
        t0 = time.monotonic()
        r = p.ok("apply", "-auto-approve", "--detach")
        took = time.monotonic() - t0
        assert took < 2.0, f"apply --detach took {took:.1f}s\n{r.explain()}"
        assert "training_job.fit is running" in r.out, r.explain()
        _wait_for(lambda: _runs(runs) == 2)

        # plan: still running, and the deployment of its model waits for it.
        plan, r = p.plan()
        assert "training_job.fit is still running" in r.out, r.explain()
        assert "training_job.fit" not in plan.actions(), plan.changes
        assert http(endpoint + "/health")["status"] == "ok"  # the old model still serves

        # apply waits for the job, collects it, then updates the deployment: trained once.
        r = p.ok("apply", "-auto-approve")
        assert _runs(runs) == 2, r.explain()
        assert p.resource("training_job.fit")["status"] == "succeeded"
        assert "step 30" in p.ok("logs", "training_job.fit").out
        plan, r = p.plan()
        assert r.code == 0, r.explain()
        assert not _job_processes(p)


def test_an_apply_killed_mid_training_leaves_the_job_to_be_collected_once(tmp_path: Path) -> None:
    with project("tiny", tmp_path) as p:
        runs = _slow(p, 6)
        env = {**os.environ, "MLFORM_IN_AUTOMATION": "1", "NO_COLOR": "1"}
        proc = subprocess.Popen(
            [sys.executable, "-m", "mlform.cli.main", "apply", "-auto-approve"],
            cwd=p.root,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            _wait_for(lambda: _runs(runs) == 1, timeout=60)
            time.sleep(0.5)
        finally:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        assert [c for c in _job_processes(p) if "slow_fit.py" in c], "the job died with apply"

        r = p.ok("apply", "-auto-approve")
        assert _runs(runs) == 1, r.explain()
        assert p.resource("training_job.fit")["status"] == "succeeded"
        assert http(p.output("endpoint") + "/predict", {"x": [1]})["y"] == [2.0]
        plan, r = p.plan()
        assert r.code == 0, r.explain()
        assert _runs(runs) == 1


def test_cancel_stops_a_running_job(tmp_path: Path) -> None:
    with project("tiny", tmp_path) as p:
        runs = _slow(p, 120)
        p.ok("apply", "-auto-approve", "--detach")
        _wait_for(lambda: _runs(runs) == 1)
        r = p.ok("cancel", "training_job.fit")
        _wait_for(lambda: not [c for c in _job_processes(p) if "slow_fit.py" in c], timeout=20)
        assert "tainted" in p.ok("state", "show", "training_job.fit").out, r.explain()
        plan, _ = p.plan()
        assert plan.actions().get("training_job.fit") in ("replace", "create"), plan.changes


def test_a_reverted_parameter_and_a_new_workspace_are_restored_without_training(
    tmp_path: Path,
) -> None:
    with project("tiny", tmp_path) as p:
        runs = _slow(p, 0, ", alpha = 1")
        p.ok("apply", "-auto-approve")
        first = p.resource("training_job.fit")
        runs = _slow(p, 0, ", alpha = 2")
        p.ok("apply", "-auto-approve")
        assert _runs(runs) == 2

        runs = _slow(p, 0, ", alpha = 1")
        r = p.mlform("plan", "-detailed-exitcode")
        assert r.code == 2, r.explain()
        assert "# training_job.fit will be restored from the run of " in r.out, r.explain()
        assert "no training" in r.out
        assert parse_plan(r.out).actions()["training_job.fit"] == "update"
        p.ok("apply", "-auto-approve")
        assert _runs(runs) == 2  # restored, not trained
        now = p.resource("training_job.fit")
        assert (now["run_id"], now["model_digest"]) == (first["run_id"], first["model_digest"])
        plan, r = p.plan()
        assert r.code == 0, r.explain()

        # A new workspace with the same configuration trains nothing.
        p.ok("workspace", "new", "other")
        try:
            r = p.mlform("plan", "-detailed-exitcode")
            assert "# training_job.fit will be restored from the run of " in r.out, r.explain()
            p.ok("apply", "-auto-approve")
            assert _runs(runs) == 2
            assert p.resource("training_job.fit")["model_digest"] == first["model_digest"]
        finally:
            p.mlform("destroy", "-auto-approve")
            p.ok("workspace", "select", "default")
