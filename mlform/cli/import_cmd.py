"""`mlform import`"""

from __future__ import annotations

import click

from mlform.cli.options import ordered_var_args, var_options
from mlform.cli.run_options import parse_duration


@click.command("import")
@click.argument("address")
@click.argument("object_id", metavar="ID")
@click.option(
    "--lock-timeout",
    default="0s",
    show_default=True,
    metavar="DURATION",
    help="How long to wait for a state lock.",
)
@var_options
def command(address: str, object_id: str, lock_timeout: str) -> None:
    """Adopt an existing object into the state at ADDRESS, which the configuration must
    declare. The next plan then compares it with its configuration.

    \b
    Example:
      mlform import dataset.digits sha256:9f3c...
      mlform import 'test_object.a["x"]' 5f2a9c
    """
    from mlform.addrs import AddressError, parse_instance
    from mlform.diagnostics import DiagnosticsError, error
    from mlform.engine.importer import import_resource
    from mlform.engine.operation import Operations

    try:
        addr = parse_instance(address)
    except AddressError as exc:
        raise DiagnosticsError([error("Invalid address", str(exc))]) from None
    ops = Operations()
    loaded = ops.load(ordered_var_args(), interactive=False, allow_missing=True)
    with ops.open_session("import", lock_timeout=parse_duration(lock_timeout)) as sess:
        st = import_resource(ops, loaded, sess, addr, object_id)
        sess.commit({"operation": "import", "summary": f"imported {addr}"})
    click.echo(
        f"{addr}: Import prepared! id={st.id}\n\nImport successful!\n\nThe resource is now managed by mlform; run mlform plan to compare it with its configuration."
    )
