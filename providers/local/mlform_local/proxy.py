"""The stable endpoint of a local deployment: a small TCP reverse proxy (standard library only).

A deployment's endpoint must not move when a new revision starts on new ports, so the endpoint
port belongs to this proxy, and the proxy forwards each incoming connection to one of the current
revision's backends, round robin. The backends are listed in a small JSON file
(`{"revision": 3, "backends": ["127.0.0.1:40123", ...]}`) that the deployment rewrites atomically
when it switches revisions; the proxy re-reads it whenever it is replaced, so a
switch costs no restart and drops no connection. A backend that refuses a connection is skipped
for the next one.

It runs as its own detached process: `python proxy.py --port 8080 --targets FILE`; the
deployment kind starts it with `start_command()`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
from pathlib import Path

__all__ = ["read_targets", "start_command", "write_targets"]


def start_command(port: int, targets: Path) -> list[str]:
    """The argv that runs the proxy for `port` with the targets file `targets`. `-I`: isolated,
    so that no user site or PYTHONPATH can break it."""
    return [
        sys.executable,
        "-I",
        str(Path(__file__).resolve()),
        "--port",
        str(port),
        "--targets",
        str(targets),
    ]


def write_targets(path: Path, revision: int, backends: list[str]) -> None:
    """Atomically replace the proxy's targets file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"revision": revision, "backends": backends}))
    os.replace(tmp, path)


def read_targets(path: Path) -> tuple[int, list[str]]:
    data = json.loads(path.read_text())
    return int(data.get("revision", 0)), [str(b) for b in data.get("backends", [])]


class _Targets:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.key: tuple[int, int, int] | None = None
        self.backends: list[tuple[str, int]] = []
        self.next = 0

    def current(self) -> list[tuple[str, int]]:
        try:
            st = os.stat(self.path)
        except OSError:
            return self.backends
        # write_targets replaces the file, so a new inode marks a new list even within one
        # mtime tick.
        key = (st.st_ino, st.st_mtime_ns, st.st_size)
        if key != self.key:
            try:
                _, backends = read_targets(self.path)
            except (OSError, ValueError):
                return self.backends  # mid-write or broken: keep the last good list
            self.key = key
            parsed = []
            for b in backends:
                host, _, port = b.rpartition(":")
                parsed.append((host or "127.0.0.1", int(port)))
            self.backends = parsed
            print(f"proxy: backends {backends}", flush=True)
        return self.backends

    def order(self) -> list[tuple[str, int]]:
        backends = self.current()
        if not backends:
            return []
        start = self.next % len(backends)
        self.next += 1
        return backends[start:] + backends[:start]


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        try:
            if writer.can_write_eof():
                writer.write_eof()
        except (OSError, RuntimeError):
            pass


async def _handle(
    targets: _Targets, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter
) -> None:
    backend = None
    for host, port in targets.order():
        try:
            backend = await asyncio.wait_for(asyncio.open_connection(host, port), timeout=5)
            break
        except (TimeoutError, OSError):
            continue
    if backend is None:
        client_w.write(
            b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 19\r\nConnection: close\r\n\r\n"
            b"no healthy backend\n"
        )
        try:
            await client_w.drain()
        finally:
            client_w.close()
        return
    backend_r, backend_w = backend
    try:
        await asyncio.gather(_pipe(client_r, backend_w), _pipe(backend_r, client_w))
    finally:
        for w in (backend_w, client_w):
            try:
                w.close()
            except OSError:
                pass


async def _serve(port: int, targets_path: Path) -> None:
    targets = _Targets(targets_path)
    targets.current()
    server = await asyncio.start_server(
        lambda r, w: _handle(targets, r, w), "127.0.0.1", port, reuse_address=True
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    print(f"proxy: listening on 127.0.0.1:{port}", flush=True)
    async with server:
        await stop.wait()
    print("proxy: stopped", flush=True)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="mlform local deployment endpoint proxy")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--targets", type=Path, required=True)
    opts = ap.parse_args(argv)
    asyncio.run(_serve(opts.port, opts.targets))


if __name__ == "__main__":
    main()
