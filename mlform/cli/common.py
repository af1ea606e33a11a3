"""What every command shares: error handling, diagnostics output, color and automation settings."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterable, Iterator

import click

from mlform.diagnostics import Diagnostic, DiagnosticsError, render


def debug_enabled() -> bool:
    return os.environ.get("MLFORM_LOG", "").lower() in ("debug", "trace")


def in_automation() -> bool:
    return bool(os.environ.get("MLFORM_IN_AUTOMATION")) or not sys.stdin.isatty()


# Set in click's shared context meta by the `--no-color` every command accepts (see main.py).
NO_COLOR_META = "mlform.no_color"


def use_color(no_color_flag: bool = False, stream: object = None) -> bool:
    if no_color_flag or "NO_COLOR" in os.environ:
        return False
    ctx = click.get_current_context(silent=True)
    if ctx is not None and ctx.meta.get(NO_COLOR_META):
        return False
    s = stream if stream is not None else sys.stdout
    return bool(getattr(s, "isatty", lambda: False)())


def print_diagnostics(diags: Iterable[Diagnostic], color: bool | None = None) -> None:
    items = list(diags)
    if not items:
        return
    if color is None:
        color = use_color(stream=sys.stderr)
    for d in items:
        click.echo(render(d, color=color), err=True)


class CommandFailed(Exception):
    """Raised by a command to end with exit code 1 after it printed what went wrong."""

    def __init__(self, code: int = 1):
        self.code = code


@contextlib.contextmanager
def handle_errors() -> Iterator[None]:
    """No traceback reaches the user unless MLFORM_LOG=debug."""
    from mlform.state.errors import set_notice_handler

    set_notice_handler(lambda diag: print_diagnostics([diag]))
    try:
        yield
    except DiagnosticsError as exc:
        print_diagnostics(exc.diagnostics)
        sys.exit(1)
    except CommandFailed as exc:
        sys.exit(exc.code)
    except KeyboardInterrupt:
        click.echo("\nInterrupted.", err=True)
        sys.exit(130)
    except (SystemExit, click.exceptions.Exit, click.ClickException, click.exceptions.Abort):
        raise  # --help, usage errors and aborts: click reports them with their own exit codes
    except BaseException as exc:  # noqa: BLE001 - the last line of defence before the user
        if isinstance(exc, BrokenPipeError):
            from mlform.cli.main import exit_if_output_closed

            exit_if_output_closed()  # `mlform state list | head -1`: no word, exit 141
        if debug_enabled():
            raise
        click.echo(
            f"Error: internal error: {type(exc).__name__}: {exc}\n\n"
            "This is a bug in mlform. Run again with MLFORM_LOG=debug to see the traceback, "
            "and include it when you report the problem.",
            err=True,
        )
        sys.exit(1)
