"""`mlform diff SERIAL_A SERIAL_B [ADDR] [--json]`: what changed between two serials, in inputs
(data digests, packages, params, seed, code commit, driver, CUDA) and outputs (model digest,
metrics with deltas)."""

from __future__ import annotations

import json

import click

from mlform.cli.common import handle_errors


@click.command("diff")
@click.argument("serial_a", type=int)
@click.argument("serial_b", type=int)
@click.argument("address", required=False, metavar="[ADDR]")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
def command(serial_a: int, serial_b: int, address: str | None, as_json: bool) -> None:
    """Compare two state serials: inputs and outputs of every instance (or of ADDR).

    \b
    Examples:
      mlform diff 1 3
      mlform diff 1 3 training_job.digits --json
    """
    from mlform.cli.state_cmd import backend_and_workspace
    from mlform.lineage import diff as d
    from mlform.lineage import fail
    from mlform.lineage.query import LineageError, load_serial

    with handle_errors():
        backend, ws = backend_and_workspace()
        try:
            a = load_serial(backend, ws, serial_a)
            b = load_serial(backend, ws, serial_b)
        except LineageError as exc:
            fail(exc.summary, exc.detail)
        diffs = d.diff_states(a, b, address)
        if address is not None and not diffs:
            fail(
                f"{address} is in neither serial {serial_a} nor serial {serial_b}",
                "Check the address with `mlform history ADDR`.",
            )
        if as_json:
            click.echo(json.dumps(d.to_json(serial_a, serial_b, diffs), default=str, indent=2))
        else:
            click.echo(d.render_text(serial_a, serial_b, diffs), nl=False)
