"""Digest strings, durations, sizes and canonical JSON shared by the kinds."""

from __future__ import annotations

from decimal import Decimal

import pytest

from mlform.kinds import dataset
from mlform.kinds.common import (
    canonical_json,
    digest_hex,
    is_digest,
    parse_at_least,
    parse_duration,
    parse_size,
    planned_attrs,
    short_digest,
)
from mlform.sdk import UNKNOWN

HEX = "ab" * 32


def test_digests():
    d = "sha256:" + HEX
    assert is_digest(d) and not is_digest("sha256:xyz") and not is_digest(HEX)
    assert digest_hex(d) == HEX
    assert short_digest(d) == "sha256:abababab…"
    assert short_digest("env-1") == "env-1"
    with pytest.raises(ValueError):
        digest_hex("md5:00")


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        (90, 90.0),
        ("90", 90.0),
        ("90s", 90.0),
        ("15m", 900.0),
        ("2h", 7200.0),
        ("1h30m", 5400.0),
        ("500ms", 0.5),
        ("1d", 86400.0),
        (None, None),
        (Decimal("2.5"), 2.5),
        ("1H 30M", 5400.0),
        (" 2d ", 172800.0),
        ("1.5h", 5400.0),
    ],
)
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("bad", ["", "soon", "10 parsecs", "1h30", "-5", "1.h", ".5h", "1w"])
def test_parse_duration_refuses(bad):
    with pytest.raises(ValueError) as err:
        parse_duration(bad)
    assert str(err.value) == (
        f'not a duration: "{bad}" (use a number of seconds or units like "90s", "15m", "2h", '
        '"1h30m")'
    )


def test_parse_duration_refuses_negative_and_bool():
    with pytest.raises(ValueError, match="a duration cannot be negative: -5"):
        parse_duration(-5)
    with pytest.raises(ValueError, match="not a duration: True"):
        parse_duration(True)


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("16Gi", 16 * 1024**3),
        ("16GiB", 16 * 1024**3),
        ("16G", 16 * 10**9),
        ("512Mi", 512 * 1024**2),
        ("1.5Ti", int(1.5 * 1024**4)),
        ("32+", 32 * 1024**3),
        (8, 8 * 1024**3),
        (None, None),
    ],
)
def test_parse_size(text, size):
    assert parse_size(text) == size


def test_parse_size_refuses():
    with pytest.raises(ValueError):
        parse_size("lots")


def test_parse_at_least():
    assert parse_at_least("8+") == 8 and parse_at_least(4) == 4 and parse_at_least(None) is None
    with pytest.raises(ValueError):
        parse_at_least("eight")


def test_canonical_json_normalizes_numbers_and_order():
    assert (
        canonical_json({"b": 1.0, "a": Decimal("2.50"), "c": [1, 2.5]})
        == '{"a":2.5,"b":1,"c":[1,2.5]}'
    )


def test_planned_attrs():
    attrs = planned_attrs(dataset.Attrs, digest="sha256:" + HEX)
    assert attrs["digest"] == "sha256:" + HEX
    assert attrs["uri"] is UNKNOWN and set(attrs) == set(dataset.Attrs.model_fields)
    with pytest.raises(KeyError):
        planned_attrs(dataset.Attrs, nope=1)
