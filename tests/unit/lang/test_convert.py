"""Type conversion and unification, checked against cty's rules."""

from __future__ import annotations

from decimal import Decimal

import pytest

from mlform.lang.convert import (
    ConversionError,
    can_convert,
    convert,
    format_number,
    parse_number,
    unify,
)
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
from mlform.lang.values import (
    boolean,
    list_of,
    map_of,
    null,
    number,
    object_of,
    set_of,
    string,
    tuple_of,
    unknown,
)


@pytest.mark.parametrize(
    ("value", "want", "expected"),
    [
        (number(5), STRING, string("5")),
        (number("0.5"), STRING, string("0.5")),
        (number(10**20), STRING, string("100000000000000000000")),
        (number("-1.25"), STRING, string("-1.25")),
        (boolean(True), STRING, string("true")),
        (boolean(False), STRING, string("false")),
        (string("42"), NUMBER, number(42)),
        (string("1.50"), NUMBER, number("1.5")),
        (string("1e3"), NUMBER, number(1000)),
        (string("-0.25"), NUMBER, number("-0.25")),
        (string("true"), BOOL, boolean(True)),
        (string("false"), BOOL, boolean(False)),
        (string("1"), BOOL, boolean(True)),
        (string("0"), BOOL, boolean(False)),
        (string("x"), STRING, string("x")),
    ],
)
def test_primitive_conversions(value, want, expected) -> None:
    assert convert(value, want) == expected


@pytest.mark.parametrize(
    ("value", "want", "message"),
    [
        (string("abc"), NUMBER, "a number is required"),
        (string(" 1"), NUMBER, "a number is required"),
        (string("yes"), BOOL, "a bool is required"),
        (string("True"), BOOL, 'a bool is required; to convert from string, use lowercase "true"'),
        (number(1), BOOL, "bool required"),
        (boolean(True), NUMBER, "number required"),
        (tuple_of([number(1)]), STRING, "string required"),
        (string("x"), ListType(STRING), "list of string required"),
        (tuple_of([string("a"), tuple_of([])]), ListType(STRING), "element 1: string required"),
        (
            tuple_of([string("a"), tuple_of([])]),
            ListType(DYNAMIC),
            "all list elements must have the same type",
        ),
        (object_of({"a": number(1)}), ObjectType.of({"b": STRING}), 'attribute "b" is required'),
        (
            object_of({"a": number(1)}),
            ObjectType.of({"b": STRING, "c": STRING}),
            'attributes "b" and "c" are required',
        ),
        (
            object_of({"a": tuple_of([])}),
            ObjectType.of({"a": STRING}),
            'attribute "a": string required',
        ),
        (object_of({"a": tuple_of([])}), MapType(STRING), 'element "a": string required'),
        (list_of(STRING, [string("a")]), MapType(STRING), "map of string required"),
        (list_of(NUMBER, []), ListType(BOOL), "incorrect list element type: bool required"),
        (null(BOOL), NUMBER, "number required"),
    ],
)
def test_conversion_failures(value, want, message) -> None:
    with pytest.raises(ConversionError) as info:
        convert(value, want)
    assert info.value.message == message


def test_error_path_points_at_the_failing_part() -> None:
    value = object_of({"a": tuple_of([number(1), string("x")])})
    with pytest.raises(ConversionError) as info:
        convert(value, ObjectType.of({"a": ListType(NUMBER)}))
    assert info.value.path == ["a", 1]
    assert info.value.full_message() == ".a[1]: a number is required"


def test_tuple_to_list_and_set() -> None:
    t = tuple_of([number(2), number(1), number(2)])
    assert convert(t, ListType(NUMBER)) == list_of(NUMBER, [number(2), number(1), number(2)])
    assert convert(t, SetType(NUMBER)) == set_of(NUMBER, [number(1), number(2)])
    assert convert(t, ListType(STRING)).v == (string("2"), string("1"), string("2"))


def test_list_any_unifies_element_types() -> None:
    mixed = tuple_of([string("a"), number(1), boolean(True)])
    got = convert(mixed, ListType(DYNAMIC))
    assert got.type == ListType(STRING)
    assert [e.v for e in got.v] == ["a", "1", "true"]
    assert convert(tuple_of([]), ListType(DYNAMIC)).type == ListType(DYNAMIC)
    assert convert(list_of(NUMBER, [number(1)]), ListType(DYNAMIC)).type == ListType(NUMBER)


def test_object_to_map_and_back() -> None:
    obj = object_of({"a": number(1), "b": string("x")})
    m = convert(obj, MapType(DYNAMIC))
    assert m == map_of(STRING, {"a": string("1"), "b": string("x")})
    back = convert(m, ObjectType.of({"a": NUMBER, "b": STRING}))
    assert back == object_of({"a": number(1), "b": string("x")})


def test_list_and_set_convert_both_ways() -> None:
    lst = list_of(STRING, [string("b"), string("a"), string("b")])
    s = convert(lst, SetType(STRING))
    assert s.v == (string("a"), string("b"))
    assert convert(s, ListType(STRING)).v == (string("a"), string("b"))


def test_object_drops_extra_attributes() -> None:
    obj = object_of({"a": number(1), "extra": string("x")})
    assert convert(obj, ObjectType.of({"a": NUMBER})) == object_of({"a": number(1)})


def test_optional_attributes_get_defaults_or_null() -> None:
    want = ObjectType.of(
        {"name": STRING, "size": NUMBER, "tag": STRING},
        optional=["size", "tag"],
        defaults={"size": number(10)},
    )
    got = convert(object_of({"name": string("n")}), want)
    assert got.v["size"] == number(10)
    assert got.v["tag"] == null(STRING)
    assert got.type == ObjectType.of({"name": STRING, "size": NUMBER, "tag": STRING})
    # An explicit null also takes the default.
    got = convert(object_of({"name": string("n"), "size": null()}), want)
    assert got.v["size"] == number(10)


def test_nested_optional_defaults_inside_collections() -> None:
    inner = ObjectType.of({"a": STRING, "b": STRING}, optional=["b"], defaults={"b": string("x")})
    want = MapType(inner)
    got = convert(object_of({"k": object_of({"a": string("1")})}), want)
    assert got.v["k"].v["b"] == string("x")
    assert got.type == MapType(ObjectType.of({"a": STRING, "b": STRING}))


def test_null_and_unknown_take_the_wanted_type() -> None:
    assert convert(null(), ListType(STRING)) == null(ListType(STRING))
    assert convert(unknown(), NUMBER) == unknown(NUMBER)
    assert convert(unknown(STRING), NUMBER) == unknown(NUMBER)
    assert convert(null(STRING), NUMBER) == null(NUMBER)


def test_dynamic_leaves_values_alone() -> None:
    v = tuple_of([string("a"), number(1)])
    assert convert(v, DYNAMIC) is v


def test_marks_survive_conversion() -> None:
    v = number(1).mark("sensitive")
    assert convert(v, STRING) == string("1").mark("sensitive")
    inner = tuple_of([number(1).mark("sensitive")])
    got = convert(inner, ListType(STRING))
    assert got.v[0].marks == frozenset({"sensitive"})


@pytest.mark.parametrize(
    ("types", "expected"),
    [
        ([STRING, STRING], STRING),
        ([STRING, NUMBER], STRING),
        ([NUMBER, STRING], STRING),
        ([NUMBER, BOOL], None),
        ([NUMBER, DYNAMIC], NUMBER),
        ([ObjectType.of({"a": NUMBER}), ObjectType.of({"b": NUMBER})], MapType(NUMBER)),
        (
            [ObjectType.of({"a": NUMBER}), ObjectType.of({"a": STRING})],
            ObjectType.of({"a": STRING}),
        ),
        ([ObjectType.of({"a": NUMBER}), ObjectType.of({"b": BOOL})], None),
        ([TupleType((NUMBER,)), TupleType(())], ListType(NUMBER)),
        ([TupleType((NUMBER,)), TupleType((STRING,))], TupleType((STRING,))),
        ([ListType(NUMBER), ListType(STRING)], ListType(STRING)),
        ([ListType(NUMBER), TupleType((NUMBER,))], ListType(NUMBER)),
        ([ObjectType.of({}), TupleType(())], None),
        ([MapType(STRING), ObjectType.of({"a": STRING})], MapType(STRING)),
        ([], None),
    ],
)
def test_unify(types, expected) -> None:
    assert unify(types) == expected


@pytest.mark.parametrize(
    ("src", "want", "ok"),
    [
        (STRING, NUMBER, True),
        (NUMBER, BOOL, False),
        (TupleType((STRING, NUMBER)), ListType(STRING), True),
        (TupleType((STRING, TupleType(()))), ListType(STRING), False),
        (ObjectType.of({"a": NUMBER}), MapType(STRING), True),
        (MapType(STRING), ObjectType.of({"a": NUMBER}), True),
        (ListType(STRING), TupleType((STRING,)), False),
        (SetType(NUMBER), ListType(STRING), True),
        (DYNAMIC, ListType(STRING), True),
    ],
)
def test_can_convert(src, want, ok) -> None:
    assert can_convert(src, want) is ok


def test_number_text_round_trip() -> None:
    assert format_number(Decimal("0.10")) == "0.1"
    assert format_number(Decimal("1E+2")) == "100"
    assert format_number(Decimal("1.5E-7")) == "0.00000015"
    assert parse_number("1.5e-7") == Decimal("1.5E-7")
    assert parse_number("12") == 12
    assert parse_number("abc") is None
    assert parse_number("") is None
