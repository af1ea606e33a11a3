"""Values as text: the HCL-like form `terraform console` prints, and JSON with the value's type.

`render_hcl` follows Terraform's console formatting exactly: strings quoted as Go quotes them
(multi-line strings as heredocs), numbers in full decimal form, `tolist(...)`, `toset(...)`,
`tomap(...)` around collections, tuples as `[...]` and objects as `{...}` one element per line,
typed nulls as `tostring(null)`, unknown values as `(known after apply)` and sensitive ones as
`(sensitive value)`.

Numbers print as Terraform prints its 512-bit binary floats: exact values print exactly; a
result that was rounded (`1/3`) prints with the shortest decimal that identifies the same 512-bit
float, so the digits match Terraform's.
"""

from __future__ import annotations

import json
import unicodedata
from decimal import Decimal
from typing import Any

from mlform.lang.convert import format_number
from mlform.lang.types import (
    BOOL,
    DYNAMIC,
    NUMBER,
    STRING,
    ListType,
    MapType,
    ObjectType,
    SetType,
    TupleType,
)
from mlform.lang.values import UNKNOWN, Value

__all__ = ["json_dumps", "number_text", "render_hcl", "to_json_with_type", "value_to_json"]


def number_text(n: int | Decimal) -> str:
    """A number as Terraform prints it (`big.Float.Text('f', -1)` of its 512-bit value)."""
    return format_number(n)


# --- HCL form ----------------------------------------------------------------------------------


def render_hcl(value: Value, indent: int = 0) -> str:
    """How `terraform console` prints a value."""
    if value.v is UNKNOWN:
        return "(known after apply)"
    if value.is_sensitive:
        return "(sensitive value)"
    t = value.type
    if t.hcl() == "type" and value.v is not None:
        return _type_text(value)
    if value.v is None:
        if t is DYNAMIC:
            return "null"
        if t == STRING:
            return "tostring(null)"
        if t == NUMBER:
            return "tonumber(null)"
        if t == BOOL:
            return "tobool(null)"
        if isinstance(t, ListType):
            return f"tolist(null) /* of {t.elem.friendly()} */"
        if isinstance(t, SetType):
            return f"toset(null) /* of {t.elem.friendly()} */"
        if isinstance(t, MapType):
            return f"tomap(null) /* of {t.elem.friendly()} */"
        return f"null /* {t.friendly()} */"
    if t == STRING:
        if "\n" in value.v:
            return _heredoc(value.v, indent)
        return go_quote(value.v)
    if t == NUMBER:
        return number_text(value.v)
    if t == BOOL:
        return "true" if value.v else "false"
    if isinstance(t, ObjectType):
        return _mapping(value, indent)
    if isinstance(t, TupleType):
        return _sequence(value, indent)
    if isinstance(t, ListType):
        return f"tolist({_sequence(value, indent)})"
    if isinstance(t, SetType):
        return f"toset({_sequence(value, indent)})"
    if isinstance(t, MapType):
        return f"tomap({_mapping(value, indent)})"
    return repr(value)


def _type_text(value: Value) -> str:
    # The result of `type()`: a value whose payload is a Type, printed as a type expression.
    from mlform.lang.functions.conversion import type_string

    return type_string(value.v)


def _heredoc(text: str, indent: int) -> str:
    lines = text.split("\n")
    op = "<<-" if indent > 0 else "<<"
    delim = "EOT"
    while any(line.strip() == delim for line in lines):
        delim += "_"
    pad = " " * indent
    body = "".join("\n" + pad + line for line in lines)
    return f"{op}{delim}{body}\n{pad}{delim}"


def _mapping(value: Value, indent: int) -> str:
    items = value.v
    if not items:
        return "{}"
    inner = indent + 2
    pad = " " * inner
    parts = [f"\n{pad}{go_quote(k)} = {render_hcl(items[k], inner)}" for k in sorted(items)]
    return "{" + "".join(parts) + "\n" + " " * indent + "}"


def _sequence(value: Value, indent: int) -> str:
    elems = value.v
    if not elems:
        return "[]"
    inner = indent + 2
    pad = " " * inner
    parts = [f"\n{pad}{render_hcl(e, inner)}," for e in elems]
    return "[" + "".join(parts) + "\n" + " " * indent + "]"


_ESCAPES = {
    "\a": "\\a",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
}


def go_quote(s: str) -> str:
    """A string quoted as Go's strconv.Quote does it."""
    out = ['"']
    for ch in s:
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            out.append("\\\\")
        elif ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif _go_printable(ch):
            out.append(ch)
        else:
            cp = ord(ch)
            if cp < 0x80:
                out.append(f"\\x{cp:02x}")
            elif cp <= 0xFFFF:
                out.append(f"\\u{cp:04x}")
            else:
                out.append(f"\\U{cp:08x}")
    out.append('"')
    return "".join(out)


def _go_printable(ch: str) -> bool:
    # Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space.
    if ch == " ":
        return True
    cat = unicodedata.category(ch)
    return cat[0] in "LMNPS"


# --- JSON form ---------------------------------------------------------------------------------


def value_to_json(value: Value) -> Any:
    """Plain JSON data for a known value; non-integral numbers stay Decimal (see json_dumps).
    Unknown parts become None."""
    v = value.v
    if v is UNKNOWN or v is None:
        return None
    if isinstance(v, tuple):
        return [value_to_json(e) for e in v]
    if isinstance(v, dict):
        return {k: value_to_json(v[k]) for k in sorted(v)}
    if isinstance(v, Decimal):
        return Decimal(number_text(v))
    if value.type.hcl() == "type":
        return _type_text(value)
    return v


def to_json_with_type(value: Value) -> dict[str, Any]:
    """`{"value": ..., "type": ...}` in the notation of `terraform output -json`."""
    return {"value": value_to_json(value), "type": value.type.to_json()}


def json_dumps(data: Any) -> str:
    """Compact JSON on one line, with Decimal numbers written exactly (no float rounding)."""
    parts: list[str] = []
    _dump(data, parts)
    return "".join(parts)


def _dump(data: Any, out: list[str]) -> None:
    if data is None:
        out.append("null")
    elif data is True:
        out.append("true")
    elif data is False:
        out.append("false")
    elif isinstance(data, int):
        out.append(str(data))
    elif isinstance(data, Decimal):
        out.append(format_number(data))
    elif isinstance(data, float):
        out.append(json.dumps(data))
    elif isinstance(data, str):
        out.append(json.dumps(data, ensure_ascii=False))
    elif isinstance(data, list | tuple):
        out.append("[")
        for i, e in enumerate(data):
            if i:
                out.append(",")
            _dump(e, out)
        out.append("]")
    elif isinstance(data, dict):
        out.append("{")
        for i, (k, e) in enumerate(data.items()):
            if i:
                out.append(",")
            out.append(json.dumps(str(k), ensure_ascii=False))
            out.append(":")
            _dump(e, out)
        out.append("}")
    else:
        raise TypeError(f"cannot write {type(data).__name__} as JSON")
