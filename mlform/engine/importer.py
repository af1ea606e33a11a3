"""`mlform import ADDR ID`: adopt an object that exists into the state, under an address the
configuration declares."""

from __future__ import annotations

from typing import Any

from mlform.addrs import AbsResourceInstance, ModuleInstance
from mlform.diagnostics import DiagnosticsError, error
from mlform.engine import changes as C
from mlform.engine.graph import ResourceNode
from mlform.engine.operation import Loaded, Operations
from mlform.engine.planner import PlanOptions, ResourceWalker
from mlform.sdk import ProviderError
from mlform.state.session import StateSession


class _ConfigureOnly(ResourceWalker):
    """Evaluates what provider configurations need; resources are seen as the state has them."""

    def visit_resource(self, node: ResourceNode) -> None:
        _, res = self.resource_config(node)
        info, _ = self.kind_for(node, res)
        for mi in self.instances(node.addr.module):
            self.expose_prior(mi, res, info)


def import_resource(
    ops: Operations, loaded: Loaded, session: StateSession, addr: AbsResourceInstance, obj_id: str
) -> Any:
    module = loaded.cg.modules.get(addr.module.module())
    res = module.resources.get(addr.resource) if module else None
    if res is None:
        raise DiagnosticsError(
            [
                error(
                    "Configuration for import target does not exist",
                    f"The configuration does not declare {addr.abs_resource}. Write its resource block first, then import the "
                    "existing object into it.",
                )
            ]
        )
    if session.state.instance(addr) is not None:
        raise DiagnosticsError(
            [
                error(
                    "Resource already managed by mlform",
                    f"{addr} is already in the state. To import to this address, first remove it with mlform state rm {addr}.",
                )
            ]
        )
    walker = ops.walker(_ConfigureOnly, loaded, session.state, PlanOptions())
    providers = walker.providers
    try:
        walker.run()
        if any(d.is_error for d in walker.diags):
            raise DiagnosticsError(walker.diags)
        pnode = loaded.cg.resource_provider[_config_addr(addr)]
        provider = providers.instance(str(pnode))
        if provider is None:
            raise DiagnosticsError(
                [error("Provider not configured", f"{pnode} could not be configured.", res.range)]
            )
        kind = provider.kind(res.type)
        ctx = walker.make_ctx(addr, module.dir)  # type: ignore[union-attr]
        try:
            st = kind.import_(obj_id, ctx)
        except ProviderError as exc:
            raise DiagnosticsError(
                [error(f"Cannot import {addr}: {exc.summary}", exc.detail, res.range)]
            ) from None
        rec = C.record_from_state(st, addr.key, [], [], res.lifecycle.create_before_destroy)
        session.put_instance(addr, str(pnode), rec)
        return st
    finally:
        providers.close()


def _config_addr(addr: AbsResourceInstance) -> Any:
    from mlform.addrs import ConfigResource

    return ConfigResource(addr.module.module(), addr.resource)


__all__ = ["import_resource", "ModuleInstance"]
