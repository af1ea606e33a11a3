"""Source ranges made by the parser behave exactly like plain `Range` values."""

from __future__ import annotations

import copy
import dataclasses
import pickle

from mlform.config.parser import SourceLines, parse_hcl
from mlform.diagnostics import Pos, Range


def test_a_source_range_is_a_range() -> None:
    text = "a = 1\nbb = foo\n"
    f, _ = parse_hcl(text, "m.mlf.hcl")
    r = f.body.attributes["bb"].expr.range
    plain = Range("m.mlf.hcl", Pos(2, 6, 11), Pos(2, 9, 14))
    assert isinstance(r, Range)
    assert r == plain and plain == r
    assert not (r != plain)
    assert hash(r) == hash(plain)
    assert {r: 1}[plain] == 1
    assert str(r) == str(plain) == "m.mlf.hcl:2,6-2,9"
    assert repr(r) == repr(plain)
    assert r.to_json() == plain.to_json()
    assert r.filename == "m.mlf.hcl"
    assert r.start is r.start  # positions are made once
    assert Range.between(f.body.attributes["a"].range, r) == Range(
        "m.mlf.hcl", Pos(1, 1, 0), Pos(2, 9, 14)
    )
    assert r != Range("other.mlf.hcl", Pos(2, 6, 11), Pos(2, 9, 14))
    assert r != "m.mlf.hcl:2,6-2,9"


def test_a_source_range_copies_and_pickles_as_a_plain_range() -> None:
    lines = SourceLines("x\nyz", "f.hcl")
    r = lines.range(2, 4)
    for other in (pickle.loads(pickle.dumps(r)), copy.copy(r), copy.deepcopy(r)):
        assert type(other) is Range
        assert other == r
        assert other.start == Pos(2, 1, 2) and other.end == Pos(2, 3, 4)


def test_replacing_a_field_gives_a_plain_range() -> None:
    r = SourceLines("abc", "f.hcl").range(0, 2)
    other = dataclasses.replace(r, end=Pos(1, 4, 3))
    assert type(other) is Range
    assert other == Range("f.hcl", Pos(1, 1, 0), Pos(1, 4, 3))


def test_offsets_with_a_base_position() -> None:
    lines = SourceLines("ab\ncd", "f.hcl", Pos(10, 5, 100))
    r = lines.range(1, 4)
    assert r.start == Pos(10, 6, 101)
    assert r.end == Pos(11, 2, 104)
    assert r.offsets() == (101, 104)
