"""Values for the root module's input variables, from every source, with Terraform's precedence.

Lowest to highest: the variable's `default`; `MLFORM_VAR_<name>` environment variables;
`mlform.mlfvars.hcl` (or `.json`); `*.auto.mlfvars.hcl` files in lexical order; then `--var` and
`--var-file` in the order given on the command line. A value given as text (`--var`, the
environment) is taken literally for a variable of type string and parsed as an HCL expression
otherwise, so `--var 'sizes=[1,2]'` works.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mlform.config.model import Module, Variable
from mlform.diagnostics import Diagnostic, Range, error, suggestion, warning
from mlform.lang import values as V
from mlform.lang.ast import Expr
from mlform.lang.types import DYNAMIC, STRING
from mlform.lang.values import Value

if TYPE_CHECKING:
    from mlform.lang.convert import ConversionError

ENV_PREFIX = "MLFORM_VAR_"
AUTO_SUFFIXES = (".auto.mlfvars.hcl", ".auto.mlfvars.json")
DEFAULT_FILES = ("mlform.mlfvars.hcl", "mlform.mlfvars.json")


@dataclass
class RawValue:
    """One variable's value as given, before conversion to its declared type."""

    name: str
    source: str  # "env", "file", "cli"
    expr: Expr | None = None  # from a file, or text already parsed
    text: str | None = None  # from --var or the environment, not yet parsed
    range: Range | None = None


def collect(
    workdir: Path,
    var_args: list[tuple[str, str]] | list[str],
    environ: Mapping[str, str] | None = None,
) -> tuple[dict[str, RawValue], list[Diagnostic]]:
    """Gather raw values from every source. `var_args` is the command line's ordered list of
    ("var", "name=value") and ("var-file", "path") pairs."""
    diags: list[Diagnostic] = []
    raw: dict[str, RawValue] = {}
    env = os.environ if environ is None else environ
    for key, text in env.items():
        if key.startswith(ENV_PREFIX) and len(key) > len(ENV_PREFIX):
            name = key[len(ENV_PREFIX) :]
            raw[name] = RawValue(name, "env", text=text)
    for fname in DEFAULT_FILES:
        p = workdir / fname
        if p.is_file():
            _load_file(p, raw, diags, source="file")
    try:
        autos = sorted(p for p in workdir.iterdir() if p.name.endswith(AUTO_SUFFIXES))
    except FileNotFoundError:
        autos = []
    for p in autos:
        _load_file(p, raw, diags, source="file")
    for item in var_args:
        kind, arg = item if isinstance(item, tuple) else ("var", item)
        if kind == "var-file":
            p = Path(arg)
            # Not is_file(): /dev/null, a named pipe and `<(...)` are files to read too.
            if p.is_dir() or not p.exists():
                diags.append(
                    error(
                        "Failed to read variables file",
                        f'Given variables file "{arg}" '
                        + ("is a folder, not a file." if p.is_dir() else "does not exist."),
                    )
                )
                continue
            _load_file(p, raw, diags, source="file")
        else:
            name, eq, text = arg.partition("=")
            name = name.strip()
            if not eq or not name:
                diags.append(
                    error(
                        "Invalid -var option",
                        f'The given -var option "{arg}" is not correctly specified. '
                        "It must be a variable name and value separated by an equals sign, like -var key=value.",
                    )
                )
                continue
            raw[name] = RawValue(name, "cli", text=text)
    return raw, diags


def _load_file(path: Path, raw: dict[str, RawValue], diags: list[Diagnostic], source: str) -> None:
    from mlform.config.parser import parse_file

    display = str(path)
    file, fdiags = parse_file(display)
    diags.extend(fdiags)
    if any(d.is_error for d in fdiags) or file is None:
        return
    for b in file.body.blocks:
        diags.append(
            error(
                "Unexpected block in variables file",
                f'A variables file holds only assignments such as name = "value"; "{b.type}" is a block.',
                b.type_range,
            )
        )
    for name, attr in file.body.attributes.items():
        raw[name] = RawValue(name, source, expr=attr.expr, range=attr.range)


def _parse_text(var: Variable, rv: RawValue) -> tuple[Value | None, list[Diagnostic]]:
    from mlform.config.parser import parse_expression

    assert rv.text is not None
    if var.type == STRING or var.type.is_primitive():
        # As Terraform: text for a string, number or bool is taken as a string and converted
        # to the declared type, so `--var n=abc` says "a number is required", not that `abc`
        # is an unknown variable (which would also echo a sensitive value).
        return V.string(rv.text), []
    if var.type is DYNAMIC:
        # Terraform reads an untyped variable's text as a string unless it parses as HCL
        # that is not a bare word; mlform follows, so `--var n=5` gives the number 5.
        expr, pdiags = parse_expression(rv.text, f"<value for var.{var.name}>")
        if expr is None or any(d.is_error for d in pdiags) or _is_bare_traversal(expr):
            return V.string(rv.text), []
        return _eval_literal(expr, var.name)
    expr, pdiags = parse_expression(rv.text, f"<value for var.{var.name}>")
    if expr is None or any(d.is_error for d in pdiags):
        return None, [
            error(
                "Invalid value for input variable",
                f"The value given for var.{var.name}{'' if var.sensitive else f' ({rv.text!r})'} is not a valid HCL expression for type {var.type.hcl()}: "
                + "; ".join(d.summary for d in pdiags if d.is_error),
            )
        ]
    return _eval_literal(expr, var.name)


def _is_bare_traversal(expr: Expr) -> bool:
    from mlform.lang.ast import ScopeTraversal

    return isinstance(expr, ScopeTraversal)


def _given_by(rv: RawValue | None) -> str:
    # A value from the command line or the environment has no range: say where it came from.
    if rv is None or rv.range is not None:
        return ""
    if rv.source == "env":
        return f" The value came from the {ENV_PREFIX}{rv.name} environment variable."
    if rv.source == "cli":
        return f" The value came from the command line (--var {rv.name}=...)."
    return ""


def _eval_literal(expr: Expr, name: str) -> tuple[Value | None, list[Diagnostic]]:
    from mlform.lang import ast
    from mlform.lang.eval import EvalContext, evaluate

    calls = [n for n in ast.walk(expr) if isinstance(n, ast.FunctionCall)]
    if calls:
        # Values of variables are data, as in Terraform: nothing in them is computed.
        return None, [
            error(
                "Function calls not allowed",
                f"Functions may not be called here: the value for var.{name} must be a literal value.",
                calls[0].range,
            )
        ]
    value, diags = evaluate(expr, EvalContext())
    if any(d.is_error for d in diags):
        return None, [
            error(
                "Variables not allowed",
                f"Variables may not be used here: the value for var.{name} must be a literal "
                'value such as "text", 5, true, [1, 2] or { key = "value" }.',
                d.subject,
            )
            if "variable" in d.summary.lower()
            else error(
                d.summary,
                f"The value for var.{name} must be a literal value: {d.detail}",
                d.subject,
            )
            for d in diags
            if d.is_error
        ]
    return value, []


def conversion_message(exc: ConversionError) -> str:
    """A conversion error with the place inside the value that it is about, in Terraform's
    words: `attribute "a": a number is required`."""
    steps = [f"element {s}" if isinstance(s, int) else f'attribute "{s}"' for s in exc.path]
    return ": ".join([*steps, exc.message])


def check_default(var: Variable) -> Diagnostic | None:
    """Terraform's "Invalid default value for variable", on the `default` line, when a literal
    default does not fit the variable's type (whether or not a value is given)."""
    from mlform.lang.convert import ConversionError, convert

    if var.default is None or not var.type_given:
        return None
    value, diags = _eval_literal(var.default, var.name)
    if value is None or diags or value.is_null:
        return None
    try:
        convert(value, var.type)
    except ConversionError as exc:
        return error(
            "Invalid default value for variable",
            "This default value is not compatible with the variable's type constraint: "
            f"{conversion_message(exc)}.",
            var.default.range,
        )
    return None


def resolve(
    module: Module,
    raw: dict[str, RawValue],
    *,
    allow_missing: bool = False,
    prompt: Callable[[Variable], str | None] | None = None,
) -> tuple[dict[str, Value], list[Diagnostic]]:
    """Final values for the root module's variables: converted to their types, defaults applied,
    sensitive ones marked, validations run. A required variable with no value is an error
    (or an unknown value when `allow_missing`, as `validate` wants)."""
    from mlform.lang.convert import ConversionError, convert

    diags: list[Diagnostic] = []
    out: dict[str, Value] = {}
    declared = module.variables
    rv: RawValue | None
    for name, rv in raw.items():
        if name not in declared:
            if rv.source == "cli":
                diags.append(
                    error(
                        "Value for undeclared variable",
                        f'A variable named "{name}" was assigned on the command line, but the root module does not declare a variable of that name.'
                        + (
                            suggestion(name, declared)
                            or ' To use this value, add a "variable" block to the configuration.'
                        ),
                    )
                )
            elif rv.source == "file":
                diags.append(
                    warning(
                        "Value for undeclared variable",
                        f'The root module does not declare a variable named "{name}" but a value was found in a variables file.'
                        + suggestion(name, declared),
                        rv.range,
                    )
                )
    for name, var in declared.items():
        rv = raw.get(name)
        value: Value | None = None
        subject = rv.range if rv and rv.range else var.range
        if rv is not None:
            if rv.expr is not None:
                value, vdiags = _eval_literal(rv.expr, name)
            else:
                value, vdiags = _parse_text(var, rv)
            diags.extend(vdiags)
            if value is None:
                continue
        if value is None or (value.is_null and not var.nullable):
            if var.default is not None:
                value, ddiags = _eval_literal(var.default, name)
                diags.extend(ddiags)
                if value is None:
                    continue
                subject = var.range
            elif value is None and prompt is not None:
                text = prompt(var)
                if text is not None:
                    value, pdiags = _parse_text(var, RawValue(name, "cli", text=text))
                    diags.extend(pdiags)
                    if value is None:
                        continue
        if value is None:
            if allow_missing:
                out[name] = (
                    V.unknown(var.type).mark("sensitive") if var.sensitive else V.unknown(var.type)
                )
                continue
            diags.append(
                error(
                    "No value for required variable",
                    f'The root module input variable "{name}" is not set, and has no default value. '
                    f"Use a --var or --var-file option, a *.auto.mlfvars.hcl file, or the {ENV_PREFIX}{name} environment variable to provide a value.",
                    var.range,
                )
            )
            continue
        if value.is_null and not var.nullable:
            diags.append(
                error(
                    "Required variable not set",
                    f'The variable "{name}" is declared with nullable = false, so it cannot be set to null.',
                    subject,
                )
            )
            continue
        try:
            value = convert(value, var.type)
        except ConversionError as exc:
            bad_default = check_default(var) if subject is var.range else None
            if bad_default is not None:
                diags.append(bad_default)
                continue
            diags.append(
                error(
                    "Invalid value for input variable",
                    f"The given value is not suitable for var.{name} declared at {var.range.filename}:{var.range.start.line},{var.range.start.column}: {conversion_message(exc)}."
                    + _given_by(rv),
                    subject,
                )
            )
            continue
        if var.sensitive:
            value = value.mark("sensitive")
        out[name] = value
    diags.extend(run_validations(module, out))
    return out, diags


def run_validations(module: Module, values: dict[str, Value]) -> list[Diagnostic]:
    """Each variable's validation blocks, with `var.<name>` in scope."""
    from mlform.lang.eval import EvalContext, evaluate

    diags: list[Diagnostic] = []
    for name, var in module.variables.items():
        if not var.validations or name not in values:
            continue
        ctx = EvalContext({"var": V.object_of({name: values[name]})})
        for check in var.validations:
            result, cdiags = evaluate(check.condition, ctx)
            if any(d.is_error for d in cdiags):
                diags.extend(cdiags)
                continue
            if not result.is_known:
                continue
            ok = result.unmark()
            if ok.is_null or not isinstance(ok.v, bool):
                diags.append(
                    error(
                        "Invalid validation result",
                        "A validation condition must return true or false.",
                        check.condition.range,
                    )
                )
                continue
            if not ok.v:
                message = "(no error message)"
                if check.error_message is not None:
                    mval, mdiags = evaluate(check.error_message, ctx)
                    if (
                        not any(d.is_error for d in mdiags)
                        and mval.is_known
                        and isinstance(mval.unmark().v, str)
                    ):
                        message = mval.unmark().v
                        if mval.has_mark_deep("sensitive"):
                            message = "(the error message refers to a sensitive value)"
                diags.append(
                    error(
                        "Invalid value for variable",
                        f"{message}\n\nThis was checked by the validation rule at {check.range.filename}:{check.range.start.line},{check.range.start.column}.",
                        check.condition.range,
                    )
                )
    return diags


def terminal_prompt(var: Variable) -> str | None:
    """Ask for a required variable's value, as Terraform does, when a person is at a terminal."""
    if os.environ.get("MLFORM_IN_AUTOMATION") or not sys.stdin.isatty():
        return None
    import click

    header = f"var.{var.name}"
    if var.description:
        header += f"\n  {var.description}"
    click.echo(header, err=True)
    return click.prompt(
        "  Enter a value", default="", show_default=False, hide_input=var.sensitive, err=True
    )
