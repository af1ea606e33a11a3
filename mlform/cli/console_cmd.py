"""`mlform console`: evaluate expressions in the scope of the working directory.

Reads one expression per line (an expression whose brackets, quotes or heredoc are still open
continues on the next line) from stdin when it is not a terminal, or from a `> ` prompt
otherwise. Each result is printed on its own line as `terraform console` prints it, or with
`--json` as exactly one JSON line per expression: `{"value": ..., "type": ...}` or
`{"error": "<summary>", "detail": "<detail>"}`. A failing expression does not stop the rest.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import click

from mlform.diagnostics import Range

if TYPE_CHECKING:
    from mlform.diagnostics import Diagnostic
    from mlform.lang import ast
    from mlform.lang.eval import EvalContext

FILENAME = "<console-input>"


@click.command("console")
@click.option("--var", "var_args", multiple=True, metavar="NAME=VALUE", help="Set a variable.")
@click.option(
    "--var-file", "var_files", multiple=True, metavar="FILE", help="Read variables from a file."
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per expression.")
def command(var_args: tuple[str, ...], var_files: tuple[str, ...], as_json: bool) -> None:
    """Evaluate expressions against the configuration's variables, locals and recorded state.

    \b
    Examples:
      echo 'upper(var.name)' | mlform console
      echo '[for s in ["a", "b"] : upper(s)]' | mlform console --json
    """
    from mlform.cli.common import CommandFailed, print_diagnostics

    ctx, diags = _scope(Path.cwd(), list(var_args), list(var_files))
    if any(d.is_error for d in diags):
        print_diagnostics(diags)
        raise CommandFailed(1)
    if diags:
        print_diagnostics(diags)
    interactive = sys.stdin.isatty() and not as_json
    failed = False
    for text in _read_expressions(interactive):
        if text.strip() == "exit":
            break
        try:
            ok = _handle(text, ctx, as_json)
        except Exception as exc:  # noqa: BLE001 - one expression's fault must not end the session
            from mlform.cli.common import debug_enabled

            if debug_enabled():
                raise
            click.echo(
                f"Error: internal error: {type(exc).__name__}: {exc}\n\n"
                "This is a bug in mlform. Run again with MLFORM_LOG=debug to see the traceback, "
                "and include it when you report the problem.",
                err=True,
            )
            ok = False
        failed = failed or not ok
    if failed and not as_json:
        raise CommandFailed(1)


def _scope(
    workdir: Path, var_args: list[str], var_files: list[str]
) -> tuple[EvalContext, list[Diagnostic]]:
    from mlform.cli.options import argv_order
    from mlform.engine.console_scope import console_scope

    ordered = argv_order([("var", v) for v in var_args] + [("var-file", f) for f in var_files])
    return console_scope(workdir, ordered, missing_reference)


def missing_reference(trav: ast.ScopeTraversal) -> Diagnostic:
    """What Terraform says of a reference to a root name the scope does not have: a bare name
    is an incomplete resource reference, `type.name` an undeclared resource."""
    from mlform.diagnostics import error
    from mlform.lang import ast

    if not trav.steps or not isinstance(trav.steps[0], ast.AttrStep):
        return error(
            "Invalid reference",
            "A reference to a resource type must be followed by at least one attribute access, "
            "specifying the resource name.",
            trav.range,
        )
    name = trav.steps[0].name
    rng = Range.between(trav.root_range, trav.steps[0].range)
    return error(
        "Reference to undeclared resource",
        f'A managed resource "{trav.root}" "{name}" has not been declared in the root module.',
        rng,
    )


def _handle(text: str, ctx: EvalContext, as_json: bool) -> bool:
    """Evaluate and print one expression; False when it failed."""
    from mlform.config.parser import parse_expression
    from mlform.diagnostics import register_source
    from mlform.lang.eval import evaluate

    register_source(FILENAME, text)
    expr, diags = parse_expression(text, FILENAME)
    value = None
    if expr is not None and not any(d.is_error for d in diags):
        value, more = evaluate(expr, ctx)
        diags = [*diags, *more]
    errors = [d for d in diags if d.is_error]
    if errors or value is None:
        _print_errors(errors or diags, as_json)
        return False
    if as_json:
        click.echo(_json_line(value))
    else:
        from mlform.lang.render import render_hcl

        click.echo(render_hcl(value))
    return True


def _json_line(value: object) -> str:
    from mlform.lang.render import json_dumps, to_json_with_type
    from mlform.lang.values import Value

    assert isinstance(value, Value)
    out = to_json_with_type(value)
    if value.has_mark_deep():
        # Sensitive values stay hidden in machine output too.
        out["value"] = None
        out["sensitive"] = True
    elif not value.is_wholly_known():
        out["unknown"] = True
    return json_dumps(out)


def _print_errors(diags: list[Diagnostic], as_json: bool) -> None:
    if as_json:
        from mlform.lang.render import json_dumps

        first = diags[0] if diags else None
        summary = first.summary if first else "Invalid expression"
        detail = first.detail if first else ""
        click.echo(json_dumps({"error": summary, "detail": detail}))
        return
    from mlform.cli.common import print_diagnostics

    print_diagnostics(diags)


# --- input ---------------------------------------------------------------------------------------


def _read_expressions(interactive: bool) -> Iterator[str]:
    """Expressions from stdin, joining lines while brackets, strings or heredocs are open."""
    pending: list[str] = []
    while True:
        try:
            if interactive:
                line = input("> " if not pending else "  ")
            else:
                raw = sys.stdin.readline()
                if raw == "":
                    break
                line = raw.rstrip("\n").rstrip("\r")
        except EOFError:
            break
        if not line.strip():
            # A blank line ends a continued expression, as in Terraform's console.
            if pending:
                yield "\n".join(pending)
                pending = []
            continue
        pending.append(line)
        text = "\n".join(pending)
        if is_incomplete(text):
            continue
        pending = []
        yield text
    if pending:
        yield "\n".join(pending)


def is_incomplete(text: str) -> bool:
    """Whether `text` stops inside brackets, a quoted string, a template or a heredoc."""
    stack: list[str] = []  # "(" "[" "{" for brackets; '"' for a string; "$" for ${ or %{
    heredoc: str | None = None
    lines = text.split("\n")
    for line in lines:
        if heredoc is not None:
            if line.strip() == heredoc:
                heredoc = None
            continue
        i = 0
        n = len(line)
        while i < n:
            ch = line[i]
            top = stack[-1] if stack else ""
            if top == '"':
                if ch == "\\":
                    i += 2
                    continue
                if ch in "$%" and line[i + 1 : i + 2] == "{":
                    if line[i - 1 : i] == ch:
                        i += 2
                        continue
                    stack.append("$")
                    i += 2
                    continue
                if ch == '"':
                    stack.pop()
                i += 1
                continue
            if ch == '"':
                stack.append('"')
            elif ch in "([{":
                stack.append(ch)
            elif ch in ")]}":
                opener = {")": "(", "]": "[", "}": "{"}[ch]
                if not stack or stack[-1] not in (opener, "$" if ch == "}" else opener):
                    # An unbalanced closer: let the parser report it now.
                    return False
                stack.pop()
            elif ch == "#" or line[i : i + 2] == "//":
                break
            elif line[i : i + 2] == "<<":
                j = i + 2
                if line[j : j + 1] == "-":
                    j += 1
                k = j
                while k < n and (line[k].isalnum() or line[k] == "_"):
                    k += 1
                if k > j and k == n:
                    heredoc = line[j:k]
                    break
            i += 1
        if stack and stack[-1] == '"':
            # A quoted string cannot span lines; let the parser report it.
            return False
    return bool(stack) or heredoc is not None
