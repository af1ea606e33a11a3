"""Options of the commands that plan (plan, apply, destroy) and the shared flow they run."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click

from mlform.cli.options import var_options
from mlform.durations import DurationError, duration_seconds


def parse_duration(text: str) -> float:
    """`30s`, `2m`, `1h30m`, `0` → seconds (the grammar is `mlform.durations.duration_seconds`)."""
    try:
        return duration_seconds(text)
    except DurationError:
        raise click.BadParameter(
            f"{text.strip()!r} is not a duration such as 30s, 2m or 1h30m"
        ) from None


def plan_options(f: Callable[..., Any]) -> Callable[..., Any]:
    opts = [
        click.option(
            "--target",
            "targets",
            multiple=True,
            metavar="ADDR",
            help="Plan only this resource or module (and what it depends on). Repeatable.",
        ),
        click.option(
            "--exclude",
            "excludes",
            multiple=True,
            metavar="ADDR",
            help="Leave out this resource or module (and what depends on it). Repeatable.",
        ),
        click.option(
            "--replace",
            "replace",
            multiple=True,
            metavar="ADDR",
            help="Force replacement of this instance. Repeatable.",
        ),
        click.option(
            "--refresh",
            type=bool,
            default=True,
            show_default=True,
            metavar="BOOL",
            help="Read each object's current state first (--refresh=false skips).",
        ),
        click.option(
            "--parallelism",
            type=click.IntRange(1, 1000),
            default=10,
            show_default=True,
            help="How many provider operations run at once.",
        ),
        click.option(
            "--lock",
            "use_lock",
            type=bool,
            default=True,
            metavar="BOOL",
            help="Lock the state while working (--lock=false to skip: dangerous).",
        ),
        click.option(
            "--lock-timeout",
            default="0s",
            show_default=True,
            metavar="DURATION",
            help="How long to wait for a state lock held by another run: 0s fails at once "
            "(the default, as in Terraform); 30s, 2m wait.",
        ),
        click.option("--no-color", is_flag=True, help="Print without colors."),
        click.option(
            "--input",
            "allow_input",
            type=bool,
            default=True,
            metavar="BOOL",
            help="Ask for missing variable values (--input=false never asks).",
        ),
    ]
    for o in reversed(opts):
        f = o(f)
    return var_options(f)


@contextmanager
def interrupt_handler(
    cancel: threading.Event,
    say: Callable[[str], None],
    second: Callable[[], bool] | None = None,
) -> Iterator[None]:
    """First Ctrl-C: stop starting new work, let calls in flight finish, save state; stop
    waiting for submitted jobs (they keep running). Second: `second()` says whether it was
    handled (apply cancels the jobs it left running); if not, stop at once."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGINT)

    def handler(signum: int, frame: Any) -> None:
        if cancel.is_set() and second is not None and second():
            say("\nSecond interrupt received: cancelling the jobs this run left running...")
            signal.signal(signal.SIGINT, previous)
            return
        if cancel.is_set():
            say(
                "\nTwo interrupts received. Exiting immediately. State may be missing the last operations."
            )
            signal.signal(signal.SIGINT, previous)
            raise KeyboardInterrupt
        cancel.set()
        say(
            "\nInterrupt received.\nPlease wait for mlform to exit or data loss may occur.\nGracefully shutting down..."
        )

    signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def echo_err(text: str) -> None:
    click.echo(text, err=True)


def stdin_interactive() -> bool:
    import os

    return not os.environ.get("MLFORM_IN_AUTOMATION") and sys.stdin.isatty()
