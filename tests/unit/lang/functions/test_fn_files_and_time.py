"""Filesystem and date-and-time functions."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from fnhelp import TESTDATA, err, ev, same


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        ('file("hello.txt")', '"Hello World"'),
        ('file("${path.module}/hello.txt")', '"Hello World"'),
        ('filebase64("hello.txt")', '"SGVsbG8gV29ybGQ="'),
        ('filebase64("binary.bin")', '"//4="'),
        ('fileexists("hello.txt")', "true"),
        ('fileexists("missing.txt")', "false"),
        ('fileset(path.module, "files/*.txt")', 'toset(["files/a.txt", "files/b.txt"])'),
        ('fileset("files", "*")', 'toset(["a.txt", "b.txt"])'),
        ('fileset("files", "**")', 'toset(["a.txt", "b.txt", "sub/c.txt", "sub/d.md"])'),
        ('fileset(path.module, "files/**/*.md")', 'toset(["files/sub/d.md"])'),
        ('fileset("files", "{a,sub/c}.txt")', 'toset(["a.txt", "sub/c.txt"])'),
        ('fileset("files", "?.txt")', 'toset(["a.txt", "b.txt"])'),
        ('fileset("files", "[a].txt")', 'toset(["a.txt"])'),
        ('length(fileset("nowhere", "*"))', "0"),
        (
            'templatefile("greeting.tftpl", { name = "X", addrs = ["a", "b"], port = 80 })',
            '"Hello X!\\nbackend a:80\\nbackend b:80\\n"',
        ),
        ('dirname("foo/bar/baz.txt")', '"foo/bar"'),
        ('dirname("baz.txt")', '"."'),
        ('dirname("/")', '"/"'),
        ('dirname("/a")', '"/"'),
        ('dirname("foo/")', '"foo"'),
        ('basename("foo/bar/baz.txt")', '"baz.txt"'),
        ('basename("foo/bar/")', '"bar"'),
        ('basename("/")', '"/"'),
        ('basename("")', '"."'),
        ('abspath("/a/b/../c")', '"/a/c"'),
        ('pathexpand("/etc/resolv.conf")', '"/etc/resolv.conf"'),
        ('pathexpand("a~b")', '"a~b"'),
    ],
)
def test_filesystem(src: str, expected: str) -> None:
    same(src, expected)


def test_relative_abspath_and_home() -> None:
    assert ev('abspath("x/y")').v == os.getcwd().replace(os.sep, "/") + "/x/y"
    assert ev('pathexpand("~/.ssh")').v == os.path.expanduser("~") + "/.ssh"


def _rel(name: str) -> str:
    return os.path.relpath(TESTDATA / name)


def test_file_errors() -> None:
    d = err('file("missing.txt")')
    assert (d.summary, d.detail) == (
        "Invalid function argument",
        f'Invalid value for "path" parameter: no file exists at "{_rel("missing.txt")}"; this '
        "function works only with files that are distributed as part of the configuration "
        "source code, so if this file will be created by a resource in this configuration you "
        "must instead obtain this result from an attribute of that resource.",
    )
    d = err('file("binary.bin")')
    assert (d.summary, d.detail) == (
        "Error in function call",
        f'Call to function "file" failed: contents of "{_rel("binary.bin")}" are not valid '
        "UTF-8; use the filebase64 function to obtain the Base64 encoded contents or the other "
        "file functions (e.g. filemd5, filesha256) to obtain file hashing results instead.",
    )
    d = err('templatefile("greeting.tftpl", "x")')
    assert d.detail == 'Invalid value for "vars" parameter: invalid vars value: must be a map.'


def test_sensitive_paths_stay_hidden() -> None:
    d = err('file(sensitive("missing.txt"))')
    assert "no file exists at (sensitive value);" in d.detail
    assert ev('file(sensitive("hello.txt"))').is_sensitive
    assert ev('fileexists(sensitive("hello.txt"))').is_sensitive
    assert ev('filemd5(sensitive("hello.txt"))').is_sensitive


def test_fileexists_on_a_directory_is_an_error() -> None:
    d = err('fileexists("files")')
    assert (
        d.detail
        == f'Invalid value for "path" parameter: "{_rel("files")}" is a directory, not a file.'
    )


def test_templatefile_may_not_call_itself(tmp_path: Path) -> None:
    d = err('templatefile("recursive.tftpl", {})')
    assert d.detail.endswith(
        "cannot recursively call templatefile from inside templatefile call."
    ), d.detail


def test_templatefile_reports_missing_variables() -> None:
    d = err('templatefile("greeting.tftpl", { name = "X" })')
    assert (d.summary, d.detail) == (
        "Invalid function argument",
        'Invalid value for "vars" parameter: vars map does not contain key "addrs", referenced '
        "at greeting.tftpl:2,13-18.",
    )
    d = err('templatefile("greeting.tftpl", { "not valid" = 1 })')
    assert d.detail == (
        'Invalid value for "vars" parameter: invalid template variable name "not valid": must '
        "start with a letter, followed by zero or more letters, digits, and underscores."
    )
    assert not ev(
        'templatefile("greeting.tftpl", { name = "X", addrs = [1], port = var.later })'
    ).is_known


@pytest.mark.parametrize(
    ("src", "expected"),
    [
        ('formatdate("DD MMM YYYY hh:mm ZZZ", "2018-01-02T23:12:01Z")', '"02 Jan 2018 23:12 UTC"'),
        (
            'formatdate("EEEE, DD-MMM-YY hh:mm:ss ZZZ", "2018-01-02T23:12:01Z")',
            '"Tuesday, 02-Jan-18 23:12:01 UTC"',
        ),
        (
            'formatdate("EEE, DD MMM YYYY hh:mm:ss ZZZ", "2018-01-02T23:12:01-08:00")',
            '"Tue, 02 Jan 2018 23:12:01 -0800"',
        ),
        ('formatdate("MMM DD, YYYY", "2018-01-02T23:12:01Z")', '"Jan 02, 2018"'),
        ('formatdate("HH:mmaa", "2018-01-02T23:12:01Z")', '"11:12pm"'),
        ('formatdate("H:m:s AA", "2018-01-02T03:04:05Z")', '"3:4:5 AM"'),
        ('formatdate("MMMM D, YYYY", "2018-03-09T00:00:00Z")', '"March 9, 2018"'),
        ('formatdate("ZZZZZ|ZZZZ|Z", "2018-01-02T23:12:01+05:30")', '"+05:30|+0530|+05:30"'),
        ('formatdate("Z", "2018-01-02T23:12:01Z")', '"Z"'),
        ("formatdate(\"h 'o''clock'\", \"2018-01-02T23:12:01Z\")", '"23 o\'clock"'),
        ('formatdate("\'\'", "2018-01-02T23:12:01Z")', '"\'"'),
        ('timeadd("2017-11-22T00:00:00Z", "10m")', '"2017-11-22T00:10:00Z"'),
        ('timeadd("2017-11-22T00:00:00Z", "-1h30m")', '"2017-11-21T22:30:00Z"'),
        ('timeadd("2017-11-22T00:00:00Z", "1.5h")', '"2017-11-22T01:30:00Z"'),
        ('timeadd("2017-11-22T00:00:00+01:00", "24h")', '"2017-11-23T00:00:00+01:00"'),
        ('timeadd("2017-11-22T00:00:00Z", "1500ms")', '"2017-11-22T00:00:01Z"'),
        ('timeadd("2017-11-22T00:00:00.75Z", "0.5s")', '"2017-11-22T00:00:01Z"'),
        ('timeadd("2017-11-22T00:00:00+00:00", "1s")', '"2017-11-22T00:00:01Z"'),
        ('timecmp("2017-11-22T00:00:00Z", "2017-11-22T00:00:00Z")', "0"),
        ('timecmp("2017-11-22T00:00:00Z", "2017-11-22T01:00:00Z")', "-1"),
        ('timecmp("2017-11-22T01:00:00Z", "2017-11-22T01:00:00+01:00")', "1"),
        ('timecmp("2017-11-22T01:00:00+01:00", "2017-11-22T00:00:00Z")', "0"),
    ],
)
def test_datetime(src: str, expected: str) -> None:
    same(src, expected)


def test_timestamps_are_rfc3339_utc() -> None:
    rfc = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\Z")
    assert rfc.match(ev("timestamp()").v)
    assert rfc.match(ev("plantimestamp()").v)


@pytest.mark.parametrize(
    ("src", "summary", "detail"),
    [
        (
            'formatdate("YYYY", "2018-01-02")',
            "Invalid function argument",
            'Invalid value for "time" parameter: not a valid RFC3339 timestamp: missing required '
            "time introducer 'T'.",
        ),
        (
            'formatdate("YYYY", "yesterday")',
            "Invalid function argument",
            'Invalid value for "time" parameter: not a valid RFC3339 timestamp: cannot use '
            '"yesterday" as year.',
        ),
        (
            'formatdate("YYYY", "2018-13-02T00:00:00Z")',
            "Invalid function argument",
            'Invalid value for "time" parameter: not a valid RFC3339 timestamp: month out of range.',
        ),
        (
            'formatdate("YYYY", "2018-01-02T00:00:00")',
            "Invalid function argument",
            'Invalid value for "time" parameter: not a valid RFC3339 timestamp: end of string '
            "before UTC offset.",
        ),
        (
            'formatdate("YYYY", "2018/01/02T00:00:00Z")',
            "Invalid function argument",
            'Invalid value for "time" parameter: not a valid RFC3339 timestamp: found '
            '"/01/02T00:00:00Z" where "-" is expected.',
        ),
        (
            'formatdate("YYYYY", "2018-01-02T00:00:00Z")',
            "Invalid function argument",
            'Invalid value for "format" parameter: invalid date format verb "YYYYY": year must '
            'either be "YY" or "YYYY".',
        ),
        (
            'formatdate("X", "2018-01-02T00:00:00Z")',
            "Invalid function argument",
            'Invalid value for "format" parameter: invalid date format verb "X".',
        ),
        (
            'formatdate("\'abc", "2018-01-02T00:00:00Z")',
            "Invalid function argument",
            'Invalid value for "format" parameter: unterminated literal \'.',
        ),
        (
            'timeadd("2017-11-22T00:00:00Z", "1x")',
            "Error in function call",
            'Call to function "timeadd" failed: time: unknown unit "x" in duration "1x".',
        ),
        (
            'timeadd("2017-11-22T00:00:00Z", "10")',
            "Error in function call",
            'Call to function "timeadd" failed: time: missing unit in duration "10".',
        ),
        (
            # Go reads a unit up to the next digit or dot: "hx" is the unit here.
            'timeadd("2017-11-22T00:00:00Z", "1hx")',
            "Error in function call",
            'Call to function "timeadd" failed: time: unknown unit "hx" in duration "1hx".',
        ),
        (
            # Past Go's limit of 2^63-1 nanoseconds (an internal "int too large" before).
            'timeadd("2017-11-22T00:00:00Z", "99999999999999999999h")',
            "Error in function call",
            'Call to function "timeadd" failed: time: invalid duration "99999999999999999999h".',
        ),
        (
            'timeadd("2017-11-22T00:00:00Z", "1h 30m")',
            "Error in function call",
            'Call to function "timeadd" failed: time: unknown unit "h " in duration "1h 30m".',
        ),
        (
            'timeadd("yesterday", "1h")',
            "Error in function call",
            'Call to function "timeadd" failed: not a valid RFC3339 timestamp: cannot use '
            '"yesterday" as year.',
        ),
    ],
)
def test_datetime_errors(src: str, summary: str, detail: str) -> None:
    d = err(src)
    assert (d.summary, d.detail) == (summary, detail)


def test_timecmp_errors_name_the_argument() -> None:
    d = err('timecmp("2017-11-22T00:00:00Z", "now")')
    assert d.detail.startswith('Invalid value for "timestamp_b" parameter: not a valid RFC3339')


def test_unknown_propagation() -> None:
    assert not ev("file(var.later)").is_known
    assert not ev('timeadd(var.later, "1h")').is_known
    assert not ev('formatdate("YYYY", var.later)').is_known
