"""Mocked providers: placeholders by type, which override wins, and the substitute kinds that
keep the real kind's schema."""

from __future__ import annotations

from pathlib import Path

from mlform.addrs import parse_target
from mlform.lang import types as T
from mlform.moduletest.mock import (
    Fixed,
    MockSpec,
    Substitutions,
    placeholder,
    substitute_class,
)
from mlform.sdk import UNKNOWN, Context
from mlform.sdk.schema import kind_schema
from mlform.testing.provider import TestProvider as RealProvider


def test_placeholders_have_the_attribute_type_and_are_stable() -> None:
    s = placeholder(T.STRING, "training_job.a.model")
    assert isinstance(s, str) and len(s) == 8
    assert placeholder(T.STRING, "training_job.a.model") == s
    assert placeholder(T.STRING, "training_job.b.model") != s
    assert placeholder(T.NUMBER, "x") == 0
    assert placeholder(T.BOOL, "x") is False
    assert placeholder(T.ListType(T.STRING), "x") == []
    assert placeholder(T.MapType(T.NUMBER), "x") == {}
    obj = T.ObjectType.of({"n": T.NUMBER, "s": T.STRING}, set())
    got = placeholder(obj, "x")
    assert got["n"] == 0 and isinstance(got["s"], str)


def test_an_instance_override_beats_one_of_the_whole_resource() -> None:
    subs = Substitutions(
        overrides=[
            Fixed(parse_target("test_object.a"), "managed", {"echo": "all"}, "apply"),
            Fixed(parse_target('test_object.a["k"]'), "managed", {"echo": "one"}, "apply"),
        ]
    )
    one = subs.fixed_for('test_object.a["k"]', "managed")
    other = subs.fixed_for('test_object.a["j"]', "managed")
    assert one is not None and one.values == {"echo": "one"}
    assert other is not None and other.values == {"echo": "all"}
    assert subs.fixed_for("test_object.b", "managed") is None
    assert subs.fixed_for('test_object.a["k"]', "data") is None


def test_substitute_kinds_keep_the_real_schema_and_make_up_attributes(tmp_path: Path) -> None:
    cls = substitute_class(RealProvider)
    assert cls.name == RealProvider.name and cls.config is RealProvider.config
    real_kind = RealProvider.kinds["test_object"]
    assert kind_schema(cls.kinds["test_object"]) == kind_schema(real_kind)

    spec = MockSpec(defaults={("managed", "test_object"): {"echo": "from-defaults"}})
    provider = cls(None, spec, Substitutions())
    kind = provider.kind("test_object")
    ctx = Context(
        address="test_object.a", module_dir=tmp_path, data_dir=tmp_path, scratch_dir=tmp_path
    )
    planned = kind.plan(None, {"value": "v"}, ctx)
    assert planned.action == "create" and planned.attrs["echo"] is UNKNOWN
    state = kind.create(planned, ctx)
    assert state.attrs["echo"] == "from-defaults"
    assert isinstance(state.id, str) and state.id
    # Nothing was written where the real provider keeps its objects.
    assert not list(tmp_path.iterdir())
