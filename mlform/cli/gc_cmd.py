"""`mlform gc [--keep-serials N] [--dry-run] [--json]`: remove the stored snapshots, models,
environments, run records and run folders that no kept serial references, in the artifact store of
every provider the state's history names, and say how many bytes that frees."""

from __future__ import annotations

import click

from mlform.cli.common import handle_errors


@click.command("gc")
@click.option(
    "--keep-serials",
    type=click.IntRange(min=1),
    default=None,
    help="Keep what the last N serials of each workspace need (default: every serial).",
)
@click.option("--dry-run", is_flag=True, help="Say what would be removed; remove nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
def command(keep_serials: int | None, dry_run: bool, as_json: bool) -> None:
    """Remove stored snapshots, models, built environments, run records and run folders no kept
    serial needs, in every provider's artifact store.

    Nothing a kept serial references is removed, so `mlform reproduce` of a kept serial still
    finds its inputs. The workspace's state lock is held meanwhile.

    \b
    Examples:
      mlform gc --dry-run
      mlform gc --keep-serials 5
    """
    from mlform.cli.state_cmd import backend_and_workspace
    from mlform.engine.operation import Operations
    from mlform.lineage import gc
    from mlform.state.session import StateSession

    with handle_errors():
        backend, ws = backend_and_workspace()
        ops = Operations()
        data_dir = ops.data_dir.absolute()
        # Holding the lock keeps an apply of this workspace from storing objects meanwhile.
        with StateSession.open(backend, ws, operation="gc", lock=not dry_run):
            plan = gc.collect(
                backend, data_dir, keep_serials, dry_run=dry_run, workdir=ops.workdir.absolute()
            )
        if as_json:
            click.echo(gc.to_json(plan, dry_run))
        else:
            click.echo(gc.render_text(plan, dry_run), nl=False)
