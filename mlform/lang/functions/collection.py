"""Collection functions: alltrue, anytrue, chunklist, coalesce, coalescelist, compact, concat,
contains, distinct, element, flatten, index, keys, length, lookup, matchkeys, merge, one, range,
reverse, setintersection, setproduct, setsubtract, setunion, slice, sort, sum, transpose, values,
zipmap.

Result types follow Terraform's: a list stays a list and a tuple a tuple where Terraform keeps
them, objects give tuples of keys or values, and so on.
"""

from __future__ import annotations

from decimal import Decimal

from mlform.lang.convert import ConversionError, convert, unify
from mlform.lang.functions._core import FunctionContext, FunctionError, Param, register
from mlform.lang.functions._util import graphemes, whole
from mlform.lang.limits import MAX_ELEMENTS
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
from mlform.lang.values import (
    FALSE,
    NUMBER_CONTEXT,
    TRUE,
    Value,
    canonical_set,
    list_of,
    null,
    number,
    string,
    unknown,
)

ANY_LIST = ListType(DYNAMIC)
ANY_SET = SetType(DYNAMIC)


def _add(a: int | Decimal, b: int | Decimal) -> int | Decimal:
    """Exact addition: Decimal's own operators would round to 28 digits."""
    if isinstance(a, int) and isinstance(b, int):
        return a + b
    return NUMBER_CONTEXT.add(Decimal(a), Decimal(b))


@register(
    "alltrue",
    "collection",
    [Param("list", ListType(BOOL), allow_unknown=True)],
    BOOL,
    description='Returns true if all elements in a given collection are true or "true". '
    "It also returns true if the collection is empty.",
    examples=[
        ('alltrue(["true", true])', "true"),
        ("alltrue([true, false])", "false"),
        ("alltrue([])", "true"),
    ],
)
def _alltrue(args: list[Value], fctx: FunctionContext) -> Value:
    if not args[0].is_known:
        return unknown(BOOL)
    for e in args[0].elements():
        if not e.is_known:
            return unknown(BOOL)
        if e.is_null or not e.v:
            return FALSE
    return TRUE


@register(
    "anytrue",
    "collection",
    [Param("list", ListType(BOOL), allow_unknown=True)],
    BOOL,
    description='Returns true if any element in a given collection is true or "true". '
    "It also returns false if the collection is empty.",
    examples=[
        ('anytrue(["true"])', "true"),
        ("anytrue([false])", "false"),
        ("anytrue([])", "false"),
    ],
)
def _anytrue(args: list[Value], fctx: FunctionContext) -> Value:
    if not args[0].is_known:
        return unknown(BOOL)
    some_unknown = False
    for e in args[0].elements():
        if not e.is_known:
            some_unknown = True
        elif not e.is_null and e.v:
            return TRUE
    return unknown(BOOL) if some_unknown else FALSE


@register(
    "chunklist",
    "collection",
    [Param("list", ANY_LIST), Param("size", NUMBER)],
    lambda args: ListType(args[0].type),
    description="Splits a single list into fixed-size chunks, returning a list of lists.",
    examples=[
        ('chunklist(["a", "b", "c", "d", "e"], 2)', '[["a", "b"], ["c", "d"], ["e"]]'),
        ('chunklist(["a", "b", "c", "d", "e"], 1)', '[["a"], ["b"], ["c"], ["d"], ["e"]]'),
    ],
    notes=["A size of 0 gives the whole list as one chunk; a negative size is an error."],
)
def _chunklist(args: list[Value], fctx: FunctionContext) -> Value:
    lst = args[0]
    size = whole(args[1], None, "invalid size: ")
    if size < 0:
        # A plain failure in cty, hence "Error in function call".
        raise FunctionError("the size argument must be positive")
    elems = lst.elements()
    if not elems:
        return Value(ListType(lst.type), ())
    if size == 0:
        return Value(ListType(lst.type), (lst,))
    chunks = tuple(Value(lst.type, elems[i : i + size]) for i in range(0, len(elems), size))
    return Value(ListType(lst.type), chunks)


def _coalesce_type(args: list[Value]) -> Type:
    types = [a.type for a in args]
    if not types:
        return DYNAMIC
    u = unify(types)
    if u is None:
        raise FunctionError("all arguments must have the same type")
    return u


@register(
    "coalesce",
    "collection",
    [],
    _coalesce_type,
    variadic=Param("vals", DYNAMIC, allow_null=True, allow_unknown=True, nested_marks=True),
    description="Takes any number of arguments and returns the first one that isn't null or "
    "an empty string. All arguments are converted to one common type.",
    examples=[
        ('coalesce("a", "b")', '"a"'),
        ('coalesce("", "b")', '"b"'),
        ("coalesce(1, 2)", "1"),
        ('coalesce(1, "hello")', '"1"'),
        ('coalesce(["a", "b"]...)', '"a"'),
    ],
    notes=["It is an error when every argument is null or an empty string."],
)
def _coalesce(args: list[Value], fctx: FunctionContext) -> Value:
    ret = _coalesce_type(args)
    for a in args:
        try:
            a = convert(a, ret)
        except ConversionError:
            raise FunctionError("all arguments must have the same type") from None
        if not a.is_known:
            return unknown(ret)
        if a.is_null or (a.type == STRING and a.v == ""):
            continue
        return a
    raise FunctionError("no non-null, non-empty-string arguments")


def _coalescelist_type(args: list[Value]) -> Type:
    if not args:
        raise FunctionError("at least one argument is required")
    for a in args:
        if a.type is not DYNAMIC and not isinstance(a.type, ListType | TupleType):
            raise FunctionError("coalescelist arguments must be lists or tuples")
    first = args[0].type
    return first if all(a.type == first for a in args) else DYNAMIC


@register(
    "coalescelist",
    "collection",
    [],
    _coalescelist_type,
    variadic=Param("vals", DYNAMIC, allow_null=True, allow_unknown=True),
    description="Takes any number of list arguments and returns the first one that isn't empty.",
    examples=[
        ('coalescelist(["a", "b"], ["c", "d"])', '["a", "b"]'),
        ('coalescelist([], ["c", "d"])', '["c", "d"]'),
    ],
)
def _coalescelist(args: list[Value], fctx: FunctionContext) -> Value:
    _coalescelist_type(args)
    for a in args:
        if not a.is_known:
            return unknown(_coalescelist_type(args))
        if a.is_null:
            continue
        if a.length() > 0:
            return a
    raise FunctionError("no non-null arguments")


@register(
    "compact",
    "collection",
    [Param("list", ListType(STRING))],
    ListType(STRING),
    description="Takes a list of strings and returns a new list with any null or empty "
    "string elements removed.",
    examples=[('compact(["a", "", "b", null, "c"])', '["a", "b", "c"]')],
)
def _compact(args: list[Value], fctx: FunctionContext) -> Value:
    return list_of(STRING, [e for e in args[0].elements() if not e.is_null and e.v != ""])


def _concat_type(args: list[Value]) -> Type:
    if not args:
        raise FunctionError("at least one argument is required")
    etys: list[Type] = []
    all_lists = True
    for i, a in enumerate(args):
        t = a.type
        if isinstance(t, ListType):
            etys.append(t.elem)
        elif isinstance(t, TupleType):
            all_lists = False
        else:
            raise FunctionError(f"all arguments must be lists or tuples; got {t.friendly()}", i)
    if all_lists:
        u = unify(etys)
        if u is not None:
            return ListType(u)
    if any(not a.is_known for a in args):
        return DYNAMIC
    return TupleType(tuple(e.type for a in args for e in a.elements()))


@register(
    "concat",
    "collection",
    [],
    _concat_type,
    variadic=Param("seqs", DYNAMIC, nested_marks=True),
    description="Takes two or more lists and combines them into a single list.",
    examples=[
        ('concat(["a", ""], ["b", "c"])', '["a", "", "b", "c"]'),
        ('concat([1], ["a"])', '[1, "a"]'),
    ],
    notes=["Lists whose element types differ give a tuple; arguments must be lists or tuples."],
)
def _concat(args: list[Value], fctx: FunctionContext) -> Value:
    ret = _concat_type(args)
    elems = [e for a in args for e in a.elements()]
    if isinstance(ret, ListType):
        return Value(ret, tuple(convert(e, ret.elem) for e in elems))
    return Value(TupleType(tuple(e.type for e in elems)), tuple(elems))


def _sequence_elems(v: Value, arg_index: int, what: str) -> tuple[Value, ...]:
    if not isinstance(v.type, ListType | SetType | TupleType):
        raise FunctionError(what, arg_index)
    return v.elements()


@register(
    "contains",
    "collection",
    [Param("list", DYNAMIC, allow_unknown=True), Param("value", DYNAMIC, allow_unknown=True)],
    BOOL,
    description="Determines whether a given list or set contains a given single value as one "
    "of its elements.",
    examples=[
        ('contains(["a", "b", "c"], "a")', "true"),
        ('contains(["a", "b", "c"], "d")', "false"),
    ],
)
def _contains(args: list[Value], fctx: FunctionContext) -> Value:
    lst, needle = args
    if not isinstance(lst.type, ListType | SetType | TupleType):
        raise FunctionError("argument must be list, tuple, or set")
    if lst.is_known and not lst.elements():
        return FALSE
    if not lst.is_known or not needle.is_wholly_known():
        return unknown(BOOL)
    some_unknown = False
    for e in lst.elements():
        if not e.is_wholly_known():
            some_unknown = True
        elif _equal(e, needle):
            return TRUE
    return unknown(BOOL) if some_unknown else FALSE


def _equal(a: Value, b: Value) -> bool:
    # Values of different types are never equal, as in Terraform's `==`.
    return a.type == b.type and a == b


@register(
    "distinct",
    "collection",
    [Param("list", ANY_LIST)],
    lambda args: args[0].type,
    description="Takes a list and returns a new list with any duplicate elements removed. The "
    "first occurrence of each value is kept.",
    examples=[('distinct(["a", "b", "a", "c", "d", "b"])', '["a", "b", "c", "d"]')],
)
def _distinct(args: list[Value], fctx: FunctionContext) -> Value:
    out: list[Value] = []
    for e in args[0].elements():
        if e not in out:
            out.append(e)
    return Value(args[0].type, tuple(out))


def _element_type(args: list[Value]) -> Type:
    lst, idx = args
    if idx.is_known and isinstance(idx.v, int) and idx.v < 0:
        raise FunctionError("cannot use element function with a negative index")
    t = lst.type
    if isinstance(t, ListType):
        return t.elem
    if isinstance(t, TupleType):
        if not idx.is_known:
            return DYNAMIC
        if not t.elems:
            raise FunctionError("cannot use element function with an empty list")
        return t.elems[whole(idx, None, "invalid index: ") % len(t.elems)]
    if t is DYNAMIC:
        return DYNAMIC
    # A plain failure in cty (the parameter takes any type), hence "Error in function call".
    raise FunctionError(f"cannot read elements from {t.friendly()}")


@register(
    "element",
    "collection",
    [Param("list", DYNAMIC, nested_marks=True), Param("index", NUMBER)],
    _element_type,
    description="Retrieves a single element from a list. The index wraps around: an index "
    "equal to or greater than the length of the list is taken modulo the length.",
    examples=[
        ('element(["a", "b", "c"], 1)', '"b"'),
        ('element(["a", "b", "c"], 3)', '"a"'),
        ('element(["a", "b", "c"], length(["a", "b", "c"]) - 1)', '"c"'),
    ],
    notes=["A negative index, or an empty list, is an error."],
)
def _element(args: list[Value], fctx: FunctionContext) -> Value:
    lst, idx = args
    i = whole(idx, None, "invalid index: ")
    if i < 0:
        raise FunctionError("cannot use element function with a negative index")
    elems = lst.elements()
    if not elems:
        raise FunctionError("cannot use element function with an empty list")
    return elems[i % len(elems)]


def _flatten_into(v: Value, out: list[Value]) -> bool:
    """Append the flattened elements of `v`; False when some nested sequence is unknown."""
    for e in v.elements():
        if isinstance(e.type, ListType | SetType | TupleType) and not e.is_null:
            if not e.is_known:
                return False
            if not _flatten_into(e, out):
                return False
        elif e.type is DYNAMIC and not e.is_known:
            return False
        else:
            out.append(e)
    return True


@register(
    "flatten",
    "collection",
    [Param("list", DYNAMIC, nested_marks=True)],
    DYNAMIC,
    description="Takes a list and replaces any elements that are lists with a flattened "
    "sequence of the list contents, recursively.",
    examples=[
        ('flatten([["a", "b"], [], ["c"]])', '["a", "b", "c"]'),
        ('flatten([[["a", "b"], []], ["c"]])', '["a", "b", "c"]'),
    ],
)
def _flatten(args: list[Value], fctx: FunctionContext) -> Value:
    v = args[0]
    if not isinstance(v.type, ListType | SetType | TupleType):
        raise FunctionError("can only flatten lists, sets and tuples", 0)
    out: list[Value] = []
    if not _flatten_into(v, out):
        return unknown(DYNAMIC)
    return (
        Value(TupleType(tuple(e.type for e in out)), tuple(out)) if out else Value(EMPTY_TUPLE, ())
    )


@register(
    "index",
    "collection",
    [Param("list", DYNAMIC), Param("value", DYNAMIC)],
    NUMBER,
    description="Finds the element index for a given value in a list.",
    examples=[('index(["a", "b", "c"], "b")', "1")],
    notes=["It is an error if the value is not in the list."],
)
def _index(args: list[Value], fctx: FunctionContext) -> Value:
    lst = args[0]
    if not isinstance(lst.type, ListType | TupleType):
        raise FunctionError("argument must be a list or tuple")
    if not lst.elements():
        raise FunctionError("cannot search an empty list")
    for i, e in enumerate(lst.elements()):
        if _equal(e, args[1]):
            return number(i)
    raise FunctionError("item not found")


def _keys_type(args: list[Value]) -> Type:
    t = args[0].type
    if isinstance(t, MapType):
        return ListType(STRING)
    if isinstance(t, ObjectType):
        return TupleType((STRING,) * len(t.items))
    if t is DYNAMIC:
        return DYNAMIC
    raise FunctionError("must have map or object type", 0)


@register(
    "keys",
    "collection",
    [Param("inputMap", DYNAMIC, allow_unknown=True)],
    _keys_type,
    description="Takes a map and returns a list containing the keys from that map, in "
    "lexicographical order.",
    examples=[("keys({a=1, c=2, d=3})", '["a", "c", "d"]')],
)
def _keys(args: list[Value], fctx: FunctionContext) -> Value:
    v = args[0]
    ret = _keys_type(args)
    if isinstance(v.type, ObjectType):
        return Value(ret, tuple(string(k) for k, _ in v.type.items))
    if not v.is_known:
        return unknown(ret)
    return Value(ret, tuple(string(k) for k in sorted(v.items())))


@register(
    "values",
    "collection",
    [Param("mapping", DYNAMIC, nested_marks=True)],
    lambda args: _values_type(args[0].type),
    description="Takes a map and returns a list containing the values of the elements in that "
    "map, in the order of their keys.",
    examples=[("values({a=3, c=2, d=1})", "[3, 2, 1]")],
)
def _values(args: list[Value], fctx: FunctionContext) -> Value:
    v = args[0]
    ret = _values_type(v.type)
    items = v.items()
    return Value(ret, tuple(items[k] for k in sorted(items)))


def _values_type(t: Type) -> Type:
    if isinstance(t, MapType):
        return ListType(t.elem)
    if isinstance(t, ObjectType):
        return TupleType(tuple(a for _, a in t.items))
    if t is DYNAMIC:
        return DYNAMIC
    raise FunctionError("values() requires a map as the first argument")


@register(
    "length",
    "collection",
    [Param("value", DYNAMIC, allow_unknown=True)],
    NUMBER,
    description="Determines the length of a given list, map, or string.",
    examples=[
        ("length([])", "0"),
        ('length(["a", "b"])', "2"),
        ('length({"a" = "b"})', "1"),
        ('length("hello")', "5"),
        ('length("👾🕹️")', "2"),
    ],
    notes=["A string's length counts characters (grapheme clusters), not bytes."],
)
def _length(args: list[Value], fctx: FunctionContext) -> Value:
    v = args[0]
    t = v.type
    if isinstance(t, TupleType):
        return number(len(t.elems))
    if isinstance(t, ObjectType):
        return number(len(t.items))
    if t == STRING or isinstance(t, ListType | SetType | MapType) or t is DYNAMIC:
        if not v.is_known:
            return unknown(NUMBER)
        if t == STRING:
            return number(len(graphemes(v.v)))
        return number(v.length())
    # A plain failure in cty (the parameter takes any type), hence "Error in function call".
    raise FunctionError("argument must be a string, a collection type, or a structural type")


def _lookup_type(args: list[Value]) -> Type:
    if len(args) > 3:
        raise FunctionError(f"lookup() takes two or three arguments, got {len(args)}")
    m, key = args[0], args[1]
    t = m.type
    if isinstance(t, ObjectType):
        if not key.is_known:
            return DYNAMIC
        at = t.attr(key.v)
        if at is not None:
            return at
        if len(args) == 3:
            return args[2].type
        raise FunctionError(f'the given object has no attribute "{key.v}"', 0)
    if isinstance(t, MapType):
        if len(args) == 3:
            try:
                convert(args[2], t.elem)
            except ConversionError:
                raise FunctionError(
                    "the default value must have the same type as the map elements", 2
                ) from None
        return t.elem
    if t is DYNAMIC:
        return DYNAMIC
    raise FunctionError("lookup() requires a map as the first argument", 0)


@register(
    "lookup",
    "collection",
    [Param("inputMap", DYNAMIC, nested_marks=True), Param("key", STRING)],
    _lookup_type,
    variadic=Param("default", DYNAMIC, allow_null=True, allow_unknown=True, nested_marks=True),
    description="Retrieves the value of a single element from a map, given its key. If the "
    "given key does not exist, the given default value is returned instead.",
    examples=[
        ('lookup({a="ay", b="bee"}, "a", "what?")', '"ay"'),
        ('lookup({a="ay", b="bee"}, "c", "what?")', '"what?"'),
        ('lookup({a="ay", b="bee"}, "b")', '"bee"'),
    ],
    notes=["Without a default, a missing key is an error."],
)
def _lookup(args: list[Value], fctx: FunctionContext) -> Value:
    ret = _lookup_type(args)
    m, key = args[0], args[1].v
    items = m.items()
    if key in items:
        return items[key]
    if len(args) == 3:
        return convert(args[2], ret)
    raise FunctionError(f'lookup failed to find key "{key}"')


@register(
    "matchkeys",
    "collection",
    [Param("values", ANY_LIST), Param("keys", ANY_LIST), Param("searchset", ANY_LIST)],
    lambda args: args[0].type,
    description="Constructs a new list by taking a subset of elements from one list whose "
    "indexes match the corresponding indexes of values in another list.",
    examples=[
        (
            'matchkeys(["i-123", "i-abc", "i-def"], ["us-west", "us-east", "us-east"], ["us-east"])',
            '["i-abc", "i-def"]',
        ),
    ],
    notes=["`values` and `keys` must have the same length."],
)
def _matchkeys(args: list[Value], fctx: FunctionContext) -> Value:
    vals, keys, search = args
    if vals.length() != keys.length():
        raise FunctionError("length of keys and values should be equal")
    kt, st = keys.type.elem, search.type.elem  # type: ignore[attr-defined]
    u = unify([kt, st]) if kt != st else kt
    if u is None:
        raise FunctionError("keys and searchset must be of the same type", 2)
    wanted = [convert(s, u) for s in search.elements()]
    out = [
        v for v, k in zip(vals.elements(), keys.elements(), strict=True) if convert(k, u) in wanted
    ]
    return Value(vals.type, tuple(out))


def _merge_type(args: list[Value]) -> Type:
    if not args:
        return EMPTY_OBJECT
    attrs: dict[str, Type] = {}
    first: Type | None = None
    matching = True
    attrs_known = True
    for i, a in enumerate(args):
        t = a.type
        if t is DYNAMIC:
            return DYNAMIC
        if isinstance(t, ObjectType):
            if not a.is_null:
                attrs.update(t.attrs)
        elif isinstance(t, MapType):
            if a.is_null:
                pass
            elif a.is_known:
                for k in a.items():
                    attrs[k] = t.elem
            else:
                attrs_known = False
        else:
            raise FunctionError(f'arguments must be maps or objects, got "{t.friendly()}"')
        if i == 0:
            first = t
        elif t != first:
            matching = False
    if matching and first is not None:
        return first
    if not attrs_known:
        return DYNAMIC
    return ObjectType.of(attrs)


@register(
    "merge",
    "collection",
    [],
    _merge_type,
    variadic=Param("maps", DYNAMIC, allow_null=True, nested_marks=True),
    description="Takes an arbitrary number of maps or objects, and returns a single map or "
    "object that contains a merged set of elements from all arguments. Later arguments take "
    "precedence.",
    examples=[
        ('merge({a="b", c="d"}, {e="f", c="z"})', '{ "a" = "b", "c" = "z", "e" = "f" }'),
        ('merge({a="b"}, {a=[1,2], c="z"}, {d=3})', '{ "a" = [1, 2], "c" = "z", "d" = 3 }'),
    ],
    notes=["Maps of one element type give a map; anything else gives an object."],
)
def _merge(args: list[Value], fctx: FunctionContext) -> Value:
    ret = _merge_type(args)
    out: dict[str, Value] = {}
    for a in args:
        if a.is_null:
            continue
        out.update(a.items())
    if isinstance(ret, MapType):
        return Value(ret, dict(sorted(out.items())))
    return Value(ObjectType.of({k: v.type for k, v in out.items()}), out)


def _one_type(args: list[Value]) -> Type:
    t = args[0].type
    if isinstance(t, ListType | SetType):
        return t.elem
    if isinstance(t, TupleType):
        if len(t.elems) == 0:
            return DYNAMIC
        if len(t.elems) == 1:
            return t.elems[0]
    if t is DYNAMIC:
        return DYNAMIC
    raise FunctionError("must be a list, set, or tuple value with either zero or one elements", 0)


@register(
    "one",
    "collection",
    [Param("list", DYNAMIC, nested_marks=True)],
    _one_type,
    description="Takes a list, set, or tuple value with either zero or one elements. If the "
    "collection is empty, returns null. Otherwise, returns the first element.",
    examples=[
        ("one([])", "null"),
        ('one(["hello"])', '"hello"'),
        ('one(toset(["hello"]))', '"hello"'),
    ],
    notes=["More than one element is an error."],
)
def _one(args: list[Value], fctx: FunctionContext) -> Value:
    ret = _one_type(args)
    elems = args[0].elements()
    if not elems:
        return null(ret)
    if len(elems) > 1:
        raise FunctionError(
            "must be a list, set, or tuple value with either zero or one elements", 0
        )
    return elems[0]


@register(
    "range",
    "collection",
    [],
    ListType(NUMBER),
    variadic=Param("params", NUMBER),
    description="Generates a list of numbers using a start value, a limit value, and a step "
    "value: `range(limit)`, `range(start, limit)`, `range(start, limit, step)`.",
    examples=[
        ("range(3)", "[0, 1, 2]"),
        ("range(1, 4)", "[1, 2, 3]"),
        ("range(1, 8, 2)", "[1, 3, 5, 7]"),
        ("range(4, 1)", "[4, 3, 2]"),
        ("range(-3)", "[0, -1, -2]"),
        ("range(0, 1, 0.25)", "[0, 0.25, 0.5, 0.75]"),
    ],
    notes=[
        "The limit is excluded. With one or two arguments the step is 1, or -1 when the limit "
        "is lower than the start.",
        "At most 1024 numbers are generated; a zero step or a step in the wrong direction is "
        "an error.",
    ],
)
def _range(args: list[Value], fctx: FunctionContext) -> Value:
    ns = [a.v for a in args]
    if len(ns) == 1:
        start, end, step = 0, ns[0], (-1 if ns[0] < 0 else 1)
    elif len(ns) == 2:
        start, end = ns
        step = -1 if end < start else 1
    elif len(ns) == 3:
        start, end, step = ns
    else:
        raise FunctionError("must have one, two, or three arguments")
    if step == 0:
        raise FunctionError("step must not be zero", 2)
    down = step < 0
    if down and end > start:
        raise FunctionError("end must be less than start when step is negative", 1)
    if not down and end < start:
        raise FunctionError("end must be greater than start when step is positive", 1)
    vals: list[Value] = []
    n: int | Decimal = start
    while (n > end) if down else (n < end):
        if len(vals) >= 1024:
            raise FunctionError(
                "more than 1024 values were generated; either decrease the difference between "
                "start and end or use a smaller step"
            )
        vals.append(number(n))
        n = _add(n, step)
    return list_of(NUMBER, vals)


def _reverse_type(args: list[Value]) -> Type:
    t = args[0].type
    if isinstance(t, ListType):
        return t
    if isinstance(t, SetType):
        return ListType(t.elem)
    if isinstance(t, TupleType):
        return TupleType(tuple(reversed(t.elems)))
    if t is DYNAMIC:
        return DYNAMIC
    raise FunctionError(f"can only reverse list or tuple values, not {t.friendly()}", 0)


@register(
    "reverse",
    "collection",
    [Param("list", DYNAMIC, nested_marks=True)],
    _reverse_type,
    description="Takes a sequence and produces a new sequence of the same length with all of "
    "the same elements as the given sequence but in reverse order.",
    examples=[("reverse([1, 2, 3])", "[3, 2, 1]")],
)
def _reverse(args: list[Value], fctx: FunctionContext) -> Value:
    return Value(_reverse_type(args), tuple(reversed(args[0].elements())))


def _set_op_type(args: list[Value]) -> Type:
    etys = [a.type.elem for a in args]  # type: ignore[attr-defined]
    u = unify(etys) if etys else DYNAMIC
    if u is None:
        raise FunctionError("given sets must all have compatible element types")
    return SetType(u)


def _set_args(args: list[Value]) -> tuple[SetType, list[tuple[Value, ...]]]:
    ret = _set_op_type(args)
    assert isinstance(ret, SetType)
    return ret, [convert(a, ret).elements() for a in args]


_SET_NOTE = "Arguments are converted to sets: duplicates vanish and order is the set's own."


@register(
    "setintersection",
    "collection",
    [Param("first_set", ANY_SET)],
    _set_op_type,
    variadic=Param("other_sets", ANY_SET),
    description="Takes multiple sets and produces a single set containing only the elements "
    "that all of the given sets have in common.",
    examples=[('setintersection(["a", "b"], ["b", "c"], ["b", "d"])', '["b"]')],
    notes=[_SET_NOTE],
)
def _setintersection(args: list[Value], fctx: FunctionContext) -> Value:
    ret, sets = _set_args(args)
    out = [e for e in sets[0] if all(e in s for s in sets[1:])]
    return Value(ret, canonical_set(out))


@register(
    "setunion",
    "collection",
    [Param("first_set", ANY_SET)],
    _set_op_type,
    variadic=Param("other_sets", ANY_SET),
    description="Takes multiple sets and produces a single set containing the elements from "
    "all of the given sets.",
    examples=[('setunion(["a", "b"], ["b", "c"], ["d"])', '["a", "b", "c", "d"]')],
    notes=[_SET_NOTE],
)
def _setunion(args: list[Value], fctx: FunctionContext) -> Value:
    ret, sets = _set_args(args)
    return Value(ret, canonical_set(e for s in sets for e in s))


@register(
    "setsubtract",
    "collection",
    [Param("a", ANY_SET), Param("b", ANY_SET)],
    _set_op_type,
    description="Returns a new set containing the elements from the first set that are not "
    "present in the second set.",
    examples=[('setsubtract(["a", "b", "c"], ["a", "c"])', '["b"]')],
    notes=[_SET_NOTE],
)
def _setsubtract(args: list[Value], fctx: FunctionContext) -> Value:
    ret, (a, b) = _set_args(args)
    return Value(ret, canonical_set(e for e in a if e not in b))


def _setproduct_type(args: list[Value]) -> Type:
    if len(args) < 2:
        raise FunctionError("at least two arguments are required")
    etys: list[Type] = []
    lists = 0
    for i, a in enumerate(args):
        t = a.type
        if isinstance(t, SetType):
            etys.append(t.elem)
        elif isinstance(t, ListType):
            etys.append(t.elem)
            lists += 1
        elif isinstance(t, TupleType):
            lists += 1
            u = unify(list(t.elems)) if t.elems else DYNAMIC
            if u is None:
                raise FunctionError("all elements must be of the same type", i)
            etys.append(u)
        else:
            raise FunctionError("a set or a list is required", i)
    row = TupleType(tuple(etys))
    return ListType(row) if lists == len(args) else SetType(row)


@register(
    "setproduct",
    "collection",
    [],
    _setproduct_type,
    variadic=Param("sets", DYNAMIC),
    description="Finds all of the possible combinations of elements from all of the given "
    "sets by computing the Cartesian product.",
    examples=[
        (
            'setproduct(["development", "staging"], ["app1", "app2"])',
            '[["development", "app1"], ["development", "app2"], ["staging", "app1"], '
            '["staging", "app2"]]',
        ),
    ],
    notes=["The result is a list when every argument is a list or tuple, else a set."],
)
def _setproduct(args: list[Value], fctx: FunctionContext) -> Value:
    ret = _setproduct_type(args)
    assert isinstance(ret, ListType | SetType)
    row = ret.elem
    assert isinstance(row, TupleType)
    seqs = [[convert(e, ety) for e in a.elements()] for a, ety in zip(args, row.elems, strict=True)]
    size = 1
    for seq in seqs:
        size *= len(seq)
    if size > MAX_ELEMENTS:
        raise FunctionError(
            f"the product would have {size} elements: at most {MAX_ELEMENTS} are allowed"
        )
    rows: list[list[Value]] = [[]]
    for seq in seqs:
        rows = [r + [e] for r in rows for e in seq]
    vals = [Value(row, tuple(r)) for r in rows]
    if isinstance(ret, SetType):
        return Value(ret, canonical_set(vals))
    return Value(ret, tuple(vals))


def _slice_type(args: list[Value]) -> Type:
    t = args[0].type
    if isinstance(t, ListType):
        return t
    if isinstance(t, TupleType):
        if not (args[1].is_known and args[2].is_known):
            return DYNAMIC
        s, e = _slice_bounds(args, len(t.elems))
        return TupleType(t.elems[s:e])
    if t is DYNAMIC:
        return DYNAMIC
    if isinstance(t, SetType):
        raise FunctionError(
            "cannot slice a set, because its elements do not have indices; explicitly convert "
            "to a list if the ordering of the result is not important",
            0,
        )
    raise FunctionError("must be a list or tuple value", 0)


def _slice_bounds(args: list[Value], length: int) -> tuple[int, int]:
    s = whole(args[1], 1, "invalid start index: ")
    if s < 0:
        raise FunctionError("start index must not be less than zero", 1)
    if s > length:
        raise FunctionError("start index must not be greater than the length of the list", 1)
    e = whole(args[2], 2, "invalid end index: ")
    if e < 0:
        raise FunctionError("end index must not be less than zero", 2)
    if e > length:
        raise FunctionError("end index must not be greater than the length of the list", 2)
    if s > e:
        raise FunctionError("start index must not be greater than end index", 1)
    return s, e


@register(
    "slice",
    "collection",
    [
        Param("list", DYNAMIC, nested_marks=True),
        Param("start_index", NUMBER),
        Param("end_index", NUMBER),
    ],
    _slice_type,
    description="Extracts some consecutive elements from within a list. The start index is "
    "inclusive and the end index exclusive.",
    examples=[('slice(["a", "b", "c", "d"], 1, 3)', '["b", "c"]')],
)
def _slice(args: list[Value], fctx: FunctionContext) -> Value:
    ret = _slice_type(args)
    s, e = _slice_bounds(args, args[0].length())
    return Value(ret, args[0].elements()[s:e])


@register(
    "sort",
    "collection",
    [Param("list", ListType(STRING))],
    ListType(STRING),
    description="Takes a list of strings and returns a new list with those strings sorted "
    "lexicographically.",
    examples=[
        ('sort(["e", "d", "a", "x"])', '["a", "d", "e", "x"]'),
        ("sort([10, 9, 1])", '["1", "10", "9"]'),
    ],
    notes=["Numbers are converted to strings first, so they sort lexically too."],
)
def _sort(args: list[Value], fctx: FunctionContext) -> Value:
    elems = args[0].elements()
    for i, e in enumerate(elems):
        if e.is_null:
            raise FunctionError(f"given list element {i} is null; a null string cannot be sorted")
    return list_of(STRING, sorted(elems, key=lambda e: e.v.encode("utf-8")))


@register(
    "sum",
    "collection",
    [Param("list", DYNAMIC)],
    NUMBER,
    description="Takes a list or set of numbers and returns the sum of those numbers.",
    examples=[("sum([10, 13, 6, 4.5])", "33.5")],
    notes=["An empty list is an error."],
)
def _sum(args: list[Value], fctx: FunctionContext) -> Value:
    v = args[0]
    if not isinstance(v.v, tuple):
        raise FunctionError("cannot sum noniterable", 0)
    if not v.v:
        raise FunctionError("cannot sum an empty list", 0)
    if not isinstance(v.type, ListType | SetType | TupleType):
        raise FunctionError(
            f"argument must be list, set, or tuple. Received {v.type.friendly()}", 0
        )
    total: int | object = 0
    for e in v.elements():
        try:
            if e.is_null:
                raise ConversionError("null")
            total = _add(total, convert(e, NUMBER).v)  # type: ignore[arg-type]
        except ConversionError:
            raise FunctionError(
                "argument must be list, set, or tuple of number values", 0
            ) from None
    return number(total)  # type: ignore[arg-type]


@register(
    "transpose",
    "collection",
    [Param("values", MapType(ListType(STRING)))],
    MapType(ListType(STRING)),
    description="Takes a map of lists of strings and swaps the keys and values to produce a "
    "new map of lists of strings.",
    examples=[
        (
            'transpose({"a" = ["1", "2"], "b" = ["2", "3"]})',
            '{ "1" = ["a"], "2" = ["a", "b"], "3" = ["b"] }',
        )
    ],
)
def _transpose(args: list[Value], fctx: FunctionContext) -> Value:
    out: dict[str, list[Value]] = {}
    items = args[0].items()
    for k in sorted(items):
        lst = items[k]
        if lst.is_null:
            raise FunctionError("input must not contain null list values", 0)
        for e in lst.elements():
            if e.is_null:
                raise FunctionError("input must not contain null string values", 0)
            out.setdefault(e.v, []).append(string(k))
    return Value(
        MapType(ListType(STRING)),
        {k: list_of(STRING, out[k]) for k in sorted(out)},
    )


def _zipmap_type(args: list[Value]) -> Type:
    t = args[1].type
    if isinstance(t, ListType):
        return MapType(t.elem)
    if isinstance(t, TupleType):
        keys = args[0]
        if not keys.is_wholly_known():
            return DYNAMIC
        names = [k.v for k in keys.elements()]
        if len(names) != len(t.elems):
            raise FunctionError(
                f"number of keys ({len(names)}) does not match number of values ({len(t.elems)})"
            )
        return ObjectType.of(dict(zip(names, t.elems, strict=True)))
    if t is DYNAMIC:
        return DYNAMIC
    raise FunctionError("values argument must be a list or tuple value")


@register(
    "zipmap",
    "collection",
    [Param("keys", ListType(STRING)), Param("values", DYNAMIC)],
    _zipmap_type,
    description="Constructs a map from a list of keys and a corresponding list of values.",
    examples=[('zipmap(["a", "b"], [1, 2])', '{ "a" = 1, "b" = 2 }')],
    notes=["The two lists must have the same length; for a repeated key the last value wins."],
)
def _zipmap(args: list[Value], fctx: FunctionContext) -> Value:
    ret = _zipmap_type(args)
    keys = args[0].elements()
    vals = args[1].elements()
    if len(keys) != len(vals):
        raise FunctionError(
            f"number of keys ({len(keys)}) does not match number of values ({len(vals)})"
        )
    for i, k in enumerate(keys):
        if k.is_null:
            raise FunctionError(f"keys list has null value at index {i}", 0)
    out = {k.v: v for k, v in zip(keys, vals, strict=True)}
    if isinstance(ret, MapType):
        return Value(ret, dict(sorted(out.items())))
    return Value(ObjectType.of({k: v.type for k, v in out.items()}), out)


def _removed(name: str, literal: str, example: tuple[str, str]) -> None:
    message = (
        f'the "{name}" function is no longer available; use {literal} syntax to write a literal '
        f"{name}"
    )

    def rule(args: list[Value]) -> Type:
        raise FunctionError(message)

    @register(
        name,
        "collection",
        [],
        rule,
        variadic=Param("vals", DYNAMIC, allow_null=True, allow_unknown=True),
        description=f"Removed from the language: write `{literal}` instead. Calling it is an "
        "error that says so.",
        examples=[example],
    )
    def _impl(args: list[Value], fctx: FunctionContext) -> Value:
        raise FunctionError(message)


_removed("list", "tolist([ ... ])", ("tolist([1, 2])", "[1, 2]"))
_removed("map", "tomap({ ... })", ('tomap({ a = "b" })', '{ a = "b" }'))
