"""`mlform providers` and `mlform providers schema`"""

from __future__ import annotations

import json

import click


@click.group("providers", invoke_without_command=True)
@click.pass_context
def command(ctx: click.Context) -> None:
    """List the installed providers, and those this configuration uses.

    \b
    Examples:
      mlform providers
      mlform providers schema --json
    """
    if ctx.invoked_subcommand is not None:
        return
    from pathlib import Path

    from mlform.sdk.plugins import installed_providers

    installed = installed_providers()
    click.echo("Installed providers:")
    for p in installed:
        click.echo(f"  {p.name:12} {p.distribution} {p.version}")
    if not installed:
        click.echo("  (none)")
    from mlform.config.loader import config_files

    if config_files(Path(".")):
        from mlform.config.loader import load_config
        from mlform.engine.init import providers_used

        root, diags = load_config(Path("."))
        if not any(d.is_error for d in diags):
            names = {p.name for p in installed}
            click.echo("\nThis configuration uses:")
            for name, constraints in sorted(providers_used(root).items()):
                mark = (
                    ""
                    if name in names
                    else "   (not installed: pip install mlform-provider-" + name + ")"
                )
                click.echo(f"  {name}{' ' + constraints if constraints else ''}{mark}")


@command.command("schema")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    required=True,
    help="Print every installed provider's schema as JSON.",
)
def schema(as_json: bool) -> None:
    """Print the schemas of every installed provider (their configuration and kinds)."""
    from mlform.sdk.plugins import PluginError, installed_providers, load_provider
    from mlform.sdk.schema import schemas_json

    classes = {}
    for p in installed_providers():
        try:
            classes[p.name] = load_provider(p.name)
        except PluginError as exc:
            click.echo(f"Warning: {exc}", err=True)
    click.echo(json.dumps(schemas_json(classes), indent=2, sort_keys=True))
