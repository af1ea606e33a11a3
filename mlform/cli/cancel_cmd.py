"""`mlform cancel ADDR`: stop a job that is still running (pending) and record it failed."""

from __future__ import annotations

import click

from mlform.cli.state_cmd import lock_options, lock_timeout_seconds


@click.command("cancel")
@click.argument("address", metavar="ADDR")
@lock_options
def command(address: str, use_lock: bool, lock_timeout: str) -> None:
    """Stop a job submitted by an earlier apply (apply --detach, or a Ctrl-C while it waited)
    and record it as failed (tainted): the next apply runs it again. Takes the state lock.

    \b
    Examples:
      mlform cancel training_job.digits
      mlform cancel 'training_job.sweep["lr-0.1"]'
    """
    from mlform.addrs import AddressError, parse_instance
    from mlform.diagnostics import DiagnosticsError, error
    from mlform.engine.operation import Operations

    try:
        addr = parse_instance(address)
    except AddressError as exc:
        raise DiagnosticsError([error("Invalid address", str(exc))]) from None
    ops = Operations()
    loaded = ops.load([], interactive=False, allow_missing=True)
    with ops.open_session(
        "cancel", lock=use_lock, lock_timeout=lock_timeout_seconds(lock_timeout)
    ) as sess:
        ops.cancel_job(loaded, sess, addr)
        sess.commit({"operation": "cancel", "summary": f"cancelled {addr}"})
    click.echo(f"\nCancelled {addr}: recorded as failed (tainted); the next apply runs it again.")
