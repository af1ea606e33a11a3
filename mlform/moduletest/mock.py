"""Mock providers and overrides: providers built at run time that answer for the real ones.

A mocked provider takes the real provider's class only for what it declares: its kinds' argument
and attribute models (so a configuration is checked against the very schema it will meet) and
its configuration model. Nothing of the real provider runs. Planning is the SDK's default plan;
creating an object makes up its computed attributes: the value an override gives for that
object, else the `defaults` of the provider's `mock_resource` block, else a placeholder of the
attribute's type (an 8-character string derived from the address, 0, false, an empty
collection, an object of placeholders), as Terraform's mock providers do. Placeholders are
derived from the address and attribute name, so a test sees the same values on every run.

Overrides (`override_resource`, `override_data`) work on real providers too: the provider is
wrapped, and only the targeted objects are made up; every other object is the real provider's.

`TestProviders` is the engine's provider set with these substitutions, so the engine plans and
applies a mocked configuration exactly as any other.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from mlform.addrs import AddressError, parse_instance, parse_target, target_contains
from mlform.diagnostics import Diagnostic, Range, error, suggestion
from mlform.engine.providers import ProviderManager
from mlform.lang import types as T
from mlform.lang.values import Value
from mlform.sdk import UNKNOWN, Context, Kind, Planned, Provider, ProviderError, ResourceState
from mlform.sdk.contract import is_wholly_known

_PROVIDER_NAME = re.compile(r'provider\["([^"]+)"\](?:\.([A-Za-z_][\w-]*))?$')


@dataclass
class Fixed:
    """Values to give one resource's (or instance's) computed attributes."""

    target: Any  # an addrs target: AbsResource or AbsResourceInstance
    mode: str
    values: dict[str, Any]
    during: str  # "apply" | "plan"


@dataclass
class MockSpec:
    """What one `mock_provider` block asks for, evaluated: defaults by (mode, type)."""

    defaults: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    during: dict[tuple[str, str], str] = field(default_factory=dict)
    provider_during: str = "apply"


@dataclass
class Substitutions:
    """Every substitution of one run: mocked provider configurations by (type, alias), and the
    overrides, most specific first."""

    mocks: dict[tuple[str, str | None], MockSpec] = field(default_factory=dict)
    overrides: list[Fixed] = field(default_factory=list)

    def fixed_for(self, address: str, mode: str) -> Fixed | None:
        try:
            inst = parse_instance(address)
        except AddressError:
            return None
        best: Fixed | None = None
        for fx in self.overrides:
            if fx.mode != mode or not target_contains(fx.target, inst):
                continue
            # An override of one instance beats one of the whole resource.
            if best is None or _specificity(fx.target) > _specificity(best.target):
                best = fx
        return best


def _specificity(target: Any) -> int:
    from mlform.addrs import AbsResourceInstance

    return 1 if isinstance(target, AbsResourceInstance) else 0


def parse_override_target(text: str, subject: Range) -> tuple[Any, list[Diagnostic]]:
    from mlform.addrs import ModuleInstance

    try:
        target = parse_target(text)
    except AddressError as exc:
        return None, [error("Invalid override target", str(exc), subject)]
    if isinstance(target, ModuleInstance):
        return None, [
            error(
                "Invalid override target",
                f"{text} names a module; an override names a resource or one of its instances.",
                subject,
            )
        ]
    return target, []


# -- placeholders ----------------------------------------------------------------------------------


def placeholder(t: T.Type, seed: str) -> Any:
    """A made-up value of type `t`, the same for the same seed."""
    if isinstance(t, T.PrimitiveType):
        if t.name == "string":
            return hashlib.sha256(seed.encode()).hexdigest()[:8]
        if t.name == "number":
            return 0
        if t.name == "bool":
            return False
    if isinstance(t, T.ListType | T.SetType | T.TupleType):
        return []
    if isinstance(t, T.MapType):
        return {}
    if isinstance(t, T.ObjectType):
        return {n: placeholder(at, f"{seed}.{n}") for n, at in t.attrs.items()}
    return None


def _fill(value: Any, t: T.Type, seed: str) -> Any:
    """`value` with every unknown part replaced by a placeholder of its type."""
    if value is UNKNOWN:
        return placeholder(t, seed)
    if isinstance(value, dict):
        inner = t.attrs if isinstance(t, T.ObjectType) else {}
        elem = t.elem if isinstance(t, T.MapType) else T.DYNAMIC  # type: ignore[attr-defined]
        return {k: _fill(v, inner.get(k, elem), f"{seed}.{k}") for k, v in value.items()}
    if isinstance(value, list):
        elem = getattr(t, "elem", T.DYNAMIC)
        return [_fill(v, elem, f"{seed}[{i}]") for i, v in enumerate(value)]
    return value


class _MockKind(Kind):
    """A kind that answers for a real one. `real` is None when the whole provider is mocked;
    otherwise only overridden objects are made up and every other call goes to `real`."""

    real_kind: ClassVar[type[Kind]]
    mode: ClassVar[str]
    type_name: ClassVar[str]

    def __init__(self, provider: Provider):
        super().__init__(provider)
        assert isinstance(provider, _SubstituteProvider)
        self.sub: _SubstituteProvider = provider
        self.real: Kind | None = (
            provider.real.kind(self.type_name) if provider.real is not None else None
        )

    # Which values, if any, this object is given; None: the real provider answers for it.
    def _made_up(self, ctx: Context) -> tuple[dict[str, Any], str] | None:
        fx = self.sub.subs.fixed_for(ctx.address, self.mode)
        spec = self.sub.spec
        if fx is not None:
            base = dict(spec.defaults.get((self.mode, self.type_name), {})) if spec else {}
            base.update(fx.values)
            return base, fx.during
        if spec is None:
            return None
        key = (self.mode, self.type_name)
        during = spec.during.get(key, spec.provider_during)
        return dict(spec.defaults.get(key, {})), during

    def _attrs_schema(self) -> dict[str, T.Type]:
        return kind_attr_types(self.real_kind)

    def _complete(
        self, attrs: Mapping[str, Any], given: dict[str, Any], ctx: Context
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, t in self._attrs_schema().items():
            seed = f"{ctx.address}.{name}"
            if name in given:
                out[name] = given[name]
            elif name in attrs and is_wholly_known(attrs[name]):
                out[name] = attrs[name]
            else:
                out[name] = _fill(attrs.get(name, UNKNOWN), t, seed)
        return out

    def plan(self, prior: ResourceState | None, desired: dict[str, Any], ctx: Context) -> Planned:
        made = self._made_up(ctx)
        if made is None and self.real is not None:
            return self.real.plan(prior, desired, ctx)
        from mlform.sdk.planning import default_plan

        planned = default_plan(type(self), prior, desired)
        if (
            made is not None
            and made[1] == "plan"
            and planned.action in ("create", "replace", "update")
        ):
            planned.attrs = self._complete(planned.attrs, made[0], ctx)
        return planned

    def create(self, planned: Planned, ctx: Context) -> ResourceState:
        made = self._made_up(ctx)
        if made is None and self.real is not None:
            return self.real.create(planned, ctx)
        attrs = self._complete(planned.attrs, made[0] if made else {}, ctx)
        oid = attrs.get("id") if isinstance(attrs.get("id"), str) else None
        return ResourceState(
            id=oid or placeholder(T.STRING, ctx.address + ".id"), args=planned.args, attrs=attrs
        )

    def update(self, prior: ResourceState, planned: Planned, ctx: Context) -> ResourceState:
        made = self._made_up(ctx)
        if made is None and self.real is not None:
            return self.real.update(prior, planned, ctx)
        attrs = self._complete(planned.attrs, made[0] if made else {}, ctx)
        return ResourceState(id=prior.id, args=planned.args, attrs=attrs)

    def read(self, state: ResourceState, ctx: Context) -> ResourceState | None:
        if self._made_up(ctx) is None and self.real is not None:
            return self.real.read(state, ctx)
        return state

    def delete(self, state: ResourceState, ctx: Context) -> None:
        if self._made_up(ctx) is None and self.real is not None:
            self.real.delete(state, ctx)

    def find_by_token(self, token: str, ctx: Context) -> ResourceState | None:
        if self._made_up(ctx) is None and self.real is not None:
            return self.real.find_by_token(token, ctx)
        return None

    def import_(self, id: str, ctx: Context) -> ResourceState:
        if self._made_up(ctx) is None and self.real is not None:
            return self.real.import_(id, ctx)
        raise ProviderError("A mocked provider cannot import objects")

    def read_data(self, desired: dict[str, Any], ctx: Context) -> dict[str, Any]:
        made = self._made_up(ctx)
        if made is None and self.real is not None:
            return self.real.read_data(desired, ctx)
        return self._complete({}, made[0] if made else {}, ctx)


class _SubstituteProvider(Provider):
    real_cls: ClassVar[type[Provider]]

    def __init__(self, real: Provider | None, spec: MockSpec | None, subs: Substitutions):
        super().__init__()
        self.real = real
        self.spec = spec
        self.subs = subs

    def configure(self, config: Any, ctx: Context) -> None:
        self.settings = config

    def identity(self) -> dict[str, str]:
        return self.real.identity() if self.real is not None else {}

    def close(self) -> None:
        if self.real is not None:
            self.real.close()


_CLASSES: dict[type[Provider], type[_SubstituteProvider]] = {}


def substitute_class(real_cls: type[Provider]) -> type[_SubstituteProvider]:
    """The substitute provider class for a real one: the same name, configuration model and
    kind schemas, with mock behaviour."""
    cls = _CLASSES.get(real_cls)
    if cls is not None:
        return cls
    kinds: dict[str, type[Kind]] = {}
    for name, kcls in real_cls.kinds.items():
        is_data = bool(getattr(kcls, "is_data", False))
        kinds[name] = type(
            f"Mock{kcls.__name__}",
            (_MockKind,),
            {
                "args": kcls.args,
                "attrs": kcls.attrs,
                "description": kcls.description,
                "is_data": is_data,
                "recomputed_on_update": getattr(kcls, "recomputed_on_update", ()),
                "real_kind": kcls,
                "mode": "data" if is_data else "managed",
                "type_name": name,
            },
        )
    cls = type(
        f"Mock{real_cls.__name__}",
        (_SubstituteProvider,),
        {
            "name": real_cls.name,
            "version": real_cls.version,
            "config": real_cls.config,
            "kinds": kinds,
            "real_cls": real_cls,
        },
    )
    _CLASSES[real_cls] = cls
    return cls


# -- evaluating a mock_provider block --------------------------------------------------------------


@functools.cache
def kind_attr_types(kcls: type[Kind]) -> dict[str, T.Type]:
    """The computed attributes of a kind, by name, with their types."""
    from mlform.sdk.schema import kind_schema

    schema = kind_schema(kcls)
    return {n: a.type for n, a in schema.attrs.attributes.items()} | {
        n: b.body.type() for n, b in schema.attrs.blocks.items()
    }


def check_values(
    value: Value, types: dict[str, T.Type], what: str, subject: Range
) -> tuple[dict[str, Any], list[Diagnostic]]:
    """An object of attribute values (`defaults`, `values`) checked against the computed
    attributes of a kind: each name one of them, each value of its type."""
    from mlform.config.variables import conversion_message
    from mlform.engine.bridge import value_to_data
    from mlform.lang.convert import ConversionError, convert

    if value.is_null:
        return {}, []
    if not value.type.is_mapping() or not value.is_wholly_known():
        return {}, [
            error(
                "Invalid value",
                f'{what} is an object of attribute values, such as {{ model = "file:///m" }}.',
                subject,
            )
        ]
    out: dict[str, Any] = {}
    diags: list[Diagnostic] = []
    for name, v in value.unmark_deep()[0].v.items():
        t = types.get(name)
        if t is None:
            diags.append(
                error(
                    "Unsupported attribute",
                    f'{what} sets "{name}", which is not an attribute the provider computes.'
                    + (suggestion(name, types) or f" It computes: {', '.join(sorted(types))}."),
                    subject,
                )
            )
            continue
        try:
            out[name] = value_to_data(convert(v, t))
        except ConversionError as exc:
            diags.append(
                error(
                    "Invalid value",
                    f'{what} sets "{name}" to a value that is not a {t.friendly()}: '
                    f"{conversion_message(exc)}.",
                    subject,
                )
            )
    return out, diags


class TestProviders(ProviderManager):
    """The engine's provider set, with mocked and overridden providers in place of the real
    ones. The engine sees the real provider's class (schemas, configuration model); only the
    instance configured for a mocked block, or one with overrides, is a substitute."""

    def __init__(self, root_dir: Path, data_dir: Path, subs: Substitutions):
        super().__init__(root_dir, data_dir)
        self.subs = subs

    def configure(
        self, local_name: str, ptype: str, config: dict[str, Any], subject: Range | None
    ) -> list[Diagnostic]:
        m = _PROVIDER_NAME.search(local_name)
        alias = m.group(2) if m else None
        spec = self.subs.mocks.get((ptype, alias))
        real_cls = self.provider_class(ptype)
        if real_cls is None:
            return super().configure(local_name, ptype, config, subject)
        if spec is None:
            diags = super().configure(local_name, ptype, config, subject)
            if diags or not self._overridden(real_cls):
                return diags
            with self._lock:
                real = self._instances[local_name]
                self._instances[local_name] = substitute_class(real_cls)(real, None, self.subs)
            return []
        # A mocked provider is not configured: its settings may name what a test has not got
        # (credentials, a cluster), and nothing of it runs.
        inst = substitute_class(real_cls)(None, spec, self.subs)
        with self._lock:
            self._instances[local_name] = inst
        return []

    def _overridden(self, real_cls: type[Provider]) -> bool:
        names = set(real_cls.kinds)
        return any(fx.target.resource.type in names for fx in self.subs.overrides)
