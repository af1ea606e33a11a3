"""The provider conformance suite: what every provider must pass before it is called done.

A provider's test module subclasses `ProviderConformance` and says how to make a provider and
what one working configuration of each kind looks like:

    from mlform.testing.conformance import ProviderConformance, Sample

    class TestLocalConformance(ProviderConformance):
        provider_class = LocalProvider
        provider_config = {}
        samples = {
            "dataset": Sample(args={"source": "./data"}, update=None),
            "environment": Sample(args={"python": "3.11", "packages": []}),
        }

pytest then runs, for every kind: create/read/delete round trips, an in-place update when the
sample gives one, a plan right after apply that finds nothing to do, idempotent deletes, creates
that can be recovered by their idempotency token, errors raised as `ProviderError` and nothing
else, and a `plan` with no side effects. Override the `provider` fixture when configuring the
provider takes more than `provider_config` (credentials, a server on loopback), and `snapshot`
to let the suite compare the backing system before and after a plan.
"""

from __future__ import annotations

import copy
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import pytest

from mlform.sdk.contract import Context, Kind, Planned, Provider, ProviderError, ResourceState
from mlform.sdk.planning import values_equal
from mlform.sdk.plugins import provider_problems
from mlform.sdk.schema import body_schema, schema_json, validate_args, validate_model

__all__ = ["ProviderConformance", "Sample", "make_context"]


def make_context(workdir: Path, address: str = "test_object.x", **kwargs: Any) -> Context:
    """A Context for calling a provider directly, rooted at `workdir` (its `.mlform` folder
    is the data folder; a scratch folder is made under it)."""
    data = Path(workdir) / ".mlform"
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in address)
    scratch = data / "tmp" / safe
    scratch.mkdir(parents=True, exist_ok=True)
    return Context(
        address=address, module_dir=Path(workdir), data_dir=data, scratch_dir=scratch, **kwargs
    )


@dataclass
class Sample:
    """One working configuration of a kind. `update`: arguments that change the object in
    place (leave None when every change of this kind replaces it)."""

    args: dict[str, Any]
    update: dict[str, Any] | None = None
    # For kinds whose objects take a while: extra attributes to ignore when comparing.
    volatile: set[str] = field(default_factory=set)


class ProviderConformance:
    """Subclass as `Test...` in a provider's tests; see the module docstring."""

    provider_class: ClassVar[type[Provider]]
    provider_config: ClassVar[dict[str, Any]] = {}
    samples: ClassVar[dict[str, Sample]] = {}

    # -- hooks a subclass may override -----------------------------------------------------------

    def snapshot(self, provider: Provider, ctx: Context) -> Any:
        """Something that changes whenever the backing system does (a listing of objects).
        None: the suite cannot look, and checks plan's purity by its inputs and outputs only."""
        return None

    @pytest.fixture
    def workdir(self, tmp_path: Path) -> Path:
        return tmp_path

    @pytest.fixture
    def provider(self, workdir: Path) -> Iterator[Provider]:
        p = self.provider_class()
        config = validate_and_parse(self.provider_class.config, self.provider_config)
        p.configure(config, make_context(workdir, f'provider["{p.name}"]'))
        try:
            yield p
        finally:
            p.close()

    # -- parametrization --------------------------------------------------------------------------

    def pytest_generate_tests(self, metafunc: pytest.Metafunc) -> None:
        kinds = self.provider_class.kinds
        names: list[Any]  # kind names, or one skipped pytest.param
        if "resource_kind" in metafunc.fixturenames:
            names = sorted(n for n in self.samples if not kinds[n].is_data)
            metafunc.parametrize("resource_kind", names)
        if "data_kind" in metafunc.fixturenames:
            names = sorted(n for n in self.samples if kinds[n].is_data)
            if not names:
                names = [pytest.param("", marks=pytest.mark.skip(reason="no data sources"))]
            metafunc.parametrize("data_kind", names)

    # -- helpers ----------------------------------------------------------------------------------

    def _ctx(self, workdir: Path, kind: str, token: str | None = None) -> Context:
        return make_context(workdir, f"{kind}.conformance", idempotency_token=token)

    def _create(
        self, provider: Provider, workdir: Path, kind: str, token: str | None = None
    ) -> tuple[Kind, ResourceState]:
        k = provider.kind(kind)
        ctx = self._ctx(workdir, kind, token or uuid.uuid4().hex)
        planned = k.plan(None, dict(self.samples[kind].args), ctx)
        assert planned.action == "create", f"plan without prior state must create, got {planned}"
        if getattr(k, "long_running", False):
            state = self._wait(k, k.submit(planned, ctx), ctx)
        else:
            state = k.create(planned, ctx)
        assert isinstance(state, ResourceState), f"create must return a ResourceState: {state!r}"
        assert state.id, "create must return an object with an id"
        return k, state

    def _wait(self, k: Kind, job: ResourceState, ctx: Context, timeout: float = 60) -> Any:
        """A long-running kind's submitted job, polled until it ends: its final state."""
        import time

        assert isinstance(job, ResourceState) and job.id, "submit must return an object with an id"
        deadline = time.monotonic() + timeout
        while True:
            status = k.poll(job, ctx)
            if not status.running:
                break
            assert time.monotonic() < deadline, f"the job did not end within {timeout}s"
            time.sleep(min(1.0, float(getattr(k, "poll_interval", 1.0))))
        assert status.status == "succeeded", f"the sample job failed: {status.summary}"
        return status.state or job

    def _assert_in_sync(
        self, k: Kind, kind: str, state: ResourceState, args: dict[str, Any], workdir: Path
    ) -> None:
        ctx = self._ctx(workdir, kind)
        now = k.read(state, ctx)
        assert now is not None, f"{kind} {state.id}: read finds nothing right after apply"
        assert now.id == state.id
        planned = k.plan(now, dict(args), ctx)
        assert planned.action == "noop", (
            f"{kind}: a plan right after apply must find nothing to do, got {planned.action} "
            f"because {planned.reasons}"
        )

    # -- the checks -------------------------------------------------------------------------------

    def test_shape_and_schema(self) -> None:
        assert provider_problems(self.provider_class) == []
        doc = schema_json(self.provider_class)
        assert set(doc) == {"provider", "resource_schemas", "data_source_schemas"}
        missing = sorted(set(self.provider_class.kinds) - set(self.samples))
        assert not missing, f"give a Sample for every kind; missing: {missing}"
        for name, sample in self.samples.items():
            kcls = self.provider_class.kinds[name]
            assert validate_args(kcls, sample.args) == [], f"{name}: the sample does not validate"
            if sample.update is not None:
                assert validate_args(kcls, sample.update) == []

    def test_create_read_delete(
        self, provider: Provider, workdir: Path, resource_kind: str
    ) -> None:
        k, state = self._create(provider, workdir, resource_kind)
        computed = set(body_schema(type(k).attrs, True).attributes)
        extra = set(state.attrs) - computed
        assert not extra, f"create returned attributes the schema does not declare: {extra}"
        self._assert_in_sync(k, resource_kind, state, self.samples[resource_kind].args, workdir)
        ctx = self._ctx(workdir, resource_kind)
        k.delete(state, ctx)
        assert k.read(state, ctx) is None, "read after delete must return None"

    def test_delete_is_idempotent(
        self, provider: Provider, workdir: Path, resource_kind: str
    ) -> None:
        k, state = self._create(provider, workdir, resource_kind)
        ctx = self._ctx(workdir, resource_kind)
        k.delete(state, ctx)
        k.delete(state, ctx)  # a retried delete of something already gone succeeds
        assert k.read(state, ctx) is None

    def test_update_in_place(self, provider: Provider, workdir: Path, resource_kind: str) -> None:
        sample = self.samples[resource_kind]
        if sample.update is None:
            pytest.skip("the sample has no in-place update")
        k, state = self._create(provider, workdir, resource_kind)
        ctx = self._ctx(workdir, resource_kind)
        planned = k.plan(state, dict(sample.update), ctx)
        assert planned.action == "update", f"expected an in-place update, got {planned.action}"
        assert planned.reasons, "an update must say why"
        after = k.update(state, planned, ctx)
        assert after.id == state.id, "an in-place update keeps the object's id"
        self._assert_in_sync(k, resource_kind, after, sample.update, workdir)
        k.delete(after, ctx)

    def test_create_is_recoverable_by_token(
        self, provider: Provider, workdir: Path, resource_kind: str
    ) -> None:
        token = f"conformance-{uuid.uuid4().hex}"
        k, first = self._create(provider, workdir, resource_kind, token)
        ctx = self._ctx(workdir, resource_kind)
        found = k.find_by_token(token, ctx)
        if found is not None:
            assert found.id == first.id, "find_by_token found another object"
        else:
            # Without lookup by token, a repeated create must itself be idempotent.
            _, second = self._create(provider, workdir, resource_kind, token)
            assert second.id == first.id, (
                "a create repeated with the same idempotency token made a second object, and "
                "find_by_token cannot find the first: a crash could create it twice"
            )
        k.delete(first, ctx)

    def test_errors_are_provider_errors(
        self, provider: Provider, workdir: Path, resource_kind: str
    ) -> None:
        k, state = self._create(provider, workdir, resource_kind)
        ctx = self._ctx(workdir, resource_kind)
        k.delete(state, ctx)
        ghost = ResourceState(
            id=f"no-such-{uuid.uuid4().hex[:8]}", args=dict(state.args), attrs=dict(state.attrs)
        )
        calls = {
            "read": lambda: k.read(ghost, ctx),
            "delete": lambda: k.delete(ghost, ctx),
            "update": lambda: k.update(
                ghost, Planned("update", dict(ghost.attrs), args=dict(ghost.args)), ctx
            ),
            "import": lambda: k.import_(ghost.id, ctx),
        }
        for name, call in calls.items():
            try:
                result = call()
            except ProviderError:
                continue
            except NotImplementedError:
                continue  # the kind does not offer this operation
            except Exception as exc:  # noqa: BLE001 - this is what the check is about
                pytest.fail(
                    f"{name} of a missing object raised {type(exc).__name__}: {exc}; providers "
                    "must raise ProviderError"
                )
            if name == "read":
                assert result is None, "read of a missing object must return None"

    def test_plan_is_pure(self, provider: Provider, workdir: Path, resource_kind: str) -> None:
        k, state = self._create(provider, workdir, resource_kind)
        ctx = self._ctx(workdir, resource_kind)
        sample = self.samples[resource_kind]
        desired = copy.deepcopy(sample.update or sample.args)
        prior = copy.deepcopy(state)
        before = self.snapshot(provider, ctx)
        first = k.plan(state, desired, ctx)
        second = k.plan(state, desired, ctx)
        fresh = k.plan(None, copy.deepcopy(sample.args), ctx)
        assert self.snapshot(provider, ctx) == before, "plan changed the backing system"
        assert state == prior, "plan modified the prior state it was given"
        assert desired == (sample.update or sample.args), "plan modified the desired arguments"
        assert (first.action, first.replace_paths) == (second.action, second.replace_paths)
        assert values_equal(first.args, second.args)
        assert fresh.action == "create"
        k.delete(state, ctx)

    def test_read_data(self, provider: Provider, workdir: Path, data_kind: str) -> None:
        k = provider.kind(data_kind)
        ctx = self._ctx(workdir, data_kind)
        attrs = k.read_data(dict(self.samples[data_kind].args), ctx)
        assert isinstance(attrs, dict)
        declared = set(body_schema(type(k).attrs, True).attributes)
        assert set(attrs) <= declared, f"read_data returned undeclared {set(attrs) - declared}"


def validate_and_parse(model: type[Any], data: dict[str, Any]) -> Any:
    problems = validate_model(model, data)
    assert not problems, f"provider_config does not validate: {problems}"
    return model.model_validate(data)
