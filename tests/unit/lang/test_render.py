"""How values print: Terraform's console form and JSON with the type."""

from __future__ import annotations

from decimal import Decimal

import pytest

from mlform.lang.ops import arithmetic
from mlform.lang.render import go_quote, json_dumps, number_text, render_hcl, to_json_with_type
from mlform.lang.types import BOOL, DYNAMIC, NUMBER, STRING, ListType, MapType, ObjectType, SetType
from mlform.lang.values import (
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
    ("value", "text"),
    [
        (null(), "null"),
        (null(STRING), "tostring(null)"),
        (null(NUMBER), "tonumber(null)"),
        (null(BOOL), "tobool(null)"),
        (null(ListType(STRING)), "tolist(null) /* of string */"),
        (null(SetType(NUMBER)), "toset(null) /* of number */"),
        (null(MapType(ListType(STRING))), "tomap(null) /* of list of string */"),
        (null(ObjectType.of({"a": STRING})), "null /* object */"),
        (unknown(STRING), "(known after apply)"),
        (unknown(STRING).mark("sensitive"), "(known after apply)"),
        (string("x").mark("sensitive"), "(sensitive value)"),
        (tuple_of([string("x").mark("sensitive")]), "[\n  (sensitive value),\n]"),
        (list_of(STRING, []), "tolist([])"),
        (set_of(STRING, []), "toset([])"),
        (map_of(STRING, {}), "tomap({})"),
        (
            list_of(NUMBER, [number(1), unknown(NUMBER)]),
            "tolist([\n  1,\n  (known after apply),\n])",
        ),
        (map_of(NUMBER, {"b": number(2), "a": number(1)}), 'tomap({\n  "a" = 1\n  "b" = 2\n})'),
        (object_of({"a b": string("x")}), '{\n  "a b" = "x"\n}'),
        (string("a\nb"), "<<EOT\na\nb\nEOT"),
        (tuple_of([string("a\nb")]), "[\n  <<-EOT\n  a\n  b\n  EOT,\n]"),
        (string("x\nEOT\n"), "<<EOT_\nx\nEOT\n\nEOT_"),
        (number(Decimal("1E+30")), "1000000000000000000000000000000"),
        (number(Decimal("-0.000001")), "-0.000001"),
    ],
)
def test_render_hcl(value, text: str) -> None:
    assert render_hcl(value) == text


@pytest.mark.parametrize(
    ("s", "quoted"),
    [
        ("abc", '"abc"'),
        ('say "hi"', '"say \\"hi\\""'),
        ("a\\b", '"a\\\\b"'),
        ("tab\t", '"tab\\t"'),
        ("\x00\x7f", '"\\x00\\x7f"'),
        ("é✓", '"é✓"'),
        ("\u00a0", '"\\u00a0"'),
        ("\U0001f600", '"\U0001f600"'),
        ("\u200b", '"\\u200b"'),
    ],
)
def test_go_quote(s: str, quoted: str) -> None:
    assert go_quote(s) == quoted


def test_rounded_numbers_print_as_their_512_bit_float() -> None:
    third = number_text(arithmetic("/", 1, 3))
    assert third.startswith("0.3333333333")
    # The shortest decimal identifying the 512-bit float: about 155 significant digits.
    assert 150 <= len(third) - 2 <= 160
    assert third.endswith("5")
    assert number_text(arithmetic("/", 1, 8)) == "0.125"
    assert number_text(arithmetic("+", Decimal("0.1"), Decimal("0.2"))) == "0.3"


def test_json_with_type() -> None:
    value = object_of(
        {
            "n": number(Decimal("0.5")),
            "big": number(10**25),
            "l": list_of(STRING, [string("x")]),
            "s": set_of(NUMBER, [number(2), number(1)]),
            "nothing": null(DYNAMIC),
        }
    )
    data = to_json_with_type(value)
    assert json_dumps(data) == (
        '{"value":{"big":10000000000000000000000000,"l":["x"],"n":0.5,"nothing":null,"s":[1,2]},'
        '"type":["object",{"big":"number","l":["list","string"],"n":"number",'
        '"nothing":"dynamic","s":["set","number"]}]}'
    )


def test_json_keeps_unicode_and_escapes_controls() -> None:
    assert json_dumps({"v": 'é\n"'}) == '{"v":"é\\n\\""}'
