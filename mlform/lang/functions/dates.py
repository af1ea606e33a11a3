"""Date and time functions: formatdate, plantimestamp, timeadd, timecmp, timestamp.

Timestamps are RFC 3339 strings ("2017-11-22T00:00:00Z"); durations are Go durations ("1h30m",
"-10m", "1.5h"); `formatdate` uses Terraform's format specification (YYYY, MMM, hh, ...).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

from mlform.durations import DurationError, go_duration
from mlform.lang.functions._core import FunctionContext, FunctionError, Param, register
from mlform.lang.types import NUMBER, STRING
from mlform.lang.values import Value, number, string


def _go_quote(s: str) -> str:
    from mlform.lang.render import go_quote

    return go_quote(s)


class _BadTimestamp(Exception):
    pass


def _parse_rfc3339(text: str) -> tuple[datetime, int]:
    """Parse as Go's time.Parse(time.RFC3339) does, step by step, so that a mistake is reported
    the way Terraform reports it. Returns the time (whole seconds) and its nanoseconds."""
    rest = text

    def digits(n: int, what: str) -> int:
        nonlocal rest
        if len(rest) < n or not rest[:n].isdigit():
            if not rest:
                raise _BadTimestamp(f"end of string before {what}")
            raise _BadTimestamp(f"cannot use {_go_quote(rest)} as {what}")
        value = int(rest[:n])
        rest = rest[n:]
        return value

    def literal(sep: str) -> None:
        nonlocal rest
        if rest.startswith(sep):
            rest = rest[len(sep) :]
            return
        if sep == "T":
            raise _BadTimestamp("missing required time introducer 'T'")
        if not rest:
            raise _BadTimestamp(f"end of string where {_go_quote(sep)} is expected")
        raise _BadTimestamp(f"found {_go_quote(rest)} where {_go_quote(sep)} is expected")

    year = digits(4, "year")
    literal("-")
    month = digits(2, "month")
    literal("-")
    day = digits(2, "day of month")
    literal("T")
    hour = digits(2, "hour")
    literal(":")
    minute = digits(2, "minute")
    literal(":")
    second = digits(2, "second")
    nanos = 0
    m = re.match(r"[.,](\d+)", rest)
    if m:
        nanos = int((m.group(1) + "0" * 9)[:9])
        rest = rest[m.end() :]
    if rest.startswith("Z"):
        tz = UTC
        rest = rest[1:]
    else:
        m = re.match(r"([+-])(\d\d):(\d\d)", rest)
        if not m:
            if not rest:
                raise _BadTimestamp("end of string before UTC offset")
            raise _BadTimestamp(f"cannot use {_go_quote(rest)} as UTC offset")
        sign = -1 if m.group(1) == "-" else 1
        hh, mm = int(m.group(2)), int(m.group(3))
        if hh > 24 or mm > 59:
            raise _BadTimestamp("time zone offset out of range")
        tz = timezone(sign * timedelta(hours=hh, minutes=mm))
        rest = rest[m.end() :]
    if rest:
        raise _BadTimestamp(f"extra text: {_go_quote(rest)}")
    for value, limit, what in (
        (month, 12, "month"),
        (hour, 23, "hour"),
        (minute, 59, "minute"),
        (second, 59, "second"),
    ):
        if value > limit or (what == "month" and value < 1):
            raise _BadTimestamp(f"{what} out of range")
    try:
        dt = datetime(year, month, day, hour, minute, second, tzinfo=tz)
    except ValueError:
        raise _BadTimestamp("day out of range") from None
    return dt, nanos


def parse_timestamp(text: str, arg_index: int | None = 0) -> datetime:
    """An RFC 3339 timestamp, with its offset; FunctionError when it is not one."""
    return _parse_ns(text, arg_index)[0]


def _parse_ns(text: str, arg_index: int | None) -> tuple[datetime, int]:
    """The timestamp in whole seconds, and its fraction in nanoseconds."""
    try:
        return _parse_rfc3339(text)
    except _BadTimestamp as e:
        raise FunctionError(f"not a valid RFC3339 timestamp: {e}", arg_index) from None


def format_rfc3339(dt: datetime, frac: str = "") -> str:
    base = dt.strftime("%Y-%m-%dT%H:%M:%S")
    frac = frac.rstrip("0")
    if frac:
        base += "." + frac
    off = dt.utcoffset()
    if not off:
        return base + "Z"
    return base + _offset(off, ":")


def _offset(off: timedelta, sep: str) -> str:
    total = int(off.total_seconds())
    sign = "-" if total < 0 else "+"
    total = abs(total)
    return f"{sign}{total // 3600:02d}{sep}{(total % 3600) // 60:02d}"


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@register(
    "timestamp",
    "datetime",
    [],
    STRING,
    description="Returns a UTC timestamp string in RFC 3339 format: the current time.",
    examples=[("timestamp()", '"2018-05-13T07:44:12Z"')],
    notes=["The result changes on every call; prefer `plantimestamp()` for stable values."],
)
def _timestamp(args: list[Value], fctx: FunctionContext) -> Value:
    return string(format_rfc3339(_now()))


@register(
    "plantimestamp",
    "datetime",
    [],
    STRING,
    description="Returns a UTC timestamp string in RFC 3339 format, fixed for the whole plan "
    "(the time the plan started).",
    examples=[("plantimestamp()", '"2023-05-13T07:44:12Z"')],
)
def _plantimestamp(args: list[Value], fctx: FunctionContext) -> Value:
    t = fctx.plan_timestamp or _now()
    return string(format_rfc3339(t.astimezone(UTC)))


@register(
    "timeadd",
    "datetime",
    [Param("timestamp", STRING), Param("duration", STRING)],
    STRING,
    description="Adds a duration to a timestamp, returning a new timestamp.",
    examples=[
        ('timeadd("2017-11-22T00:00:00Z", "10m")', '"2017-11-22T00:10:00Z"'),
        ('timeadd("2017-11-22T00:00:00Z", "-1h30m")', '"2017-11-21T22:30:00Z"'),
        ('timeadd("2017-11-22T00:00:00+01:00", "1.5h")', '"2017-11-22T01:30:00+01:00"'),
    ],
    notes=["Duration units: ns, us (or µs), ms, s, m, h; several may be combined."],
)
def _timeadd(args: list[Value], fctx: FunctionContext) -> Value:
    dt, frac_ns = _parse_ns(args[0].v, None)
    try:
        ns = frac_ns + go_duration(args[1].v)
    except DurationError as exc:
        raise FunctionError(str(exc), None) from None
    secs = ns // 10**9
    # Terraform writes the result with time.RFC3339, which has no fractional seconds.
    return string(format_rfc3339(dt + timedelta(seconds=secs)))


@register(
    "timecmp",
    "datetime",
    [Param("timestamp_a", STRING), Param("timestamp_b", STRING)],
    NUMBER,
    description="Compares two timestamps and returns -1, 0 or 1 as the first is before, the "
    "same instant as, or after the second.",
    examples=[
        ('timecmp("2017-11-22T00:00:00Z", "2017-11-22T00:00:00Z")', "0"),
        ('timecmp("2017-11-22T00:00:00Z", "2017-11-22T01:00:00Z")', "-1"),
        ('timecmp("2017-11-22T01:00:00Z", "2017-11-22T01:00:00+01:00")', "1"),
    ],
)
def _timecmp(args: list[Value], fctx: FunctionContext) -> Value:
    a, an = _parse_ns(args[0].v, 0)
    b, bn = _parse_ns(args[1].v, 1)
    ka, kb = (a, an), (b, bn)
    return number((ka > kb) - (ka < kb))


_MONTHS = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]
_DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _format_spec(spec: str, dt: datetime) -> str:
    out: list[str] = []
    i = 0
    n = len(spec)
    while i < n:
        c = spec[i]
        if c == "'":
            if spec.startswith("''", i):
                out.append("'")
                i += 2
                continue
            j = i + 1
            lit: list[str] = []
            while j < n:
                if spec[j] == "'":
                    if spec.startswith("''", j):
                        lit.append("'")
                        j += 2
                        continue
                    break
                lit.append(spec[j])
                j += 1
            if j >= n:
                raise FunctionError("unterminated literal '", 0)
            out.append("".join(lit))
            i = j + 1
            continue
        if not ("a" <= c <= "z" or "A" <= c <= "Z"):
            out.append(c)
            i += 1
            continue
        j = i
        while j < n and spec[j] == c:
            j += 1
        out.append(_token(spec[i:j], dt))
        i = j
    return "".join(out)


# For each verb letter: the text for each allowed length, and what the error says otherwise.
_VERB_RULES: dict[str, str] = {
    "Y": 'year must either be "YY" or "YYYY"',
    "M": 'month must be "M", "MM", "MMM", or "MMMM"',
    "D": 'day of month must either be "D" or "DD"',
    "E": 'day of week must either be "EEE" or "EEEE"',
    "h": '24-hour must either be "h" or "hh"',
    "H": '12-hour must either be "H" or "HH"',
    "A": 'must be "AA"',
    "a": 'must be "aa"',
    "m": 'minute must either be "m" or "mm"',
    "s": 'second must either be "s" or "ss"',
    "Z": "timezone must be Z, ZZZZ, or ZZZZZ",
}


def _token(tok: str, dt: datetime) -> str:
    off = dt.utcoffset() or timedelta(0)
    hour12 = (dt.hour % 12) or 12
    texts: dict[str, dict[int, str]] = {
        "Y": {2: f"{dt.year % 100:02d}", 4: f"{dt.year:04d}"},
        "M": {
            1: str(dt.month),
            2: f"{dt.month:02d}",
            3: _MONTHS[dt.month - 1][:3],
            4: _MONTHS[dt.month - 1],
        },
        "D": {1: str(dt.day), 2: f"{dt.day:02d}"},
        "E": {3: _DAYS[dt.weekday()][:3], 4: _DAYS[dt.weekday()]},
        "h": {1: str(dt.hour), 2: f"{dt.hour:02d}"},
        "H": {1: str(hour12), 2: f"{hour12:02d}"},
        "A": {2: "AM" if dt.hour < 12 else "PM"},
        "a": {2: "am" if dt.hour < 12 else "pm"},
        "m": {1: str(dt.minute), 2: f"{dt.minute:02d}"},
        "s": {1: str(dt.second), 2: f"{dt.second:02d}"},
        "Z": {
            1: "Z" if not off else _offset(off, ":"),
            3: "UTC" if not off else _offset(off, ""),
            4: _offset(off, ""),
            5: _offset(off, ":"),
        },
    }
    verb = tok[0]
    if verb not in texts:
        raise FunctionError(f"invalid date format verb {_go_quote(tok)}", 0)
    text = texts[verb].get(len(tok))
    if text is None:
        raise FunctionError(f"invalid date format verb {_go_quote(tok)}: {_VERB_RULES[verb]}", 0)
    return text


@register(
    "formatdate",
    "datetime",
    [Param("format", STRING), Param("time", STRING)],
    STRING,
    description="Converts a timestamp into a different time format.",
    examples=[
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
        ("formatdate(\"h 'o''clock'\", \"2018-01-02T23:12:01Z\")", '"23 o\'clock"'),
    ],
    notes=[
        "Tokens: YYYY YY MMMM MMM MM M DD D EEEE EEE hh h HH H AA aa mm m ss s ZZZZZ ZZZZ ZZZ "
        "Z; text in single quotes is literal and `''` is a literal quote.",
        "Other letters are an error; punctuation and spaces pass through.",
    ],
)
def _formatdate(args: list[Value], fctx: FunctionContext) -> Value:
    dt = parse_timestamp(args[1].v, 1)
    return string(_format_spec(args[0].v, dt))
