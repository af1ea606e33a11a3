"""`mlform plan`"""

from __future__ import annotations

from typing import Any

import click

from mlform.cli.run_options import plan_options


@click.command("plan")
@plan_options
@click.option("--out", metavar="FILE", help="Save the plan to FILE, to apply exactly it later.")
@click.option(
    "--json", "as_json", is_flag=True, help="Print the plan as JSON (Terraform's JSON plan shape)."
)
@click.option(
    "--detailed-exitcode", is_flag=True, help="Exit 0 with no changes, 1 on error, 2 with changes."
)
@click.option("--destroy", is_flag=True, help="Plan to destroy everything the state records.")
@click.option("--refresh-only", is_flag=True, help="Only show what changed outside of mlform.")
def command(
    out: str | None,
    as_json: bool,
    detailed_exitcode: bool,
    destroy: bool,
    refresh_only: bool,
    **kw: Any,
) -> None:
    """Show what apply would change, and why: which training runs will execute and which are
    up to date, which deployments move to a new model.

    \b
    Examples:
      mlform plan
      mlform plan --var seed=7 --out next.mlplan
      mlform plan --target training_job.digits --detailed-exitcode
    """
    from mlform.cli.flows import run_plan

    if destroy and refresh_only:
        raise click.UsageError("--destroy and --refresh-only cannot be used together.")
    mode = "destroy" if destroy else "refresh_only" if refresh_only else "normal"
    run_plan(mode, kw, out=out, as_json=as_json, detailed=detailed_exitcode)
