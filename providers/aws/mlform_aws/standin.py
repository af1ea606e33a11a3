"""`mlform-standin aws`: a stand-in AWS on loopback, for tests and for trying a configuration
offline (as LocalStack is used).

    $ mlform-standin aws
    export AWS_ENDPOINT_URL=http://127.0.0.1:40123
    export AWS_ACCESS_KEY_ID=testing
    ...
    # stand-in AWS running; Ctrl-C stops it

It serves moto's emulation of the AWS APIs (S3, STS, EC2, IAM, ...) on a free port of
127.0.0.1, in memory: everything is gone when it stops. One thing is added to moto: writes to
S3 are serialized, so that a conditional write (If-None-Match, If-Match) is checked and made
in one step, as real S3 does it atomically; moto alone checks and then writes, and two racing
clients could both succeed.

The VM emulator (running each EC2 instance's user-data as local processes, so that the runtime
really trains and serves on the stand-in) is not part of this version: EC2 instances exist
only as moto records them. It will start in `StandIn.start`, where `_start_vm_emulator` is.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["StandIn", "main"]

DEFAULT_REGION = "us-east-1"
# What the stand-in accepts as credentials (moto takes any); printed in the export lines.
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}

_WRITES = {"PUT", "POST", "DELETE"}


class _SerializedWrites:
    """WSGI middleware: one write at a time, so that moto checks a condition and writes as
    one step (see the module docstring). Reads run in parallel."""

    def __init__(self, app: Callable[..., Any]):
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        if environ.get("REQUEST_METHOD") not in _WRITES:
            return self.app(environ, start_response)
        with self.lock:
            # Consumed inside the lock: the response is computed when it is iterated.
            return list(self.app(environ, start_response))


class StandIn:
    """The stand-in AWS, in this process: `start()`, `env()` (what a client needs), `stop()`."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0, region: str = DEFAULT_REGION):
        self.host = host
        self.port = port
        self.region = region
        self._server: Any = None
        self._thread: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, quiet: bool = True) -> StandIn:
        import logging

        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        if quiet:
            # Werkzeug logs every request on standard error.
            logging.getLogger("werkzeug").setLevel(logging.ERROR)
        app = _SerializedWrites(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(
            self.host, self.port, app, threaded=True, request_handler=MotoRequestHandler
        )
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="mlform-standin-aws", daemon=True
        )
        self._thread.start()
        self._start_vm_emulator()
        return self

    def _start_vm_emulator(self) -> None:
        """Where the VM emulator will start: it will watch EC2 for running instances and run
        each one's user-data as local processes. Not part of this version."""
        return None

    def env(self) -> dict[str, str]:
        """The environment a client (the AWS CLI, boto3, mlform) needs to use the stand-in."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            **CREDENTIALS,
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            # No instance metadata service on loopback: do not wait for one.
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def __enter__(self) -> StandIn:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def export_lines(env: dict[str, str]) -> Iterable[str]:
    import shlex

    for k, v in env.items():
        yield f"export {k}={shlex.quote(v)}"


HELP = """Start a stand-in AWS on loopback and print the `export` lines that point AWS clients
(mlform, boto3, the AWS CLI) at it; run until stopped (Ctrl-C, SIGTERM).

The stand-in is moto's server, in memory, on a free port of 127.0.0.1 (or --port), with S3's
conditional writes made atomic as on real S3. Use it with `eval "$(mlform-standin aws &)"`, or
copy the lines it prints into another shell.

Not part of this version: the VM emulator (running EC2 instances' user-data as local
processes); EC2 instances exist only as records.
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="mlform-standin",
        description=HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("cloud", choices=["aws"], help="which cloud to stand in for")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (loopback)")
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    parser.add_argument("--region", default=DEFAULT_REGION, help="the region clients use")
    parser.add_argument("--verbose", action="store_true", help="log every request")
    args = parser.parse_args(argv)

    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        standin = StandIn(args.host, args.port, args.region).start(quiet=not args.verbose)
    except OSError as exc:
        print(f"mlform-standin: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    try:
        for line in export_lines(standin.env()):
            print(line)
        print(f"# stand-in AWS running at {standin.endpoint} (pid {os.getpid()}); Ctrl-C stops it")
        sys.stdout.flush()
        while not stop.wait(0.5):
            pass
    finally:
        standin.stop()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
