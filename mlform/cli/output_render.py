"""Output values from state, rendered for people and for machines.

State keeps an output as plain JSON data plus its type in the JSON type notation. `output`,
`show` and the end of `apply` all print outputs the way Terraform does: the HCL form of
`terraform console` for people, and JSON with exact numbers (and Go's escaping of `<`, `>`, `&`)
for machines. Keeping it in one module means all three agree.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from mlform.lang.values import Value

__all__ = [
    "json_indent",
    "output_value",
    "raw_text",
    "render_output_value",
    "type_json",
    "value_json",
]


def output_value(value_json: Any, type_json: Any) -> Value:
    """The Value an output's stored data and type notation describe.

    A type notation this mlform cannot read (a newer state) falls back to the data's own shape,
    so the value still prints.
    """
    from mlform.engine.bridge import data_to_value
    from mlform.lang.types import from_json

    try:
        type_ = from_json(type_json) if type_json is not None else None
    except (KeyError, IndexError, TypeError, ValueError):
        type_ = None
    return data_to_value(value_json, type_)


def type_json(type_json: Any) -> Any:
    """The type notation in its canonical form (object attributes sorted, as Terraform writes
    them); a notation this mlform cannot read is returned as it is."""
    from mlform.lang.types import from_json

    try:
        return from_json(type_json).to_json()
    except (KeyError, IndexError, TypeError, ValueError):
        return type_json


def render_output_value(value_json: Any, type_json: Any) -> str:
    """An output's value in HCL form, as `terraform output` and `terraform apply` print it."""
    from mlform.lang.render import render_hcl

    return render_hcl(output_value(value_json, type_json))


def value_json(value_json: Any, type_json: Any) -> Any:
    """An output's value as JSON data (numbers exact, as Decimal where not integral)."""
    from mlform.lang.render import value_to_json

    return value_to_json(output_value(value_json, type_json))


def raw_text(value_json: Any, type_json: Any) -> str | None:
    """The bare text `--raw` prints for a string, number or bool; None for any other type."""
    from mlform.lang.render import number_text
    from mlform.lang.types import BOOL, NUMBER, STRING

    v = output_value(value_json, type_json)
    if v.type == STRING and isinstance(v.v, str):
        return v.v
    if v.type == NUMBER and isinstance(v.v, int | Decimal):
        return number_text(v.v)
    if v.type == BOOL and isinstance(v.v, bool):
        return "true" if v.v else "false"
    return None


# --- JSON text -------------------------------------------------------------------------------

_GO_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def _string(s: str) -> str:
    text = json.dumps(s, ensure_ascii=False)
    if any(ch in text for ch in _GO_ESCAPES):
        text = "".join(_GO_ESCAPES.get(ch, ch) for ch in text)
    return text


def json_indent(data: Any, indent: int = 2, compact: bool = False) -> str:
    """JSON text as Go's encoder writes it: exact Decimal numbers, HTML-safe strings, and keys
    in the order given. `compact` writes one line without spaces."""
    out: list[str] = []
    _write(data, out, 0, indent, compact)
    return "".join(out)


def _write(data: Any, out: list[str], level: int, indent: int, compact: bool) -> None:
    from mlform.lang.render import number_text

    if data is None:
        out.append("null")
    elif data is True or data is False:
        out.append("true" if data else "false")
    elif isinstance(data, int):
        out.append(str(data))
    elif isinstance(data, Decimal):
        out.append(number_text(data))
    elif isinstance(data, float):
        out.append(json.dumps(data))
    elif isinstance(data, str):
        out.append(_string(data))
    elif isinstance(data, list | tuple):
        _container(list(data), "[", "]", out, level, indent, compact, keyed=False)
    elif isinstance(data, dict):
        _container(list(data.items()), "{", "}", out, level, indent, compact, keyed=True)
    else:
        raise TypeError(f"cannot write {type(data).__name__} as JSON")


def _container(
    items: list[Any],
    open_: str,
    close: str,
    out: list[str],
    level: int,
    indent: int,
    compact: bool,
    keyed: bool,
) -> None:
    if not items:
        out.append(open_ + close)
        return
    out.append(open_)
    inner = "" if compact else "\n" + " " * (indent * (level + 1))
    for i, item in enumerate(items):
        if i:
            out.append(",")
        out.append(inner)
        if keyed:
            key, value = item
            out.append(_string(str(key)))
            out.append(":" if compact else ": ")
            _write(value, out, level + 1, indent, compact)
        else:
            _write(item, out, level + 1, indent, compact)
    if not compact:
        out.append("\n" + " " * (indent * level))
    out.append(close)
