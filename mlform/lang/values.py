"""Values of mlform's expression language: typed, possibly null, possibly unknown, possibly marked.

A `Value` is a type plus a payload:

- null: payload `None` (a null still has a type; `DYNAMIC` when nothing more is known)
- unknown ("known after apply"): payload `UNKNOWN`
- string: `str`; bool: `bool`
- number: `int` when the number is integral (up to `INT_DIGITS` digits), else `decimal.Decimal`
  (exact, as Terraform's big decimals: `0.1 + 0.2 == 0.3`); magnitudes are bounded by
  `mlform.lang.limits.MAX_EXPONENT` (`NumberRangeError` past it)
- list, tuple, set: a tuple of Values (a set's elements are unique, in canonical order)
- map, object: a dict of str to Value, treated as immutable

`marks` is a frozenset of strings; `"sensitive"` is the one mlform uses. Marks sit on the value
they were put on; operations that combine values carry their operands' marks to the result.

Values are immutable: every operation returns a new value.
"""

from __future__ import annotations

import decimal
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from mlform.lang.limits import MAX_EXPONENT
from mlform.lang.types import (
    BOOL,
    DYNAMIC,
    EMPTY_OBJECT,
    EMPTY_TUPLE,
    NUMBER,
    STRING,
    ListType,
    MapType,
    ObjectType,
    SetType,
    TupleType,
    Type,
)

SENSITIVE = "sensitive"

# Terraform's numbers are 512-bit big floats; 160 significant digits is a little more.
NUMBER_CONTEXT = decimal.Context(
    prec=160, rounding=decimal.ROUND_HALF_EVEN, Emax=999999, Emin=-999999
)
NO_MARKS: frozenset[str] = frozenset()


class _Unknown:
    __slots__ = ()

    def __repr__(self) -> str:
        return "UNKNOWN"

    def __reduce__(self) -> str:
        return "UNKNOWN"


UNKNOWN: Any = _Unknown()

Number = int | Decimal


class NumberRangeError(ValueError):
    """A number too large or too small (in magnitude) for mlform: see `mlform.lang.limits`."""

    def __init__(self) -> None:
        super().__init__(
            f"the number is out of range: numbers must be smaller than 1e{MAX_EXPONENT + 1} "
            f"and, unless zero, at least 1e-{MAX_EXPONENT} in magnitude"
        )


# Integral numbers are Python ints up to this many decimal digits, and Decimals above it, so
# that no operation builds an integer of thousands of digits (Python refuses to print those).
INT_DIGITS = 400
INT_BITS = 1328  # the bits of INT_DIGITS decimal digits


def normalize_number(n: int | float | Decimal) -> Number:
    """The canonical payload of a number: an int when integral (and under INT_DIGITS digits),
    else a normalized Decimal. Raises `NumberRangeError` for a number outside the range of
    `mlform.lang.limits.MAX_EXPONENT`."""
    if isinstance(n, bool):
        raise TypeError("bool is not a number")
    if isinstance(n, int):
        if n.bit_length() <= INT_BITS:
            return n
        n = Decimal(n)
    if isinstance(n, float):
        if n != n or n in (float("inf"), float("-inf")):
            raise ValueError("numbers must be finite")
        n = Decimal(repr(n))
    if not n.is_finite():
        raise ValueError("numbers must be finite")
    if not n:
        return 0
    # adjusted() is the exponent of the leading digit; no digits are materialized here.
    adjusted = n.adjusted()
    if adjusted > MAX_EXPONENT or adjusted < -MAX_EXPONENT:
        raise NumberRangeError()
    if n == n.to_integral_value() and adjusted < INT_DIGITS:
        return int(n)
    n = n.normalize(NUMBER_CONTEXT)
    if n.adjusted() > MAX_EXPONENT:  # rounding carried into the next power of ten
        raise NumberRangeError()
    if n == n.to_integral_value() and n.adjusted() < INT_DIGITS:
        return int(n)
    return n


class Value:
    __slots__ = ("type", "v", "marks")

    type: Type
    v: Any
    marks: frozenset[str]

    def __init__(self, type_: Type, v: Any, marks: frozenset[str] = NO_MARKS):
        self.type = type_
        self.v = v
        self.marks = marks

    # -- state -----------------------------------------------------------------------------

    @property
    def is_null(self) -> bool:
        return self.v is None

    @property
    def is_known(self) -> bool:
        return self.v is not UNKNOWN

    @property
    def is_sensitive(self) -> bool:
        return SENSITIVE in self.marks

    def is_wholly_known(self) -> bool:
        """Known, and so is everything inside it."""
        if self.v is UNKNOWN:
            return False
        if isinstance(self.v, tuple):
            return all(e.is_wholly_known() for e in self.v)
        if isinstance(self.v, dict):
            return all(e.is_wholly_known() for e in self.v.values())
        return True

    def has_mark_deep(self, mark: str = SENSITIVE) -> bool:
        if mark in self.marks:
            return True
        if isinstance(self.v, tuple):
            return any(e.has_mark_deep(mark) for e in self.v)
        if isinstance(self.v, dict):
            return any(e.has_mark_deep(mark) for e in self.v.values())
        return False

    # -- marks -----------------------------------------------------------------------------

    def mark(self, *marks: str) -> Value:
        new = self.marks | frozenset(marks)
        if new == self.marks:
            return self
        return Value(self.type, self.v, new)

    def with_marks(self, marks: frozenset[str]) -> Value:
        if not marks or marks <= self.marks:
            return self
        return Value(self.type, self.v, self.marks | marks)

    def unmark(self) -> Value:
        return self if not self.marks else Value(self.type, self.v)

    def unmark_deep(self) -> tuple[Value, frozenset[str]]:
        """This value with every mark removed, and the union of the marks removed."""
        found = set(self.marks)
        v = self.v
        if isinstance(v, tuple):
            elems = []
            for e in v:
                ue, m = e.unmark_deep()
                elems.append(ue)
                found |= m
            v = tuple(elems)
        elif isinstance(v, dict):
            items = {}
            for k, e in v.items():
                ue, m = e.unmark_deep()
                items[k] = ue
                found |= m
            v = items
        return Value(self.type, v), frozenset(found)

    # -- access ----------------------------------------------------------------------------

    def elements(self) -> tuple[Value, ...]:
        """The elements of a known list, tuple or set."""
        assert isinstance(self.v, tuple), f"not a sequence: {self!r}"
        return self.v

    def items(self) -> dict[str, Value]:
        """The attributes or elements of a known object or map."""
        assert isinstance(self.v, dict), f"not a mapping: {self!r}"
        return self.v

    def length(self) -> int:
        return len(self.v)

    # -- python interop ---------------------------------------------------------------------

    def as_str(self) -> str:
        assert isinstance(self.v, str)
        return self.v

    def as_number(self) -> Number:
        assert isinstance(self.v, int | Decimal) and not isinstance(self.v, bool)
        return self.v

    def as_bool(self) -> bool:
        assert isinstance(self.v, bool)
        return self.v

    def to_python(self) -> Any:
        """Plain Python data: str, int/Decimal, bool, None, list, dict. Unknown must not occur."""
        v = self.v
        if v is UNKNOWN:
            raise ValueError("cannot convert an unknown value to Python data")
        if isinstance(v, tuple):
            return [e.to_python() for e in v]
        if isinstance(v, dict):
            return {k: e.to_python() for k, e in v.items()}
        return v

    def to_json(self) -> Any:
        """JSON-compatible data (numbers as int or float). Unknown becomes None."""
        v = self.v
        if v is UNKNOWN or v is None:
            return None
        if isinstance(v, tuple):
            return [e.to_json() for e in v]
        if isinstance(v, dict):
            return {k: e.to_json() for k, e in v.items()}
        if isinstance(v, Decimal):
            return float(v)
        return v

    # -- equality ----------------------------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Value):
            return NotImplemented
        return (
            self.type == other.type and self.marks == other.marks and _payload_eq(self.v, other.v)
        )

    def __hash__(self) -> int:
        v = self.v
        if isinstance(v, dict):
            return hash((self.type, tuple(sorted((k, hash(e)) for k, e in v.items()))))
        if v is UNKNOWN:
            return hash((self.type, "UNKNOWN"))
        return hash((self.type, v))

    def __repr__(self) -> str:
        if self.v is UNKNOWN:
            body = "unknown"
        elif self.v is None:
            body = "null"
        else:
            body = repr(self.v)
        marks = f", marks={sorted(self.marks)}" if self.marks else ""
        return f"Value({self.type.hcl()}, {body}{marks})"


def _payload_eq(a: Any, b: Any) -> bool:
    if a is UNKNOWN or b is UNKNOWN:
        return a is b
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return bool(a == b)


# -- constructors -----------------------------------------------------------------------------


def string(s: str) -> Value:
    return Value(STRING, s)


def number(n: int | float | Decimal | str) -> Value:
    if isinstance(n, str):
        try:
            n = Decimal(n)
        except ArithmeticError:
            # A well-formed literal whose exponent is past what Decimal can hold at all
            # (`1e999999999999999999999`): out of range, as any exponent past MAX_EXPONENT.
            raise NumberRangeError() from None
    return Value(NUMBER, normalize_number(n))


def boolean(b: bool) -> Value:
    return TRUE if b else FALSE


TRUE = Value(BOOL, True)
FALSE = Value(BOOL, False)
NULL = Value(DYNAMIC, None)
DYNAMIC_UNKNOWN = Value(DYNAMIC, UNKNOWN)


def null(t: Type = DYNAMIC) -> Value:
    return Value(t, None)


def unknown(t: Type = DYNAMIC) -> Value:
    return Value(t, UNKNOWN)


def list_of(elem_type: Type, elems: Iterable[Value]) -> Value:
    return Value(ListType(elem_type), tuple(elems))


def map_of(elem_type: Type, items: Mapping[str, Value]) -> Value:
    return Value(MapType(elem_type), dict(items))


def set_of(elem_type: Type, elems: Iterable[Value]) -> Value:
    return Value(SetType(elem_type), canonical_set(elems))


def tuple_of(elems: Iterable[Value]) -> Value:
    es = tuple(elems)
    if not es:
        return Value(EMPTY_TUPLE, ())
    return Value(TupleType(tuple(e.type for e in es)), es)


def object_of(items: Mapping[str, Value]) -> Value:
    if not items:
        return Value(EMPTY_OBJECT, {})
    return Value(ObjectType.of({k: v.type for k, v in items.items()}), dict(items))


EMPTY_OBJECT_VALUE = Value(EMPTY_OBJECT, {})
EMPTY_TUPLE_VALUE = Value(EMPTY_TUPLE, ())


def _set_sort_key(v: Value) -> tuple[Any, ...]:
    # Terraform orders set elements: known before unknown; strings lexically, numbers
    # numerically, false before true; other element types by their rendering.
    if v.v is UNKNOWN:
        return (2, "")
    if v.v is None:
        return (1, "")
    if isinstance(v.v, bool):
        return (0, 0, int(v.v))
    if isinstance(v.v, int | Decimal):
        return (0, 1, v.v)
    if isinstance(v.v, str):
        return (0, 2, v.v)
    return (0, 3, repr(v.to_json()))


def canonical_set(elems: Iterable[Value]) -> tuple[Value, ...]:
    """Unique elements in canonical order. Unknown elements are kept as they are."""
    seen: list[Value] = []
    for e in elems:
        if e.v is UNKNOWN or e not in seen:
            seen.append(e)
    try:
        return tuple(sorted(seen, key=_set_sort_key))
    except TypeError:
        return tuple(seen)


def from_python(obj: Any) -> Value:
    """A Value from plain Python data, with the type Terraform would infer for the same JSON:
    lists become tuples, dicts become objects, None becomes a null of dynamic type."""
    if isinstance(obj, Value):
        return obj
    if obj is None:
        return NULL
    if isinstance(obj, bool):
        return boolean(obj)
    if isinstance(obj, int | float | Decimal):
        return number(obj)
    if isinstance(obj, str):
        return string(obj)
    if isinstance(obj, list | tuple):
        return tuple_of(from_python(e) for e in obj)
    if isinstance(obj, set | frozenset):
        return tuple_of(from_python(e) for e in sorted(obj, key=repr))
    if isinstance(obj, Mapping):
        return object_of({str(k): from_python(v) for k, v in obj.items()})
    raise TypeError(f"cannot make a value of {type(obj).__name__}")
