"""Crossing between the language's Values and the plain data providers and the state hold.

Providers see plain Python data with `mlform.sdk.UNKNOWN` where a value is not known yet;
the state stores JSON data plus the paths of sensitive values. Values carry types and marks.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from mlform.lang import values as V
from mlform.lang.types import DYNAMIC, Type
from mlform.lang.values import SENSITIVE, UNKNOWN, Value
from mlform.sdk import UNKNOWN as DATA_UNKNOWN

Path = list[str | int]


def value_to_data(v: Value) -> Any:
    """Plain data for a provider: unknown becomes `sdk.UNKNOWN`; marks are dropped (see
    `sensitive_paths` to keep them)."""
    p = v.v
    if p is UNKNOWN:
        return DATA_UNKNOWN
    if p is None:
        return None
    if isinstance(p, tuple):
        return [value_to_data(e) for e in p]
    if isinstance(p, dict):
        return {k: value_to_data(e) for k, e in p.items()}
    if isinstance(p, Decimal):
        f = float(p)
        return f
    return p


def data_to_value(data: Any, type_: Type | None = None) -> Value:
    """A Value from provider or state data, converted to `type_` where given and possible."""
    v = _from_data(data)
    if type_ is not None and type_ is not DYNAMIC:
        from mlform.lang.convert import ConversionError, convert

        try:
            return convert(v, type_)
        except ConversionError:
            return v
    return v


def _from_data(data: Any) -> Value:
    if data is DATA_UNKNOWN:
        return V.DYNAMIC_UNKNOWN
    if isinstance(data, Value):
        return data
    if isinstance(data, list | tuple):
        return V.tuple_of(_from_data(e) for e in data)
    if isinstance(data, dict):
        return V.object_of({str(k): _from_data(e) for k, e in data.items()})
    return V.from_python(data)


def sensitive_paths(v: Value, prefix: Path | None = None) -> list[Path]:
    """Paths (attribute names and indexes) of the marked parts of a value."""
    prefix = prefix or []
    if SENSITIVE in v.marks:
        return [list(prefix)]
    out: list[Path] = []
    if isinstance(v.v, tuple):
        for i, e in enumerate(v.v):
            out.extend(sensitive_paths(e, [*prefix, i]))
    elif isinstance(v.v, dict):
        for k, e in v.v.items():
            out.extend(sensitive_paths(e, [*prefix, k]))
    return out


def mark_paths(v: Value, paths: list[Path]) -> Value:
    """`v` with the parts at `paths` marked sensitive."""
    for path in paths:
        v = _mark_at(v, list(path))
    return v


def _mark_at(v: Value, path: Path) -> Value:
    if not path:
        return v.mark(SENSITIVE)
    head, rest = path[0], path[1:]
    if isinstance(v.v, dict) and isinstance(head, str) and head in v.v:
        items = dict(v.v)
        items[head] = _mark_at(items[head], rest)
        return Value(v.type, items, v.marks)
    if isinstance(v.v, tuple) and isinstance(head, int) and 0 <= head < len(v.v):
        elems = list(v.v)
        elems[head] = _mark_at(elems[head], rest)
        return Value(v.type, tuple(elems), v.marks)
    return v


def data_has_unknown(data: Any) -> bool:
    if data is DATA_UNKNOWN:
        return True
    if isinstance(data, list | tuple):
        return any(data_has_unknown(e) for e in data)
    if isinstance(data, dict):
        return any(data_has_unknown(e) for e in data.values())
    return False


def get_path(data: Any, path: Path) -> Any:
    for p in path:
        if isinstance(data, dict) and isinstance(p, str):
            data = data.get(p)
        elif isinstance(data, list) and isinstance(p, int) and 0 <= p < len(data):
            data = data[p]
        else:
            return None
    return data


def set_path(data: Any, path: Path, new: Any) -> Any:
    """A copy of `data` with the value at `path` replaced (created for dict keys)."""
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(data, dict) and isinstance(head, str):
        out = dict(data)
        out[head] = set_path(data.get(head), rest, new)
        return out
    if isinstance(data, list) and isinstance(head, int) and 0 <= head < len(data):
        out_l = list(data)
        out_l[head] = set_path(data[head], rest, new)
        return out_l
    return data


def derived_sensitive(data: Any, paths: list[Path]) -> list[Path]:
    """`paths` plus every other path in `data` that holds a copy of a sensitive value (a text,
    or a non-empty collection), so that a computed attribute echoing a secret (an `echo`, a
    connection string) is hidden wherever the secret is."""
    secrets: list[Any] = []
    for p in paths:
        v = get_path(data, list(p))
        if (isinstance(v, str) and v) or (isinstance(v, dict | list) and v):
            secrets.append(v)
    if not secrets:
        return paths
    out = [list(p) for p in paths]
    seen = {tuple(p) for p in out}

    def walk(v: Any, path: list[str | int]) -> None:
        if tuple(path) in seen:
            return
        if path and type(v) in (str, dict, list) and any(v == s for s in secrets):
            out.append(list(path))
            seen.add(tuple(path))
            return
        if isinstance(v, dict):
            for k, x in v.items():
                walk(x, [*path, k])
        elif isinstance(v, list):
            for i, x in enumerate(v):
                walk(x, [*path, i])

    walk(data, [])
    return out


def redact_texts(texts: list[str], sources: list[tuple[Any, list[Path]]]) -> list[str]:
    """`texts` (reasons a provider wrote, which may quote values) with every sensitive value
    found at `sources`' paths replaced by `(sensitive value)`."""
    secrets: set[str] = set()

    def leaves(v: Any) -> None:
        if isinstance(v, str) and v:
            secrets.add(v)
        elif isinstance(v, dict):
            for x in v.values():
                leaves(x)
        elif isinstance(v, list):
            for x in v:
                leaves(x)
        elif isinstance(v, int | float | Decimal) and not isinstance(v, bool) and len(str(v)) > 1:
            secrets.add(str(v))

    for data, paths in sources:
        for p in paths:
            leaves(get_path(data, list(p)))
    if not secrets:
        return texts
    out = []
    # Longest first, so that a secret containing another is replaced whole.
    ordered = sorted(secrets, key=len, reverse=True)
    for text in texts:
        for s in ordered:
            text = text.replace(json.dumps(s, ensure_ascii=False), "(sensitive value)")
            text = text.replace(s, "(sensitive value)")
        out.append(text)
    return out
