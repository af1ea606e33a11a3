"""A tiny project (fit a line, serve it) through the real `mlform` command line: apply, call the
endpoint, `mlform logs` of the job and of the server, a crashed server restarted by its runtime
with nothing to apply, the runtime itself killed by hand (`kill -9` of the PID the state records)
seen by the next plan as drift with its fix and restored by apply behind the same endpoint (and so
is a killed endpoint proxy), a new model rolled out while the endpoint keeps answering, and destroy
leaving no process behind."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

from e2e_cli import http, project


def _wait_dead(pid: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return
        if stat.rsplit(")", 1)[1].split()[0] == "Z":
            return
        time.sleep(0.05)
    raise AssertionError(f"process {pid} still alive")


def test_apply_serve_logs_and_a_killed_server(tmp_path: Path) -> None:
    with project("tiny", tmp_path) as p:
        r = p.ok("apply", "-auto-approve")
        assert "Apply complete! Resources: 5 added, 0 changed, 0 destroyed." in r.out
        # Job output streams live, prefixed by its address.
        assert "training_job.fit: fitted w=2.0000 on 3 rows" in r.out

        endpoint = p.output("endpoint")
        assert endpoint.startswith("http://127.0.0.1:")
        assert http(endpoint + "/health")["status"] == "ok"
        assert http(endpoint + "/predict", {"x": [1, 5]})["y"] == [2.0, 10.0]
        assert p.output("w") == "2"

        logs = p.ok("logs", "training_job.fit")
        assert "fitted w=2.0000 on 3 rows" in logs.out
        logs = p.ok("logs", "deployment.api")
        assert "serving w=2.0 on port" in logs.out
        assert "GET /health" in logs.out + logs.err

        # Unknown address: a clear error.
        bad = p.fails("logs", "training_job.nope")
        assert "training_job.nope" in bad.err

        plan, r = p.plan()
        assert r.code == 0 and "No changes." in r.out, r.explain()

        # The server crashes: its runtime starts it again, behind the same endpoint.
        dep = p.resource("deployment.api")
        (server,) = [
            pid for pid, cmd in p.processes() if "serve.py" in cmd and not cmd.startswith("/bin/sh")
        ]
        os.kill(server, signal.SIGKILL)
        _wait_dead(server)
        deadline = time.monotonic() + 30
        while True:
            try:
                assert http(endpoint + "/predict", {"x": [2]})["y"] == [4.0]
                break
            except Exception:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        assert "restarting in" in p.ok("logs", "deployment.api").out
        plan, r = p.plan()
        assert r.code == 0 and "No changes." in r.out, r.explain()

        # The runtime serving it dies.
        (pid,) = dep["pids"]
        os.kill(pid, signal.SIGKILL)
        _wait_dead(pid)

        plan, r = p.plan()
        assert r.code == 2, r.explain()
        assert "deployment.api has changed" in r.out  # the drift, as refresh found it
        assert plan.actions() == {"deployment.api": "update"}
        assert plan.reasons("deployment.api") == [
            f"server process {pid} is not running: it will be restarted"
        ]

        r = p.ok("apply", "-auto-approve")
        assert "Resources: 0 added, 1 changed, 0 destroyed." in r.out
        assert p.output("endpoint") == endpoint
        assert http(endpoint + "/predict", {"x": [3]})["y"] == [6.0]
        dep2 = p.resource("deployment.api")
        assert dep2["pids"] != [pid] and dep2["status"] == "healthy"
        assert dep2["revision"] == dep["revision"] + 1

        plan, r = p.plan()
        assert r.code == 0, r.explain()

        # The endpoint's proxy dies: the same endpoint comes back.
        (proxy,) = [pid for pid, cmd in p.processes() if "proxy.py" in cmd]
        os.kill(proxy, signal.SIGKILL)
        _wait_dead(proxy)
        plan, r = p.plan()
        assert r.code == 2, r.explain()
        assert plan.reasons("deployment.api") == [
            f"endpoint proxy process {proxy} is not running: it will be restarted"
        ]
        p.ok("apply", "-auto-approve")
        assert p.output("endpoint") == endpoint
        assert http(endpoint + "/predict", {"x": [4]})["y"] == [8.0]


def test_the_endpoint_keeps_answering_while_a_new_model_rolls_out(tmp_path: Path) -> None:
    with project("tiny", tmp_path) as p:
        p.ok("apply", "-auto-approve")
        endpoint = p.output("endpoint")
        seen: list[Any] = []
        stop = threading.Event()

        def poll() -> None:
            while not stop.is_set():
                try:
                    seen.append(http(endpoint + "/predict", {"x": [1]}, timeout=5)["model"]["rows"])
                except Exception as e:  # noqa: BLE001 - every failure is what the test counts
                    seen.append(e)
                time.sleep(0.02)

        with (p.root / "data/points.csv").open("a") as f:
            f.write("4,8\n")
        poller = threading.Thread(target=poll)
        poller.start()
        try:
            r = p.ok("apply", "-auto-approve")
            time.sleep(0.3)
        finally:
            stop.set()
            poller.join()
        assert "deployment.api: switched the endpoint to revision 2" in r.out
        errors = [s for s in seen if not isinstance(s, int)]
        assert not errors, errors[:3]
        # The old model answered until the switch, the new one after it.
        assert seen[0] == 3 and seen[-1] == 4
        assert seen == sorted(seen)
        assert p.output("endpoint") == endpoint


def test_a_tainted_job_retrains_and_the_deployment_serves_the_new_model(tmp_path: Path) -> None:
    with project("tiny", tmp_path) as p:
        # Training that is not reproducible: every run gives another model.
        train = p.root / "src/train.py"
        train.write_text(
            train.read_text().replace(
                '{"w": w, "rows": len(rows)}',
                '{"w": w, "rows": len(rows), "at": __import__("time").time_ns()}',
            )
        )
        p.ok("apply", "-auto-approve")
        endpoint = p.output("endpoint")
        first = http(endpoint + "/health")["model"]["at"]
        old_digest = p.resource("training_job.fit")["model_digest"]

        p.ok("taint", "training_job.fit")
        plan, r = p.plan()
        assert r.code == 2, r.explain()
        assert plan.actions() == {"training_job.fit": "replace", "deployment.api": "update"}
        assert plan.reasons("deployment.api") == [
            f"model changed {old_digest[:15]}… → (known after apply)"
        ]
        p.ok("apply", "-auto-approve")
        assert p.resource("training_job.fit")["model_digest"] != old_digest
        assert http(endpoint + "/health")["model"]["at"] != first

        p.ok("apply", "-auto-approve", "-replace=training_job.fit")
        plan, r = p.plan()
        assert r.code == 0, r.explain()
