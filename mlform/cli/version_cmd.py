"""`mlform version`"""

from __future__ import annotations

import json
import platform

import click

from mlform import __version__


@click.command("version")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object.")
def command(as_json: bool) -> None:
    """Print the mlform version.

    \b
    Example:
      mlform version --json
    """
    if as_json:
        click.echo(
            json.dumps({"mlform_version": __version__, "python_version": platform.python_version()})
        )
    else:
        click.echo(f"mlform v{__version__}")
