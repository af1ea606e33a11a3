"""String functions, with Terraform's results and errors."""

from __future__ import annotations

import pytest
from fnhelp import err, ev, same


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        ('chomp("hello\\n")', '"hello"'),
        ('chomp("hello\\r\\n")', '"hello"'),
        ('chomp("hello\\n\\n")', '"hello"'),
        ('chomp("hello")', '"hello"'),
        ('chomp("he\\nllo\\n")', '"he\\nllo"'),
        ('endswith("hello world", "world")', "true"),
        ('endswith("hello world", "hello")', "false"),
        ('startswith("hello world", "hello")', "true"),
        ('startswith("hello world", "world")', "false"),
        ('strcontains("hello world", "wor")', "true"),
        ('strcontains("hello world", "wod")', "false"),
        ('indent(2, "[\\n  foo,\\n  bar,\\n]\\n")', '"[\\n    foo,\\n    bar,\\n  ]\\n  "'),
        ('indent(4, "a")', '"a"'),
        ('join("-", ["foo", "bar", "baz"])', '"foo-bar-baz"'),
        ('join(", ", ["foo"])', '"foo"'),
        ('join(", ", [])', '""'),
        ('join(",", ["a"], ["b", "c"])', '"a,b,c"'),
        ('join(",", [1, true])', '"1,true"'),
        ('lower("HELLO")', '"hello"'),
        ('lower("АЛЛО!")', '"алло!"'),
        ('upper("hello")', '"HELLO"'),
        ('upper("алло!")', '"АЛЛО!"'),
        ("upper(5)", '"5"'),
        ('title("hello world")', '"Hello World"'),
        ('title("hello-world_foo bar.baz")', '"Hello-World_foo Bar.Baz"'),
        ('split(",", "foo,bar,baz")', 'tolist(["foo", "bar", "baz"])'),
        ('split(",", "foo")', 'tolist(["foo"])'),
        ('split(",", "")', 'tolist([""])'),
        ('split(",", "a,,b,")', 'tolist(["a", "", "b", ""])'),
        ('split("", "abc")', 'tolist(["a", "b", "c"])'),
        ('strrev("hello")', '"olleh"'),
        ('strrev("a ☃")', '"☃ a"'),
        ('strrev("")', '""'),
        ('substr("hello world", 1, 4)', '"ello"'),
        ('substr("🤔🤷", 0, 1)', '"🤔"'),
        ('substr("hello world", -5, -1)', '"world"'),
        ('substr("hello world", 6, 10)', '"world"'),
        ('substr("hello world", 6, -1)', '"world"'),
        ('substr("hello world", -100, 5)', '"hello"'),
        ('substr("hello", 10, 2)', '""'),
        ('substr("hello", 0, 0)', '""'),
        ('substr("e\u0301x", 0, 1)', '"e\u0301"'),
        ('trim("?!hello?!", "!?")', '"hello"'),
        ('trim("foobar", "far")', '"oob"'),
        ('trim("   hello! world.!  ", "! ")', '"hello! world."'),
        ('trimprefix("helloworld", "hello")', '"world"'),
        ('trimprefix("helloworld", "cat")', '"helloworld"'),
        ('trimprefix("hhello", "h")', '"hello"'),
        ('trimsuffix("helloworld", "world")', '"hello"'),
        ('trimsuffix("helloworld", "cat")', '"helloworld"'),
        ('trimspace("  hello\\n\\n")', '"hello"'),
        ('trimspace("\\t x y \\r\\n")', '"x y"'),
        ('replace("1 + 2 + 3", "+", "-")', '"1 - 2 - 3"'),
        ('replace("hello world", "/w.*d/", "everybody")', '"hello everybody"'),
        ('replace("hello world", "/(h)(e)/", "$2$1")', '"ehllo world"'),
        ('replace("hello world", "/(?P<first>h)/", "<$${first}>")', '"<h>ello world"'),
        ('replace("abc", "/b/", "$$")', '"a$c"'),
        ('replace("abc", "/(b)/", "$9")', '"ac"'),
        ('replace("abxd", "/x*/", "-")', '"-a-b-d-"'),
        ('replace("hello", "/", "x")', '"hello"'),
        ('replace("a/b", "/", "x")', '"axb"'),
        ('replace("aaa", "a", "b")', '"bbb"'),
        ('templatestring("Hello, $${name}!", { name = "Jodie" })', '"Hello, Jodie!"'),
        ('templatestring("%%{ for x in xs }$${x}.%%{ endfor }", { xs = [1, 2] })', '"1.2."'),
    ],
)
def test_strings(src: str, expected: str) -> None:
    same(src, expected)


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        ('format("Hello, %s!", "Ander")', '"Hello, Ander!"'),
        ('format("There are %d lights", 4)', '"There are 4 lights"'),
        ('format("%5.2f", 3.14159)', '" 3.14"'),
        ('format("%.2f", 2.675)', '"2.67"'),
        ('format("%f", 1)', '"1.000000"'),
        ('format("%08.3f", -3.14159)', '"-003.142"'),
        ('format("%+.1f", 2)', '"+2.0"'),
        ('format("%d", "12")', '"12"'),
        ('format("%03d|%-4d|%+d|% d", 7, 7, 7, 7)', '"007|7   |+7| 7"'),
        ('format("%05d", -42)', '"-0042"'),
        ('format("%x %X %o %b", 255, 255, 8, 5)', '"ff FF 10 101"'),
        ('format("%#x %#o %#b", 255, 8, 5)', '"0xff 010 0b101"'),
        ('format("%x", -255)', '"-ff"'),
        ('format("%e", 1234.5678)', '"1.234568e+03"'),
        ('format("%E", 0.000012345)', '"1.234500E-05"'),
        ('format("%.2e", 0)', '"0.00e+00"'),
        ('format("%g", 0.1)', '"0.1"'),
        ('format("%g", 1000000)', '"1e+06"'),
        ('format("%g", 123456)', '"123456"'),
        ('format("%.3g", 3.14159)', '"3.14"'),
        ('format("%.3g", 1234567)', '"1.23e+06"'),
        ('format("%G", 0.00001)', '"1E-05"'),
        ('format("%s", "x")', '"x"'),
        ('format("%s", 1.5)', '"1.5"'),
        ('format("%s", true)', '"true"'),
        ('format("%.3s", "abcdef")', '"abc"'),
        ('format("%10s|%-10s|", "hi", "hi")', '"        hi|hi        |"'),
        ('format("%q", "hi")', '"\\"hi\\""'),
        ('format("%q", "a<b")', '"\\"a\\\\u003cb\\""'),
        ('format("%q", 5)', '"\\"5\\""'),
        ('format("%v", "a")', '"a"'),
        ('format("%v", 1.5)', '"1.5"'),
        ('format("%v", 123456789)', '"1.23456789e+08"'),
        ('format("%v", true)', '"true"'),
        ('format("%v", null)', '"null"'),
        ('format("%v", [1, "a"])', '"[1,\\"a\\"]"'),
        ('format("%v", {b = 1, a = "x"})', '"{\\"a\\":\\"x\\",\\"b\\":1}"'),
        ('format("%#v", "a")', '"\\"a\\""'),
        ('format("%#v", 1)', '"1"'),
        ('format("%t", true)', '"true"'),
        ('format("%t", "false")', '"false"'),
        ('format("%[2]s %[1]s", "a", "b")', '"b a"'),
        ('format("%[2]s %s", "a", "b", "c")', '"b c"'),
        ('format("100%%")', '"100%"'),
        ('format("%d%%", 50)', '"50%"'),
        ('format("no verbs")', '"no verbs"'),
        ('format("%s", "é")', '"é"'),
        ('format("%3s|", "é")', '"  é|"'),
    ],
)
def test_format(src: str, expected: str) -> None:
    same(src, expected)


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        (
            'formatlist("Hello, %s!", ["Valentina", "Ander", "Olivia", "Sam"])',
            'tolist(["Hello, Valentina!", "Hello, Ander!", "Hello, Olivia!", "Hello, Sam!"])',
        ),
        (
            'formatlist("%s, %s!", "Salutations", ["Valentina", "Ander"])',
            'tolist(["Salutations, Valentina!", "Salutations, Ander!"])',
        ),
        ('formatlist("%s=%d", ["a", "b"], [1, 2])', 'tolist(["a=1", "b=2"])'),
        ('formatlist("%s", "x")', 'tolist(["x"])'),
    ],
)
def test_formatlist(src: str, expected: str) -> None:
    same(src, expected)


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        ('regex("[a-z]+", "53453453.345345aaabbbccc23454")', '"aaabbbccc"'),
        (
            'regex("(\\\\d\\\\d\\\\d\\\\d)-(\\\\d\\\\d)-(\\\\d\\\\d)", "2019-02-01")',
            '["2019", "02", "01"]',
        ),
        (
            'regex("^(?:(?P<scheme>[^:/?#]+):)?(?://(?P<authority>[^/?#]*))?", '
            '"https://terraform.io/docs/")',
            '{ authority = "terraform.io", scheme = "https" }',
        ),
        ('regex("(?<word>[a-z]+)", "123abc")', '{ word = "abc" }'),
        ('regex("^\\\\QA.B\\\\E$", "A.B")', '"A.B"'),
        ('regex("[[:digit:]]+", "ab123")', '"123"'),
        ('regex("(?i)HELLO", "say hello")', '"hello"'),
        ('regex("a\\\\z", "ba")', '"a"'),
        ('regexall("[a-z]+", "1234abcd5678efgh9")', 'tolist(["abcd", "efgh"])'),
        ('length(regexall("[a-z]+", "1234abcd5678efgh9"))', "2"),
        ('length(regexall("[a-z]+", "123456789")) > 0', "false"),
        ('regexall("(\\\\d)(\\\\w)", "1a2b")', 'tolist([["1", "a"], ["2", "b"]])'),
        (
            'regexall("(?P<k>\\\\w)=(?P<v>\\\\d)", "a=1,b=2")',
            'tolist([{ k = "a", v = "1" }, { k = "b", v = "2" }])',
        ),
    ],
)
def test_regex(src: str, expected: str) -> None:
    same(src, expected)


def test_regex_unmatched_group_is_null() -> None:
    v = ev('regex("(a)|(b)", "b")')
    assert v.v[0].is_null and v.v[0].type == ev('"s"').type and v.v[1].v == "b"


def test_formatlist_of_empty_list() -> None:
    v = ev('formatlist("%s", [])')
    assert v.v == () and v.type.hcl() == "list(string)"


def test_regex_dollar_matches_only_at_the_end() -> None:
    # RE2 without (?m): `$` does not match before a final newline, unlike Python's default.
    assert err('regex("a$", "a\\n")').detail.endswith(
        "pattern did not match any part of the given string."
    )
    same('regex("(?m)a$", "a\\nb")', '"a"')


@pytest.mark.parametrize(
    ("src", "summary", "detail"),
    [
        (
            'format("%d", 1.5)',
            "Error in function call",
            'Call to function "format" failed: unsupported value for "%d" at 0: an integer is '
            "required.",
        ),
        (
            'format("%s")',
            "Error in function call",
            'Call to function "format" failed: not enough arguments for "%s" at 0: need index 1 '
            "but have 0 total.",
        ),
        (
            'format("%s %s", "a")',
            "Error in function call",
            'Call to function "format" failed: not enough arguments for "%s" at 3: need index 2 '
            "but have 1 total.",
        ),
        (
            'format("%y", 1)',
            "Error in function call",
            'Call to function "format" failed: unsupported format verb \'y\' in "%y" at offset 0.',
        ),
        (
            'format("%d", "x")',
            "Error in function call",
            'Call to function "format" failed: unsupported value for "%d" at 0: a number is '
            "required.",
        ),
        (
            'format("%s", null)',
            "Error in function call",
            'Call to function "format" failed: unsupported value for "%s" at 0: null value cannot '
            "be formatted.",
        ),
        (
            'format("%s", [1])',
            "Error in function call",
            'Call to function "format" failed: unsupported value for "%s" at 0: string required.',
        ),
        (
            'formatlist("%s-%s", ["a", "b"], ["c"])',
            "Invalid function argument",
            'Invalid value for "args" parameter: argument 2 has length 1, which is inconsistent '
            "with argument 1 of length 2.",
        ),
        (
            'formatlist("%d", ["x"])',
            "Error in function call",
            'Call to function "formatlist" failed: error on format iteration 0: unsupported value '
            'for "%d" at 0: a number is required.',
        ),
        (
            'regex("x", "y")',
            "Error in function call",
            'Call to function "regex" failed: pattern did not match any part of the given string.',
        ),
        (
            'regex("(?P<a>x)(y)", "xy")',
            "Invalid function argument",
            'Invalid value for "pattern" parameter: invalid regexp pattern: cannot mix both named '
            "and unnamed capture groups.",
        ),
        (
            'join("-")',
            "Error in function call",
            'Call to function "join" failed: at least one list is required.',
        ),
        (
            'join("-", ["a", null])',
            "Invalid function argument",
            'Invalid value for "lists" parameter: element 1 is null; cannot concatenate null '
            "values.",
        ),
        (
            'upper(["a"])',
            "Invalid function argument",
            'Invalid value for "str" parameter: string required.',
        ),
        (
            "upper(null)",
            "Invalid function argument",
            'Invalid value for "str" parameter: argument must not be null.',
        ),
        (
            'substr("abc", 1.5, 1)',
            "Error in function call",
            'Call to function "substr" failed: value must be a whole number, between '
            "-9223372036854775808 and 9223372036854775807.",
        ),
        (
            'templatestring("$${a}", "x")',
            "Invalid function argument",
            'Invalid value for "vars" parameter: invalid vars value: must be a map.',
        ),
    ],
)
def test_string_errors(src: str, summary: str, detail: str) -> None:
    d = err(src)
    assert (d.summary, d.detail) == (summary, detail)


@pytest.mark.parametrize(
    ("src", "detail"),
    [
        ('format("abc%")', "invalid format string starting at offset 4"),
        ('format("%!", 1)', "unrecognized format character '!' at offset 1"),
        ('format("%[0]d", 1)', "unrecognized format character '0' at offset 2"),
    ],
)
def test_format_scanner_errors(src: str, detail: str) -> None:
    assert err(src).detail == f'Call to function "format" failed: {detail}.'


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        ('format("%#08x", 255)', '"0x0000ff"'),
        ('format("%#o", 0)', '"00"'),
        ('format("%8.3d|", 7)', '"     007|"'),
        ('format("%08.3d|", 7)', '"     007|"'),
        ('format("%-6d|", -7)', '"-7    |"'),
        ('format("%+06d", 7)', '"+00007"'),
        ('format("%b", 10)', '"1010"'),
        ('format("%X", 3054)', '"BEE"'),
    ],
)
def test_format_integers_as_go_does(src: str, expected: str) -> None:
    same(src, expected)


def test_format_precision_without_digits() -> None:
    same('format("%5.f|%.d", 3.7, 0)', '"    4|"')


def test_regex_pattern_error() -> None:
    d = err('regex("(", "x")')
    assert d.summary == "Invalid function argument"
    assert d.detail.startswith('Invalid value for "pattern" parameter: invalid regexp pattern:')
    d = err('replace("x", "/(/", "y")')
    assert d.summary == "Error in function call"
    assert d.detail.startswith('Call to function "replace" failed: error parsing regexp:')


def test_unknown_propagation() -> None:
    for src in [
        "upper(var.later)",
        'format("%s-%s", "a", var.later)',
        'replace(var.later, "a", "b")',
        'join(",", var.later_list)',
        'split(var.later, "a,b")',
    ]:
        assert not ev(src).is_known, src
    v = ev('regex(var.later, "abc")')
    assert not v.is_known
    lst = ev('formatlist("%s", ["a", var.later])')
    assert lst.is_known and lst.v[0].v == "a" and not lst.v[1].is_known


def test_sensitive_propagation() -> None:
    v = ev("upper(var.secret)")
    assert v.v == "HUNTER2" and v.is_sensitive
    assert ev('format("pw=%s", var.secret)').is_sensitive
    assert ev('split("n", var.secret)').is_sensitive
    assert not ev('upper("x")').is_sensitive
