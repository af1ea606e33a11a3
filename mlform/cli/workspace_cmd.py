"""`mlform workspace list|new|select|delete|show`: separate states for one configuration.

The backend knows which workspaces exist; this working folder remembers which one is selected
(`.mlform/workspace`), and `MLFORM_WORKSPACE` overrides that choice, as `TF_WORKSPACE` does for
Terraform: while it is set, `select` refuses to change a selection it would not honour.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import click

from mlform.cli.common import handle_errors, print_diagnostics
from mlform.diagnostics import DiagnosticsError, error, warning
from mlform.state.workspace import ENV_VAR

if TYPE_CHECKING:
    from mlform.state.backends import Backend


def _backend_and_current() -> tuple[Backend, str]:
    from mlform.engine.operation import Operations

    ops = Operations()
    return ops.backend(), ops.workspace


def _overridden() -> bool:
    return bool(os.environ.get(ENV_VAR))


def _validate(name: str) -> str:
    from mlform.state.backends import validate_workspace_name

    return validate_workspace_name(name)


@click.group("workspace")
def command() -> None:
    """Manage workspaces: separate states for the same configuration.

    \b
    Examples:
      mlform workspace new dev
      mlform workspace list
      mlform workspace select default
      MLFORM_WORKSPACE=dev mlform plan
    """


@command.command("list")
def list_cmd() -> None:
    """List the workspaces; the selected one is marked with `*`.

    \b
    Example:
      mlform workspace list
    """
    with handle_errors():
        backend, current = _backend_and_current()
        names = backend.workspaces()
        lines = [f"{'*' if n == current else ' '} {n}" for n in names]
        click.echo("\n".join(lines) + "\n")
        if _overridden():
            click.echo(
                f"The selected workspace is set by the {ENV_VAR} environment variable.", err=True
            )


@command.command("show")
def show_cmd() -> None:
    """Print the name of the selected workspace.

    \b
    Example:
      mlform workspace show
    """
    with handle_errors():
        from mlform.state.workspace import current_workspace

        click.echo(current_workspace("."))


@command.command("new")
@click.argument("name")
def new_cmd(name: str) -> None:
    """Create a workspace and select it. Its state starts empty.

    \b
    Example:
      mlform workspace new dev
    """
    from mlform.state.workspace import select_workspace

    with handle_errors():
        _validate(name)
        backend, _ = _backend_and_current()
        backend.create_workspace(name)
        if _overridden():
            click.echo(f'Created workspace "{name}".')
            print_diagnostics(
                [
                    warning(
                        "The new workspace is not selected",
                        f"{ENV_VAR} is set to {os.environ[ENV_VAR]!r}, which overrides the "
                        f"selection. Unset it, or set it to {name!r}, to work in {name!r}.",
                    )
                ]
            )
            return
        select_workspace(".", name)
        click.echo(
            f'Created and switched to workspace "{name}"!\n\n'
            "You're now on a new, empty workspace. Workspaces isolate their state, so if you "
            'run "mlform plan" mlform will not see any existing state for this configuration.'
        )


@command.command("select")
@click.argument("name")
@click.option("--or-create", is_flag=True, help="Create the workspace if it does not exist.")
def select_cmd(name: str, or_create: bool) -> None:
    """Select a workspace for this working folder.

    \b
    Examples:
      mlform workspace select dev
      mlform workspace select --or-create "feature-$BRANCH"
    """
    from mlform.diagnostics import suggestion
    from mlform.state.workspace import select_workspace

    with handle_errors():
        _validate(name)
        if _overridden():
            raise DiagnosticsError(
                [
                    error(
                        f"The selected workspace is set by ${ENV_VAR}",
                        f"{ENV_VAR} is {os.environ[ENV_VAR]!r}, which overrides any selection. "
                        "Change or unset that variable instead.",
                    )
                ]
            )
        from mlform.engine.operation import Operations

        # Not the current selection: it may be the unreadable one that select is here to fix.
        backend = Operations(workspace=name).backend()
        names = backend.workspaces()
        if name not in names:
            if not or_create:
                raise DiagnosticsError(
                    [
                        error(
                            f'Workspace "{name}" doesn\'t exist',
                            f"Create it with `mlform workspace new {name}`, or pass --or-create."
                            + suggestion(name, names),
                        )
                    ]
                )
            backend.create_workspace(name)
        select_workspace(".", name)
        click.echo(f'Switched to workspace "{name}".')


@command.command("delete")
@click.argument("name")
@click.option(
    "--force",
    is_flag=True,
    help="Delete even when the workspace still manages objects (they are forgotten, not destroyed).",
)
def delete_cmd(name: str, force: bool) -> None:
    """Delete a workspace and its state.

    Refused while it still manages objects (destroy them first) unless --force, which forgets
    them without destroying them. The default workspace and the selected one cannot be deleted.

    \b
    Examples:
      mlform workspace delete dev
      mlform workspace delete --force scratch
    """
    with handle_errors():
        _validate(name)
        backend, current = _backend_and_current()
        if name == current and name != "default":
            raise DiagnosticsError(
                [
                    error(
                        f'Workspace "{name}" is your active workspace',
                        "You cannot delete the selected workspace. Select another one "
                        "(`mlform workspace select default`) and try again.",
                    )
                ]
            )
        state = None
        if name in backend.workspaces():
            state = backend.read(name)
        backend.delete_workspace(name, force=force)
        click.echo(f'Deleted workspace "{name}"!')
        if state is not None and len(state) > 0:
            print_diagnostics(
                [
                    warning(
                        f'Workspace "{name}" was not empty',
                        f"It managed {len(state)} object(s). They may still exist, but mlform "
                        "no longer manages them since their state was deleted.",
                    )
                ]
            )
