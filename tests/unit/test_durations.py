"""One duration scanner, three spellings: Go's (timeadd), and mlform's seconds with and without
days (the CLI's --lock-timeout, the kinds' timeouts)."""

from __future__ import annotations

import pytest

from mlform.durations import DurationError, duration_seconds, go_duration

NS = 10**9
MAX = (1 << 63) - 1  # Go's time.Duration limit, in nanoseconds: 2562047h47m16.854775807s


@pytest.mark.parametrize(
    "text, ns",
    [
        ("0", 0),
        ("+0", 0),
        ("-0", 0),
        ("10m", 600 * NS),
        ("-1h30m", -5400 * NS),
        ("+1.5h", 5400 * NS),
        ("1.s", NS),
        (".5s", NS // 2),
        ("1500ms", 1500 * 10**6),
        ("3us", 3000),
        ("3µs", 3000),
        ("3μs", 3000),
        ("7ns", 7),
        ("1.9ns", 1),  # Go drops a part's fraction of a nanosecond
        ("2562047h47m16.854775807s", MAX),
        ("-2562047h47m16.854775808s", -MAX - 1),
    ],
)
def test_go_durations(text: str, ns: int) -> None:
    assert go_duration(text) == ns


@pytest.mark.parametrize(
    "text, message",
    [
        ("", 'time: invalid duration ""'),
        ("-", 'time: invalid duration "-"'),
        (".", 'time: invalid duration "."'),
        ("h", 'time: invalid duration "h"'),
        ("1h ", 'time: unknown unit "h " in duration "1h "'),
        (" 1h", 'time: invalid duration " 1h"'),
        ("10", 'time: missing unit in duration "10"'),
        ("1..5h", 'time: missing unit in duration "1..5h"'),
        ("1x", 'time: unknown unit "x" in duration "1x"'),
        ("1hx", 'time: unknown unit "hx" in duration "1hx"'),
        ("1d", 'time: unknown unit "d" in duration "1d"'),
        ("2562047h47m16.854775808s", 'time: invalid duration "2562047h47m16.854775808s"'),
        ("99999999999999999999h", 'time: invalid duration "99999999999999999999h"'),
    ],
)
def test_go_duration_errors_are_gos(text: str, message: str) -> None:
    with pytest.raises(DurationError) as err:
        go_duration(text)
    assert str(err.value) == message


@pytest.mark.parametrize(
    "text, seconds",
    [
        ("0", 0.0),
        ("90", 90.0),
        ("1.5", 1.5),
        ("30s", 30.0),
        (" 2m ", 120.0),
        ("1h30m", 5400.0),
        ("500ms", 0.5),
        ("1m0.5s", 60.5),
    ],
)
def test_seconds(text: str, seconds: float) -> None:
    assert duration_seconds(text) == seconds
    assert duration_seconds(text, days=True) == seconds


@pytest.mark.parametrize(
    "text", ["", " ", "1d", "30S", "1 m", "-5", "+5s", "1.h", ".5s", "1h30", "1us", "soon"]
)
def test_seconds_refuses(text: str) -> None:
    with pytest.raises(DurationError):
        duration_seconds(text)


def test_days_only_where_asked() -> None:
    assert duration_seconds("2d", days=True) == 172800.0
    assert duration_seconds("1d2h", days=True) == 93600.0
    with pytest.raises(DurationError):
        duration_seconds("2d")
