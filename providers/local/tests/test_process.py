"""Detached processes found again by PID and start time, group stops, and the endpoint proxy.
(Running and supervising jobs and servers is the runtime's: runtime/tests.)"""

from __future__ import annotations

import os
import socket
import sys
import time
import urllib.request
from pathlib import Path

from mlform_local import process, proxy

PY = sys.executable


def test_detached_server_identity_and_stop(tmp_path: Path) -> None:
    proc = process.spawn_detached(
        [PY, "-c", "import time; print('up', flush=True); time.sleep(60)"],
        cwd=tmp_path,
        env=dict(os.environ),
        log_path=tmp_path / "srv.log",
    )
    assert process.is_alive(proc.pid, proc.start_time)
    # The same PID with another start time is some other process, not ours.
    assert not process.is_alive(proc.pid, proc.start_time + 1)
    assert os.getsid(proc.pid) == proc.pid  # its own session: survives our Ctrl-C and exit
    assert process.stop(proc.pid, proc.start_time, grace=2)
    assert not process.is_alive(proc.pid, proc.start_time)
    assert not process.group_alive(proc.pid)
    # Stopping again is harmless.
    assert not process.stop(proc.pid, proc.start_time, grace=1)


def test_stop_escalates_to_kill_after_the_grace_period(tmp_path: Path) -> None:
    code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print('x', flush=True); time.sleep(60)"
    script = tmp_path / "stubborn.py"
    script.write_text(code)
    proc = process.spawn_detached(
        [PY, str(script)], cwd=tmp_path, env=dict(os.environ), log_path=tmp_path / "s.log"
    )
    deadline = time.monotonic() + 5
    while "x" not in (tmp_path / "s.log").read_text() and time.monotonic() < deadline:
        time.sleep(0.05)
    t0 = time.monotonic()
    process.stop(proc.pid, proc.start_time, grace=0.5)
    assert 0.4 < time.monotonic() - t0 < 6
    assert not process.is_alive(proc.pid, proc.start_time)


def test_free_port_is_bindable() -> None:
    port = process.free_port()
    assert process.port_free(port)
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))
        s.listen()
        assert not process.port_free(port)


def test_address_safe_names() -> None:
    assert process.address_safe('module.m.training_job.x["a b"]') == "module.m.training_job.x_a_b"


def _http_server(tmp_path: Path, name: str) -> tuple[process.DetachedProcess, int]:
    port = process.free_port()
    code = (
        "import http.server\n"
        "class H(http.server.BaseHTTPRequestHandler):\n"
        "    def do_GET(self):\n"
        f"        body = b'{name}'\n"
        "        self.send_response(200); self.send_header('Content-Length', str(len(body))); self.end_headers(); self.wfile.write(body)\n"
        "    def log_message(self, *a): pass\n"
        f"http.server.ThreadingHTTPServer(('127.0.0.1', {port}), H).serve_forever()\n"
    )
    script = tmp_path / f"{name}.py"
    script.write_text(code)
    proc = process.spawn_detached(
        [PY, str(script)], cwd=tmp_path, env=dict(os.environ), log_path=tmp_path / f"{name}.log"
    )
    _wait_port(port)
    return proc, port


def _wait_port(port: int) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise AssertionError(f"nothing listens on {port}")


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=5) as r:
        return r.read().decode()


def test_proxy_round_robin_and_switch(tmp_path: Path) -> None:
    a, pa = _http_server(tmp_path, "a")
    b, pb = _http_server(tmp_path, "b")
    c, pc = _http_server(tmp_path, "c")
    targets = tmp_path / "targets.json"
    proxy.write_targets(targets, 1, [f"127.0.0.1:{pa}", f"127.0.0.1:{pb}"])
    port = process.free_port()
    px = process.spawn_detached(
        proxy.start_command(port, targets),
        cwd=tmp_path,
        env=dict(os.environ),
        log_path=tmp_path / "proxy.log",
    )
    try:
        _wait_port(port)
        seen = {_get(f"http://127.0.0.1:{port}/") for _ in range(4)}
        assert seen == {"a", "b"}
        proxy.write_targets(targets, 2, [f"127.0.0.1:{pc}"])
        time.sleep(0.05)
        assert {_get(f"http://127.0.0.1:{port}/") for _ in range(3)} == {"c"}
        assert proxy.read_targets(targets) == (2, [f"127.0.0.1:{pc}"])
    finally:
        for p in (px, a, b, c):
            process.stop(p.pid, p.start_time, grace=2)
    assert not any(process.is_alive(p.pid, p.start_time) for p in (px, a, b, c))


def test_a_detached_command_is_the_recorded_process(tmp_path: Path) -> None:
    script = tmp_path / "pid.py"
    script.write_text("import os, time\nprint(os.getpid(), flush=True)\ntime.sleep(30)\n")
    proc = process.spawn_detached(
        [PY, str(script)],
        cwd=tmp_path,
        env=dict(os.environ),
        log_path=tmp_path / "p.log",
    )
    try:
        deadline = time.monotonic() + 10
        while not (tmp_path / "p.log").read_text().strip() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert int((tmp_path / "p.log").read_text().split()[0]) == proc.pid
    finally:
        process.stop(proc.pid, proc.start_time, grace=2)
