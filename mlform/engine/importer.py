"""`mlform import ADDR ID`: adopt an object that exists into the state, under an address the
configuration declares."""

from __future__ import annotations

from typing import Any

from mlform.addrs import AbsResourceInstance, ModuleInstance
from mlform.diagnostics import DiagnosticsError, error
from mlform.engine import changes as C
from mlform.engine.configure import ConfigureWalker
from mlform.engine.operation import Loaded, Operations
from mlform.engine.planner import PlanOptions
from mlform.sdk import ProviderError
from mlform.state.session import StateSession


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
    # Every provider configured as plan and apply configure it.
    walker = ops.walker(ConfigureWalker, loaded, session.state, PlanOptions())
    providers = walker.providers
    try:
        walker.run()
        if any(d.is_error for d in walker.diags):
            raise DiagnosticsError(walker.diags)
        pnode = loaded.cg.resource_provider[_config_addr(addr)]
        provider = providers.instance(str(pnode))
        if provider is None:
            unknown = walker.deferred.get(str(pnode))
            why = (
                f" Its configuration refers to values that are not known ({', '.join(unknown)}): "
                "apply the resources it refers to first."
                if unknown
                else ""
            )
            raise DiagnosticsError(
                [
                    error(
                        "Provider not configured",
                        f"{pnode} could not be configured.{why}",
                        res.range,
                    )
                ]
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
        rec.provider_identity = provider.identity() or None
        session.put_instance(addr, str(pnode), rec)
        return st
    finally:
        providers.close()


def _config_addr(addr: AbsResourceInstance) -> Any:
    from mlform.addrs import ConfigResource

    return ConfigResource(addr.module.module(), addr.resource)


__all__ = ["import_resource", "ModuleInstance"]
