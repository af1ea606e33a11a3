"""`mlform init`"""

from __future__ import annotations

from pathlib import Path

import click

from mlform.cli.common import CommandFailed, print_diagnostics, use_color


@click.command("init")
@click.option(
    "--upgrade",
    is_flag=True,
    help="Fetch modules again and record the installed provider versions anew.",
)
@click.option(
    "--backend",
    "use_backend",
    type=bool,
    default=True,
    metavar="BOOL",
    help="Prepare the backend (--backend=false skips).",
)
@click.option("--no-color", is_flag=True, help="Print without colors.")
def command(upgrade: bool, use_backend: bool, no_color: bool) -> None:
    """Prepare this folder: fetch modules from git into .mlform/modules, check that every
    provider the configuration uses is installed in a matching version, write
    .mlform.lock.hcl, and prepare the state backend.

    \b
    Example:
      mlform init
      mlform init --upgrade
    """
    from mlform.config.loader import load_config
    from mlform.engine.init import (
        LOCK_FILE,
        check_providers,
        install_modules,
        lock_mismatch,
        read_lock,
        write_lock,
    )

    color = use_color(no_color)
    workdir = Path(".")
    click.echo("Initializing modules...")
    diags = install_modules(workdir, upgrade=upgrade, log=lambda line: click.echo(line))
    if any(d.is_error for d in diags):
        print_diagnostics(diags, color=color)
        raise CommandFailed(1)
    root, ldiags = load_config(workdir)
    if any(d.is_error for d in ldiags):
        print_diagnostics(ldiags, color=color)
        raise CommandFailed(1)
    click.echo("\nChecking providers...")
    locked, pdiags = check_providers(root)
    if any(d.is_error for d in pdiags):
        print_diagnostics(pdiags, color=color)
        raise CommandFailed(1)
    previous = read_lock(workdir) or {}
    for p in locked:
        before = previous.get(p.name)
        note = "" if before is None or before.version == p.version else f" (was {before.version})"
        click.echo(f"- {p.name}: {p.distribution} {p.version}{note}")
    if previous and not upgrade:
        # As plan does: a provider whose version or files changed since the lock was written
        # is refused, so that an unnoticed reinstall never becomes the recorded truth.
        refused = [
            lock_mismatch(previous[p.name], p.version, p.distribution, lambda p=p: p.hash)
            for p in locked
            if p.name in previous
        ]
        refused_diags = [d for d in refused if d is not None]
        if refused_diags:
            print_diagnostics(refused_diags, color=color)
            raise CommandFailed(1)
    write_lock(workdir, locked)
    click.echo(f"\nWrote {LOCK_FILE}.")
    if use_backend:
        from mlform.engine.operation import Operations

        ops = Operations(workdir)
        backend = ops.backend()
        backend.require_workspace(ops.workspace) if ops.workspace == "default" else None
        click.echo(f"\nBackend: {backend.describe(ops.workspace)}")
    click.echo(
        "\nmlform has been successfully initialized! Run mlform plan to see what would change."
    )
