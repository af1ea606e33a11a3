"""`mlform force-unlock LOCK_ID [--force]`: remove a lock whose holder is gone.

Only the holder's own ID unlocks (a wrong one is an error that shows the holder), and the user
confirms with `yes` unless `--force`. Without a terminal to ask on (`MLFORM_IN_AUTOMATION`, or
input that is not a terminal) it refuses rather than guessing.
"""

from __future__ import annotations

import click

from mlform.cli.common import CommandFailed, handle_errors
from mlform.diagnostics import DiagnosticsError, error


@click.command("force-unlock")
@click.argument("lock_id", metavar="LOCK_ID")
@click.option("--force", is_flag=True, help="Do not ask for confirmation.")
def command(lock_id: str, force: bool) -> None:
    """Release a stale state lock of the selected workspace.

    Use it only when the run that holds the lock is gone (killed, or its machine crashed):
    removing the lock of a live run lets a second run change the same state. LOCK_ID is the
    ID that the error of a blocked run prints.

    \b
    Example:
      mlform force-unlock 0b7a5c2e-1f4d-4b8e-9a51-3c6d2f0e8b17
    """
    from mlform.cli.run_options import stdin_interactive
    from mlform.engine.operation import Operations

    with handle_errors():
        ops = Operations()
        backend = ops.backend()
        ws = ops.workspace
        info = backend.lock_info(ws)
        if info is None or info.id != lock_id:
            # The backend's own refusal says whether there is no lock or whose it is.
            backend.force_unlock(ws, lock_id)
            return
        if not force:
            if not stdin_interactive():
                raise DiagnosticsError(
                    [
                        error(
                            "Cannot ask for confirmation to force-unlock",
                            "mlform is running without a terminal to ask on (input is not a "
                            "terminal, or MLFORM_IN_AUTOMATION is set). If you are sure the "
                            f"holder is gone, run `mlform force-unlock --force {lock_id}`.",
                        )
                    ]
                )
            alive = info.holder_alive()
            note = (
                f"\n  Warning: the holding process (PID {info.pid}) is still running on this "
                "host.\n"
                if alive
                else ""
            )
            click.echo(
                "Do you really want to force-unlock?\n"
                f"  mlform will remove the lock on {backend.describe(ws)}.\n"
                "  This will allow local mlform commands to modify this state, even though it\n"
                "  may still be in use. Only 'yes' will be accepted to confirm.\n\n"
                + "\n".join("  " + line for line in info.describe().splitlines())
                + "\n"
                + note,
                err=True,
            )
            answer = click.prompt(
                "  Enter a value", default="", show_default=False, err=True
            ).strip()
            if answer != "yes":
                click.echo("force-unlock cancelled.", err=True)
                raise CommandFailed(1)
        backend.force_unlock(ws, lock_id)
        click.echo(
            "mlform state has been successfully unlocked!\n\n"
            "The state has been unlocked, and mlform commands should now be able to obtain a "
            "new lock on it."
        )
