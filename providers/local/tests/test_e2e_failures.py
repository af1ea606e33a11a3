"""Failures through the real `mlform` command line, each on top of an applied tiny project: a job
whose command fails, a job that times out, an environment with a package that does not exist, a
GPU the host does not have. Each must be a clear error (exit 1, the message names the problem, no
traceback), leave what was already recorded in the state, and the next apply after the fix must
recover."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from e2e_cli import Project, http, project

BASE = {"cluster.box", "dataset.points", "deployment.api", "environment.py", "training_job.fit"}

JOB = """
resource "training_job" "{name}" {{
  cluster     = cluster.box.id
  environment = environment.py.id
  code        = "./extra"
  command     = "{command}"
  {extra}
}}
"""


def _applied(p: Project) -> None:
    p.ok("apply", "-auto-approve")
    assert set(p.state_list()) == BASE


def test_a_failing_job_is_tainted_with_its_last_log_lines(tmp_path: Path) -> None:
    with project("tiny", tmp_path) as p:
        _applied(p)
        p.write(
            "extra/fail.py",
            "import sys\n"
            "for i in range(40):\n"
            "    print('step', i, flush=True)\n"
            "print('ValueError: the labels column is missing', file=sys.stderr)\n"
            "sys.exit(3)\n",
        )
        p.write("extra.mlf.hcl", JOB.format(name="bad", command="python fail.py", extra=""))
        r = p.fails("apply", "-auto-approve")
        assert "training_job.bad: training job failed: exit status 3" in r.err
        # The last lines of its output, not the first ones.
        assert "ValueError: the labels column is missing" in r.err
        assert "step 39" in r.err and "step 0\n" not in r.err
        assert "training_job.bad is recorded as tainted" in r.err

        assert set(p.state_list()) == BASE | {"training_job.bad"}
        show = p.ok("state", "show", "training_job.bad")
        assert re.search(r"^# status: +tainted$", show.out, re.M), show.out
        # The log of the failed run is kept where the error says, and `mlform logs` shows it.
        (log,) = re.findall(r"full log: (\S+)", r.err)
        assert "step 39" in Path(log).read_text()
        logs = p.ok("logs", "training_job.bad").out
        assert "step 0\n" in logs and "the labels column is missing" in logs

        plan, _ = p.plan()
        assert plan.actions() == {"training_job.bad": "create"} or plan.actions() == {
            "training_job.bad": "replace"
        }, plan.changes

        p.write("extra/fail.py", "print('fixed', flush=True)\n")
        r = p.ok("apply", "-auto-approve")
        assert "training_job.bad: fixed" in r.out
        assert re.search(r"^# status: +ready$", p.ok("state", "show", "training_job.bad").out, re.M)
        assert p.resource("training_job.bad")["status"] == "succeeded"
        plan, r = p.plan()
        assert r.code == 0, r.explain()


def test_a_job_that_times_out_is_stopped(tmp_path: Path) -> None:
    with project("tiny", tmp_path) as p:
        _applied(p)
        p.write(
            "extra/sleep.py",
            "import time\nprint('sleeping', flush=True)\ntime.sleep(120)\n",
        )
        p.write(
            "extra.mlf.hcl",
            JOB.format(name="slow", command="python sleep.py", extra='timeout = "2s"'),
        )
        r = p.fails("apply", "-auto-approve", timeout=60)
        assert 'timed out after 2s (timeout = "2s")' in r.err
        assert "sleeping" in r.err
        # The sleeping script itself was stopped: nothing of the job runs any more.
        assert not [c for _pid, c in p.processes() if "sleep.py" in c]
        assert set(p.state_list()) == BASE | {"training_job.slow"}
        show = p.ok("state", "show", "training_job.slow")
        assert re.search(r"^# status: +tainted$", show.out, re.M), show.out
        assert "sleeping" in p.ok("logs", "training_job.slow").out

        p.write("extra/sleep.py", "print('quick', flush=True)\n")
        r = p.ok("apply", "-auto-approve")
        assert "training_job.slow: quick" in r.out
        assert p.resource("training_job.slow")["status"] == "succeeded"


@pytest.mark.slow
def test_a_package_that_does_not_exist(tmp_path: Path) -> None:
    with project("tiny", tmp_path) as p:
        _applied(p)
        envs = p.root / ".mlform" / "envs"
        before = {e.name for e in envs.iterdir() if e.is_dir()}
        p.write(
            "extra.mlf.hcl",
            'resource "environment" "extra" {\n'
            '  python   = "3.11"\n'
            '  packages = ["mlform-surely-not-a-package-e2e==0.0.1"]\n'
            "}\n",
        )
        r = p.fails("apply", "-auto-approve")
        assert 'package "mlform-surely-not-a-package-e2e" was not found' in r.err
        # The error points at the argument that names it, and quotes no removed build folder.
        assert "on extra.mlf.hcl line 3, column 14:" in r.err
        assert ".tmp-" not in r.err
        # Nothing half-built: the environments folder holds only complete environments.
        after = {e.name for e in envs.iterdir() if e.is_dir()}
        assert after == before
        assert all((envs / e / "mlform-env.json").is_file() for e in after)
        assert set(p.state_list()) >= BASE

        p.write(
            "extra.mlf.hcl",
            'resource "environment" "extra" {\n'
            '  python   = "3.11"\n'
            '  packages = ["six==1.16.0"]\n'
            "}\n",
        )
        p.ok("apply", "-auto-approve")
        lock = p.resource("environment.extra")["lock"]
        assert lock["six"] == "1.16.0", lock
        assert set(p.state_list()) == BASE | {"environment.extra"}


def test_a_gpu_that_is_not_there(tmp_path: Path) -> None:
    with project("tiny", tmp_path) as p:
        _applied(p)
        serial = p.state()["serial"] if "serial" in p.state() else None
        p.write("extra.mlf.hcl", 'resource "cluster" "big" {\n  gpu = "A100:8"\n}\n')
        r = p.fails("plan")
        assert 'cannot provide gpu = "A100:8"' in r.err
        assert "Found:" in r.err and "CPUs" in r.err  # what the host has
        assert "extra.mlf.hcl line 2" in r.err
        r = p.fails("apply", "-auto-approve")
        assert 'cannot provide gpu = "A100:8"' in r.err
        assert set(p.state_list()) == BASE
        if serial is not None:
            assert p.state()["serial"] == serial

        p.write("extra.mlf.hcl", 'resource "cluster" "big" {\n  gpu = "none"\n}\n')
        r = p.ok("apply", "-auto-approve")
        assert "Resources: 1 added, 0 changed, 0 destroyed." in r.out
        assert p.resource("cluster.big")["gpu_count"] == 0


def test_a_new_revision_that_never_gets_healthy_leaves_the_old_one_serving(
    tmp_path: Path,
) -> None:
    with project("tiny", tmp_path) as p:
        _applied(p)
        endpoint = p.output("endpoint")
        serve = p.root / "src/serve.py"
        good = serve.read_text()
        serve.write_text(
            "import sys\nprint('cannot load the model: broken', file=sys.stderr)\nsys.exit(2)\n"
        )
        r = p.fails("apply", "-auto-approve")
        assert "deployment.api: the server exited before its health check passed" in r.err
        assert "cannot load the model: broken" in r.err
        # The old revision still answers behind the same endpoint, and the state says so.
        assert http(endpoint + "/predict", {"x": [1]})["y"] == [2.0]
        assert set(p.state_list()) == BASE
        dep = p.resource("deployment.api")
        assert dep["revision"] == 1 and dep["status"] == "healthy"

        serve.write_text(good)
        p.ok("apply", "-auto-approve")
        assert p.output("endpoint") == endpoint
        assert http(endpoint + "/predict", {"x": [2]})["y"] == [4.0]
        plan, r = p.plan()
        assert r.code == 0, r.explain()


def test_retries_run_a_failed_job_again(tmp_path: Path) -> None:
    with project("tiny", tmp_path) as p:
        _applied(p)
        p.write(
            "extra/flaky.py",
            "import json, os, pathlib, sys\n"
            "marker = pathlib.Path(json.loads(os.environ['MLFORM_PARAMS'])['marker'])\n"
            "if not marker.exists():\n"
            "    marker.write_text('1')\n"
            "    print('first attempt fails', flush=True)\n"
            "    sys.exit(1)\n"
            "print('second attempt works', flush=True)\n",
        )
        extra = 'params = { marker = "${abspath(path.root)}/marker" }\n  retries = 1'
        p.write("extra.mlf.hcl", JOB.format(name="flaky", command="python flaky.py", extra=extra))
        r = p.ok("apply", "-auto-approve")
        assert "training_job.flaky: first attempt fails" in r.out
        assert "training_job.flaky: retrying: attempt 2 of 2" in r.out
        assert "training_job.flaky: second attempt works" in r.out
        assert p.resource("training_job.flaky")["status"] == "succeeded"
        logs = p.ok("logs", "training_job.flaky").out
        assert logs.index("first attempt fails") < logs.index("second attempt works")


def test_a_saved_plan_is_refused_when_its_data_or_code_changed_since(tmp_path: Path) -> None:
    with project("tiny", tmp_path) as p:
        _applied(p)
        data = p.root / "data/points.csv"
        with data.open("a") as f:
            f.write("4,8\n")
        p.ok("plan", "-out", "edit.plan")
        with data.open("a") as f:
            f.write("5,10\n")
        r = p.fails("apply", "edit.plan")
        assert "dataset.points: dataset source ./data changed since the plan" in r.err
        assert "fitted w=" not in r.out  # nothing trained on data the plan did not show
        assert set(p.state_list()) == BASE

        p.ok("plan", "-out", "code.plan")
        train = p.root / "src/train.py"
        train.write_text(train.read_text() + "print('not in the plan', flush=True)\n")
        r = p.fails("apply", "code.plan")
        assert "the job's code changed since plan" in r.err
        assert "not in the plan" not in r.out

        r = p.ok("apply", "-auto-approve")
        assert "training_job.fit: fitted w=2.0000 on 5 rows" in r.out
        assert "training_job.fit: not in the plan" in r.out
        plan, r = p.plan()
        assert r.code == 0, r.explain()
