"""`mlform taint ADDR` and `mlform untaint ADDR`: mark an instance for replacement, or clear it.

Each is a state edit: it takes the lock and writes a new serial ("taint" / "untaint" in the
history). The object itself is untouched until the next apply replaces it. `apply --replace ADDR`
does the same in one step without the edit.
"""

from __future__ import annotations

import click

from mlform.cli.common import handle_errors, print_diagnostics
from mlform.cli.state_cmd import (
    backend_and_workspace,
    current_state,
    lock_options,
    lock_timeout_seconds,
    parse_address,
)
from mlform.diagnostics import warning
from mlform.state.errors import StateError
from mlform.state.model import TAINTED, State


def _instance_text(address: str) -> str:
    from mlform.addrs import AbsResource, ModuleInstance

    target = parse_address(address)
    if isinstance(target, ModuleInstance):
        raise StateError(
            f"{target} is a module", "Name one resource instance, such as dataset.raw[0]."
        )
    if isinstance(target, AbsResource):
        target = target.instance(None)
    return str(target)


def _missing(state: State | None, addr: str) -> bool:
    return state is None or state.instance(addr) is None


@click.command("taint")
@click.argument("address", metavar="ADDR")
@click.option(
    "--allow-missing",
    is_flag=True,
    help="Succeed (with a warning) when the instance is not in state.",
)
@lock_options
def command(address: str, allow_missing: bool, use_lock: bool, lock_timeout: str) -> None:
    """Mark an instance as tainted: the next apply replaces it.

    \b
    Examples:
      mlform taint training_job.digits
      mlform taint 'deployment.api["eu"]'
    """
    from mlform.state.edit import commit_edit, taint

    with handle_errors():
        addr = _instance_text(address)
        timeout = lock_timeout_seconds(lock_timeout)
        backend, ws = backend_and_workspace()
        if allow_missing and _missing(current_state(backend, ws), addr):
            print_diagnostics(
                [
                    warning(
                        "No such resource instance",
                        f"{addr} is not in state, so there is nothing to taint (--allow-missing).",
                    )
                ]
            )
            return
        commit_edit(
            backend,
            ws,
            "taint",
            lambda s: taint(s, addr),
            lock_timeout=timeout,
            summary=f"tainted {addr}",
            lock=use_lock,
        )
        click.echo(f"Resource instance {addr} has been marked as tainted.")


@click.command("untaint")
@click.argument("address", metavar="ADDR")
@click.option(
    "--allow-missing",
    is_flag=True,
    help="Succeed (with a warning) when the instance is not in state.",
)
@lock_options
def untaint(address: str, allow_missing: bool, use_lock: bool, lock_timeout: str) -> None:
    """Clear the taint mark of an instance, so the next apply keeps it.

    \b
    Example:
      mlform untaint training_job.digits
    """
    from mlform.state import edit

    with handle_errors():
        addr = _instance_text(address)
        timeout = lock_timeout_seconds(lock_timeout)
        backend, ws = backend_and_workspace()
        if allow_missing and _missing(current_state(backend, ws), addr):
            print_diagnostics(
                [
                    warning(
                        "No such resource instance",
                        f"{addr} is not in state, so there is nothing to untaint "
                        "(--allow-missing).",
                    )
                ]
            )
            return

        def clear(state: State) -> State:
            inst = state.instance(addr)
            if inst is not None and inst.status != TAINTED:
                raise StateError(
                    "Resource instance is not tainted",
                    f"{addr} is not currently tainted, so it cannot be untainted.",
                )
            return edit.untaint(state, addr)

        edit.commit_edit(
            backend,
            ws,
            "untaint",
            clear,
            lock_timeout=timeout,
            summary=f"untainted {addr}",
            lock=use_lock,
        )
        click.echo(f"Resource instance {addr} has been successfully untainted.")
