"""`mlform destroy`"""

from __future__ import annotations

from typing import Any

import click

from mlform.cli.run_options import plan_options


@click.command("destroy")
@plan_options
@click.option("--auto-approve", is_flag=True, help="Destroy without asking for confirmation.")
def command(auto_approve: bool, **kw: Any) -> None:
    """Destroy everything the state records: stop deployments, forget training runs and
    snapshots (the content store keeps what history needs; see mlform gc).

    \b
    Example:
      mlform destroy --auto-approve
    """
    from mlform.cli.flows import run_apply

    run_apply("destroy", kw, plan_file=None, auto_approve=auto_approve)
