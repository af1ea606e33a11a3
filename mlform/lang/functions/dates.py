"""Date and time functions: formatdate, plantimestamp, timeadd, timecmp, timestamp.

Timestamps are RFC 3339 strings ("2017-11-22T00:00:00Z"); durations are Go durations ("1h30m",
"-10m", "1.5h"); `formatdate` uses Terraform's format specification (YYYY, MMM, hh, ...).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from mlform.lang.functions._core import FunctionContext, FunctionError, Param, register
from mlform.lang.types import NUMBER, STRING
from mlform.lang.values import Value, number, string

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})\Z"
)


def parse_timestamp(text: str, arg_index: int = 0) -> datetime:
    """An RFC 3339 timestamp, with its offset; FunctionError when it is not one."""
    m = _RFC3339.match(text)
    if not m:
        raise FunctionError(
            f'not a valid RFC3339 timestamp: cannot use "{text}" as a timestamp', arg_index
        )
    y, mo, d, h, mi, s, frac, off = m.groups()
    if off in ("Z", "z"):
        tz = UTC
    else:
        sign = -1 if off[0] == "-" else 1
        tz = timezone(sign * timedelta(hours=int(off[1:3]), minutes=int(off[4:6])))
    micro = int((frac[1:] + "000000")[:6]) if frac else 0
    try:
        dt = datetime(int(y), int(mo), int(d), int(h), int(mi), int(s), micro, tzinfo=tz)
    except ValueError as e:
        raise FunctionError(f'not a valid RFC3339 timestamp: "{text}": {e}', arg_index) from None
    return dt


def format_rfc3339(dt: datetime, frac: str = "") -> str:
    base = dt.strftime("%Y-%m-%dT%H:%M:%S")
    frac = frac.rstrip("0")
    if frac:
        base += "." + frac
    off = dt.utcoffset()
    if off is None or off == timedelta(0) and dt.tzinfo is UTC:
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


_UNITS = {
    "ns": Decimal(1),
    "us": Decimal(1000),
    "µs": Decimal(1000),
    "μs": Decimal(1000),
    "ms": Decimal(1000000),
    "s": Decimal(10**9),
    "m": Decimal(60 * 10**9),
    "h": Decimal(3600 * 10**9),
}
_DUR_PART = re.compile(r"(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


def parse_duration(text: str, arg_index: int) -> int:
    """A Go duration string in nanoseconds."""
    s = text
    sign = 1
    if s[:1] in ("+", "-"):
        sign = -1 if s[0] == "-" else 1
        s = s[1:]
    if s == "0":
        return 0
    if not s:
        raise FunctionError(f'time: invalid duration "{text}"', arg_index)
    total = Decimal(0)
    pos = 0
    while pos < len(s):
        m = _DUR_PART.match(s, pos)
        if not m:
            if re.match(r"(\d+\.?\d*|\.\d+)", s[pos:]):
                rest = re.match(r"(\d+\.?\d*|\.\d+)([^\d.]*)", s[pos:])
                unit = rest.group(2) if rest else ""
                if not unit:
                    raise FunctionError(f'time: missing unit in duration "{text}"', arg_index)
                raise FunctionError(f'time: unknown unit "{unit}" in duration "{text}"', arg_index)
            raise FunctionError(f'time: invalid duration "{text}"', arg_index)
        total += Decimal(m.group(1)) * _UNITS[m.group(2)]
        pos = m.end()
    return sign * int(total)


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
    dt, frac_ns = _parse_ns(args[0].v, 0)
    ns = frac_ns + parse_duration(args[1].v, 1)
    secs, rem = divmod(ns, 10**9)
    out = dt + timedelta(seconds=secs)
    frac = f"{rem:09d}" if rem else ""
    return string(format_rfc3339(out, frac))


def _parse_ns(text: str, arg_index: int) -> tuple[datetime, int]:
    """The timestamp truncated to seconds, and its fraction in nanoseconds."""
    m = _RFC3339.match(text)
    dt = parse_timestamp(text, arg_index)
    frac = m.group(7) if m else None
    ns = int((frac[1:] + "0" * 9)[:9]) if frac else 0
    return dt.replace(microsecond=0), ns


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
            j = i + 1
            lit: list[str] = []
            while True:
                if j >= n:
                    raise FunctionError("unterminated literal '", 0)
                if spec[j] == "'":
                    if j + 1 < n and spec[j + 1] == "'":
                        lit.append("'")
                        j += 2
                        continue
                    break
                lit.append(spec[j])
                j += 1
            out.append("'" if j == i + 1 else "".join(lit))
            i = j + 1
            continue
        if not c.isalpha():
            out.append(c)
            i += 1
            continue
        j = i
        while j < n and spec[j] == c:
            j += 1
        tok = spec[i:j]
        out.append(_token(tok, dt))
        i = j
    return "".join(out)


def _token(tok: str, dt: datetime) -> str:
    off = dt.utcoffset() or timedelta(0)
    match tok:
        case "YYYY":
            return f"{dt.year:04d}"
        case "YY":
            return f"{dt.year % 100:02d}"
        case "MMMM":
            return _MONTHS[dt.month - 1]
        case "MMM":
            return _MONTHS[dt.month - 1][:3]
        case "MM":
            return f"{dt.month:02d}"
        case "M":
            return str(dt.month)
        case "DD":
            return f"{dt.day:02d}"
        case "D":
            return str(dt.day)
        case "EEEE":
            return _DAYS[dt.weekday()]
        case "EEE":
            return _DAYS[dt.weekday()][:3]
        case "hh":
            return f"{dt.hour:02d}"
        case "h":
            return str(dt.hour)
        case "HH":
            return f"{(dt.hour % 12) or 12:02d}"
        case "H":
            return str((dt.hour % 12) or 12)
        case "AA":
            return "AM" if dt.hour < 12 else "PM"
        case "aa":
            return "am" if dt.hour < 12 else "pm"
        case "mm":
            return f"{dt.minute:02d}"
        case "m":
            return str(dt.minute)
        case "ss":
            return f"{dt.second:02d}"
        case "s":
            return str(dt.second)
        case "ZZZZZ":
            return _offset(off, ":")
        case "ZZZZ":
            return _offset(off, "")
        case "ZZZ":
            return "UTC" if off == timedelta(0) else _offset(off, "")
        case "Z":
            return "Z" if off == timedelta(0) else _offset(off, ":")
    raise FunctionError(f'invalid date format verb "{tok}": unsupported sequence', 0)


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
