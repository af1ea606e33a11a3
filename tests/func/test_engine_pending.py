"""Jobs that outlive the CLI: a long-running kind (the test provider's `test_job`, a detached
process) is submitted, recorded as pending, waited for or left running, collected by the next
run and never run twice: apply --detach, plan of a running job, kill -9 of a waiting apply,
kill -9 between the submit's intent and its answer, mlform cancel, Ctrl-C once and twice,
mlform logs --follow, and a dependent that waits for the job's output."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from mlform.testing.provider import job_runs


def config(duration: float, fail: bool = False, output: str = "model-v1") -> str:
    return f"""
provider "test" {{ store = "objects.json" }}
resource "test_job" "train" {{
  duration_s = {duration}
  fail       = {"true" if fail else "false"}
  output     = "{output}"
}}
resource "test_object" "serve" {{
  value = test_job.train.result
}}
output "model" {{ value = test_job.train.result }}
"""


def runs(workdir: Path) -> list[str]:
    return job_runs(workdir / "objects.json")


def job_pid(workdir: Path) -> int:
    """The pid of the job the state records (the only one there is, before a state exists)."""
    folders = [p for p in (workdir / "jobs").iterdir() if p.is_dir()]
    state = workdir / "mlform.state.json"
    if len(folders) > 1 and state.exists():
        (oid,) = [
            i["id"]
            for r in json.loads(state.read_text())["resources"]
            if r["type"] == "test_job"
            for i in r["instances"]
        ]
        folders = [p for p in folders if p.name == oid]
    (folder,) = folders
    deadline = time.monotonic() + 10
    while not (folder / "pid").exists():
        assert time.monotonic() < deadline, "the job never wrote its pid"
        time.sleep(0.02)
    return int((folder / "pid").read_text())


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_for(pred, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def finish(proc: subprocess.Popen[str], timeout: float = 30) -> tuple[str, str]:
    out, err = proc.communicate(timeout=timeout)
    return out, err


def test_detach_returns_at_once_and_the_next_apply_collects_without_rerunning(
    mlform, write, workdir, insts
) -> None:
    write(config(4))
    started = time.monotonic()
    res = mlform.ok("apply", "--auto-approve", "--detach")
    assert time.monotonic() - started < 2.5, "apply --detach waited for the job"
    assert "test_job.train is running; run mlform apply to collect it." in res.out
    assert "waiting for it: test_object.serve" in res.out
    pid = job_pid(workdir)
    assert alive(pid), "the job did not outlive the CLI"
    st = insts()
    assert st["test_job.train"]["status"] == "pending"
    assert st["test_job.train"]["id"]
    assert "test_object.serve" not in st, "a dependent of a running job was applied"
    assert (workdir / "mlform.state.json.lock.info").exists() is False

    # plan: running, with its last log line; the dependent waits; exit 2 (apply has work).
    plan = mlform("plan", "--detailed-exitcode")
    assert plan.code == 2, str(plan)
    assert "# test_job.train is still running (started" in plan.out
    assert 'last line: "' in plan.out
    assert "waiting for test_job.train, which is still running" in plan.out
    js = json.loads(mlform.ok("plan", "--json").out)
    by_addr = {rc["address"]: rc for rc in js["resource_changes"]}
    assert by_addr["test_job.train"]["mlform_pending"]["status"] == "running"
    assert by_addr["test_job.train"]["change"]["actions"] == ["no-op"]
    assert by_addr["test_object.serve"]["mlform_waiting_for"] == ["test_job.train"]

    # apply waits, streams the log, collects, then creates the dependent with the output.
    res = mlform.ok("apply", "--auto-approve")
    assert "test_job.train: step" in res.out
    assert res.out.index("test_job.train: Collected") < res.out.index("test_object.serve: Creating")
    st = insts()
    assert st["test_job.train"]["status"] == "ready"
    assert st["test_job.train"]["attributes"]["result"] == "model-v1"
    assert st["test_object.serve"]["attributes"]["value"] == "model-v1"
    assert len(runs(workdir)) == 1, "the job ran more than once"
    assert mlform("plan", "--detailed-exitcode").code == 0


def test_a_finished_job_is_collected_by_plan_and_its_dependents_planned_with_its_outputs(
    mlform, write, workdir
) -> None:
    write(config(0.4))
    mlform.ok("apply", "--auto-approve", "--detach")
    wait_for(lambda: any((p / "result.json").exists() for p in (workdir / "jobs").iterdir()))
    plan = mlform("plan", "--detailed-exitcode")
    assert plan.code == 2
    assert "# test_job.train has finished" in plan.out
    assert 'value      = "model-v1"' in plan.out  # the dependent sees the collected output
    mlform.ok("apply", "--auto-approve")
    assert len(runs(workdir)) == 1


def test_kill_9_of_a_waiting_apply_then_apply_collects_exactly_once(
    mlform, write, workdir, insts
) -> None:
    write(config(3))
    proc = mlform.popen("apply", "--auto-approve")
    try:
        wait_for(lambda: len(runs(workdir)) == 1 or proc.poll() is not None)
        assert proc.poll() is None
        time.sleep(0.3)
        proc.send_signal(signal.SIGKILL)
    finally:
        finish(proc)
    pid = job_pid(workdir)
    assert alive(pid), "killing apply killed the job"
    res = mlform.ok("apply", "--auto-approve")
    assert "test_job.train: Collected" in res.out, res.out
    assert insts()["test_job.train"]["attributes"]["result"] == "model-v1"
    assert insts()["test_object.serve"]["attributes"]["value"] == "model-v1"
    assert len(runs(workdir)) == 1


def test_a_submit_whose_answer_was_lost_is_adopted_by_its_token(
    mlform, write, workdir, insts
) -> None:
    write(config(2))
    proc = mlform.popen("apply", "--auto-approve")
    try:
        wait_for(lambda: len(runs(workdir)) == 1 or proc.poll() is not None)
        assert proc.poll() is None
        proc.send_signal(signal.SIGKILL)
    finally:
        finish(proc)
    # The state of a crash after the provider answered but before mlform recorded the answer:
    # the intent (begin_create, with its token) is journaled, the pending object is not.
    journal = workdir / "mlform.state.json.journal"
    lines = journal.read_text().splitlines(keepends=True)
    kept = [ln for ln in lines if json.loads(ln).get("op") != "put"]
    assert len(kept) < len(lines), "the killed apply had not recorded the submitted job"
    assert any(json.loads(ln).get("op") == "begin_create" for ln in kept)
    journal.write_text("".join(kept))

    res = mlform.ok("apply", "--auto-approve")
    assert "found the object created before an interruption" in res.all
    assert insts()["test_job.train"]["attributes"]["result"] == "model-v1"
    assert len(runs(workdir)) == 1, "a job whose submit answer was lost ran again"


def test_cancel_stops_a_running_job_and_records_it_tainted(mlform, write, workdir, insts) -> None:
    write(config(6))
    mlform.ok("apply", "--auto-approve", "--detach")
    pid = job_pid(workdir)
    assert alive(pid)
    res = mlform.ok("cancel", "test_job.train")
    assert "Cancelled test_job.train" in res.out
    wait_for(lambda: not alive(pid), timeout=5)
    st = insts()
    assert st["test_job.train"]["status"] == "tainted"
    assert st["test_job.train"]["id"]
    plan = mlform.ok("plan")
    assert "test_job.train is tainted, so must be replaced" in plan.out
    # Nothing pending is left to cancel.
    again = mlform("cancel", "test_job.train")
    assert again.code == 1 and "is not running" in again.err


def test_cancel_of_an_instance_that_is_not_in_state(mlform, write) -> None:
    write(config(1))
    res = mlform("cancel", "test_job.train")
    assert res.code == 1 and "No such resource instance" in res.err
    assert "Traceback" not in res.all


def test_a_failed_job_is_tainted_and_replaced(mlform, write, workdir, insts) -> None:
    write(config(0.4, fail=True))
    res = mlform("apply", "--auto-approve")
    assert res.code == 1
    assert "the job failed" in res.err
    assert insts()["test_job.train"]["status"] == "tainted"
    assert "test_object.serve" not in insts()
    write(config(0.4))
    plan = mlform.ok("plan")
    assert "test_job.train must be replaced" in plan.out or "is tainted" in plan.out
    mlform.ok("apply", "--auto-approve")
    assert insts()["test_object.serve"]["attributes"]["value"] == "model-v1"


def test_first_ctrl_c_stops_waiting_second_cancels(mlform, write, workdir, insts) -> None:
    write(config(6))
    # Once: apply stops waiting, the job runs on, state records it pending, exit 0.
    proc = mlform.popen("apply", "--auto-approve")
    try:
        wait_for(lambda: len(runs(workdir)) == 1 or proc.poll() is not None)
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        out, err = finish(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out + err
    assert "test_job.train is running; run mlform apply to collect it." in out
    pid = job_pid(workdir)
    assert alive(pid)
    assert insts()["test_job.train"]["status"] == "pending"
    mlform.ok("cancel", "test_job.train")

    # Twice: the jobs this run left running are cancelled and recorded tainted.
    proc = mlform.popen("apply", "--auto-approve")
    try:
        wait_for(lambda: len(runs(workdir)) == 2 or proc.poll() is not None)
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        # The first interrupt's message says a second one cancels: then press again.
        text = ""
        assert proc.stdout is not None
        while "Press Ctrl-C again" not in text:
            line = proc.stdout.readline()
            assert line, "apply ended without offering to cancel"
            text += line
        proc.send_signal(signal.SIGINT)
        out, err = finish(proc)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 1, text + out + err
    assert "Cancelled test_job.train" in out
    pid = job_pid(workdir)
    wait_for(lambda: not alive(pid), timeout=5)
    assert insts()["test_job.train"]["status"] == "tainted"


def test_logs_follow_streams_from_the_provider_until_the_job_ends(mlform, write, workdir) -> None:
    write(config(2))
    mlform.ok("apply", "--auto-approve", "--detach")
    started = time.monotonic()
    res = mlform.ok("logs", "test_job.train", "--follow")
    lines = res.out.splitlines()
    assert lines[0] == "job started"
    assert lines[-1] == "job done", res.out
    assert any(line.startswith("step ") for line in lines)
    assert time.monotonic() - started < 15
    # Without --follow: what is there now.
    assert mlform.ok("logs", "test_job.train").out.splitlines()[-1] == "job done"


@pytest.mark.parametrize("detach", [False, True])
def test_a_detached_or_waited_job_counts_once_in_the_summary(
    mlform, write, workdir, detach: bool
) -> None:
    write(config(0.4))
    args = ["apply", "--auto-approve"] + (["--detach"] if detach else [])
    res = mlform.ok(*args)
    if detach:
        assert "Apply detached!" in res.out
        res = mlform.ok("apply", "--auto-approve")
    assert "Apply complete! Resources: 2 added, 0 changed, 0 destroyed." in res.out
    assert len(runs(workdir)) == 1
