"""`mlform reproduce ADDR [--serial N]`: re-run a recorded training job with exactly its recorded
inputs in a scratch area, and say whether the new model equals the recorded one."""

from __future__ import annotations

import json

import click

from mlform.cli.common import CommandFailed, handle_errors


@click.command("reproduce")
@click.argument("address", metavar="ADDR")
@click.option("--serial", type=int, default=None, help="The serial whose record to re-run.")
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as a JSON object.")
@click.option("--keep", is_flag=True, help="Keep the scratch folder even when the run matches.")
def command(address: str, serial: int | None, as_json: bool, keep: bool) -> None:
    """Re-run the training job ADDR (or the job behind a deployment) with its recorded data,
    environment lock, code, params, seed and command, and compare the new model's digest and
    metrics with the record. The state and the working directory are not changed.

    Exit status: 0 when the new model matches, 1 when it differs or cannot be run.

    \b
    Examples:
      mlform reproduce training_job.digits --serial 1
      mlform reproduce deployment.api
    """
    from mlform.cli.state_cmd import backend_and_workspace
    from mlform.engine.operation import Operations
    from mlform.lineage import fail
    from mlform.lineage import reproduce as r
    from mlform.lineage.query import LineageError, load_serial

    with handle_errors():
        backend, ws = backend_and_workspace()
        try:
            state = load_serial(backend, ws, serial)
            ops = Operations()
            rec = r.recorded_job(
                state, address, ops.data_dir.absolute(), workdir=ops.workdir.absolute()
            )
        except (LineageError, r.ReproduceError) as exc:
            fail(exc.summary, exc.detail)
        missing = r.check_inputs(rec)
        if missing:
            fail(
                f"Cannot reproduce {rec.address} from serial {rec.serial}: "
                f"{len(missing)} input{'s are' if len(missing) > 1 else ' is'} no longer available",
                "\n".join(f"- {m}" for m in missing) + "\n\nNothing was run.",
            )
        log = (lambda line: click.echo(line, err=True)) if as_json else click.echo
        try:
            outcome = r.reproduce(rec, log=log, keep=keep)
        except r.ReproduceError as exc:
            fail(f"Reproducing {rec.address} failed: {exc.summary}", exc.detail)
        if as_json:
            click.echo(json.dumps(outcome.to_json(), default=str, indent=2))
        else:
            click.echo("")
            click.echo(r.render_text(outcome), nl=False)
        if not outcome.match:
            raise CommandFailed(1)
