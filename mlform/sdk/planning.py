"""The default `Kind.plan`: decide create / update / replace / no-op from the schema's marks.

A kind that has nothing special to compute at plan time gets this for free:

- no prior state: create; every computed attribute is unknown until apply;
- an argument marked `replace=True` changed (or is not known yet): replace, with the argument's
  path in `replace_paths`; computed attributes unknown;
- another argument changed: update in place; computed attributes kept from the prior state,
  except those the kind lists in `recomputed_on_update` (they become unknown);
- nothing changed: no-op, attributes as they were.

Reasons name the attribute paths that changed, as a user would write them (`params.c`,
`packages[0]`), with the old and new value when it is short and not sensitive.

Arguments are compared after filling in defaults, so that a prior state saved with defaults and
a configuration that leaves them out do not differ. Numbers compare by value (`1 == 1.0`, and
a `Decimal` from the language equals the float read back from JSON state).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from mlform.sdk.contract import UNKNOWN, Planned, ResourceState
from mlform.sdk.schema import (
    AttributeSchema,
    BlockSchema,
    BodySchema,
    body_schema,
    format_path,
    sensitive_paths,
)

if TYPE_CHECKING:
    from mlform.sdk.contract import Kind

Path = list[str | int]

__all__ = [
    "default_plan",
    "diff_paths",
    "normalize_args",
    "recomputed_on_update",
    "short_value",
    "values_equal",
]


def _kind_class(kind: Kind | type[Kind]) -> type[Kind]:
    return kind if isinstance(kind, type) else type(kind)


def recomputed_on_update(kind: Kind | type[Kind]) -> frozenset[str]:
    """The computed attributes that an in-place update changes, so that a plan shows them as
    `(known after apply)`. A kind declares them as a class attribute:

        class Object(Kind):
            recomputed_on_update = {"echo", "updated_at"}
    """
    names = getattr(_kind_class(kind), "recomputed_on_update", ())
    return frozenset(names)


def default_plan(
    kind: Kind | type[Kind], prior: ResourceState | None, desired: Mapping[str, Any]
) -> Planned:
    """Plan one instance from the kind's schema marks; see the module docstring."""
    cls = _kind_class(kind)
    args_body = body_schema(cls.args)
    attrs_body = body_schema(cls.attrs, True)
    args = normalize_args(args_body, desired)
    computed_names = list(attrs_body.attributes) + list(attrs_body.blocks)

    if prior is None:
        return Planned(action="create", attrs=dict.fromkeys(computed_names, UNKNOWN), args=args)

    before = normalize_args(args_body, prior.args)
    # An argument that is also a computed attribute is one the provider fills in when the
    # user leaves it out: unset, it keeps the value the provider chose.
    for name in attrs_body.attributes:
        if name in args and args[name] is None and before.get(name) is not None:
            args[name] = before[name]
    changed = diff_paths(before, args)
    if not changed:
        return Planned(action="noop", attrs=dict(prior.attrs), args=args)

    sensitive = sensitive_paths(cls, before) + sensitive_paths(cls, args)
    reasons: list[str] = []
    replace_paths: list[str] = []
    for path in changed:
        rpath = replace_path(args_body, path)
        text = _reason(path, before, args, sensitive)
        if rpath is not None:
            where = format_path(rpath)
            if where not in replace_paths:
                replace_paths.append(where)
            text += ", forces replacement"
        reasons.append(text)

    if replace_paths:
        return Planned(
            action="replace",
            attrs=dict.fromkeys(computed_names, UNKNOWN),
            reasons=reasons,
            replace_paths=replace_paths,
            args=args,
        )
    recomputed = recomputed_on_update(cls)
    attrs = {
        name: UNKNOWN if name in recomputed or name not in prior.attrs else prior.attrs[name]
        for name in computed_names
    }
    # Attributes the prior state has but the schema does not (an older provider) are kept.
    for name, value in prior.attrs.items():
        attrs.setdefault(name, value)
    return Planned(action="update", attrs=attrs, reasons=reasons, args=args)


# -- normalization ---------------------------------------------------------------------------------


def normalize_args(body: BodySchema, data: Mapping[str, Any] | Any) -> dict[str, Any]:
    """The arguments with defaults filled in for those left out, inside blocks too."""
    if not isinstance(data, Mapping):
        return data
    out: dict[str, Any] = dict(data)
    for name, attr in body.attributes.items():
        if name not in out:
            if not attr.required:
                out[name] = attr.default
        elif attr.nested is not None and isinstance(out[name], Mapping):
            out[name] = normalize_args(attr.nested, out[name])
    for name, blk in body.blocks.items():
        value = out.get(name)
        if name not in out:
            out[name] = [] if blk.nesting != "single" else None
        elif blk.nesting == "single" and isinstance(value, Mapping):
            out[name] = normalize_args(blk.body, value)
        elif isinstance(value, list | tuple):
            out[name] = [normalize_args(blk.body, v) for v in value]
    return out


# -- comparison ------------------------------------------------------------------------------------


def _num(v: Any) -> Any:
    if isinstance(v, Decimal):
        return float(v) if v != v.to_integral_value() else int(v)
    return v


def values_equal(a: Any, b: Any) -> bool:
    """Deep equality of plain data; UNKNOWN equals nothing (not even UNKNOWN), since an
    unknown value may turn out to be anything."""
    if a is UNKNOWN or b is UNKNOWN:
        return False
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        if a.keys() != b.keys():
            return False
        return all(values_equal(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(values_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, int | float | Decimal) and isinstance(b, int | float | Decimal):
        return bool(_num(a) == _num(b))
    return type(a) is type(b) and bool(a == b)


def diff_paths(before: Any, after: Any, prefix: Path | None = None) -> list[Path]:
    """The paths at which `after` differs from `before`: into maps and objects key by key,
    into lists element by element when their lengths match (else the list as a whole). A
    missing key and a null compare equal."""
    path = prefix or []
    if after is UNKNOWN or before is UNKNOWN:
        return [path]
    if isinstance(before, Mapping) and isinstance(after, Mapping):
        out: list[Path] = []
        for k in [*before, *(k for k in after if k not in before)]:
            out.extend(diff_paths(before.get(k), after.get(k), [*path, k]))
        return out
    if (
        isinstance(before, list | tuple)
        and isinstance(after, list | tuple)
        and len(before) == len(after)
    ):
        out = []
        for i, (x, y) in enumerate(zip(before, after, strict=True)):
            out.extend(diff_paths(x, y, [*path, i]))
        return out
    return [] if values_equal(before, after) else [path]


def replace_path(body: BodySchema, path: Sequence[str | int]) -> Path | None:
    """When a change at `path` forces replacement, the path of the argument that carries the
    `replace=True` mark; None when the change can be made in place."""
    cur: BodySchema | None = body
    out: Path = []
    i = 0
    while cur is not None and i < len(path):
        step = path[i]
        out.append(step)
        i += 1
        if isinstance(step, int):
            continue
        item: AttributeSchema | BlockSchema | None = cur.get(step)
        if item is None:
            return None
        if item.replace:
            return out
        if isinstance(item, BlockSchema):
            cur = item.body
            if item.nesting != "single" and i < len(path) and isinstance(path[i], int):
                out.append(path[i])
                i += 1
        else:
            cur = item.nested
    return None


def _get(data: Any, path: Sequence[str | int]) -> Any:
    cur = data
    for step in path:
        if cur is UNKNOWN:
            return UNKNOWN
        if isinstance(cur, Mapping):
            cur = cur.get(step)  # type: ignore[call-overload]
        elif isinstance(cur, list | tuple) and isinstance(step, int) and step < len(cur):
            cur = cur[step]
        else:
            return None
    return cur


def short_value(value: Any, limit: int = 40) -> str:
    """A value as a reason line shows it: JSON-ish, cut short with an ellipsis."""
    if value is UNKNOWN:
        return "(known after apply)"
    try:
        text = json.dumps(_plain(value), ensure_ascii=False, separators=(", ", ": "))
    except (TypeError, ValueError):
        text = repr(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return _num(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if value is UNKNOWN:
        return None
    return value


def _reason(path: Path, before: Any, after: Any, sensitive: list[Path]) -> str:
    where = format_path(path) or "arguments"
    if any(path[: len(s)] == s for s in sensitive):
        return f"{where} changed (sensitive value)"
    return f"{where} changed {short_value(_get(before, path))} → {short_value(_get(after, path))}"
