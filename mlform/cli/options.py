"""Options several commands share: --var, --var-file and the like, kept in command-line order."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

VAR_ARGS_KEY = "mlform_var_args"


def _record(kind: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    # Terraform applies -var and -var-file in the order given, so both feed one ordered list.
    def callback(ctx: click.Context, param: click.Parameter, values: Any) -> Any:
        store = ctx.meta.setdefault(VAR_ARGS_KEY, [])
        for v in values or ():
            store.append((kind, v))
        return values

    return callback


def var_options(f: Callable[..., Any]) -> Callable[..., Any]:
    f = click.option(
        "--var-file",
        "var_files",
        multiple=True,
        metavar="FILE",
        expose_value=False,
        callback=_record("var-file"),
        help="Load variable values from a .mlfvars.hcl file. Repeatable.",
    )(f)
    f = click.option(
        "--var",
        "var_values",
        multiple=True,
        metavar="NAME=VALUE",
        expose_value=False,
        callback=_record("var"),
        help="Set a variable: --var seed=7, --var 'sizes=[1,2]'. Repeatable.",
    )(f)
    return f


def ordered_var_args(ctx: click.Context | None = None) -> list[tuple[str, str]]:
    """The --var and --var-file values in command-line order."""
    ctx = ctx or click.get_current_context()
    root = ctx
    return argv_order(list(root.meta.get(VAR_ARGS_KEY, [])))


def argv_order(items: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """click fills option callbacks in declaration order, not in the order the user wrote them;
    Terraform's precedence needs the latter."""
    positions = _argv_positions()
    if positions:
        items = sorted(items, key=lambda kv: positions.get(kv, 1 << 30))
    return items


def _argv_positions() -> dict[tuple[str, str], int]:
    import sys

    pos: dict[tuple[str, str], int] = {}
    args = sys.argv[1:]
    i = 0
    while i < len(args):
        a = args[i]
        for flag, kind in (
            ("--var-file", "var-file"),
            ("-var-file", "var-file"),
            ("--var", "var"),
            ("-var", "var"),
        ):
            if a == flag and i + 1 < len(args):
                pos.setdefault((kind, args[i + 1]), i)
                i += 1
                break
            if a.startswith(flag + "="):
                pos.setdefault((kind, a[len(flag) + 1 :]), i)
                break
        i += 1
    return pos
