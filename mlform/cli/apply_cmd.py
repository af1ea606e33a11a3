"""`mlform apply`"""

from __future__ import annotations

from typing import Any

import click

from mlform.cli.run_options import plan_options


@click.command("apply")
@plan_options
@click.argument("plan_file", required=False, metavar="[PLANFILE]")
@click.option("--auto-approve", is_flag=True, help="Apply without asking for confirmation.")
@click.option(
    "--destroy", is_flag=True, help="Destroy everything instead (same as mlform destroy)."
)
@click.option("--refresh-only", is_flag=True, help="Only record what changed outside of mlform.")
def command(
    plan_file: str | None, auto_approve: bool, destroy: bool, refresh_only: bool, **kw: Any
) -> None:
    """Make everything match the configuration: snapshot data, build environments, train,
    deploy. Shows the plan and asks for `yes` first unless given a saved plan or --auto-approve.

    \b
    Examples:
      mlform apply
      mlform apply --auto-approve --var seed=7
      mlform plan --out next.mlplan && mlform apply next.mlplan
    """
    from mlform.cli.flows import run_apply

    mode = "destroy" if destroy else "refresh_only" if refresh_only else "normal"
    run_apply(mode, kw, plan_file=plan_file, auto_approve=auto_approve or plan_file is not None)
