"""The default plan: create, update, replace and no-op from the schema's marks."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from pydantic import BaseModel

from mlform.sdk import UNKNOWN, Kind, Model, ResourceState, arg, block, computed
from mlform.sdk.planning import default_plan, diff_paths, values_equal


class Resources(Model):
    gpus: int = arg(0, replace=True)
    memory_gb: int = arg(4)


class Args(Model):
    source: str = arg(replace=True)
    params: dict[str, float] = arg(default_factory=dict)
    packages: list[str] = arg(default_factory=list)
    token: str | None = arg(None, sensitive=True)
    resources: Resources | None = block()


class Attrs(Model):
    id: str | None = computed()
    digest: str | None = computed()
    updated_at: str | None = computed()


class Job(Kind):
    args: ClassVar[type[BaseModel]] = Args
    attrs: ClassVar[type[BaseModel]] = Attrs
    recomputed_on_update = {"updated_at"}


def prior(**args: object) -> ResourceState:
    full = {"source": "s3://a", "params": {}, "packages": [], "token": None, "resources": None}
    full.update(args)
    return ResourceState(id="j1", args=full, attrs={"id": "j1", "digest": "d1", "updated_at": "t1"})


def test_create_when_no_prior() -> None:
    p = default_plan(Job, None, {"source": "s3://a"})
    assert p.action == "create"
    assert p.attrs == {"id": UNKNOWN, "digest": UNKNOWN, "updated_at": UNKNOWN}
    # Defaults are filled in so that later comparisons see the same shape.
    assert p.args == {
        "source": "s3://a",
        "params": {},
        "packages": [],
        "token": None,
        "resources": None,
    }


def test_noop_when_equal_after_defaults_and_number_forms() -> None:
    p = default_plan(Job(None), prior(params={"c": 1.0}), {"source": "s3://a", "params": {"c": 1}})
    assert p.action == "noop"
    assert p.attrs == {"id": "j1", "digest": "d1", "updated_at": "t1"}
    p = default_plan(
        Job, prior(params={"c": 0.1}), {"source": "s3://a", "params": {"c": Decimal("0.1")}}
    )
    assert p.action == "noop"


def test_update_in_place_keeps_computed_except_recomputed() -> None:
    p = default_plan(Job, prior(params={"c": 1}), {"source": "s3://a", "params": {"c": 2}})
    assert p.action == "update"
    assert p.reasons == ["params.c changed 1 → 2"]
    assert p.replace_paths == []
    assert p.attrs == {"id": "j1", "digest": "d1", "updated_at": UNKNOWN}


def test_replace_when_a_replace_argument_changes() -> None:
    p = default_plan(Job, prior(packages=["a"]), {"source": "s3://b", "packages": ["a", "b"]})
    assert p.action == "replace"
    assert p.replace_paths == ["source"]
    assert p.reasons == [
        'source changed "s3://a" → "s3://b", forces replacement',
        'packages changed ["a"] → ["a", "b"]',
    ]
    assert all(v is UNKNOWN for v in p.attrs.values())


def test_replace_mark_inside_a_block() -> None:
    before = prior(resources={"gpus": 0, "memory_gb": 4})
    p = default_plan(Job, before, {"source": "s3://a", "resources": {"gpus": 1}})
    assert p.action == "replace"
    assert p.replace_paths == ["resources.gpus"]
    p = default_plan(Job, before, {"source": "s3://a", "resources": {"memory_gb": 8}})
    assert p.action == "update" and p.reasons == ["resources.memory_gb changed 4 → 8"]


def test_unknown_desired_values_compare_as_changed() -> None:
    p = default_plan(Job, prior(), {"source": UNKNOWN})
    assert p.action == "replace"
    assert p.reasons == ['source changed "s3://a" → (known after apply), forces replacement']
    p = default_plan(Job, prior(packages=["x"]), {"source": "s3://a", "packages": [UNKNOWN]})
    assert p.action == "update" and p.reasons[0].startswith("packages[0] changed")


def test_sensitive_values_stay_out_of_reasons() -> None:
    p = default_plan(Job, prior(token="old-secret"), {"source": "s3://a", "token": "new-secret"})
    assert p.action == "update"
    assert p.reasons == ["token changed (sensitive value)"]


def test_diff_paths_and_equality() -> None:
    assert diff_paths({"a": [1, 2], "b": {"c": 1}}, {"a": [1, 3], "b": {"c": 1, "d": 2}}) == [
        ["a", 1],
        ["b", "d"],
    ]
    assert diff_paths([1], [1, 2]) == [[]]
    assert diff_paths({"a": None}, {}) == []
    assert not values_equal(UNKNOWN, UNKNOWN)
    assert not values_equal(True, 1)
    assert values_equal({"x": [1.0]}, {"x": [1]})
