"""`mlform validate`"""

from __future__ import annotations

import json
from pathlib import Path

import click

from mlform.cli.common import CommandFailed, print_diagnostics, use_color
from mlform.cli.options import ordered_var_args, var_options


@click.command("validate")
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
@click.option("--no-color", is_flag=True, help="Print without colors.")
@var_options
def command(as_json: bool, no_color: bool) -> None:
    """Check the configuration without touching any provider: syntax, references, types,
    function calls, and resource arguments against the installed providers' schemas.

    \b
    Example:
      mlform validate
      mlform validate --json | jq .valid
    """
    from mlform.engine import validate_cache

    var_args = ordered_var_args()
    workdir = Path(".")
    cached = validate_cache.lookup(workdir, var_args)
    if cached is not None:
        diags = cached
    else:
        from mlform.engine.validate import validate, validated_inputs

        root, diags = validate(workdir, var_args)
        if root is not None and root.files:
            dirs, files = validated_inputs(workdir, root, var_args)
            validate_cache.store(workdir, var_args, dirs, files, diags)
    errors = [d for d in diags if d.is_error]
    warnings = [d for d in diags if not d.is_error]
    if as_json:
        click.echo(
            json.dumps(
                {
                    "format_version": "1.0",
                    "valid": not errors,
                    "error_count": len(errors),
                    "warning_count": len(warnings),
                    "diagnostics": [d.to_json() for d in diags],
                },
                indent=2,
            )
        )
    else:
        print_diagnostics(diags, color=use_color(no_color))
        if not errors:
            note = f", with {len(warnings)} warning(s)" if warnings else ""
            click.echo(f"Success! The configuration is valid{note}.")
    if errors:
        raise CommandFailed(1)
