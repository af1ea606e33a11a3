"""`mlform logs`"""

from __future__ import annotations

import time
from pathlib import Path

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
    """Show the log of a training job's last run or a deployment's server.

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
