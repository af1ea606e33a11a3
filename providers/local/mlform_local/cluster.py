"""The local `cluster`: this host, as it is.

Nothing is provisioned: plan inspects the host (CPUs, memory, GPUs through nvidia-smi) and refuses
a request it cannot meet, saying what it found; the attributes are what jobs will get. `gpu =
"none"` hides the GPUs from jobs (`visible_devices = ""`). Price, spot, region and idle timeout are
accepted for portability and ignored. Refresh inspects the host again, so a changed driver or a
GPU that disappeared shows in the next plan.
"""

from __future__ import annotations

import json
import socket
from typing import Any

from mlform.kinds import cluster as schema
from mlform.kinds.cluster import GpuRequest, hardware_class
from mlform.kinds.common import parse_at_least, parse_size, planned_attrs
from mlform.sdk import (
    ConfigError,
    Context,
    Kind,
    Planned,
    ResourceState,
    is_wholly_known,
)
from mlform.sdk.schema import parse_config
from mlform_local.hosts import HostFacts, host_facts
from mlform_local.provider import hold_applied, provider_data_dir
from mlform_local.store import held_by_token, hold, is_held, release

LOCAL_ADDRESS = "127.0.0.1"


def cluster_id(hostname: str | None = None) -> str:
    """`local:<hostname>`."""
    return f"local:{hostname or socket.gethostname()}"


def parse_args(desired: dict[str, Any]) -> schema.Args:
    return parse_config(schema.Args, desired)


def allocate(args: schema.Args, facts: HostFacts) -> dict[str, Any]:
    """The attributes a request gets on a host; ConfigError (naming what was found) when the
    host cannot meet it."""
    try:
        req = GpuRequest.parse(args.gpu)
    except ValueError as e:
        raise ConfigError(str(e), attribute="gpu") from None
    found = facts.describe()
    if args.nodes < 1:
        raise ConfigError("nodes must be at least 1", attribute="nodes")
    try:
        want_cpu = parse_at_least(args.cpu)
    except ValueError as e:
        raise ConfigError(str(e), attribute="cpu") from None
    if want_cpu is not None and want_cpu > facts.cpu_count:
        raise ConfigError(
            f"this host has {facts.cpu_count} CPUs, fewer than the {want_cpu} asked for",
            f"Found: {found}. Lower `cpu`, or use a provider that can provision a larger machine.",
            attribute="cpu",
        )
    try:
        want_mem = parse_size(args.memory)
    except ValueError as e:
        raise ConfigError(str(e), attribute="memory") from None
    if want_mem is not None and want_mem // (1024 * 1024) > facts.memory_mb:
        raise ConfigError(
            f"this host has {facts.memory_mb / 1024:.1f} GiB of memory, less than the "
            f"{want_mem / 1024**3:.1f} GiB asked for",
            f"Found: {found}. Lower `memory`, or use a provider that can provision a larger machine.",
            attribute="memory",
        )

    if req.wants_none:
        chosen = []
    else:
        matching = [g for g in facts.gpus if req.matches(g.name)]
        if req.count is None:
            chosen = matching
        else:
            if len(matching) < req.count:
                if req.model is None:
                    what = f"{req.count} GPU{'s' if req.count != 1 else ''}"
                else:
                    what = f"{req.count} × {req.model}"
                have = (
                    f"{len(matching)} of them"
                    if req.model is not None and matching
                    else ("none of that model" if req.model is not None else f"{len(matching)}")
                )
                raise ConfigError(
                    f'this host cannot provide gpu = "{args.gpu}": asked for {what}, found {have}',
                    f"Found: {found}."
                    + (f" nvidia-smi: {facts.gpu_error}." if facts.gpu_error else "")
                    + ' Use gpu = "any" to take whatever GPUs are present, "none" to run on CPUs, '
                    "or a provider that can provision GPUs.",
                    attribute="gpu",
                )
            chosen = matching[: req.count]
    model = chosen[0].name if chosen else None
    return {
        "id": cluster_id(facts.hostname),
        "gpu_model": model,
        "gpu_count": len(chosen),
        "gpu_memory_mb": chosen[0].memory_mb if chosen else None,
        "driver_version": facts.driver_version if chosen else None,
        "cuda_version": facts.cuda_version if chosen else None,
        "cpu_count": facts.cpu_count,
        "memory_mb": facts.memory_mb,
        "price_per_hour": 0.0,
        "node_addresses": [LOCAL_ADDRESS] * args.nodes,
        "hardware_class": hardware_class(model, len(chosen)),
        "visible_devices": ",".join(str(g.index) for g in chosen),
    }


# Attributes whose change on refresh matters to a user (the others follow from them).
_WATCHED = ("gpu_model", "gpu_count", "driver_version", "cuda_version", "cpu_count", "memory_mb")


class ClusterKind(Kind):
    """This host: its CPUs, memory and NVIDIA GPUs."""

    args = schema.Args
    attrs = schema.Attrs
    description = "This machine, with the CPUs, memory and GPUs a request asks for."

    def plan(self, prior: ResourceState | None, desired: dict[str, Any], ctx: Context) -> Planned:
        if not is_wholly_known(desired):
            return Planned(
                action="create" if prior is None else "update",
                attrs=planned_attrs(schema.Attrs),
                reasons=[] if prior is None else ["arguments not known until apply"],
                args=dict(desired),
            )
        args = parse_args(desired)
        attrs = allocate(args, host_facts())
        normalized = args.model_dump()
        if prior is None:
            return Planned("create", attrs, args=normalized)
        reasons = []
        before = {**schema.Args().model_dump(), **(prior.args or {})}
        for name, value in normalized.items():
            if before.get(name) != value:
                reasons.append(
                    f"{name} changed {json.dumps(before.get(name), default=str)} → {json.dumps(value, default=str)}"
                )
        for name in _WATCHED:
            if prior.attrs.get(name) != attrs[name]:
                reasons.append(
                    f"host {name} is now {json.dumps(attrs[name], default=str)} "
                    f"(was {json.dumps(prior.attrs.get(name), default=str)})"
                )
        # The engine hands the id apart from the attributes (`prior.id`): compare it as such,
        # or an unchanged host would plan an update forever.
        recorded = {**prior.attrs, "id": prior.id}
        if not reasons and all(recorded.get(k) == v for k, v in attrs.items()):
            return Planned("noop", attrs, args=normalized)
        if not reasons:
            reasons.append("host facts changed")
        return Planned("update", attrs, reasons=reasons, args=normalized)

    def _state(self, planned: Planned) -> ResourceState:
        args = parse_args(planned.args)
        facts = host_facts()
        attrs = allocate(args, facts)
        lineage = {
            "host": facts.hostname,
            "cpu_count": facts.cpu_count,
            "memory_mb": facts.memory_mb,
            "gpus": [
                {"index": g.index, "name": g.name, "memory_mb": g.memory_mb} for g in facts.gpus
            ],
            "driver_version": facts.driver_version,
            "cuda_version": facts.cuda_version,
            "hardware_class": attrs["hardware_class"],
        }
        return ResourceState(id=attrs["id"], args=args.model_dump(), attrs=attrs, lineage=lineage)

    def create(self, planned: Planned, ctx: Context) -> ResourceState:
        return hold_applied(self.provider, schema.KIND, self._state(planned), ctx)

    def update(self, prior: ResourceState, planned: Planned, ctx: Context) -> ResourceState:
        return hold_applied(self.provider, schema.KIND, self._state(planned), ctx, prior)

    def read(self, state: ResourceState, ctx: Context) -> ResourceState | None:
        facts = host_facts(refresh=True)
        if state.id != cluster_id(facts.hostname):
            return None  # the state was written on another machine
        if not is_held(provider_data_dir(self.provider, ctx), schema.KIND, state):
            return None  # deleted
        try:
            attrs = allocate(parse_args(state.args), facts)
        except ConfigError:
            # The host no longer meets the request: keep what was recorded; plan will say why.
            return state
        return ResourceState(
            id=state.id, args=state.args, attrs=attrs, lineage=state.lineage, private=state.private
        )

    def delete(self, state: ResourceState, ctx: Context) -> None:
        # Nothing was provisioned: only the resource's reference goes.
        release(provider_data_dir(self.provider, ctx), schema.KIND, state)

    def find_by_token(self, token: str, ctx: Context) -> ResourceState | None:
        return held_by_token(provider_data_dir(self.provider, ctx), schema.KIND, token)

    def import_(self, id: str, ctx: Context) -> ResourceState:
        facts = host_facts()
        if id != cluster_id(facts.hostname):
            raise ConfigError(
                f'cannot import cluster "{id}": this host is {cluster_id(facts.hostname)}'
            )
        args = schema.Args()
        attrs = allocate(args, facts)
        state = ResourceState(id=id, args=args.model_dump(), attrs=attrs)
        return hold(provider_data_dir(self.provider, ctx), schema.KIND, state, address=ctx.address)
