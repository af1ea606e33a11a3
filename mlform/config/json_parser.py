"""The parser for HCL's JSON syntax (`.mlf.json`): JSON text to mlform's syntax tree.

The JSON form carries the same configuration as the native syntax, following HCL's JSON rules:
strings are templates (`"${var.x}"` interpolates), numbers, booleans and null are literals,
arrays are tuples and objects are object constructors. A property named `//` is a comment.

JSON cannot say whether an object is a nested block or an attribute holding an object; HCL
decides with the schema. This parser knows the block types of a configuration file and their
label counts (`resource` has two labels, `variable` one, `locals` none, ...) and the common
nested blocks (`lifecycle`, `dynamic`, `provisioner`, ...); everything else stays an attribute
whose expression is an `ObjectCons`, and the decoder, which knows the full schema, turns it into
a block where one is expected (every body is marked `from_json`).

Positions are tracked on the JSON text itself, so every node has an exact range.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

from mlform.config.syntax import Attribute, Block, Body, File
from mlform.diagnostics import Diagnostic, Pos, Range, Severity
from mlform.lang import values
from mlform.lang.ast import Expr, Literal, ObjectCons, ObjectItem, TupleCons

__all__ = ["parse_json", "TOP_LEVEL_BLOCKS", "NESTED_BLOCKS"]

# Block types of a configuration file and how many labels each has.
TOP_LEVEL_BLOCKS: dict[str, int] = {
    "resource": 2,
    "data": 2,
    "module": 1,
    "variable": 1,
    "output": 1,
    "provider": 1,
    "locals": 0,
    "mlform": 0,
    "moved": 0,
    "terraform": 0,
    "import": 0,
    "removed": 0,
    "check": 1,
}
# Blocks that may appear inside other blocks.
NESTED_BLOCKS: dict[str, int] = {
    "lifecycle": 0,
    "dynamic": 1,
    "content": 0,
    "provisioner": 1,
    "backend": 1,
    "required_providers": 0,
    "validation": 0,
    "precondition": 0,
    "postcondition": 0,
    "connection": 0,
    "assert": 0,
    "guardrails": 0,
}
# Bodies whose properties are all attributes, whatever their names.
_ATTRIBUTES_ONLY = frozenset({"locals", "required_providers"})

_TOKEN = re.compile(
    r"""[ \t\r\n]*(?:
     ([{}\[\]:,])                                   # 1 punctuation
    |("(?:[^"\\\x00-\x1f]|\\.)*")                   # 2 string
    |(-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)   # 3 number
    |(true|false|null)\b                            # 4 keyword
    |(\Z)                                           # 5 end
    |("(?:[^"\\\n]|\\.)*"?|[A-Za-z_][\w-]*|.)       # 6 anything else
    )""",
    re.X | re.S,
)


class _Fail(Exception):
    pass


@dataclass(slots=True)
class _JValue:
    """A JSON value with its position: kind is obj, arr, str, num, true, false or null."""

    kind: str
    value: Any  # obj: list of (key, key_start, key_end, _JValue); arr: list; str: text; num: text
    start: int
    end: int


class _JsonParser:
    def __init__(self, text: str, filename: str):
        self.text = text
        self.filename = filename
        self.pos = 0
        self.diags: list[Diagnostic] = []
        starts = [0]
        j = text.find("\n")
        while j >= 0:
            starts.append(j + 1)
            j = text.find("\n", j + 1)
        self.line_starts = starts
        self.cache: dict[int, Pos] = {}

    # -- positions and errors --------------------------------------------------------------

    def p(self, off: int) -> Pos:
        pos = self.cache.get(off)
        if pos is None:
            line = bisect_right(self.line_starts, off)
            pos = Pos(line, off - self.line_starts[line - 1] + 1, off)
            self.cache[off] = pos
        return pos

    def rng(self, a: int, b: int) -> Range:
        return Range(self.filename, self.p(a), self.p(b))

    def error(self, summary: str, detail: str, a: int, b: int) -> None:
        self.diags.append(Diagnostic(Severity.ERROR, summary, detail, self.rng(a, b)))

    # -- JSON --------------------------------------------------------------------------------

    def token(self) -> tuple[int, str, int, int]:
        m = _TOKEN.match(self.text, self.pos)
        assert m is not None
        g = m.lastindex or 6
        s, e = m.start(g), m.end(g)
        self.pos = e
        return g, self.text[s:e], s, e

    def peek(self) -> tuple[int, str, int, int]:
        save = self.pos
        tok = self.token()
        self.pos = save
        return tok

    def value(self) -> _JValue:
        g, t, s, e = self.token()
        if g == 1 and t == "{":
            return self.obj(s)
        if g == 1 and t == "[":
            return self.arr(s)
        if g == 2:
            return _JValue("str", self.decode(t, s), s, e)
        if g == 3:
            return _JValue("num", t, s, e)
        if g == 4:
            return _JValue(t, None, s, e)
        if g == 5:
            self.error(
                "Missing value",
                "The JSON document ends where a value (a string, number, object, array, true, "
                "false or null) is required.",
                s,
                e,
            )
            raise _Fail()
        if g == 6 and t.startswith('"'):
            self.error(
                "Invalid JSON string",
                "This string is not valid JSON: it is unterminated, or holds a raw control "
                "character (use escapes such as \\n).",
                s,
                e,
            )
        else:
            self.error(
                "Invalid JSON value",
                f"Expected a JSON value (a string, number, object, array, true, false or null), "
                f"but found {t!r}.",
                s,
                e,
            )
        raise _Fail()

    def decode(self, raw: str, s: int) -> str:
        if "\\" not in raw:
            return raw[1:-1]
        try:
            return str(json.loads(raw))
        except ValueError as exc:
            self.error(
                "Invalid JSON string",
                # json.loads on a str raises JSONDecodeError, which carries .msg.
                f"This string has an invalid escape sequence ({cast(json.JSONDecodeError, exc).msg}).",
                s,
                s + len(raw),
            )
            raise _Fail() from None

    def obj(self, start: int) -> _JValue:
        items: list[tuple[str, int, int, _JValue]] = []
        g, t, s, e = self.token()
        if g == 1 and t == "}":
            return _JValue("obj", items, start, e)
        while True:
            if g != 2:
                if g == 5:
                    self.error(
                        "Unclosed object",
                        "There is no closing brace for this object before the end of the file.",
                        start,
                        start + 1,
                    )
                else:
                    self.error(
                        "Invalid property name",
                        f"A JSON object property name must be a quoted string; found {t!r}.",
                        s,
                        e,
                    )
                raise _Fail()
            key = self.decode(t, s)
            ks, ke = s, e
            g, t, s, e = self.token()
            if not (g == 1 and t == ":"):
                self.error(
                    "Missing property value colon",
                    "JSON uses a colon as its name/value delimiter.",
                    s,
                    e,
                )
                raise _Fail()
            items.append((key, ks, ke, self.value()))
            g, t, s, e = self.token()
            if g == 1 and t == "}":
                return _JValue("obj", items, start, e)
            if g == 5:
                self.error(
                    "Unclosed object",
                    "There is no closing brace for this object before the end of the file.",
                    start,
                    start + 1,
                )
                raise _Fail()
            if not (g == 1 and t == ","):
                self.error(
                    "Missing property separator",
                    "A comma is required between the properties of a JSON object, and a closing "
                    "brace after the last one.",
                    s,
                    e,
                )
                raise _Fail()
            g, t, s, e = self.token()
            if g == 1 and t == "}":
                self.error(
                    "Trailing comma in object",
                    "JSON does not permit a trailing comma after the last property.",
                    s,
                    e,
                )
                raise _Fail()

    def arr(self, start: int) -> _JValue:
        items: list[_JValue] = []
        g, t, s, e = self.peek()
        if g == 1 and t == "]":
            self.token()
            return _JValue("arr", items, start, e)
        while True:
            items.append(self.value())
            g, t, s, e = self.token()
            if g == 1 and t == "]":
                return _JValue("arr", items, start, e)
            if not (g == 1 and t == ","):
                self.error(
                    "Missing array element separator" if g != 5 else "Unclosed array",
                    "A comma is required between the elements of a JSON array, and a closing "
                    "bracket after the last one.",
                    s if g != 5 else start,
                    e if g != 5 else start + 1,
                )
                raise _Fail()

    # -- HCL ---------------------------------------------------------------------------------

    def file_body(self, root: _JValue) -> Body:
        if root.kind != "obj":
            self.error(
                "Root value must be object",
                "The root value in a JSON-based configuration must be a JSON object.",
                root.start,
                root.end,
            )
            return Body(from_json=True, range=self.rng(root.start, root.end))
        return self.body(root, TOP_LEVEL_BLOCKS, "")

    def body(self, obj: _JValue, blocks: dict[str, int], owner: str) -> Body:
        body = Body(from_json=True, range=self.rng(obj.start, obj.end))
        attrs_only = owner in _ATTRIBUTES_ONLY
        for key, ks, ke, val in obj.value:
            if key == "//":
                continue  # a comment
            nlabels = None if attrs_only else blocks.get(key)
            if nlabels is not None and val.kind in ("obj", "arr"):
                self.blocks(body, key, ks, ke, val, nlabels, [], [])
                continue
            name_range = self.rng(ks, ke)
            expr = self.expr(val)
            prev = body.attributes.get(key)
            if prev is not None:
                self.diags.append(
                    Diagnostic(
                        Severity.ERROR,
                        "Attribute redefined",
                        f'The argument "{key}" was already set at {prev.name_range.filename} '
                        f"line {prev.name_range.start.line}. Each argument may be set only once.",
                        name_range,
                    )
                )
                continue
            body.attributes[key] = Attribute(
                key, expr, Range(self.filename, name_range.start, expr.range.end), name_range
            )
        return body

    def blocks(
        self,
        body: Body,
        type_: str,
        ks: int,
        ke: int,
        val: _JValue,
        nlabels: int,
        labels: list[str],
        label_ranges: list[Range],
    ) -> None:
        """Blocks of type `type_` from `val`: nested objects keyed by label, ending in a body
        object, where an array at any level gives several blocks."""
        if val.kind == "arr":
            for item in val.value:
                self.blocks(body, type_, ks, ke, item, nlabels, labels, label_ranges)
            return
        if val.kind != "obj":
            what = "labels and a body" if len(labels) < nlabels else "a body"
            self.error(
                "Incorrect JSON value type",
                f'A JSON object is required here, giving the {what} of this "{type_}" block.',
                val.start,
                val.end,
            )
            return
        if len(labels) < nlabels:
            for key, lks, lke, inner in val.value:
                if key == "//":
                    continue
                self.blocks(
                    body,
                    type_,
                    ks,
                    ke,
                    inner,
                    nlabels,
                    [*labels, key],
                    [*label_ranges, self.rng(lks, lke)],
                )
            return
        nested = NESTED_BLOCKS
        if type_ == "dynamic":
            nested = {**NESTED_BLOCKS, "content": 0}
        elif type_ == "check":
            nested = {**NESTED_BLOCKS, "data": 2}  # a check block's own data source
        inner_body = self.body(val, nested, type_)
        type_range = self.rng(ks, ke)
        body.blocks.append(
            Block(
                type_,
                labels,
                inner_body,
                Range(self.filename, type_range.start, self.p(val.end)),
                type_range,
                label_ranges,
            )
        )

    def expr(self, val: _JValue) -> Expr:
        kind = val.kind
        r = self.rng(val.start, val.end)
        if kind == "str":
            return self.string_expr(val, r)
        if kind == "num":
            t = val.value
            v = values.Value(values.NUMBER, int(t)) if t.isdigit() else values.number(Decimal(t))
            return Literal(v, r)
        if kind == "true":
            return Literal(values.TRUE, r)
        if kind == "false":
            return Literal(values.FALSE, r)
        if kind == "null":
            return Literal(values.NULL, r)
        if kind == "arr":
            return TupleCons([self.expr(v) for v in val.value], r)
        items = []
        for key, ks, ke, v in val.value:
            # ("//" is a comment only among a body's properties; here it is a key like any other.)
            items.append(ObjectItem(Literal(values.string(key), self.rng(ks, ke)), self.expr(v)))
        return ObjectCons(items, r)

    def string_expr(self, val: _JValue, r: Range) -> Expr:
        s: str = val.value
        if "${" not in s and "%{" not in s:
            return Literal(values.string(s), r)
        from mlform.config.parser import parse_template

        # Ranges inside the template are exact when the string has no escapes.
        expr, diags = parse_template(s, self.filename, self.p(val.start + 1))
        self.diags.extend(diags)
        if expr is None:
            return Literal(values.string(s), r)
        expr.range = r
        return expr


def parse_json(text: str, filename: str) -> tuple[File, list[Diagnostic]]:
    """Parse a configuration file in HCL's JSON syntax."""
    if text.startswith("\ufeff"):
        text = text[1:]
    p = _JsonParser(text, filename)
    body: Body
    try:
        root = p.value()
        g, t, s, e = p.token()
        if g != 5:
            p.error(
                "Extraneous data after value",
                "Extra characters appear after the JSON value.",
                s,
                e,
            )
        body = p.file_body(root)
    except _Fail:
        body = Body(from_json=True, range=p.rng(0, len(text)))
    except RecursionError:
        p.error(
            "Value nested too deeply",
            "This JSON document nests arrays and objects more deeply than mlform can read.",
            0,
            0,
        )
        body = Body(from_json=True, range=p.rng(0, len(text)))
    return File(filename, body, text), p.diags
