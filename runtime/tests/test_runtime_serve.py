"""`mlform-runtime serve`: health, restart after a crash, idle stop, SIGTERM."""

from __future__ import annotations

import json
import signal
import urllib.request
from pathlib import Path

from mlform_runtime.stores import LocalStore
from runtime_helpers import cli, read_json, start, wait_for

SERVER = r"""
import os, sys, http.server
model = open(os.path.join(os.environ["MLFORM_MODEL_DIR"], "model.txt")).read().strip()
class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a): pass
    def do_GET(self):
        if self.path == "/crash":
            os._exit(7)
        body = (model if self.path == "/predict" else "ok").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
print("serving on", os.environ["PORT"], flush=True)
http.server.HTTPServer(("127.0.0.1", int(os.environ["PORT"])), H).serve_forever()
"""


def _serve_spec(tmp_path: Path, **fields) -> Path:
    code = tmp_path / "srv"
    code.mkdir(exist_ok=True)
    (code / "serve.py").write_text(SERVER)
    model = tmp_path / "model"
    model.mkdir(exist_ok=True)
    (model / "model.txt").write_text("answer-42")
    store = LocalStore(tmp_path / "store")
    spec = {
        "format": 1,
        "kind": "server",
        "run_id": "rev-1",
        "address": "deployment.api",
        "code": {"digest": store.put_tree(code).digest},
        "model": {"digest": store.put_tree(model, namespace="models").digest},
        "command": "python serve.py",
        "output": {"uri": str(tmp_path / "out")},
        "store": {"uri": str(tmp_path / "store")},
        "health": {"path": "/health", "interval_s": 0.1, "start_timeout_s": 20},
        "restart": {"backoff_s": 0.1},
        "heartbeat_s": 0.2,
        "stop_grace_s": 2,
    }
    spec.update(fields)
    path = tmp_path / "serve.json"
    path.write_text(json.dumps(spec))
    return path


def _get(endpoint: str, path: str) -> str:
    with urllib.request.urlopen(endpoint + path, timeout=5) as r:
        return r.read().decode()


def test_serve_is_healthy_restarts_after_a_crash_and_stops_on_sigterm(tmp_path, runtime_env):
    spec = _serve_spec(tmp_path)
    out = tmp_path / "out"
    p = start(["serve", str(spec)], runtime_env)
    try:
        st = wait_for(
            lambda: (s := read_json(out / "status.json")) and s["state"] == "healthy" and s, 30
        )
        endpoint = st["endpoint"]
        assert _get(endpoint, "/predict") == "answer-42"
        assert st["model_digest"] == json.loads(spec.read_text())["model"]["digest"]
        first_pid = st["server_pid"]
        try:
            _get(endpoint, "/crash")
        except OSError:
            pass
        st = wait_for(
            lambda: (
                (s := read_json(out / "status.json"))
                and s["state"] == "healthy"
                and s["restarts"] == 1
                and s
            ),
            30,
            "a restart",
        )
        assert st["server_pid"] != first_pid and st["endpoint"] == endpoint
        assert _get(endpoint, "/predict") == "answer-42"  # the endpoint did not move
        p.send_signal(signal.SIGTERM)
        assert p.wait(20) == 0
        final = read_json(out / "status.json")
        assert final["state"] == "stopped" and "SIGTERM" in final["reason"]
        assert final["connections"] >= 2
    finally:
        if p.poll() is None:
            p.kill()


def test_serve_stops_after_the_idle_timeout(tmp_path, runtime_env):
    spec = _serve_spec(tmp_path, idle_timeout_s=1.0)
    proc = cli(["serve", str(spec)], runtime_env, timeout=60)
    assert proc.returncode == 0, proc.stdout
    final = read_json(tmp_path / "out" / "status.json")
    assert final["state"] == "stopped" and final["reason"] == "idle for 1s"


def test_serve_gives_up_after_max_restarts(tmp_path, runtime_env):
    spec = _serve_spec(
        tmp_path, command="echo broken; exit 1", restart={"backoff_s": 0.1, "max_restarts": 2}
    )
    proc = cli(["serve", str(spec)], runtime_env, timeout=60)
    assert proc.returncode == 1
    final = read_json(tmp_path / "out" / "status.json")
    assert final["state"] == "failed" and final["restarts"] == 2
    assert "gave up after 2 restarts" in final["reason"]
