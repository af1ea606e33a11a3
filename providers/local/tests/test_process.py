"""Process supervision: foreground runs (streaming, failure, timeout, cancel, several ranks),
detached servers found again by PID and start time, group stops, and the endpoint proxy."""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
import urllib.request
from pathlib import Path

from mlform_local import process, proxy
from mlform_local.process import ProcessSpec, run_foreground

PY = sys.executable


def _spec(tmp_path: Path, code: str, prefix: str = "") -> ProcessSpec:
    script = tmp_path / f"s{abs(hash(code))}.py"
    script.write_text(code)
    return ProcessSpec(
        command=f"'{PY}' '{script}'", cwd=tmp_path, env=dict(os.environ), prefix=prefix
    )


def test_foreground_streams_lines_to_callback_and_log(tmp_path: Path) -> None:
    lines: list[str] = []
    log = tmp_path / "logs" / "run.log"
    res = run_foreground(
        [_spec(tmp_path, "print('hello'); print('world', flush=True)")],
        log_path=log,
        on_line=lines.append,
    )
    assert res.ok and res.returncodes == [0]
    assert lines == ["hello", "world"]
    assert log.read_text() == "hello\nworld\n"
    assert process.tail_lines(log, 1) == ["world"]


def test_foreground_failure_keeps_the_tail(tmp_path: Path) -> None:
    code = "import sys\nfor i in range(30): print('line', i)\nsys.exit(3)\n"
    res = run_foreground(
        [_spec(tmp_path, code)], log_path=tmp_path / "r.log", on_line=lambda s: None
    )
    assert not res.ok and res.returncodes == [3]
    assert len(res.tail) == process.TAIL_LINES and res.tail[-1] == "line 29"


def test_foreground_timeout_kills_the_whole_group(tmp_path: Path) -> None:
    # The shell starts a grandchild that would outlive a kill of the shell alone.
    pidfile = tmp_path / "child.pid"
    code = (
        "import subprocess, sys, time\n"
        f"p = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        f"open({str(pidfile)!r}, 'w').write(str(p.pid))\n"
        "print('started', flush=True)\ntime.sleep(60)\n"
    )
    t0 = time.monotonic()
    res = run_foreground(
        [_spec(tmp_path, code)],
        log_path=tmp_path / "r.log",
        on_line=lambda s: None,
        timeout=1.5,
        grace=1,
    )
    assert res.timed_out and not res.ok
    assert time.monotonic() - t0 < 10
    child = int(pidfile.read_text())
    time.sleep(0.2)
    assert not process.is_alive(child, None)


def test_foreground_cancel_stops_it(tmp_path: Path) -> None:
    ev = threading.Event()
    threading.Timer(0.5, ev.set).start()
    res = run_foreground(
        [_spec(tmp_path, "import time; time.sleep(60)")],
        log_path=tmp_path / "r.log",
        on_line=lambda s: None,
        cancel_event=ev,
        grace=1,
    )
    assert res.cancelled and not res.ok


def test_one_failing_rank_stops_the_others(tmp_path: Path) -> None:
    lines: list[str] = []
    res = run_foreground(
        [
            _spec(tmp_path, "import time; print('up', flush=True); time.sleep(60)", "[rank 0] "),
            _spec(tmp_path, "import sys; print('bad', flush=True); sys.exit(2)", "[rank 1] "),
        ],
        log_path=tmp_path / "r.log",
        on_line=lines.append,
        grace=1,
    )
    assert res.returncodes[1] == 2 and res.returncodes[0] != 0
    assert "[rank 1] bad" in lines and "[rank 0] up" in lines


def test_detached_server_identity_and_stop(tmp_path: Path) -> None:
    proc = process.spawn_detached(
        f"'{PY}' -c 'import time; print(\"up\", flush=True); time.sleep(60)'",
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


def test_exec_form_replaces_the_shell_only_for_simple_commands() -> None:
    assert process.exec_form("python serve.py --port $PORT") == "exec python serve.py --port $PORT"
    for cmd in ("cd src && python serve.py", "python a.py > log", "FOO=1 python a.py", "a; b"):
        assert process.exec_form(cmd) == cmd


def test_a_detached_simple_command_is_the_recorded_process(tmp_path: Path) -> None:
    script = tmp_path / "pid.py"
    script.write_text("import os, time\nprint(os.getpid(), flush=True)\ntime.sleep(30)\n")
    proc = process.spawn_detached(
        f"'{PY}' '{script}'",
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
