"""Configuring providers for work on objects that exist: destroy and import.

Destroy and import need every provider configured exactly as plan and apply configure it, with
variables, locals, functions, data sources and other resources' attributes evaluated: a provider
configured from literal values alone would look for an object somewhere else (a store named by
a variable, a region from a local) and report it deleted. `ConfigureWalker` walks the provider
configurations and what they refer to, and nothing else; a managed resource is seen as the state
records it (nothing is planned or changed), a data source is read again when it can be.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from mlform.addrs import AbsResourceInstance, Key
from mlform.diagnostics import error
from mlform.engine.bridge import data_has_unknown, value_to_data
from mlform.engine.graph import ProviderNode, ResourceNode
from mlform.engine.planner import ResourceWalker, about, call_with_retries
from mlform.engine.scope import Expansion
from mlform.lang.values import Value
from mlform.sdk import ProviderError


class ConfigureWalker(ResourceWalker):
    """Configures every provider of the configuration; see the module docstring. A provider
    whose configuration is not known (it refers to an object that is not in the state) is left
    unconfigured and listed in `deferred`: only work that needs it fails."""

    defer_unknown_providers = True

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        graph = self.cg.graph
        providers = [n for n in graph.nodes() if isinstance(n, ProviderNode)]
        keep = set(providers) | graph.ancestors(*providers) if providers else set()
        # Outputs, and resources no provider configuration refers to, are left alone.
        self.cg = dataclasses.replace(self.cg, graph=graph.subgraph(keep))

    def visit_resource(self, node: ResourceNode) -> None:
        module, res = self.resource_config(node)
        info, pkey = self.kind_for(node, res)
        for mi in self.instances(node.addr.module):
            self.expose_prior(mi, res, info)
            if res.mode != "data" or info is None or self.providers.instance(pkey) is None:
                continue
            # A data source is read as plan reads it, where its arguments are known; where not,
            # dependents see what the state recorded.
            exp = self.expand_resource(mi, res)
            by_key: dict[Key, Value] = {}
            for key in exp.keys:
                addr = AbsResourceInstance(mi, res.addr, key)
                value = self._read(addr, module.dir, mi, res, info, pkey, exp, key)
                by_key[key] = (
                    value
                    if value is not None
                    else self.record_value(self.prior.instance(addr), info)
                )
            self.evals.expose_resource(mi, res.addr, exp, by_key)

    def _read(
        self,
        addr: AbsResourceInstance,
        module_dir: Any,
        mi: Any,
        res: Any,
        info: Any,
        pkey: str,
        exp: Expansion,
        key: Key,
    ) -> Value | None:
        desired_val, failed = self.eval_resource_body(
            mi, res, info, self.evals.expansion_extra(exp, key), info.provider_type
        )
        if failed:
            return None
        desired = value_to_data(desired_val)
        if data_has_unknown(desired):
            return None
        provider = self.providers.instance(pkey)
        assert provider is not None
        kind = provider.kind(res.type)
        ctx = self.make_ctx(addr, module_dir)
        ctx.extra = self.dependency_data(mi, res)
        try:
            result = call_with_retries(
                lambda: kind.read_data(desired, ctx), self.cancel, kind.provider
            )
        except ProviderError as exc:
            self.add_diags(
                [error(about(addr, f"Failed to read: {exc.summary}"), exc.detail, res.range)]
            )
            return None
        return self.data_value({**desired, **result}, [], info)
