"""`count` and `for_each`: how many instances a resource or module call has, by key.

The rules and messages are Terraform's: count is a known, whole, non-negative number;
for_each is a map, an object or a set of strings, known, and not sensitive.
"""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, cast

from mlform.diagnostics import Diagnostic, error
from mlform.engine.scope import Expansion
from mlform.lang import ast
from mlform.lang import values as V
from mlform.lang.eval import EvalContext, evaluate
from mlform.lang.types import STRING

if TYPE_CHECKING:
    from mlform.addrs import Key


def eval_expansion(
    count: ast.Expr | None,
    for_each: ast.Expr | None,
    ctx: EvalContext,
    diags: list[Diagnostic],
    allow_unknown: bool,
) -> Expansion:
    if count is not None:
        return _count(count, ctx, diags, allow_unknown)
    if for_each is not None:
        return _for_each(for_each, ctx, diags, allow_unknown)
    return Expansion.single()


def _count(
    expr: ast.Expr, ctx: EvalContext, diags: list[Diagnostic], allow_unknown: bool
) -> Expansion:
    value, vdiags = evaluate(expr, ctx)
    diags.extend(vdiags)
    if any(d.is_error for d in vdiags):
        return Expansion("unknown")
    if value.is_sensitive:
        diags.append(
            error(
                "Invalid count argument",
                "Sensitive values, or values derived from sensitive values, cannot be used as count arguments.",
                expr.range,
            )
        )
        return Expansion("unknown")
    if not value.is_known:
        if allow_unknown:
            return Expansion("unknown")
        diags.append(
            error(
                "Invalid count argument",
                'The "count" value depends on resource attributes that cannot be determined until apply, '
                "so mlform cannot predict how many instances will be created. To work around this, use "
                "--target to first apply only the resources that the count depends on.",
                expr.range,
            )
        )
        return Expansion("unknown")
    from mlform.lang.convert import ConversionError, convert
    from mlform.lang.types import NUMBER

    try:
        num = convert(value, NUMBER)
    except ConversionError as exc:
        diags.append(
            error(
                "Invalid count argument",
                f'The given "count" argument value is unsuitable: {exc}.',
                expr.range,
            )
        )
        return Expansion("unknown")
    if num.is_null:
        diags.append(
            error(
                "Invalid count argument",
                'The given "count" argument value is null. An integer is required.',
                expr.range,
            )
        )
        return Expansion("unknown")
    n = num.v
    if isinstance(n, Decimal) or n < 0:
        detail = (
            "must be a whole number"
            if isinstance(n, Decimal)
            else "must be greater than or equal to zero"
        )
        diags.append(
            error(
                "Invalid count argument",
                f'The given "count" argument value is unsuitable: {detail}.',
                expr.range,
            )
        )
        return Expansion("unknown")
    return Expansion("count", list(range(n)))


def _for_each(
    expr: ast.Expr, ctx: EvalContext, diags: list[Diagnostic], allow_unknown: bool
) -> Expansion:
    value, vdiags = evaluate(expr, ctx)
    diags.extend(vdiags)
    if any(d.is_error for d in vdiags):
        return Expansion("unknown")
    # A set's elements become instance keys, shown in every plan: a sensitive element would be
    # printed in clear (a map's values are fine, its keys are not sensitive).
    if value.is_sensitive or (value.type.is_set() and value.has_mark_deep()):
        diags.append(
            error(
                "Invalid for_each argument",
                "Sensitive values, or values derived from sensitive values, cannot be used as for_each arguments. "
                "If you use nonsensitive() to reveal the value, it may appear in mlform's output as instance keys.",
                expr.range,
            )
        )
        return Expansion("unknown")
    t = value.type
    if not value.is_known:
        if allow_unknown:
            return Expansion("unknown")
        diags.append(
            error(
                "Invalid for_each argument",
                'The "for_each" value depends on resource attributes that cannot be determined until apply, so '
                "mlform cannot predict how many instances will be created. Use a map whose keys are known at plan "
                "time, or --target to first apply the resources the for_each depends on.",
                expr.range,
            )
        )
        return Expansion("unknown")
    if value.is_null:
        diags.append(
            error(
                "Invalid for_each argument",
                'The given "for_each" argument value is null. A map, or set of strings, is allowed.',
                expr.range,
            )
        )
        return Expansion("unknown")
    if t.is_mapping():
        items = value.items()
        keys = sorted(items)
        return Expansion("for_each", list(keys), {k: items[k] for k in keys})
    if t.is_set():
        elems = value.elements()
        if t.elem != STRING:  # type: ignore[attr-defined]
            diags.append(
                error(
                    "Invalid for_each set argument",
                    f'The given "for_each" argument value is unsuitable: "for_each" supports maps and sets of strings, but you have provided a set containing type {t.elem.friendly()}.',  # type: ignore[attr-defined]
                    expr.range,
                )
            )
            return Expansion("unknown")
        out: dict[str, V.Value] = {}
        for e in elems:
            if not e.is_known:
                if allow_unknown:
                    return Expansion("unknown")
                diags.append(
                    error(
                        "Invalid for_each argument",
                        'The given "for_each" set includes values that are not known until apply.',
                        expr.range,
                    )
                )
                return Expansion("unknown")
            if e.is_null:
                diags.append(
                    error(
                        "Invalid for_each set argument",
                        'The given "for_each" argument value is unsuitable: "for_each" sets must not contain null values.',
                        expr.range,
                    )
                )
                return Expansion("unknown")
            out[e.v] = e
        keys = sorted(out)
        return Expansion("for_each", list(keys), cast("dict[Key, V.Value]", out))
    diags.append(
        error(
            "Invalid for_each argument",
            f'The given "for_each" argument value is unsuitable: the "for_each" argument must be a map, or set of strings, '
            f"and you have provided a value of type {t.friendly()}. Convert a list with toset(), or build a map with a for expression.",
            expr.range,
        )
    )
    return Expansion("unknown")
