"""Encoding functions: base64decode, base64encode, base64gzip, csvdecode, jsondecode, jsonencode,
textdecodebase64, textencodebase64, urlencode, yamldecode, yamlencode.

JSON is written as Terraform writes it (object keys sorted, `<`, `>` and `&` escaped as Go's
encoder does, numbers exact) and read with exact numbers. YAML is written in Terraform's style:
block collections, double-quoted strings and keys, literal blocks for multi-line strings.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from mlform.lang.functions._core import FunctionContext, FunctionError, Param, register
from mlform.lang.functions._format import json_dumps, json_string
from mlform.lang.limits import MAX_NESTING
from mlform.lang.types import DYNAMIC, STRING, ListType, ObjectType, Type
from mlform.lang.values import Value, from_python, string

S = Param("str", STRING)
_B64 = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")


def decode_base64(text: str, arg_index: int = 0) -> bytes:
    """Standard base64 with padding, strictly, as Go's StdEncoding reads it."""
    for i, ch in enumerate(text):
        if ch not in _B64 and ch != "=" and ch not in "\r\n":
            raise FunctionError(
                f"the given value is has an invalid base64 symbol at offset {i}", arg_index
            )
    try:
        return base64.b64decode(text.replace("\r", "").replace("\n", ""), validate=True)
    except (binascii.Error, ValueError):
        raise FunctionError(
            f"the given value is has an invalid base64 symbol at offset {len(text)}", arg_index
        ) from None


@register(
    "base64decode",
    "encoding",
    [Param("str", STRING, allow_marked=True)],
    STRING,
    description="Takes a string containing a Base64 character sequence and returns the "
    "original string.",
    examples=[('base64decode("SGVsbG8gV29ybGQ=")', '"Hello World"')],
    notes=["The decoded bytes must be valid UTF-8; use `filebase64` style functions for binary."],
)
def _base64decode(args: list[Value], fctx: FunctionContext) -> Value:
    text = args[0].v
    try:
        raw = decode_base64(text)
    except FunctionError:
        shown = "(sensitive value)" if args[0].is_sensitive else _go_quote(text)
        raise FunctionError(f"failed to decode base64 data {shown}") from None
    try:
        return string(raw.decode("utf-8")).with_marks(args[0].marks)
    except UnicodeDecodeError:
        raise FunctionError(
            "the result of decoding the provided string is not valid UTF-8"
        ) from None


def _go_quote(s: str) -> str:
    from mlform.lang.render import go_quote

    return go_quote(s)


@register(
    "base64encode",
    "encoding",
    [S],
    STRING,
    description="Applies Base64 encoding to a string (its UTF-8 bytes).",
    examples=[('base64encode("Hello World")', '"SGVsbG8gV29ybGQ="')],
)
def _base64encode(args: list[Value], fctx: FunctionContext) -> Value:
    return string(base64.b64encode(args[0].v.encode("utf-8")).decode("ascii"))


@register(
    "base64gzip",
    "encoding",
    [S],
    STRING,
    description="Compresses a string with gzip and then encodes the result in Base64 encoding.",
    examples=[
        ('base64gzip("hello world")', '"H4sIAAAAAAAA/8pIzcnJVyjPL8pJAQAAAP//AQAA//+FEUoNCwAAAA=="')
    ],
    notes=[
        "The compressed bytes are valid gzip and framed as Terraform frames them, but for text "
        "with repeats they need not be byte-identical to Terraform's, whose compressor differs.",
    ],
)
def _base64gzip(args: list[Value], fctx: FunctionContext) -> Value:
    import struct
    import zlib

    raw = args[0].v.encode("utf-8")
    # Framed as Terraform's Go writer frames it: a header with no time and OS 255 ("unknown"),
    # the data flushed with a sync marker, then an empty final stored block. For text without
    # repeats this is byte for byte Terraform's output; otherwise Go's matcher may choose
    # other (equally valid) back-references.
    deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
    body = deflate.compress(raw) + deflate.flush(zlib.Z_SYNC_FLUSH) + b"\x01\x00\x00\xff\xff"
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
    trailer = struct.pack("<II", zlib.crc32(raw), len(raw) & 0xFFFFFFFF)
    return string(base64.b64encode(header + body + trailer).decode("ascii"))


def _csv_type(args: list[Value]) -> Type:
    # Like Terraform's, these mistakes are reported for the call, not for the argument.
    if not args[0].is_known:
        return DYNAMIC
    rows = _csv_rows(args[0].v)
    if not rows:
        raise FunctionError("missing header line")
    header = rows[0]
    seen: set[str] = set()
    for name in header:
        if name in seen:
            raise FunctionError(f'duplicate column name "{name}"')
        seen.add(name)
    return ListType(ObjectType.of({n: STRING for n in header}))


_CSV_MESSAGES = {
    "',' expected after '\"'": 'extraneous or missing " in quoted-field',
    "unexpected end of data": 'extraneous or missing " in quoted-field',
}


def _csv_rows(text: str) -> list[list[str]]:
    import csv
    import io

    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[list[str]] = []
    try:
        for row in reader:
            if not row:
                continue  # blank lines are skipped, as Go's reader skips them
            if rows and len(row) != len(rows[0]):
                raise FunctionError(
                    f"CSV parse error on line {reader.line_num}: wrong number of fields"
                )
            rows.append(row)
    except csv.Error as e:
        why = _CSV_MESSAGES.get(str(e), str(e))
        raise FunctionError(f"CSV parse error on line {reader.line_num}: {why}") from None
    return rows


@register(
    "csvdecode",
    "encoding",
    [S],
    _csv_type,
    description="Decodes a string containing CSV-formatted data and produces a list of maps "
    "representing that data. The first line gives the attribute names.",
    examples=[
        (
            'csvdecode("a,b,c\\n1,2,3\\n4,5,6")',
            '[{ "a" = "1", "b" = "2", "c" = "3" }, { "a" = "4", "b" = "5", "c" = "6" }]',
        )
    ],
    notes=[
        "A row with a different number of fields than the header, an empty input (no header) or "
        "a repeated column name is an error.",
    ],
)
def _csvdecode(args: list[Value], fctx: FunctionContext) -> Value:
    ret = _csv_type(args)
    assert isinstance(ret, ListType) and isinstance(ret.elem, ObjectType)
    rows = _csv_rows(args[0].v)
    header = rows[0]
    out = [
        Value(ret.elem, {h: string(c) for h, c in zip(header, row, strict=True)})
        for row in rows[1:]
    ]
    return Value(ret, tuple(out))


def _json_number(text: str) -> Decimal:
    return Decimal(text)


def _reject_constant(name: str) -> Any:
    raise json.JSONDecodeError("Expecting value", name, 0)


def _go_char(ch: str) -> str:
    """A character quoted as Go's JSON scanner quotes it in messages."""
    if ch == "'":
        return "'\\''"
    if ch == '"':
        return "'\"'"
    from mlform.lang.render import go_quote

    return "'" + go_quote(ch)[1:-1] + "'"


def _open_container(text: str, pos: int) -> str:
    """The innermost bracket open at `pos`: "{" or "[" (or "" at the top level)."""
    stack: list[str] = []
    in_string = False
    escaped = False
    for ch in text[:pos]:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "{[":
            stack.append(ch)
        elif ch in "}]" and stack:
            stack.pop()
    return stack[-1] if stack else ""


def _json_error(text: str, e: json.JSONDecodeError) -> str:
    """Python's JSON error in the words of Go's decoder, which Terraform reports."""
    if not text.strip():
        return "EOF"
    pos = e.pos
    if pos >= len(text) or e.msg.startswith("Unterminated string"):
        return "unexpected EOF"
    ch = _go_char(text[pos])
    msg = e.msg
    if msg.startswith("Extra data"):
        return "extraneous data after JSON object"
    if msg.startswith("Expecting ':'"):
        return f"invalid character {ch} after object key"
    if msg.startswith("Expecting property name"):
        return f"invalid character {ch} looking for beginning of object key string"
    if msg.startswith("Expecting ',' delimiter"):
        where = "object key:value pair" if _open_container(text, pos) == "{" else "array element"
        return f"invalid character {ch} after {where}"
    if msg.startswith("Invalid control character"):
        return f"invalid character {ch} in string literal"
    if msg.startswith("Invalid \\escape"):
        return f"invalid character {ch} in string escape code"
    return f"invalid character {ch} looking for beginning of value"


def parse_json(text: str, arg_index: int | None = None) -> Value:
    """A JSON document as a value of the type Terraform infers (objects, tuples, exact
    numbers)."""
    try:
        data = json.loads(
            text, parse_float=_json_number, parse_int=int, parse_constant=_reject_constant
        )
    except json.JSONDecodeError as e:
        if e.doc != text:  # NaN, Infinity: rejected where they start
            e = json.JSONDecodeError("Expecting value", text, _constant_pos(text, e.doc))
        raise FunctionError(_json_error(text, e), arg_index) from None
    _check_nesting(data, arg_index)
    return from_python(data)


def _check_nesting(data: object, arg_index: int | None) -> None:
    """Refuse a document nested deeper than a configuration may be (see mlform.lang.limits)."""
    stack = [(data, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Iterable[object] = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > MAX_NESTING:
            raise FunctionError(
                f"the document is nested more than {MAX_NESTING} levels deep", arg_index
            )
        stack.extend((c, depth + 1) for c in children)


def _constant_pos(text: str, name: str) -> int:
    import re

    m = re.search(re.escape(name), text)
    return m.start() if m else 0


@register(
    "jsondecode",
    "encoding",
    [S],
    DYNAMIC,
    description="Interprets a given string as JSON, returning a representation of the result "
    "of decoding that string.",
    examples=[
        ('jsondecode("{\\"hello\\": \\"world\\"}")', '{ "hello" = "world" }'),
        ('jsondecode("true")', "true"),
        ('jsondecode("0.1")', "0.1"),
    ],
    notes=[
        "Objects become objects and arrays become tuples; numbers are exact "
        '(`jsondecode("12345678901234567890.5")` keeps every digit); `null` is null.',
    ],
)
def _jsondecode(args: list[Value], fctx: FunctionContext) -> Value:
    return parse_json(args[0].v)


@register(
    "jsonencode",
    "encoding",
    [Param("val", DYNAMIC, allow_null=True)],
    STRING,
    description="Encodes a given value to a string using JSON syntax.",
    examples=[
        ('jsonencode({"hello"="world"})', '"{\\"hello\\":\\"world\\"}"'),
        ("jsonencode({b=1, a=[true, null]})", '"{\\"a\\":[true,null],\\"b\\":1}"'),
        ('jsonencode("<b>&")', '"\\"\\\\u003cb\\\\u003e\\\\u0026\\""'),
    ],
    notes=[
        "Object keys are sorted; `<`, `>`, `&`, U+2028 and U+2029 are escaped as `\\u003c` etc., "
        "as Go's encoder does; sets and lists become arrays, maps and objects JSON objects.",
    ],
)
def _jsonencode(args: list[Value], fctx: FunctionContext) -> Value:
    return string(json_dumps(args[0]))


def _codec(name: str, arg_index: int) -> str:
    import codecs

    try:
        codec = codecs.lookup(name).name
        if codec in ("utf-32", "utf-32-be", "utf-32-le"):
            raise LookupError(name)  # not in the IANA index Terraform uses
        return codec
    except LookupError:
        raise FunctionError(
            f'"{name}" is not a supported IANA encoding name or alias in this mlform version',
            arg_index,
        ) from None


@register(
    "textencodebase64",
    "encoding",
    [Param("string", STRING), Param("encoding", STRING)],
    STRING,
    description="Encodes the characters of a string in the given character encoding, then "
    "encodes the resulting bytes in Base64.",
    examples=[
        ('textencodebase64("Hello World", "UTF-16LE")', '"SABlAGwAbABvACAAVwBvAHIAbABkAA=="')
    ],
)
def _textencodebase64(args: list[Value], fctx: FunctionContext) -> Value:
    codec = _codec(args[1].v, 1)
    try:
        if codec == "utf-16":
            # IANA's UTF-16 is big-endian with a byte order mark, whatever this machine's order.
            data = b"\xfe\xff" + args[0].v.encode("utf-16-be")
        else:
            data = args[0].v.encode(codec)
    except UnicodeEncodeError:
        raise FunctionError(
            f"the given string contains characters that cannot be represented in {args[1].v}", 0
        ) from None
    return string(base64.b64encode(data).decode("ascii"))


@register(
    "textdecodebase64",
    "encoding",
    [Param("source", STRING), Param("encoding", STRING)],
    STRING,
    description="Decodes a Base64 string whose bytes are characters in the given encoding.",
    examples=[
        ('textdecodebase64("SABlAGwAbABvACAAVwBvAHIAbABkAA==", "UTF-16LE")', '"Hello World"')
    ],
)
def _textdecodebase64(args: list[Value], fctx: FunctionContext) -> Value:
    codec = _codec(args[1].v, 1)
    raw = decode_base64(args[0].v, 0)
    if codec == "utf-16" and not raw.startswith((b"\xfe\xff", b"\xff\xfe")):
        codec = "utf-16-be"  # no byte order mark: big-endian, as IANA's UTF-16 says
    try:
        text = raw.decode(codec)
    except UnicodeDecodeError:
        text = "\ufffd"
    if "\ufffd" in text:
        raise FunctionError(
            f"the given string contains symbols that are not defined for {args[1].v}", 0
        )
    return string(text)


@register(
    "urlencode",
    "encoding",
    [S],
    STRING,
    description="Applies URL encoding to a given string, as for a query string.",
    examples=[
        ('urlencode("Hello World!")', '"Hello+World%21"'),
        ('urlencode("☃")', '"%E2%98%83"'),
        (
            '"http://example.com/search?q=${urlencode("terraform urlencode")}"',
            '"http://example.com/search?q=terraform+urlencode"',
        ),
    ],
)
def _urlencode(args: list[Value], fctx: FunctionContext) -> Value:
    from urllib.parse import quote_plus

    return string(quote_plus(args[0].v, safe=""))


# --- YAML --------------------------------------------------------------------------------------


@register(
    "yamldecode",
    "encoding",
    [S],
    DYNAMIC,
    description="Parses a string as a subset of YAML, and produces a representation of its value.",
    examples=[
        ('yamldecode("hello: world")', '{ "hello" = "world" }'),
        ('yamldecode("true")', "true"),
        ('yamldecode("{a: &foo [1, 2, 3], b: *foo}")', '{ "a" = [1, 2, 3], "b" = [1, 2, 3] }'),
    ],
    notes=[
        "Mappings become objects and sequences tuples; numbers are exact; only one document "
        "is allowed.",
        "Plain scalars follow YAML 1.1 as Terraform reads them: `yes`, `on`, `y` are true and "
        '`no`, `off`, `n` false (keys too: `{on: 1}` gives the key `"true"`); timestamps become '
        'RFC 3339 strings (`2020-1-2` gives `"2020-01-02T00:00:00Z"`); `0x1F` stays a string.',
    ],
)
def _yamldecode(args: list[Value], fctx: FunctionContext) -> Value:
    from mlform.lang.functions._yaml import YamlError, load

    try:
        return load(args[0].v)
    except YamlError as e:
        raise FunctionError(str(e)) from None


def yaml_dump(v: Value) -> str:
    """A wholly known value as YAML in Terraform's style."""
    from mlform.lang.functions._yaml import dump

    return dump(v)


@register(
    "yamlencode",
    "encoding",
    [Param("value", DYNAMIC, allow_null=True)],
    STRING,
    description="Encodes a given value to a string using YAML 1.2 block syntax.",
    examples=[
        ('yamlencode({"a":"b", "c":"d"})', '"\\"a\\": \\"b\\"\\n\\"c\\": \\"d\\"\\n"'),
        (
            'yamlencode({"foo":[1, 2, 3], "bar": "baz"})',
            '"\\"bar\\": \\"baz\\"\\n\\"foo\\":\\n- 1\\n- 2\\n- 3\\n"',
        ),
    ],
    notes=[
        "Strings and keys are double-quoted, multi-line strings use literal blocks (`|`), keys "
        "are sorted, and sequences inside mappings are not indented, as Terraform writes them.",
    ],
)
def _yamlencode(args: list[Value], fctx: FunctionContext) -> Value:
    return string(yaml_dump(args[0]))


__all__ = ["decode_base64", "json_string", "parse_json", "yaml_dump"]
