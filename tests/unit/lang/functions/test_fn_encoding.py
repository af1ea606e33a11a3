"""Encoding functions: JSON, YAML, CSV, Base64, URL encoding, as Terraform writes and reads them."""

from __future__ import annotations

import base64
import gzip

import pytest
from fnhelp import call, err, ev, same


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        ('base64decode("SGVsbG8gV29ybGQ=")', '"Hello World"'),
        ('base64decode("")', '""'),
        ('base64encode("Hello World")', '"SGVsbG8gV29ybGQ="'),
        ('base64encode("☃")', '"4piD"'),
        (
            'csvdecode("a,b,c\\n1,2,3\\n4,5,6")',
            'tolist([{ a = "1", b = "2", c = "3" }, { a = "4", b = "5", c = "6" }])',
        ),
        (
            'csvdecode("a,b\\n\\"x, y\\",\\"say \\"\\"hi\\"\\"\\"\\n")',
            'tolist([{ a = "x, y", b = "say \\"hi\\"" }])',
        ),
        ('jsondecode("{\\"hello\\": \\"world\\"}")', '{ hello = "world" }'),
        ('jsondecode("true")', "true"),
        ('jsondecode("null")', "null"),
        ('jsondecode("[1, \\"a\\", null]")', '[1, "a", null]'),
        ('jsondecode("0.1") + 0.2', "0.3"),
        ('jsondecode("1e3")', "1000"),
        ('jsonencode({"hello" = "world"})', '"{\\"hello\\":\\"world\\"}"'),
        ("jsonencode({b = 1, a = [true, null]})", '"{\\"a\\":[true,null],\\"b\\":1}"'),
        ('jsonencode("<b>&")', '"\\"\\\\u003cb\\\\u003e\\\\u0026\\""'),
        ("jsonencode(1.5)", '"1.5"'),
        ("jsonencode(0.1 + 0.2)", '"0.3"'),
        ("jsonencode(12345678901234567890)", '"12345678901234567890"'),
        ("jsonencode(null)", '"null"'),
        ('jsonencode(toset(["b", "a"]))', '"[\\"a\\",\\"b\\"]"'),
        ("jsonencode(tomap({z = 1, a = 2}))", '"{\\"a\\":2,\\"z\\":1}"'),
        ('jsonencode("é\\n\\t")', '"\\"é\\\\n\\\\t\\""'),
        ('textencodebase64("Hello World", "UTF-16LE")', '"SABlAGwAbABvACAAVwBvAHIAbABkAA=="'),
        ('textdecodebase64("SABlAGwAbABvACAAVwBvAHIAbABkAA==", "UTF-16LE")', '"Hello World"'),
        ('textdecodebase64(textencodebase64("héllo", "ISO-8859-1"), "latin1")', '"héllo"'),
        ('urlencode("Hello World!")', '"Hello+World%21"'),
        ('urlencode("☃")', '"%E2%98%83"'),
        ('urlencode("a-b_c.d~e/f?g=h&i")', '"a-b_c.d~e%2Ff%3Fg%3Dh%26i"'),
        (
            '"http://example.com/search?q=${urlencode("terraform urlencode")}"',
            '"http://example.com/search?q=terraform+urlencode"',
        ),
        ('yamldecode("hello: world")', '{ hello = "world" }'),
        ('yamldecode("true")', "true"),
        ('yamldecode("{a: &foo [1, 2, 3], b: *foo}")', "{ a = [1, 2, 3], b = [1, 2, 3] }"),
        (
            'yamldecode("a: 1.5\\nb: 2020-01-01\\nc: null\\nd: \\"x\\"")',
            '{ a = 1.5, b = "2020-01-01T00:00:00Z", c = null, d = "x" }',
        ),
        (
            'yamldecode("[yes, No, on, OFF, y, n, \\"yes\\", ~]")',
            '[true, false, true, false, true, false, "yes", null]',
        ),
        ('yamldecode("{on: 1}")', '{ "true" = 1 }'),
        (
            'yamldecode("[1e3, 010, 0x1F, 1_000, .5, 0b101, 1:20]")',
            '[1000, 10, 31, 1000, 0.5, "0b101", "1:20"]',
        ),
        (
            'yamldecode("[!!str 12, !!int 0x10, !!bool yes, !!binary aGVsbG8=]")',
            '["12", 16, true, "aGVsbG8="]',
        ),
        ('yamldecode("2001-12-14t21:59:43.10-05:00")', '"2001-12-14T21:59:43-05:00"'),
        ('yamldecode("- 1\\n- two\\n")', '[1, "two"]'),
        ('yamldecode("")', "null"),
        ('yamldecode("1: a")', '{ "1" = "a" }'),
        ('yamlencode({"a" = "b", "c" = "d"})', '"\\"a\\": \\"b\\"\\n\\"c\\": \\"d\\"\\n"'),
        (
            'yamlencode({"foo" = [1, 2, 3], "bar" = "baz"})',
            '"\\"bar\\": \\"baz\\"\\n\\"foo\\":\\n- 1\\n- 2\\n- 3\\n"',
        ),
        (
            'yamlencode({"foo" = [1, {"a" = "b", "c" = "d"}, 3], "bar" = "baz"})',
            '"\\"bar\\": \\"baz\\"\\n\\"foo\\":\\n- 1\\n- \\"a\\": \\"b\\"\\n  \\"c\\": \\"d\\"\\n- 3\\n"',
        ),
        ('yamlencode("x")', '"\\"x\\"\\n"'),
        ("yamlencode(null)", '"null\\n...\\n"'),
        ("yamlencode(true)", '"true\\n...\\n"'),
        ("yamlencode(0)", '"0\\n...\\n"'),
        ('yamlencode("")', '"\\"\\"\\n"'),
        ('yamlencode("a\\tb")', '"\\"a\\\\tb\\"\\n"'),
        ('yamlencode("a \\nb")', '"\\"a \\\\nb\\"\\n"'),
        ('yamlencode("😀")', '"\\"\\\\U0001F600\\"\\n"'),
        ('yamlencode("a\\n\\n")', '"|+\\n  a\\n\\n...\\n"'),
        ('yamlencode(" a\\nb")', '"|2-\\n   a\\n  b\\n"'),
        ("yamlencode([])", '"[]\\n"'),
        ("yamlencode({})", '"{}\\n"'),
        ("yamlencode({a = {b = {c = true}}})", '"\\"a\\":\\n  \\"b\\":\\n    \\"c\\": true\\n"'),
        ('yamlencode({a = "x\\ny"})', '"\\"a\\": |-\\n  x\\n  y\\n"'),
        ('yamlencode(["x\\n"])', '"- |\\n  x\\n"'),
        ("yamlencode([[1, 2], [3]])", '"- - 1\\n  - 2\\n- - 3\\n"'),
    ],
)
def test_encoding(src: str, expected: str) -> None:
    same(src, expected)


def test_jsondecode_keeps_every_digit() -> None:
    v = ev('jsondecode("12345678901234567890.5")')
    assert str(v.v) == "12345678901234567890.5"


def test_json_round_trip() -> None:
    same(
        'jsondecode(jsonencode({a = [1, "x", true, null], b = {c = 0.25}}))',
        '{a = [1, "x", true, null], b = {c = 0.25}}',
    )


def test_yamlencode_folds_long_strings_as_terraform_does() -> None:
    text = (
        "mkdir -p /app/storage/database /app/storage/framework/cache/data "
        "/app/storage/framework/sessions /app/storage/framework/views /app/storage/logs "
        "/app/bootstrap/cache && touch /app/storage/database/database.sqlite"
    )
    out = call("yamlencode", {"command": text}).v
    lines = out.split("\n")
    assert lines[0] == (
        '"command": "mkdir -p /app/storage/database /app/storage/framework/cache/data '
        "/app/storage/framework/sessions"
    )
    assert lines[1].startswith("  /app/storage/framework/views")
    assert call("yamldecode", out).to_python() == {"command": text}


def test_yaml_round_trip() -> None:
    src = '{a = [1, "x", true, null], b = {c = 0.25, "d e" = "multi\\nline\\n"}, f = []}'
    same(f"yamldecode(yamlencode({src}))", src)


def test_base64gzip_is_gzip_of_the_text() -> None:
    out = call("base64gzip", "hello world").v
    assert gzip.decompress(base64.b64decode(out)) == b"hello world"


@pytest.mark.parametrize(
    ("src", "summary", "detail"),
    [
        (
            'base64decode("SGV$")',
            "Error in function call",
            'Call to function "base64decode" failed: failed to decode base64 data "SGV$".',
        ),
        (
            'base64decode("/w==")',
            "Error in function call",
            'Call to function "base64decode" failed: the result of decoding the provided string is '
            "not valid UTF-8.",
        ),
        (
            'textencodebase64("x", "NOPE")',
            "Invalid function argument",
            'Invalid value for "encoding" parameter: "NOPE" is not a supported IANA encoding name or '
            "alias in this mlform version.",
        ),
    ],
)
def test_encoding_errors(src: str, summary: str, detail: str) -> None:
    d = err(src)
    assert (d.summary, d.detail) == (summary, detail)


@pytest.mark.parametrize(
    ("src", "detail"),
    [
        ('jsondecode("")', "EOF"),
        ('jsondecode("{")', "unexpected EOF"),
        ('jsondecode("[1,]")', "invalid character ']' looking for beginning of value"),
        ('jsondecode("NaN")', "invalid character 'N' looking for beginning of value"),
        ('jsondecode("{\\"a\\" 1}")', "invalid character '1' after object key"),
        ('jsondecode("[1 2]")', "invalid character '2' after array element"),
        (
            'jsondecode("{\\"a\\": 1 \\"b\\": 2}")',
            "invalid character '\"' after object key:value pair",
        ),
        (
            'jsondecode("{1: 2}")',
            "invalid character '1' looking for beginning of object key string",
        ),
        ('jsondecode("1 2")', "extraneous data after JSON object"),
        ('csvdecode("")', "missing header line"),
        ('csvdecode("a,b\\n1,2,3")', "CSV parse error on line 2: wrong number of fields"),
        ('csvdecode("a,a\\n1,2")', 'duplicate column name "a"'),
        (
            'csvdecode("a\\n\\"x")',
            'CSV parse error on line 2: extraneous or missing " in quoted-field',
        ),
        ('yamldecode("a: 1\\n---\\nb: 2")', "unexpected extra content after value"),
        ('yamldecode("!!bool bananas")', 'cannot parse "bananas" as tag:yaml.org,2002:bool'),
        ('yamldecode("!!nope foo")', 'unsupported tag "tag:yaml.org,2002:nope"'),
        ('yamldecode(".nan")', "floating point NaN is not supported"),
        (
            'yamldecode("{a: &foo [1, *foo, 3]}")',
            'cannot refer to anchor "foo" from inside its own definition',
        ),
        ('yamldecode("{a: !not-supported foo}")', 'unsupported tag "!not-supported"'),
        ('yamldecode("{a: *nope}")', 'on line 1, column 5: reference to undefined anchor "nope"'),
    ],
)
def test_decode_errors(src: str, detail: str) -> None:
    d = err(src)
    name = src.split("(")[0]
    assert (d.summary, d.detail) == (
        "Error in function call",
        f'Call to function "{name}" failed: {detail}.',
    )


def test_yaml_syntax_error() -> None:
    d = err('yamldecode("a: [")')
    assert d.summary == "Error in function call"
    assert d.detail.startswith('Call to function "yamldecode" failed: on line ')


def test_base64decode_hides_sensitive_input() -> None:
    d = err('base64decode(sensitive("%%%"))')
    assert d.detail.endswith("failed to decode base64 data (sensitive value).")
    assert ev("base64decode(sensitive(base64encode(var.secret)))").is_sensitive
    assert ev("base64decode(var.later)").is_known is False


def test_text_encoding_errors() -> None:
    d = err('textencodebase64("☃", "ISO-8859-1")')
    assert d.detail == (
        'Invalid value for "string" parameter: the given string contains characters that cannot '
        "be represented in ISO-8859-1."
    )
    d = err('textdecodebase64("/w==", "UTF-8")')
    assert d.detail == (
        'Invalid value for "source" parameter: the given string contains symbols that are not '
        "defined for UTF-8."
    )


def test_iana_utf16_is_big_endian_with_a_mark() -> None:
    same('textencodebase64("A", "UTF-16")', '"/v8AQQ=="')
    same('textdecodebase64("AEE=", "UTF-16")', '"A"')
    same('textdecodebase64("//5BAA==", "UTF-16")', '"A"')


def test_unknown_and_sensitive() -> None:
    assert not ev("jsonencode({a = var.later})").is_known
    assert not ev("jsondecode(var.later)").is_known
    assert not ev("csvdecode(var.later)").is_known
    assert ev("jsonencode({a = var.secret})").is_sensitive
    assert ev("base64encode(var.secret)").is_sensitive
