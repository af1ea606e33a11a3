"""The conformance suite fails providers that break the contract."""

from __future__ import annotations

import pytest

pytest_plugins = ["pytester"]

BROKEN = """
import uuid
from typing import Any, ClassVar
from mlform.sdk import Kind, Model, Provider, ResourceState, arg, computed
from mlform.testing.conformance import ProviderConformance, Sample

OBJECTS: dict[str, dict] = {}

class Args(Model):
    size: int = arg(1)

class Attrs(Model):
    id: str | None = computed()

class Leaky(Kind):
    args: ClassVar = Args
    attrs: ClassVar = Attrs

    def plan(self, prior, desired, ctx):
        OBJECTS["planned-" + uuid.uuid4().hex] = {}      # plan with a side effect
        return super().plan(prior, desired, ctx)

    def create(self, planned, ctx):
        oid = uuid.uuid4().hex                           # ignores the idempotency token
        OBJECTS[oid] = dict(planned.args)
        return ResourceState(oid, dict(planned.args), {"id": oid})

    def read(self, state, ctx):
        obj = OBJECTS[state.id]                          # KeyError instead of None
        return ResourceState(state.id, obj, {"id": state.id})

    def delete(self, state, ctx):
        del OBJECTS[state.id]                            # KeyError on a second delete

class Broken(Provider):
    name = "broken"
    kinds: ClassVar = {"broken_thing": Leaky}

class TestBroken(ProviderConformance):
    provider_class = Broken
    samples = {"broken_thing": Sample(args={"size": 2})}

    def snapshot(self, provider, ctx):
        return sorted(OBJECTS)
"""


def test_broken_provider_fails_the_suite(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_broken=BROKEN)
    result = pytester.runpytest_inprocess("-q", "-p", "no:cacheprovider")
    outcomes = result.parseoutcomes()
    assert outcomes.get("passed") == 1  # only the shape check holds
    assert outcomes.get("failed") == 5
    result.stdout.fnmatch_lines(
        [
            "FAILED *test_create_read_delete*",
            "FAILED *test_delete_is_idempotent*",
            "FAILED *test_create_is_recoverable_by_token*",
            "FAILED *test_errors_are_provider_errors*",
            "FAILED *test_plan_is_pure*",
        ],
        consecutive=False,
    )
    text = result.stdout.str()
    assert "read of a missing object raised KeyError" in text
    assert "a crash could create it twice" in text
    assert "plan changed the backing system" in text
