"""Type conversion functions: tobool, tonumber, tostring, tolist, toset, tomap, sensitive,
nonsensitive, issensitive, type.

`try` and `can` are special forms of the evaluator (they must see errors in their arguments
before those become diagnostics) and are documented with these functions.

`type(value)` returns a value of the special type `TYPE_TYPE` whose payload is the Type itself;
`type_string` renders it the way `terraform console` prints it.
"""

from __future__ import annotations

from mlform.lang.convert import ConversionError, can_convert, constraint_name, convert
from mlform.lang.functions._core import FunctionContext, FunctionError, Param, register
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
    Type,
)
from mlform.lang.values import SENSITIVE, Value, boolean, unknown

V = Param("v", DYNAMIC, allow_null=True, allow_unknown=True, allow_marked=True)


def _to(
    want: Type, name: str, description: str, examples: list[tuple[str, str]], notes: list[str]
) -> None:
    def ret(args: list[Value]) -> Type:
        got = args[0].type
        if not can_convert(got, want):
            raise FunctionError(f"cannot convert {got.friendly()} to {_constraint(want)}", 0)
        if isinstance(want, ListType | SetType | MapType) and want.elem is DYNAMIC:
            return DYNAMIC
        return want

    @register(name, "conversion", [V], ret, description=description, examples=examples, notes=notes)
    def _impl(args: list[Value], fctx: FunctionContext) -> Value:
        v = args[0]
        ret(args)
        try:
            return convert(v, want)
        except ConversionError as e:
            got = v.type
            if v.has_mark_deep(SENSITIVE):
                raise FunctionError(
                    f"cannot convert this sensitive {got.friendly()} to {_constraint(want)}", 0
                ) from None
            if got == STRING and want == BOOL:
                what = "string" if v.is_null else _quote(v.v)
                raise FunctionError(
                    f'cannot convert {what} to bool; only the strings "true" or "false" are '
                    "allowed",
                    0,
                ) from None
            if got == STRING and want == NUMBER and "out of range" in e.message:
                message = f"cannot convert {_quote(v.v)} to number: {e.message}"
                raise FunctionError(message, 0) from None
            if got == STRING and want == NUMBER:
                what = "string" if v.is_null else _quote(v.v)
                raise FunctionError(
                    f"cannot convert {what} to number; given string must be a decimal "
                    "representation of a number",
                    0,
                ) from None
            raise FunctionError(e.full_message(), 0) from None


def _constraint(t: Type) -> str:
    # cty names `list(any)` "list of any single type": the elements must share one type.
    if isinstance(t, ListType | SetType | MapType) and t.elem is DYNAMIC:
        return constraint_name(t).replace("any type", "any single type")
    return constraint_name(t)


def _quote(s: str) -> str:
    import json

    return json.dumps(s, ensure_ascii=False)


_to(
    BOOL,
    "tobool",
    "Converts its argument to a boolean value.",
    [("tobool(true)", "true"), ('tobool("true")', "true"), ("tobool(null)", "null")],
    ['Only the strings "true" and "false" convert; `tobool("no")` and `tobool(1)` are errors.'],
)
_to(
    NUMBER,
    "tonumber",
    "Converts its argument to a number value.",
    [
        ("tonumber(1)", "1"),
        ('tonumber("1")', "1"),
        ('tonumber("1.5e3")', "1500"),
        ("tonumber(null)", "null"),
    ],
    ['A string that is not a decimal number (`tonumber("no")`) is an error.'],
)
_to(
    STRING,
    "tostring",
    "Converts its argument to a string value.",
    [
        ('tostring("hello")', '"hello"'),
        ("tostring(1)", '"1"'),
        ("tostring(true)", '"true"'),
        ("tostring(null)", "null"),
    ],
    [
        "Lists, maps and other collections cannot be converted to a string: `tostring([])` is "
        "an error."
    ],
)
_to(
    ListType(DYNAMIC),
    "tolist",
    "Converts its argument to a list value.",
    [('tolist(["a", "b", "c"])', '["a", "b", "c"]'), ('tolist(["a", 1])', '["a", "1"]')],
    ["All elements are converted to one common type; when there is none it is an error."],
)
_to(
    SetType(DYNAMIC),
    "toset",
    "Converts its argument to a set value.",
    [('toset(["c", "b", "b"])', '["b", "c"]'), ('toset(["a", 1])', '["1", "a"]')],
    ["Duplicates are removed and the order is lost."],
)
_to(
    MapType(DYNAMIC),
    "tomap",
    "Converts its argument to a map value.",
    [
        ('tomap({"a" = 1, "b" = 2})', '{ "a" = 1, "b" = 2 }'),
        ('tomap({"a" = "foo", "b" = true})', '{ "a" = "foo", "b" = "true" }'),
    ],
    ["All values are converted to one common type."],
)


@register(
    "sensitive",
    "conversion",
    [Param("value", DYNAMIC, allow_null=True, allow_unknown=True, allow_marked=True)],
    lambda args: args[0].type,
    description="Takes any value and returns a copy of it marked so that mlform will treat it "
    "as sensitive, with the same meaning and behavior as for sensitive input variables.",
    examples=[('sensitive("x")', "(sensitive value)")],
)
def _sensitive(args: list[Value], fctx: FunctionContext) -> Value:
    return args[0].mark(SENSITIVE)


@register(
    "nonsensitive",
    "conversion",
    [Param("value", DYNAMIC, allow_null=True, allow_unknown=True, allow_marked=True)],
    lambda args: args[0].type,
    description="Takes a sensitive value and returns a copy of that value with the sensitive "
    "marking removed, thereby exposing the sensitive value.",
    examples=[('nonsensitive(sensitive("x"))', '"x"')],
    notes=[
        "Only the mark on the value itself is removed; sensitive values nested inside stay "
        "sensitive. A value that is not sensitive is returned unchanged."
    ],
)
def _nonsensitive(args: list[Value], fctx: FunctionContext) -> Value:
    v = args[0]
    return Value(v.type, v.v, v.marks - {SENSITIVE})


@register(
    "issensitive",
    "conversion",
    [Param("value", DYNAMIC, allow_null=True, allow_unknown=True, allow_marked=True)],
    BOOL,
    description="Takes any value and returns true if it is marked as sensitive.",
    examples=[('issensitive(sensitive("x"))', "true"), ('issensitive("x")', "false")],
)
def _issensitive(args: list[Value], fctx: FunctionContext) -> Value:
    v = args[0]
    if v.is_sensitive:
        return boolean(True)
    if not v.is_known:
        return unknown(BOOL)
    return boolean(False)


class _TypeType(Type):
    """The type of the values `type()` returns: their payload is a Type."""

    __slots__ = ()

    def friendly(self) -> str:
        return "type"

    def hcl(self) -> str:
        return "type"

    def to_json(self) -> object:
        return "type"

    def __reduce__(self) -> str:
        return "TYPE_TYPE"


TYPE_TYPE: Type = _TypeType()


def is_type_value(v: Value) -> bool:
    return v.type is TYPE_TYPE


def type_string(t: Type, indent: str = "") -> str:
    """A type as `terraform console` prints the result of `type()`."""
    if isinstance(t, ListType):
        return f"list({type_string(t.elem, indent)})"
    if isinstance(t, SetType):
        return f"set({type_string(t.elem, indent)})"
    if isinstance(t, MapType):
        return f"map({type_string(t.elem, indent)})"
    if isinstance(t, ObjectType):
        if not t.items:
            return "object({})"
        inner = indent + "    "
        body = "".join(f"{inner}{k}: {type_string(a, inner)},\n" for k, a in t.items)
        return "object({\n" + body + indent + "})"
    if isinstance(t, TupleType):
        if not t.elems:
            return "tuple([])"
        inner = indent + "    "
        body = "".join(f"{inner}{type_string(e, inner)},\n" for e in t.elems)
        return "tuple([\n" + body + indent + "])"
    return t.hcl()


@register(
    "type",
    "conversion",
    [Param("value", DYNAMIC, allow_null=True, allow_unknown=True, allow_marked=True)],
    TYPE_TYPE,
    description="Returns the type of a given value; `mlform console` prints it as a type "
    "expression.",
    examples=[
        ("type(1)", "number"),
        ('type(["a", 1])', "tuple([\n    string,\n    number,\n])"),
        ('type(tolist(["a"]))', "list(string)"),
    ],
)
def _type(args: list[Value], fctx: FunctionContext) -> Value:
    return Value(TYPE_TYPE, args[0].type)


@register(
    "ephemeralasnull",
    "conversion",
    [Param("value", DYNAMIC, allow_null=True, allow_unknown=True, allow_marked=True)],
    lambda args: args[0].type,
    description="Takes a value and returns it with every ephemeral part replaced by null. "
    "mlform has no ephemeral values, so the value comes back unchanged.",
    examples=[('ephemeralasnull("x")', '"x"')],
)
def _ephemeralasnull(args: list[Value], fctx: FunctionContext) -> Value:
    return args[0]
