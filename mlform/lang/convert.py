"""Type conversion and unification, with the rules of Terraform's type system (cty's `convert`).

`convert(value, want)` turns a value into one of the wanted type or raises `ConversionError`:

- string <-> number (a number becomes its exact decimal text), string <-> bool ("true"/"false",
  and "1"/"0" from string), number/bool -> string;
- tuple -> list/set, object -> map, list <-> set, map -> object, map -> map, and the same
  recursively inside collections and structures;
- an object converts to an object type with a subset of its attributes (extra ones are dropped);
  `optional()` attributes may be missing and get their default, or null;
- null converts to a null of the wanted type; unknown to an unknown of the wanted type;
- `any` (DYNAMIC) leaves a value as it is, but `list(any)`, `map(any)`, `set(any)` unify the
  element types to a single one (`tolist(["a", 1])` is a list of strings);
- marks stay on the result.

`unify(types)` finds the one type a set of values can all convert to, as conditionals,
collection functions and `concat` need; `can_convert(a, b)` says whether a conversion between two
types exists at all (a value may still fail: `"abc"` to number).
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from mlform.lang.ops import SHORT_DIGITS, as_float, shortest_decimal
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
from mlform.lang.values import (
    INT_BITS,
    INT_DIGITS,
    UNKNOWN,
    NumberRangeError,
    Value,
    canonical_set,
    normalize_number,
)

__all__ = [
    "ConversionError",
    "can_convert",
    "constraint_name",
    "convert",
    "format_number",
    "mismatch_message",
    "parse_number",
    "strip_optional",
    "unify",
]


class ConversionError(Exception):
    """A value cannot be converted. `path` locates the failing part: attribute names (str) and
    element indexes (int, or str keys for maps) from the top of the value."""

    def __init__(self, message: str, path: list[str | int] | None = None):
        super().__init__(message)
        self.message = message
        self.path: list[str | int] = list(path or [])

    def path_str(self) -> str:
        """The path as Terraform prints it: `.attr[0]["key"]`."""
        out = []
        for step in self.path:
            if isinstance(step, int):
                out.append(f"[{step}]")
            elif step.isidentifier():
                out.append(f".{step}")
            else:
                out.append(f'["{step}"]')
        return "".join(out)

    def full_message(self) -> str:
        """The message with its path in front, as Terraform shows a nested problem."""
        if not self.path:
            return self.message
        return f"{self.path_str()}: {self.message}"


# --- numbers -----------------------------------------------------------------------------------

_NUMBER_RE = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def parse_number(text: str) -> int | Decimal | None:
    """A number from its decimal text as cty parses it; None when the text is not one. Raises
    `NumberRangeError` for a number out of mlform's range."""
    if not _NUMBER_RE.fullmatch(text):
        return None
    try:
        d = Decimal(text)
    except InvalidOperation:
        # Well-formed (the pattern matched) but past what Decimal holds: out of range.
        raise NumberRangeError() from None
    return normalize_number(d)


def format_number(n: int | Decimal) -> str:
    """A number as text, as Terraform writes it (`big.Float.Text('f', -1)`): in full, never
    with an exponent. A result that was rounded (`1/3`) prints as the shortest decimal that
    identifies the same 512-bit binary float, so its digits are Terraform's."""
    if isinstance(n, int):
        if n.bit_length() <= INT_BITS:
            return str(n)
        n = Decimal(n)
    if n == n.to_integral_value() and n.adjusted() < INT_DIGITS:
        return str(int(n))
    if len(n.as_tuple().digits) > SHORT_DIGITS:
        n = shortest_decimal(as_float(n))
    text = format(n, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


# --- names of types in messages ------------------------------------------------------------------


def constraint_name(t: Type) -> str:
    """How a type constraint is named in a message: "string", "list of number", "any type"."""
    if t is DYNAMIC:
        return "any type"
    if isinstance(t, ListType):
        return "list of " + constraint_name(t.elem)
    if isinstance(t, SetType):
        return "set of " + constraint_name(t.elem)
    if isinstance(t, MapType):
        return "map of " + constraint_name(t.elem)
    return t.friendly()


def strip_optional(t: Type) -> Type:
    """The type without optional-attribute markers, at every depth: the type of a value."""
    if isinstance(t, ObjectType):
        if not t.optional and not t.defaults and not t.has_dynamic() and _plain(t):
            return t
        return ObjectType(tuple((k, strip_optional(v)) for k, v in t.items))
    if isinstance(t, ListType):
        return ListType(strip_optional(t.elem))
    if isinstance(t, SetType):
        return SetType(strip_optional(t.elem))
    if isinstance(t, MapType):
        return MapType(strip_optional(t.elem))
    if isinstance(t, TupleType):
        return TupleType(tuple(strip_optional(e) for e in t.elems))
    return t


def _plain(t: Type) -> bool:
    """No optional attributes anywhere inside."""
    if isinstance(t, ObjectType):
        return not t.optional and all(_plain(v) for _, v in t.items)
    if isinstance(t, ListType | SetType | MapType):
        return _plain(t.elem)
    if isinstance(t, TupleType):
        return all(_plain(e) for e in t.elems)
    return True


# --- can a type convert to another ---------------------------------------------------------------


def can_convert(src: Type, want: Type) -> bool:
    """Whether some value of type `src` may convert to `want` (cty's unsafe conversions)."""
    if want is DYNAMIC or src is DYNAMIC or src == want:
        return True
    if src.is_primitive() and want.is_primitive():
        # string <-> number, string <-> bool; never number <-> bool.
        return src == STRING or want == STRING
    if isinstance(want, ObjectType):
        if isinstance(src, ObjectType):
            for name, aty in want.items:
                sty = src.attr(name)
                if sty is None:
                    if name not in want.optional:
                        return False
                elif not can_convert(sty, aty):
                    return False
            return True
        if isinstance(src, MapType):
            return all(can_convert(src.elem, aty) for _, aty in want.items)
        return False
    if isinstance(want, TupleType):
        return (
            isinstance(src, TupleType)
            and len(src.elems) == len(want.elems)
            and all(can_convert(a, b) for a, b in zip(src.elems, want.elems, strict=True))
        )
    if isinstance(want, ListType | SetType):
        if isinstance(src, ListType | SetType):
            return can_convert(src.elem, want.elem)
        if isinstance(src, TupleType):
            if want.elem is DYNAMIC:
                return not src.elems or unify(list(src.elems)) is not None
            return all(can_convert(e, want.elem) for e in src.elems)
        return False
    if isinstance(want, MapType):
        if isinstance(src, MapType):
            return can_convert(src.elem, want.elem)
        if isinstance(src, ObjectType):
            if want.elem is DYNAMIC:
                return not src.items or unify([t for _, t in src.items]) is not None
            return all(can_convert(t, want.elem) for _, t in src.items)
        return False
    return False


# --- unification ---------------------------------------------------------------------------------


def unify(types: list[Type]) -> Type | None:
    """The type that all of `types` convert to, as cty's unsafe unification finds it; None when
    there is none. Objects with differing attributes unify to a map, tuples of differing length
    to a list, when their members allow."""
    if not types:
        return None
    first = types[0]
    if all(t == first for t in types[1:]):
        return first
    objects = [t for t in types if isinstance(t, ObjectType)]
    tuples = [t for t in types if isinstance(t, TupleType)]
    dynamic_ct = sum(1 for t in types if t is DYNAMIC)
    if objects and tuples:
        return None
    if objects and len(objects) + dynamic_ct == len(types):
        return _unify_objects(objects)
    if tuples and len(tuples) + dynamic_ct == len(types):
        return _unify_tuples(tuples)
    for want in _preference_order(types):
        if all(t == want or can_convert(t, want) for t in types):
            return want
    return None


def _unify_objects(types: list[ObjectType]) -> Type | None:
    names = {k for k, _ in types[0].items}
    if any({k for k, _ in t.items} != names for t in types[1:]):
        return _unify_objects_to_map(types)
    attrs: dict[str, Type] = {}
    for name in sorted(names):
        ut = unify([t.attr(name) for t in types])  # type: ignore[misc]
        if ut is None:
            return None
        attrs[name] = ut
    return ObjectType.of(attrs)


def _unify_objects_to_map(types: list[ObjectType]) -> Type | None:
    atys = [aty for t in types for _, aty in t.items]
    ety = unify(atys)
    if ety is None:
        return None
    ret = MapType(ety)
    if not all(can_convert(t, ret) for t in types):
        return None
    return ret


def _unify_tuples(types: list[TupleType]) -> Type | None:
    n = len(types[0].elems)
    if any(len(t.elems) != n for t in types[1:]):
        etys = [e for t in types for e in t.elems]
        ety = unify(etys)
        return None if ety is None else ListType(ety)
    elems: list[Type] = []
    for i in range(n):
        ut = unify([t.elems[i] for t in types])
        if ut is None:
            return None
        elems.append(ut)
    return TupleType(tuple(elems))


def _generality(t: Type) -> tuple[int, ...]:
    # Lower sorts first: the more general type is the preferred unification result
    # (string before number and bool; list(string) before list(number); `any` last).
    if t is DYNAMIC:
        return (9,)
    if t == STRING:
        return (0,)
    if t.is_primitive():
        return (1,)
    if isinstance(t, ListType | SetType | MapType):
        return (2, *_generality(t.elem))
    return (3,)


def _preference_order(types: list[Type]) -> list[Type]:
    seen: list[Type] = []
    for t in types:
        if t not in seen:
            seen.append(t)
    return sorted(seen, key=_generality)


# --- mismatch messages -----------------------------------------------------------------------------


def mismatch_message(got: Type, want: Type) -> str:
    """Why a value of type `got` does not fit `want`, in cty's words ("string required")."""
    if isinstance(got, ObjectType) and isinstance(want, ObjectType):
        return _mismatch_objects(got, want)
    if isinstance(got, TupleType) and isinstance(want, ListType) and want.elem is DYNAMIC:
        return "all list elements must have the same type"
    if isinstance(got, TupleType) and isinstance(want, SetType) and want.elem is DYNAMIC:
        return "all set elements must have the same type"
    if isinstance(got, ObjectType) and isinstance(want, MapType) and want.elem is DYNAMIC:
        return "all map elements must have the same type"
    if isinstance(got, TupleType | ObjectType) and want.is_collection():
        return _mismatch_from_structural(got, want)
    if got.is_collection() and want.is_collection():
        return _mismatch_collections(got, want)
    return constraint_name(want) + " required"


def _mismatch_objects(got: ObjectType, want: ObjectType) -> str:
    missing = sorted(n for n, _ in want.items if got.attr(n) is None and n not in want.optional)
    if len(missing) == 1:
        return f'attribute "{missing[0]}" is required'
    if len(missing) == 2:
        return f'attributes "{missing[0]}" and "{missing[1]}" are required'
    if missing:
        head = ", ".join(f'"{n}"' for n in missing[:-1])
        return f'attributes {head}, and "{missing[-1]}" are required'
    for name, wty in want.items:
        gty = got.attr(name)
        if gty is not None and not can_convert(gty, wty):
            return f'attribute "{name}": {mismatch_message(gty, wty)}'
    return "incorrect object attributes"


def _mismatch_from_structural(got: Type, want: Type) -> str:
    if isinstance(want, ListType | SetType) and not isinstance(got, TupleType):
        return constraint_name(want) + " required"
    if isinstance(want, MapType) and not isinstance(got, ObjectType):
        return constraint_name(want) + " required"
    wety = want.elem  # type: ignore[attr-defined]
    if isinstance(got, TupleType):
        for i, gety in enumerate(got.elems):
            if not can_convert(gety, wety):
                return f"element {i}: {mismatch_message(gety, wety)}"
    elif isinstance(got, ObjectType):
        for name, gety in got.items:
            if not can_convert(gety, wety):
                return f'element "{name}": {mismatch_message(gety, wety)}'
    return f"all elements must be {constraint_name(wety)}"


def _mismatch_collections(got: Type, want: Type) -> str:
    if isinstance(want, ListType | SetType) and not isinstance(got, ListType | SetType):
        return constraint_name(want) + " required"
    if isinstance(want, MapType) and not isinstance(got, MapType):
        return constraint_name(want) + " required"
    noun = {ListType: "list", SetType: "set", MapType: "map"}[type(want)]
    return f"incorrect {noun} element type: {mismatch_message(got.elem, want.elem)}"  # type: ignore[attr-defined]


# --- conversion ------------------------------------------------------------------------------------


def convert(value: Value, want: Type) -> Value:
    """`value` converted to type `want`; raises ConversionError when it cannot be."""
    # The common case first: a string, number or bool already of the wanted type (every
    # template interpolation, most arguments).
    src = value.type
    if want is DYNAMIC or (src is want and (want is STRING or want is NUMBER or want is BOOL)):
        return value
    return _convert(value, want, [])


def _convert(value: Value, want: Type, path: list[str | int]) -> Value:
    if want is DYNAMIC:
        return value
    src = value.type
    if src is want and (want is STRING or want is NUMBER or want is BOOL):
        return value
    if src == want and _plain(want):
        return value
    marks = value.marks
    if src is not DYNAMIC and not can_convert(src, want):
        raise ConversionError(mismatch_message(src, want), path)
    if value.v is UNKNOWN:
        return Value(strip_optional(_settle_unknown(src, want)), UNKNOWN, marks)
    if value.v is None:
        return Value(strip_optional(want), None, marks)
    out = _convert_known(value.unmark(), want, path)
    return out.with_marks(marks) if marks else out


def _settle_unknown(src: Type, want: Type) -> Type:
    # An unknown keeps the wanted type; where the wanted type leaves elements open (`list(any)`)
    # and the source already determines them, use what the source says.
    if want.has_dynamic() and src is not DYNAMIC:
        if isinstance(want, ListType | SetType) and want.elem is DYNAMIC:
            if isinstance(src, ListType | SetType | MapType):
                return type(want)(src.elem)
            if isinstance(src, TupleType):
                ety = unify(list(src.elems)) if src.elems else DYNAMIC
                return type(want)(ety or DYNAMIC)
        if isinstance(want, MapType) and want.elem is DYNAMIC:
            if isinstance(src, MapType):
                return src
            if isinstance(src, ObjectType):
                ety = unify([t for _, t in src.items]) if src.items else DYNAMIC
                return MapType(ety or DYNAMIC)
    return want


def _convert_known(value: Value, want: Type, path: list[str | int]) -> Value:
    src = value.type
    if want.is_primitive():
        return _convert_primitive(value, want, path)
    if isinstance(want, ListType | SetType):
        if isinstance(src, ListType | SetType | TupleType):
            return _to_sequence(value, want, path)
    elif isinstance(want, MapType):
        if isinstance(src, MapType | ObjectType):
            return _to_map(value, want, path)
    elif isinstance(want, ObjectType):
        if isinstance(src, ObjectType | MapType):
            return _to_object(value, want, path)
    elif isinstance(want, TupleType):
        if isinstance(src, TupleType):
            elems = tuple(
                _convert(e, t, [*path, i])
                for i, (e, t) in enumerate(zip(value.elements(), want.elems, strict=True))
            )
            return Value(TupleType(tuple(e.type for e in elems)), elems)
    raise ConversionError(mismatch_message(src, want), path)


def _convert_primitive(value: Value, want: Type, path: list[str | int]) -> Value:
    src = value.type
    v = value.v
    if src == want:
        return value
    if want == STRING:
        if src == NUMBER:
            return Value(STRING, format_number(v))
        if src == BOOL:
            return Value(STRING, "true" if v else "false")
    elif src == STRING:
        if want == NUMBER:
            try:
                n = parse_number(v)
            except NumberRangeError as e:
                raise ConversionError(str(e), path) from None
            if n is None:
                raise ConversionError("a number is required", path)
            return Value(NUMBER, n)
        if want == BOOL:
            if v in ("true", "1"):
                return Value(BOOL, True)
            if v in ("false", "0"):
                return Value(BOOL, False)
            low = v.lower()
            if low in ("true", "false"):
                raise ConversionError(
                    f'a bool is required; to convert from string, use lowercase "{low}"', path
                )
            raise ConversionError("a bool is required", path)
    raise ConversionError(mismatch_message(src, want), path)


def _to_sequence(value: Value, want: ListType | SetType, path: list[str | int]) -> Value:
    elems = value.elements()
    ety = want.elem
    if ety is DYNAMIC:
        # Convert every element to the one type they all unify to.
        if isinstance(value.type, ListType | SetType):
            ety = value.type.elem
        elif elems:
            u = unify([e.type for e in elems])
            if u is None:
                raise ConversionError(mismatch_message(value.type, want), path)
            ety = u
    converted = [_convert(e, ety, [*path, i]) for i, e in enumerate(elems)]
    final = strip_optional(ety)
    if ety.has_dynamic() and converted:
        # `list(object({a = any}))`: the elements' concrete types must agree.
        types = {e.type for e in converted if e.type is not DYNAMIC}
        if len(types) > 1:
            kind = "list" if isinstance(want, ListType) else "set"
            raise ConversionError(f"element types must all match for conversion to {kind}", path)
        if types:
            final = types.pop()
    converted = [e if e.type == final else _retype(e, final) for e in converted]
    if isinstance(want, ListType):
        return Value(ListType(final), tuple(converted))
    return Value(SetType(final), canonical_set(converted))


def _retype(v: Value, t: Type) -> Value:
    # A null or unknown of dynamic type among concrete elements takes the elements' type.
    if v.type is DYNAMIC and (v.v is None or v.v is UNKNOWN):
        return Value(t, v.v, v.marks)
    return v


def _to_map(value: Value, want: MapType, path: list[str | int]) -> Value:
    items = value.items()
    ety = want.elem
    if ety is DYNAMIC:
        if isinstance(value.type, MapType):
            ety = value.type.elem
        elif items:
            u = unify([e.type for e in items.values()])
            if u is None:
                raise ConversionError(mismatch_message(value.type, want), path)
            ety = u
    converted = {k: _convert(e, ety, [*path, k]) for k, e in items.items()}
    final = strip_optional(ety)
    if ety.has_dynamic() and converted:
        types = {e.type for e in converted.values() if e.type is not DYNAMIC}
        if len(types) > 1:
            raise ConversionError("element types must all match for conversion to map", path)
        if types:
            final = types.pop()
    converted = {k: e if e.type == final else _retype(e, final) for k, e in converted.items()}
    return Value(MapType(final), dict(sorted(converted.items())))


def _to_object(value: Value, want: ObjectType, path: list[str | int]) -> Value:
    items = value.items()
    is_map = isinstance(value.type, MapType)
    out: dict[str, Value] = {}
    missing: list[str] = []
    for name, aty in want.items:
        if name in items:
            av = _convert(items[name], aty, [*path, name])
        elif name in want.optional:
            av = Value(strip_optional(aty), None)
        else:
            missing.append(name)
            continue
        if av.v is None and name in want.optional:
            default = want.default_for(name)
            if default is not None:
                av = _convert(default, aty, [*path, name]).with_marks(av.marks)
        out[name] = av
    if missing:
        if is_map:
            names = ", ".join(f'"{n}"' for n in missing)
            noun = "attribute" if len(missing) == 1 else "attributes"
            raise ConversionError(f"map has no element for required {noun} {names}", path)
        raise ConversionError(mismatch_message(value.type, want), path)
    otype = ObjectType(tuple((k, out[k].type) for k, _ in want.items))
    return Value(otype, out)
