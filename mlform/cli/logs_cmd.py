"""`mlform logs`"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import click


@click.command("logs")
@click.argument("address")
@click.option("--tail", "tail", type=int, default=0, help="Only the last N lines.")
@click.option(
    "-f",
    "--follow",
    is_flag=True,
    help="Keep printing new lines as they are written (Ctrl-C to stop).",
)
def command(address: str, tail: int, follow: bool) -> None:
    """Show the log of a training job's last run or a deployment's server. A kind whose
    work runs long (a job submitted by apply) is asked for its log by its provider, so that
    --follow streams a job running anywhere until it ends.

    \b
    Examples:
      mlform logs training_job.digits
      mlform logs deployment.api --follow
    """
    from mlform.addrs import AddressError, parse_instance
    from mlform.diagnostics import DiagnosticsError, error
    from mlform.engine.operation import Operations
    from mlform.state.session import read_state

    try:
        addr = parse_instance(address)
    except AddressError as exc:
        raise DiagnosticsError([error("Invalid address", str(exc))]) from None
    ops = Operations()
    state = read_state(ops.backend(), ops.workspace)
    rec = state.instance(addr)
    if rec is None:
        raise DiagnosticsError(
            [
                error(
                    "No such resource instance",
                    f"{addr} is not in the state. Run mlform state list to see what is.",
                )
            ]
        )
    if _from_provider(ops, state, addr, tail, follow):
        return
    path = rec.attributes.get("log_path") or (rec.private or {}).get("log_path")
    if not path:
        raise DiagnosticsError(
            [
                error(
                    "No log recorded",
                    f"{addr} has no log: only training jobs and deployments keep one.",
                )
            ]
        )
    p = Path(path)
    if not p.is_file():
        raise DiagnosticsError(
            [error("Log file missing", f"The log of {addr} was at {p}, which no longer exists.")]
        )
    lines = p.read_text(errors="replace").splitlines()
    for line in lines[-tail:] if tail else lines:
        click.echo(line)
    if follow:
        with p.open(errors="replace") as f:
            f.seek(0, 2)
            try:
                while True:
                    line = f.readline()
                    if line:
                        click.echo(line.rstrip("\n"))
                    else:
                        time.sleep(0.3)
            except KeyboardInterrupt:
                return


def _from_provider(ops: Any, state: Any, addr: Any, tail: int, follow: bool) -> bool:
    """Print the log its provider keeps for a long-running object; False when its kind keeps
    none that way (the log file the state records is read instead)."""
    from collections import deque

    from mlform.cli.run_options import echo_err, interrupt_handler
    from mlform.config.loader import config_files

    if not config_files(ops.workdir) or not _long_running(state, addr):
        return False  # no configuration to configure its provider with, or no job
    loaded = ops.load([], interactive=False, allow_missing=True)
    with interrupt_handler(ops.cancel, echo_err):
        lines = ops.job_logs(loaded, state, addr, follow)
        if lines is None:
            return False
        try:
            if tail:
                # The last N lines so far, then (with --follow) every new one.
                head: deque[str] = deque(maxlen=tail)
                if not follow:
                    head.extend(lines)
                    for line in head:
                        click.echo(line)
                    return True
            for line in lines:
                click.echo(line)
        except KeyboardInterrupt:
            pass
    return True


def _long_running(state: Any, addr: Any) -> bool:
    """Whether the instance's kind is long-running (asked of the provider's class, before
    configuring anything)."""
    from mlform.sdk.plugins import PluginError, load_provider

    res = state.resource(addr.abs_resource)
    if res is None or '"' not in res.provider:
        return False
    try:
        cls = load_provider(res.provider.split('"')[1])
    except PluginError:
        return False
    kind = cls.kinds.get(addr.resource.type)
    return bool(getattr(kind, "long_running", False))
