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
@click.option(
    "--detach",
    is_flag=True,
    help="Submit long-running jobs (training) and do not wait for them: they keep running, "
    "what depends on them waits, and the next mlform apply collects them.",
)
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
      mlform apply --auto-approve --detach     # submit training, return at once
    """
    from mlform.cli.flows import run_apply

    if plan_file is not None:
        _refuse_planning_options(destroy, refresh_only, kw)
    mode = "destroy" if destroy else "refresh_only" if refresh_only else "normal"
    run_apply(mode, kw, plan_file=plan_file, auto_approve=auto_approve or plan_file is not None)


def _refuse_planning_options(destroy: bool, refresh_only: bool, kw: dict[str, Any]) -> None:
    """A saved plan already fixed its variables, targets and mode: an option that would change
    them is refused, as Terraform does, rather than silently ignored."""
    from mlform.cli.options import ordered_var_args
    from mlform.diagnostics import DiagnosticsError, error

    if ordered_var_args():
        raise DiagnosticsError(
            [
                error(
                    "Can't set variables when applying a saved plan",
                    "The --var and --var-file options cannot be used when applying a saved plan "
                    "file, because a saved plan includes the variable values that were set when "
                    "it was created. Make a new plan with them: mlform plan --var ... --out FILE.",
                )
            ]
        )
    given = [
        flag
        for flag, on in (
            ("--target", kw.get("targets")),
            ("--exclude", kw.get("excludes")),
            ("--replace", kw.get("replace")),
            ("--destroy", destroy),
            ("--refresh-only", refresh_only),
        )
        if on
    ]
    if given:
        raise DiagnosticsError(
            [
                error(
                    f"{given[0]} cannot be used with a saved plan",
                    f"A saved plan already says what to change; {', '.join(given)} would not "
                    "apply to it. Give the option to mlform plan --out FILE instead, then apply "
                    "that plan.",
                )
            ]
        )
