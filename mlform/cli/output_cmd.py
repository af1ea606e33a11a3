"""`mlform output [NAME] [--json|--raw]`: the root module's outputs from the state.

Behaves as `terraform output`: every output as `name = value` in HCL form (sensitive ones as
`<sensitive>`); one output's value alone when NAME is given (even a sensitive one, since the user
asked for it by name); `--json` the metadata object (`sensitive`, `type`, `value`) of every
output or the bare JSON value of one; `--raw` a string, number or bool exactly, with no newline,
for shell scripts.
"""

from __future__ import annotations

import click

from mlform.cli.common import handle_errors, print_diagnostics
from mlform.diagnostics import DiagnosticsError, error, warning
from mlform.state.model import OutputRecord

NO_OUTPUTS = warning(
    "No outputs found",
    "The state has no outputs. Declare one in the configuration with an `output` block and "
    "run `mlform apply` for it to be recorded. If the output's value comes from other objects, "
    "check with `mlform console` that it is not empty.",
)


def missing_output(name: str, names: list[str]) -> DiagnosticsError:
    from mlform.diagnostics import suggestion

    return DiagnosticsError(
        [
            error(
                f'Output "{name}" not found',
                "The output variable requested could not be found in the state. If you recently "
                "added it to the configuration, run `mlform apply`: the state records new outputs "
                "only then." + suggestion(name, names),
            )
        ]
    )


def _outputs() -> dict[str, OutputRecord]:
    from mlform.cli.show_cmd import load_current_state

    state = load_current_state()
    return {} if state is None else dict(state.outputs)


def _human(name: str | None, outputs: dict[str, OutputRecord]) -> str:
    from mlform.cli.output_render import render_output_value

    if name is not None:
        rec = outputs[name]
        return render_output_value(rec.value, rec.type)
    lines = []
    for n in sorted(outputs):
        rec = outputs[n]
        shown = "<sensitive>" if rec.sensitive else render_output_value(rec.value, rec.type)
        lines.append(f"{n} = {shown}")
    return "\n".join(lines)


def _json(name: str | None, outputs: dict[str, OutputRecord]) -> str:
    from mlform.cli.output_render import json_indent, type_json, value_json

    if name is not None:
        rec = outputs[name]
        return json_indent(value_json(rec.value, rec.type), compact=True)
    return json_indent(
        {
            n: {
                "sensitive": rec.sensitive,
                "type": type_json(rec.type),
                "value": value_json(rec.value, rec.type),
            }
            for n, rec in sorted(outputs.items())
        }
    )


def _raw(name: str, rec: OutputRecord) -> str:
    from mlform.cli.output_render import output_value, raw_text

    if rec.value is None:
        raise DiagnosticsError(
            [
                error(
                    "Unsupported value for raw output",
                    f'The value for output value "{name}" is null, so --raw cannot print it.',
                )
            ]
        )
    text = raw_text(rec.value, rec.type)
    if text is None:
        friendly = output_value(rec.value, rec.type).type.friendly()
        raise DiagnosticsError(
            [
                error(
                    "Unsupported value for raw output",
                    f"--raw prints only strings, numbers and bools, but output value "
                    f'"{name}" is {friendly}.\n\nUse --json for a machine-readable form of '
                    "values of other types.",
                )
            ]
        )
    return text


@click.command("output")
@click.argument("name", required=False)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print JSON: all outputs with type and sensitivity, or one value.",
)
@click.option(
    "--raw",
    is_flag=True,
    help="Print one string, number or bool output bare, without quotes or newline.",
)
@click.option("--no-color", is_flag=True, help="Print without colors.")
def command(name: str | None, as_json: bool, raw: bool, no_color: bool) -> None:
    """Show output values from the state.

    With no NAME, prints every output (sensitive ones as <sensitive>). With NAME, prints only
    that output's value.

    \b
    Examples:
      mlform output
      mlform output endpoint
      mlform output --json | jq -r .endpoint.value
      curl "$(mlform output --raw endpoint)/health"
    """
    with handle_errors():
        if as_json and raw:
            raise DiagnosticsError(
                [
                    error(
                        "The --raw and --json options are mutually exclusive",
                        "Use --json for every output, or --raw NAME for one plain value.",
                    )
                ]
            )
        if raw and name is None:
            raise DiagnosticsError(
                [
                    error(
                        "Raw output format is only supported for single outputs",
                        "Name the output: `mlform output --raw NAME`.",
                    )
                ]
            )
        outputs = _outputs()
        if not outputs and not as_json:
            print_diagnostics([NO_OUTPUTS], color=None if not no_color else False)
            return
        if name is not None and name not in outputs:
            raise missing_output(name, sorted(outputs))
        if raw:
            assert name is not None
            click.echo(_raw(name, outputs[name]), nl=False)
        elif as_json:
            click.echo(_json(name, outputs))
        else:
            click.echo(_human(name, outputs))
