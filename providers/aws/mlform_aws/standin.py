"""`mlform-standin aws`: a stand-in AWS on loopback, for tests and for trying a configuration
offline (as LocalStack is used).

    $ mlform-standin aws
    export AWS_ENDPOINT_URL=http://127.0.0.1:40123
    export AWS_ACCESS_KEY_ID=testing
    ...
    # stand-in AWS running; Ctrl-C stops it

It serves moto's emulation of the AWS APIs (S3, STS, EC2, IAM, ...) on a free port of
127.0.0.1, in memory: everything is gone when it stops. Added to moto:

- writes to S3 are serialized, so that a conditional write (If-None-Match, If-Match) is checked
  and made in one step, as real S3 does it atomically; moto alone checks and then writes, and
  two racing clients could both succeed;
- the VM emulator (`mlform_aws.vmemu`): each running EC2 instance's user-data runs as local
  processes, on a loopback address of its own, with an instance metadata service
  (`mlform_aws.imds`), so that the runtime really trains and serves on the stand-in; its
  console log is the instance's GetConsoleOutput;
- fault injection (`mlform_aws.standin_ec2`): capacity errors on RunInstances and spot
  interruptions, through this class (`capacity_error`, `interrupt_spot`) or the admin endpoint
  under `/_mlform/` of the stand-in's address.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlform_aws.standin_ec2 import CapacityRule, Ec2Front, Faults

if TYPE_CHECKING:
    from mlform_aws.vmemu import VmEmulator

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
    """The stand-in AWS, in this process: `start()`, `env()` (what a client needs), `stop()`.

    With `vms` (the default) the VM emulator runs EC2 instances' user-data; their disks and
    console logs are under `state_dir` (by default a temporary folder, removed by `stop()`).
    Faults for tests: `capacity_error(...)`, `clear_faults()`, `interrupt_spot(...)`.
    """

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        region: str = DEFAULT_REGION,
        vms: bool = True,
        state_dir: str | Path | None = None,
    ):
        self.host = host
        self.port = port
        self.region = region
        self.want_vms = vms
        self.state_dir = Path(state_dir) if state_dir is not None else None
        self._own_state_dir = False
        self.faults = Faults()
        self.vms: VmEmulator | None = None
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
        app = Ec2Front(
            _SerializedWrites(DomainDispatcherApplication(create_backend_app)),
            self.faults,
            lambda: self.vms,
        )
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
        """The VM emulator: it watches EC2 for running instances and runs each one's user-data
        as local processes (`mlform_aws.vmemu`)."""
        if not self.want_vms:
            return
        from mlform_aws.vmemu import VmEmulator

        if self.state_dir is None:
            self.state_dir = Path(tempfile.mkdtemp(prefix="mlform-standin-"))
            self._own_state_dir = True
        self.vms = VmEmulator(self.endpoint, self.region, CREDENTIALS, self.state_dir).start()

    def capacity_error(
        self,
        instance_types: Iterable[str] | None = None,
        zones: Iterable[str] | None = None,
        market: str | None = None,
        code: str = "InsufficientInstanceCapacity",
        times: int | None = None,
    ) -> CapacityRule:
        """Refuse RunInstances of these instance types in these zones (None: any), spot or
        on-demand (None: both), with `code`, `times` times (None: until `clear_faults`)."""
        return self.faults.add(
            CapacityRule(
                instance_types=list(instance_types) if instance_types is not None else None,
                zones=list(zones) if zones is not None else None,
                market=market,
                code=code,
                times=times,
            )
        )

    def clear_faults(self) -> None:
        self.faults.clear()

    def interrupt_spot(
        self, instance_id: str, after: float = 120.0, action: str = "terminate"
    ) -> dict[str, str]:
        """A spot interruption of a running instance: IMDS's spot/instance-action answers
        {"action", "time"} now, and the instance is terminated (or stopped) `after` seconds
        later."""
        if self.vms is None:
            raise RuntimeError("the VM emulator is not running (StandIn(vms=False))")
        return self.vms.interrupt_spot(instance_id, after=after, action=action)

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
        if self.vms is not None:
            self.vms.stop()
            self.vms = None
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        if self._own_state_dir and self.state_dir is not None:
            shutil.rmtree(self.state_dir, ignore_errors=True)
            self.state_dir = None
            self._own_state_dir = False

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

The VM emulator (unless --no-vms) runs each running EC2 instance's user-data as local
processes: each instance on a loopback address of its own (127.77.x.y, in
MLFORM_STANDIN_PRIVATE_IP), with an instance metadata service, its disk and console log
under --state-dir (by default a temporary folder, removed on exit); GetConsoleOutput answers
the log. Stopping or terminating an instance ends its processes.

Faults for tests, through the admin endpoint at $AWS_ENDPOINT_URL/_mlform/:
  curl -X POST $AWS_ENDPOINT_URL/_mlform/capacity-errors \
       -d '{"instance_types": ["p4d.24xlarge"], "zones": ["us-east-1a"]}'
  curl -X POST $AWS_ENDPOINT_URL/_mlform/spot-interruptions \
       -d '{"instance_id": "i-...", "after": 120}'
  curl $AWS_ENDPOINT_URL/_mlform/instances
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
    parser.add_argument(
        "--no-vms",
        dest="vms",
        action="store_false",
        help="do not run EC2 instances' user-data (instances are only records)",
    )
    parser.add_argument(
        "--state-dir",
        default=None,
        help="where instances' disks and console logs go (default: a temporary folder)",
    )
    args = parser.parse_args(argv)

    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        standin = StandIn(
            args.host, args.port, args.region, vms=args.vms, state_dir=args.state_dir
        ).start(quiet=not args.verbose)
    except OSError as exc:
        print(f"mlform-standin: cannot listen on {args.host}:{args.port}: {exc}", file=sys.stderr)
        return 1
    try:
        for line in export_lines(standin.env()):
            print(line)
        if standin.state_dir is not None:
            print(f"# VM emulator: instances' disks and console logs under {standin.state_dir}")
        print(f"# stand-in AWS running at {standin.endpoint} (pid {os.getpid()}); Ctrl-C stops it")
        sys.stdout.flush()
        while not stop.wait(0.5):
            pass
    finally:
        standin.stop()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
