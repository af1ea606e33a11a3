"""The local deployment through the provider contract, with real servers on loopback, each run by
`mlform-runtime serve`: it starts and answers behind its endpoint, updates to a new revision
without moving the endpoint or failing a request, a crashed server is restarted by its runtime, a
dead runtime or endpoint proxy (or a server of another model) is drift that apply repairs, and
destroy leaves nothing running."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from jobhelpers import Recorder, apply, build_env, provider
from mlform_local import process

from mlform.sdk import ProviderError, ResourceState

SERVERS = Path(__file__).parent / "data" / "servers"


@pytest.fixture
def rec(tmp_path: Path):
    r = Recorder(tmp_path)
    shutil.copytree(SERVERS, r.module_dir / "srv")
    r.states: list[ResourceState] = []  # type: ignore[attr-defined]
    yield r
    # Whatever a failing test left running is stopped.
    kind = provider().kind("deployment")
    for st in r.states:  # type: ignore[attr-defined]
        kind.delete(st, r.ctx("deployment.api"))


def _model(rec: Recorder, name: str) -> str:
    folder = rec.root / "models" / name
    folder.mkdir(parents=True)
    (folder / "model.txt").write_text(name + "\n")
    return str(folder)


def _desired(rec: Recorder, model: str, **over: Any) -> dict[str, Any]:
    d = {
        "environment": build_env(rec),
        "model": model,
        "code": "srv",
        "command": "python app.py",
        "health_check": {"path": "/health", "interval": "0.1s", "timeout": "2s", "retries": 100},
    }
    d.update(over)
    return d


def _get(url: str) -> dict[str, Any]:
    # No proxies from the environment: straight to loopback.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    with opener.open(url, timeout=5) as r:
        return json.loads(r.read())


def _as_recorded(state: ResourceState) -> ResourceState:
    """The state as an engine that keeps one record of arguments and attributes hands it back:
    `port`, both an argument and an attribute, lands on the argument side."""
    attrs = {k: v for k, v in state.attrs.items() if k != "port"}
    args = {**state.args, "port": state.attrs["port"]}
    return ResourceState(state.id, args, attrs, state.lineage, dict(state.private))


def _status(replica: dict[str, Any]) -> dict[str, Any]:
    return json.loads((Path(replica["output"]) / "status.json").read_text())


def _pids(state: ResourceState) -> list[tuple[int, int | None]]:
    """The endpoint proxy, each replica's runtime and the server it last ran."""
    p = state.private
    out: list[tuple[int, int | None]] = [(p["proxy"]["pid"], p["proxy"]["start_time"])]
    for r in p["replicas"]:
        out.append((r["pid"], r["start_time"]))
        server = _status(r).get("server_pid")
        if server:
            out.append((server, None))
    return out


def _wait(cond: Any, what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_a_deployment_starts_answers_and_is_destroyed(rec: Recorder) -> None:
    kind = provider().kind("deployment")
    ctx = rec.ctx("deployment.api")
    desired = _desired(rec, _model(rec, "m1"))
    planned, state = apply(kind, None, desired, ctx)
    rec.states.append(state)  # type: ignore[attr-defined]
    assert planned.action == "create" and planned.attrs["revision"] == 1
    a = state.attrs
    assert a["status"] == "healthy" and a["revision"] == 1
    assert a["endpoint"] == f"http://127.0.0.1:{a['port']}"
    answer = _get(a["endpoint"] + "/")
    (replica,) = state.private["replicas"]
    # The runtime serves it: the recorded PID is the runtime's, which reports its server's.
    assert a["pids"] == [replica["pid"]]
    # (the server runs in the process group the runtime started for it)
    assert answer["model"] == "m1" and os.getpgid(answer["pid"]) == _status(replica)["server_pid"]
    # The digest is the one the runtime reports serving.
    assert a["model_digest"].startswith("sha256:")
    assert a["model_digest"] == _status(replica)["model_digest"]
    # Detached: its own session, so it outlives mlform and its Ctrl-C.
    for pid, _start in _pids(state):
        assert os.getsid(pid) == pid
    assert any("health check passed" in line for line in rec.lines)
    # The server's own output streamed while apply waited for it.
    assert "serving m1 on " + str(_status(replica)["server_port"]) in rec.lines
    log = Path(state.private["log_path"])
    assert log.is_relative_to(a["logs"]) and "serving m1" in log.read_text()

    # Refresh finds it healthy; an unchanged configuration is a no-op.
    fresh = kind.read(state, ctx)
    assert fresh is not None and fresh.attrs["status"] == "healthy"
    assert kind.plan(fresh, desired, ctx).action == "noop"

    kind.delete(state, ctx)
    assert not any(process.is_alive(pid, start) for pid, start in _pids(state))
    for pid, _start in _pids(state):
        assert not process.group_alive(pid)


def test_a_new_model_is_a_new_revision_behind_the_same_endpoint(rec: Recorder) -> None:
    kind = provider().kind("deployment")
    ctx = rec.ctx("deployment.api")
    desired = _desired(rec, _model(rec, "m1"))
    _, s1 = apply(kind, None, desired, ctx)
    rec.states.append(s1)  # type: ignore[attr-defined]
    endpoint = s1.attrs["endpoint"]

    # Poll the endpoint all through the update: every request must be answered.
    stop = threading.Event()
    answers: list[str] = []
    failures: list[str] = []

    def poll() -> None:
        while not stop.is_set():
            try:
                answers.append(_get(endpoint + "/")["model"])
            except Exception as e:  # noqa: BLE001 - any failure counts
                failures.append(repr(e))
            time.sleep(0.01)

    t = threading.Thread(target=poll)
    t.start()
    try:
        time.sleep(0.3)
        s1 = _as_recorded(s1)
        planned = kind.plan(s1, {**desired, "model": _model(rec, "m2")}, ctx)
        assert planned.action == "update"
        assert planned.reasons[0].startswith("model changed sha256:")
        assert planned.attrs["revision"] == 2 and planned.attrs["endpoint"] == endpoint
        s2 = kind.update(s1, planned, ctx)
        rec.states.append(s2)  # type: ignore[attr-defined]
        time.sleep(0.3)
    finally:
        stop.set()
        t.join()
    assert failures == []
    assert answers[0] == "m1" and answers[-1] == "m2"
    assert s2.attrs["endpoint"] == endpoint and s2.attrs["revision"] == 2
    assert kind.plan(_as_recorded(s2), {**desired, "model": s2.args["model"]}, ctx).action == "noop"
    assert s2.attrs["model_digest"] != s1.attrs["model_digest"]
    # The old revision is stopped (its runtime and server), the proxy is the same process.
    for pid, start in _pids(s1)[1:]:
        assert not process.is_alive(pid, start)
    assert s2.private["proxy"]["pid"] == s1.private["proxy"]["pid"]

    # A new command is a new revision too.
    planned = kind.plan(
        s2, {**desired, "model": s2.args["model"], "command": "python ./app.py"}, ctx
    )
    assert planned.action == "update" and planned.reasons == [
        'command changed "python app.py" → "python ./app.py"'
    ]
    kind.delete(s2, ctx)
    assert not any(process.is_alive(p, s) for p, s in _pids(s2))


def test_a_crashed_server_is_restarted_by_its_runtime(rec: Recorder) -> None:
    kind = provider().kind("deployment")
    ctx = rec.ctx("deployment.api")
    desired = _desired(rec, _model(rec, "m1"))
    _, s1 = apply(kind, None, desired, ctx)
    rec.states.append(s1)  # type: ignore[attr-defined]
    (replica,) = s1.private["replicas"]
    server = _status(replica)["server_pid"]
    os.killpg(server, signal.SIGKILL)
    _wait(
        lambda: _status(replica)["restarts"] == 1 and _status(replica)["state"] == "healthy",
        "the runtime to restart the server",
    )
    answer = _get(s1.attrs["endpoint"] + "/")
    assert answer["model"] == "m1" and answer["pid"] != server
    # Nothing for mlform to repair: the same runtime serves.
    fresh = kind.read(s1, ctx)
    assert fresh is not None and fresh.attrs["status"] == "healthy"
    assert fresh.attrs["pids"] == [replica["pid"]]
    assert kind.plan(fresh, desired, ctx).action == "noop"
    kind.delete(s1, ctx)
    assert not any(process.is_alive(p, s) for p, s in _pids(s1))


def test_a_killed_runtime_is_drift_that_apply_repairs(rec: Recorder) -> None:
    kind = provider().kind("deployment")
    ctx = rec.ctx("deployment.api")
    desired = _desired(rec, _model(rec, "m1"))
    _, s1 = apply(kind, None, desired, ctx)
    rec.states.append(s1)  # type: ignore[attr-defined]
    (replica,) = s1.private["replicas"]
    orphan = _status(replica)["server_pid"]
    os.kill(replica["pid"], signal.SIGKILL)
    _wait(lambda: not process.is_alive(replica["pid"], replica["start_time"]), "the kill")

    fresh = kind.read(s1, ctx)
    assert fresh is not None and fresh.attrs["status"] == "stopped"
    planned = kind.plan(fresh, desired, ctx)
    assert planned.action == "update"
    assert planned.reasons == [
        f"server process {replica['pid']} is not running: it will be restarted"
    ]
    # Handed the state as recorded before refresh (healthy), update still sees the dead runtime.
    s2 = kind.update(s1, planned, ctx)
    rec.states.append(s2)  # type: ignore[attr-defined]
    assert s2.attrs["status"] == "healthy" and s2.attrs["endpoint"] == s1.attrs["endpoint"]
    assert s2.attrs["revision"] == 2
    assert _get(s2.attrs["endpoint"] + "/")["model"] == "m1"
    assert kind.plan(kind.read(s2, ctx), desired, ctx).action == "noop"
    # The server the killed runtime left behind is stopped with the old revision.
    assert not process.is_alive(orphan, None)

    # The endpoint proxy killed too: it comes back on the same port.
    px = s2.private["proxy"]
    os.killpg(px["pid"], signal.SIGKILL)
    time.sleep(0.2)
    fresh = kind.read(s2, ctx)
    assert fresh.attrs["status"] == "unhealthy"
    planned = kind.plan(fresh, desired, ctx)
    assert planned.reasons == [
        f"endpoint proxy process {px['pid']} is not running: it will be restarted"
    ]
    s3 = kind.update(fresh, planned, ctx)
    rec.states.append(s3)  # type: ignore[attr-defined]
    assert _get(s3.attrs["endpoint"] + "/")["model"] == "m1"
    kind.delete(s3, ctx)
    assert not any(process.is_alive(p, s) for p, s in _pids(s3))


def test_a_server_of_another_model_is_drift_that_apply_repairs(rec: Recorder) -> None:
    """Refresh compares the model digest each runtime reports serving with the one recorded."""
    kind = provider().kind("deployment")
    ctx = rec.ctx("deployment.api")
    desired = _desired(rec, _model(rec, "m1"))
    _, s1 = apply(kind, None, desired, ctx)
    rec.states.append(s1)  # type: ignore[attr-defined]
    other_ctx = rec.ctx("deployment.other")
    _, other = apply(kind, None, _desired(rec, _model(rec, "m2")), other_ctx)
    rec.states.append(other)  # type: ignore[attr-defined]
    # The endpoint's replica is now a runtime serving m2 (as if another deployment took over).
    mixed = ResourceState(
        s1.id, s1.args, s1.attrs, s1.lineage, {**s1.private, "replicas": other.private["replicas"]}
    )
    fresh = kind.read(mixed, ctx)
    assert fresh is not None and fresh.attrs["status"] == "unhealthy"
    (replica,) = other.private["replicas"]
    m1, m2 = s1.attrs["model_digest"], other.attrs["model_digest"]
    assert m1 != m2
    planned = kind.plan(fresh, desired, ctx)
    assert planned.action == "update"
    assert planned.reasons == [
        f"server process {replica['pid']} serves model {m2[:15]}…, not {m1[:15]}…: "
        "it will be restarted"
    ]
    s2 = kind.update(fresh, planned, ctx)
    rec.states.append(s2)  # type: ignore[attr-defined]
    assert _get(s2.attrs["endpoint"] + "/")["model"] == "m1"
    assert s2.attrs["model_digest"] == m1
    assert kind.plan(kind.read(s2, ctx), desired, ctx).action == "noop"
    kind.delete(s2, ctx)
    kind.delete(s1, ctx)


def test_replicas_share_the_endpoint_round_robin(rec: Recorder) -> None:
    kind = provider().kind("deployment")
    ctx = rec.ctx("deployment.api")
    port = process.free_port()
    _, state = apply(kind, None, _desired(rec, _model(rec, "m1"), replicas=2, port=port), ctx)
    rec.states.append(state)  # type: ignore[attr-defined]
    assert state.attrs["endpoint"] == f"http://127.0.0.1:{port}"
    replicas = {_get(state.attrs["endpoint"] + "/")["replica"] for _ in range(6)}
    assert replicas == {"0", "1"}
    assert len(state.attrs["pids"]) == 2
    kind.delete(state, ctx)
    assert not any(process.is_alive(p, s) for p, s in _pids(state))


def test_a_server_that_never_gets_healthy_fails_with_its_log_and_leaves_nothing(
    rec: Recorder,
) -> None:
    kind = provider().kind("deployment")
    ctx = rec.ctx("deployment.api")
    desired = _desired(
        rec,
        _model(rec, "m1"),
        env={"SICK": "1"},
        health_check={"path": "/health", "interval": "0.1s", "timeout": "1s", "retries": 3},
    )
    with pytest.raises(ProviderError) as err:
        apply(kind, None, desired, ctx)
    assert "health check failed" in err.value.summary and "HTTP 503" in err.value.summary
    assert "serving m1" in err.value.detail
    started = [
        int(m.group(1))
        for line in rec.lines
        if (m := re.search(r"started the runtime \(PID (\d+)\)", line))
    ]
    assert started
    servers = [
        int(pid)
        for log in (rec.data_dir / "logs").rglob("log.txt")
        for pid in re.findall(r"server started \(pid (\d+),", log.read_text())
    ]
    assert servers
    time.sleep(0.1)
    assert not any(process.is_alive(pid, None) for pid in started + servers)


def test_a_server_that_crashes_at_start_fails_at_once(rec: Recorder) -> None:
    kind = provider().kind("deployment")
    ctx = rec.ctx("deployment.api")
    desired = _desired(
        rec,
        _model(rec, "m1"),
        command="python -c 'import sys; print(\"no model here\"); sys.exit(4)'",
    )
    t0 = time.monotonic()
    with pytest.raises(ProviderError) as err:
        apply(kind, None, desired, ctx)
    assert time.monotonic() - t0 < 10
    assert "exited before its health check passed" in err.value.summary
    assert "no model here" in err.value.detail


def test_servers_outlive_the_process_that_started_them(rec: Recorder) -> None:
    """mlform exits after apply; the deployment keeps serving, and a later mlform process finds
    and stops it from the recorded state."""
    import subprocess
    import sys

    env_id = build_env(rec)
    desired = _desired(rec, _model(rec, "m1"))
    desired["environment"] = env_id
    script = f"""
import json, sys
sys.path.insert(0, {str(Path(__file__).parent)!r})
from jobhelpers import Recorder, apply, provider
from pathlib import Path
rec = Recorder(Path({str(rec.root)!r}))
_, state = apply(provider().kind("deployment"), None, json.loads({json.dumps(json.dumps(desired))}), rec.ctx("deployment.api"))
print(json.dumps({{"id": state.id, "args": state.args, "attrs": state.attrs, "private": state.private}}))
"""
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout.strip().splitlines()[-1])
    state = ResourceState(data["id"], data["args"], data["attrs"], None, data["private"])
    rec.states.append(state)  # type: ignore[attr-defined]
    assert _get(state.attrs["endpoint"] + "/")["model"] == "m1"
    kind = provider().kind("deployment")
    ctx = rec.ctx("deployment.api")
    assert kind.read(state, ctx).attrs["status"] == "healthy"
    kind.delete(state, ctx)
    assert not any(process.is_alive(p, s) for p, s in _pids(state))


def test_a_create_lost_in_a_crash_is_found_by_its_token(rec: Recorder) -> None:
    kind = provider().kind("deployment")
    ctx = rec.ctx("deployment.api")
    ctx.idempotency_token = "tok-1"
    _, state = apply(kind, None, _desired(rec, _model(rec, "m1")), ctx)
    rec.states.append(state)  # type: ignore[attr-defined]
    found = kind.find_by_token("tok-1", ctx)
    assert found is not None and found.id == state.id
    assert found.attrs["endpoint"] == state.attrs["endpoint"]
    assert kind.read(found, ctx).attrs["status"] == "healthy"
    assert kind.find_by_token("another", ctx) is None

    # A create interrupted before it finished: what it started is stopped, nothing is adopted.
    home = rec.data_dir.resolve() / "deployments" / "deploy-interrupted"
    home.mkdir(parents=True)
    (home / "token").write_text("tok-2")
    orphan = process.spawn_detached(
        ["sleep", "60"], cwd=home, env=dict(os.environ), log_path=rec.root / "orphan.log"
    )
    (home / "started.json").write_text(json.dumps([orphan.to_dict()]))
    assert kind.find_by_token("tok-2", ctx) is None
    assert not process.is_alive(orphan.pid, orphan.start_time)
    assert not home.exists()
    kind.delete(state, ctx)
