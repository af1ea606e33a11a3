"""`mlform-runtime serve`: one model server, kept healthy, behind a counting proxy.

The runtime owns the endpoint: a small TCP proxy (threads, standard library) listens on the
spec's `port` (0: any free port, reported in `status.json`) and forwards each connection to the
server, which listens on a port of its own given as PORT. The proxy's counts are how the runtime
knows about requests: after `idle_timeout_s` with no traffic and no open connection it stops
the server and itself. The health path is probed on the server directly (probes are not
traffic): a server that exits, that does not answer 2xx within `health.start_timeout_s` of its
start, or that fails `health.failures` probes in a row after being healthy, is restarted with
exponential backoff. SIGTERM/SIGINT or a `cancel` object stop it.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import socketserver
import sys
import threading
import time
from pathlib import Path
from typing import Any

from mlform_runtime import EXIT_ERROR, EXIT_FAILED, EXIT_OK
from mlform_runtime.envs import DROP, EnvError, Environment, cache_dir, materialize
from mlform_runtime.fetch import FetchError, fetch_readonly, fetch_writable
from mlform_runtime.proc import Group, free_port, signal_name
from mlform_runtime.report import Reporter, iso_now
from mlform_runtime.spec import Spec
from mlform_runtime.stores import StoreError, open_location, open_store, remove_tree

__all__ = ["Proxy", "probe", "serve", "server_env"]

STARTING, HEALTHY, UNHEALTHY, STOPPED, FAILED = (
    "starting",
    "healthy",
    "unhealthy",
    "stopped",
    "failed",
)


def probe(port: int, path: str, timeout: float) -> tuple[bool, str]:
    """One health probe: GET http://127.0.0.1:<port><path>; (2xx, what happened)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"User-Agent": "mlform-runtime-health"})
        resp = conn.getresponse()
        resp.read()
        return 200 <= resp.status < 300, f"HTTP {resp.status}"
    except (OSError, http.client.HTTPException) as e:
        return False, str(e) or type(e).__name__
    finally:
        conn.close()


class Proxy:
    """Forwards connections on (host, port) to 127.0.0.1:`backend_port`, counting them."""

    def __init__(self, host: str, port: int):
        self.backend_port: int | None = None
        self.connections = 0
        self.active = 0
        self.last_activity = time.monotonic()
        self.last_request_at: str | None = None
        self._lock = threading.Lock()
        proxy = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                proxy._handle(self.request)

        class Server(socketserver.ThreadingTCPServer):
            allow_reuse_address = True
            daemon_threads = True

        self.server = Server((host, port), Handler)
        self.port = int(self.server.server_address[1])
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def touch(self) -> None:
        self.last_activity = time.monotonic()

    def _handle(self, client: socket.socket) -> None:
        with self._lock:
            self.connections += 1
            self.active += 1
            self.last_request_at = iso_now()
        self.touch()
        try:
            port = self.backend_port
            try:
                if port is None:
                    raise OSError("no server")
                backend = socket.create_connection(("127.0.0.1", port), timeout=5)
            except OSError:
                client.sendall(
                    b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 19\r\n"
                    b"Connection: close\r\n\r\nno healthy backend\n"
                )
                return
            backend.settimeout(None)
            with backend:
                t = threading.Thread(target=self._pump, args=(backend, client), daemon=True)
                t.start()
                self._pump(client, backend)
                t.join()
        except OSError:
            pass
        finally:
            with self._lock:
                self.active -= 1
            self.touch()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                self.touch()
                dst.sendall(data)
        except OSError:
            pass
        finally:
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass


def server_env(
    spec: Spec, env: Environment, *, port: int, model_dir: Path | None, base: dict[str, str]
) -> dict[str, str]:
    """The variables of the server's process: the worker's, the environment's, the spec's
    `env`, then PORT, MLFORM_MODEL_DIR and the others documented in docs/runtime.md."""
    out = {k: v for k, v in base.items() if k not in DROP}
    out["PATH"] = str(env.bin_dir) + os.pathsep + out.get("PATH", os.defpath)
    if env.venv is not None:
        out["VIRTUAL_ENV"] = str(env.venv)
    out["PYTHONUNBUFFERED"] = "1"
    out.update(env.env)
    out.update(spec.env)
    if spec.visible_devices is not None:
        out["CUDA_VISIBLE_DEVICES"] = spec.visible_devices
    out["PORT"] = str(port)
    if model_dir is not None:
        out["MLFORM_MODEL_DIR"] = str(model_dir)
    if spec.params:
        out["MLFORM_PARAMS"] = json.dumps(dict(spec.params), sort_keys=True)
    out["MLFORM_RUN_ID"] = spec.run_id
    if spec.address:
        out["MLFORM_ADDRESS"] = spec.address
    return out


def serve(spec: Spec, *, cache: Path | None = None, echo: bool = True) -> int:
    """Serve until stopped (SIGTERM, `cancel`, idle) or until restarts run out."""
    try:
        out = open_location(spec.output)
    except StoreError as e:
        sys.stderr.write(f"mlform-runtime: cannot open the output location: {e}\n")
        return EXIT_ERROR
    cache = cache or cache_dir()
    model_digest = spec.model.digest if spec.model else None
    reporter = Reporter(
        out,
        {
            "kind": "server",
            "state": STARTING,
            "run_id": spec.run_id,
            "address": spec.address,
            "model_digest": model_digest,
            "restarts": 0,
            "server_pid": None,
            "port": None,
            "endpoint": None,
            "server_port": None,
            "connections": 0,
            "last_request_at": None,
            "reason": None,
            "finished_at": None,
        },
        spec.heartbeat_s,
        echo=echo,
    )
    # A cancel left from an earlier server at this location is not for this one.
    try:
        out.delete("cancel")
    except StoreError:
        pass
    handlers = {}

    def on_signal(signum: int, _frame: Any) -> None:
        reporter.request_cancel(f"the runtime received {signal_name(signum)}")

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        handlers[sig] = signal.signal(sig, on_signal)
    reporter.start()
    proxy: Proxy | None = None
    state, reason, code = FAILED, None, EXIT_ERROR
    work = cache / "serve" / spec.run_id
    try:
        store = open_store(spec.store) if spec.store is not None else None
        model_dir = (
            fetch_readonly("model", spec.model, store, cache, reporter.say) if spec.model else None
        )
        code_dir = work / "code"
        remove_tree(code_dir)
        if spec.code is not None:
            fetch_writable("code", spec.code, store, code_dir, reporter.say)
        code_dir.mkdir(parents=True, exist_ok=True)
        env = materialize(spec.environment, reporter.line, cache)
        proxy = Proxy(spec.host, spec.port)
        proxy.start()
        endpoint = f"http://{spec.host}:{proxy.port}"
        reporter.update(port=proxy.port, endpoint=endpoint)
        reporter.say(f"endpoint {endpoint}")
        state, reason, code = _supervise(spec, env, model_dir, code_dir, proxy, reporter)
    except (FetchError, EnvError, StoreError, OSError) as e:
        state, reason, code = FAILED, f"error: {e}", EXIT_ERROR
        reporter.say(f"error: {e}")
    finally:
        if proxy is not None:
            proxy.close()
        reporter.say(f"{state}" + (f": {reason}" if reason else ""))
        reporter.update(state=state, reason=reason, finished_at=iso_now(), server_pid=None)
        reporter.close()
        for sig, handler in handlers.items():
            signal.signal(sig, handler)
    return code


def _supervise(
    spec: Spec,
    env: Environment,
    model_dir: Path | None,
    code_dir: Path,
    proxy: Proxy,
    reporter: Reporter,
) -> tuple[str, str | None, int]:
    """Start the server, watch it, restart it with backoff; the final (state, reason, exit)."""
    restarts = 0
    backoff = spec.restart.backoff_s
    while True:
        port = free_port()
        group = Group(reporter.line)
        variables = server_env(spec, env, port=port, model_dir=model_dir, base=dict(os.environ))
        pid = group.start(spec.command, code_dir, variables)
        reporter.say(f"server started (pid {pid}, port {port})")
        reporter.update(
            state=STARTING if restarts == 0 else UNHEALTHY,
            server_pid=pid,
            server_port=port,
            restarts=restarts,
        )
        try:
            final, why, was_healthy = _watch(spec, group, port, proxy, reporter)
        finally:
            proxy.backend_port = None
            group.stop(spec.stop_grace_s)
        if final is not None:
            return final
        if was_healthy:
            backoff = spec.restart.backoff_s
        group.wait_output(1.0)
        reporter.say(why)
        if spec.restart.max_restarts is not None and restarts >= spec.restart.max_restarts:
            return FAILED, f"{why}; gave up after {restarts} restarts", EXIT_FAILED
        restarts += 1
        reporter.update(state=UNHEALTHY, reason=why, server_pid=None, restarts=restarts)
        reporter.say(f"restarting in {backoff:g}s (restart {restarts})")
        if reporter.cancel_requested.wait(backoff):
            return STOPPED, reporter.cancel_reason, EXIT_OK
        backoff = min(backoff * 2, spec.restart.max_backoff_s)


def _watch(
    spec: Spec, group: Group, port: int, proxy: Proxy, reporter: Reporter
) -> tuple[tuple[str, str | None, int] | None, str, bool]:
    """Probe one server until the runtime must stop (the final (state, reason, exit status))
    or the server must be restarted (None and why); and whether it was healthy."""
    hc = spec.health
    started = time.monotonic()
    healthy = False
    failures = 0
    while True:
        if reporter.cancel_requested.wait(hc.interval_s) or reporter.check_cancel():
            return (STOPPED, reporter.cancel_reason, EXIT_OK), "", healthy
        reporter.status["connections"] = proxy.connections
        reporter.status["last_request_at"] = proxy.last_request_at
        rc = group.poll()[0]
        if rc is not None:
            how = f"exit status {rc}" if rc >= 0 else f"killed by {signal_name(-rc)}"
            return None, f"the server exited ({how})", healthy
        ok, what = probe(port, hc.path, hc.timeout_s)
        if ok:
            failures = 0
            if not healthy:
                healthy = True
                proxy.touch()  # idle time counts from when it can serve
                proxy.backend_port = port
                reporter.say(f"healthy ({hc.path}: {what})")
                reporter.update(state=HEALTHY, reason=None)
        elif healthy:
            failures += 1
            if failures >= hc.failures:
                return None, f"{failures} health probes failed in a row (last: {what})", healthy
        elif time.monotonic() - started > hc.start_timeout_s:
            return (
                None,
                f"not healthy {hc.start_timeout_s:g}s after its start (last probe: {what})",
                healthy,
            )
        if (
            spec.idle_timeout_s is not None
            and healthy
            and proxy.active == 0
            and time.monotonic() - proxy.last_activity >= spec.idle_timeout_s
        ):
            return (STOPPED, f"idle for {spec.idle_timeout_s:g}s", EXIT_OK), "", healthy
