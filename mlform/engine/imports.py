"""`import` and `removed` blocks: adopting existing objects, and letting objects go, in a plan.

An `import { to = ADDR, id = "..." }` block asks the provider for the object `id` while planning
(its kind's `import_`), and plans the instance at ADDR from it as if the state had it: the plan
shows `# ADDR will be imported` (and any update the configuration asks for), counts "N to
import", and apply records the imported object first (a saved plan carries it). Once the state
holds ADDR the block does nothing, so it may stay in the configuration.

A `removed { from = ADDR }` block says that a resource or module left the configuration on
purpose. With `lifecycle { destroy = false }` its objects are *forgotten*: the state lets go of
them and they keep running (`# ADDR will no longer be managed by mlform, but will not be
destroyed`, action `forget`); otherwise they are destroyed as any object whose configuration
is gone. A removed block whose address is still configured is an error.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mlform.addrs import (
    AbsResource,
    AbsResourceInstance,
    AddressError,
    ModuleInstance,
    ModuleStep,
    parse_target,
    target_contains,
)
from mlform.diagnostics import Diagnostic, error, warning
from mlform.lang.ast import traversal_text

if TYPE_CHECKING:
    from mlform.config.model import Import, Module, Removed
    from mlform.engine.changes import InstanceChange
    from mlform.state import InstanceRecord

__all__ = [
    "FORGET",
    "Forgets",
    "Imports",
    "forget_change",
    "forget_warning",
]

FORGET = "forget"


# -- removed ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _RemovedRule:
    block: Removed
    target: Any  # ModuleInstance | AbsResource, as seen from the root (every instance of a module)


class Forgets:
    """The configuration's `removed` blocks: which objects leaving the configuration are
    forgotten rather than destroyed."""

    def __init__(self, root: Module):
        self.rules: list[_RemovedRule] = []
        self.diags: list[Diagnostic] = []
        for m in root.walk():
            base = tuple(ModuleStep(name) for name in m.path.names)
            for block in m.removed:
                text = traversal_text(block.from_)
                try:
                    target = parse_target(text)
                except AddressError as exc:
                    self.diags.append(error("Invalid removed block", str(exc), block.from_.range))
                    continue
                if isinstance(target, ModuleInstance):
                    target = ModuleInstance(base + target.steps)
                    configured = _module_configured(m, target.steps[len(base) :])
                else:
                    assert isinstance(target, AbsResource)
                    target = AbsResource(
                        ModuleInstance(base + target.module.steps), target.resource
                    )
                    inner = target.module.steps[len(base) :]
                    owner = _module_at(m, inner)
                    configured = owner is not None and target.resource in owner.resources
                if configured:
                    self.diags.append(
                        error(
                            "Removed resource still exists"
                            if isinstance(target, AbsResource)
                            else "Removed module still exists",
                            f"This removed block says that {text} was removed, but it is still "
                            "declared in the configuration. Remove its block too, or remove this "
                            "removed block.",
                            block.from_.range,
                        )
                    )
                    continue
                self.rules.append(_RemovedRule(block, target))

    def forgets(self, addr: AbsResourceInstance) -> bool:
        """Whether the object at `addr`, gone from the configuration, is to be forgotten."""
        return any(not r.block.destroy and target_contains(r.target, addr) for r in self.rules)


def _module_at(m: Module, steps: Iterable[ModuleStep]) -> Module | None:
    for step in steps:
        child = m.children.get(step.name)
        if child is None:
            return None
        m = child
    return m


def _module_configured(m: Module, steps: tuple[ModuleStep, ...]) -> bool:
    return _module_at(m, steps) is not None


def forget_change(addr: AbsResourceInstance, provider: str, rec: InstanceRecord) -> InstanceChange:
    """The planned change that lets go of the object at `addr` without destroying it."""
    from mlform.engine.changes import InstanceChange

    return InstanceChange(
        addr=addr,
        provider=provider,
        action=FORGET,
        before=rec.attributes,
        after=None,
        before_sensitive=rec.sensitive_paths,
        dependencies=rec.dependencies,
        reasons=[],
    )


def forget_warning(addrs: list[AbsResourceInstance]) -> Diagnostic:
    listed = "\n".join(f" - {a}" for a in sorted(addrs, key=lambda a: a.sort_key()))
    return warning(
        "Some objects will no longer be managed by mlform",
        "If you apply this plan, mlform will discard its tracking information for the following "
        f"objects, but it will not delete them:\n{listed}\n\nAfter applying this plan, mlform "
        "will no longer manage these objects. You will need to import them into mlform to "
        "manage them again.",
    )


# -- import ----------------------------------------------------------------------------------------


class Imports:
    """The root module's `import` blocks, by the instance each one adopts."""

    def __init__(self, root: Module):
        self.by_addr: dict[AbsResourceInstance, Import] = {}
        # What planning imported: address -> the object's id.
        self.imported: dict[AbsResourceInstance, str] = {}
        self.diags: list[Diagnostic] = []
        for m in root.walk():
            for block in m.imports:
                if not m.path.is_root:
                    self.diags.append(
                        error(
                            "Invalid import block",
                            "Import blocks are only allowed in the root module: import into a "
                            "module's resource from the root, with to = module.NAME.TYPE.NAME.",
                            block.range,
                        )
                    )
                    continue
                self.add(root, block)

    def add(self, root: Module, block: Import) -> None:
        text = traversal_text(block.to)
        try:
            target = parse_target(text)
        except AddressError as exc:
            self.diags.append(error("Invalid import address", str(exc), block.to.range))
            return
        if isinstance(target, ModuleInstance):
            self.diags.append(
                error(
                    "Invalid import address",
                    f"{text} names a module: an import block adopts one resource instance.",
                    block.to.range,
                )
            )
            return
        addr = target.instance(None) if isinstance(target, AbsResource) else target
        owner = _module_at(root, addr.module.steps)
        if owner is None or addr.resource not in owner.resources:
            self.diags.append(
                error(
                    "Configuration for import target does not exist",
                    f"The configuration does not declare {addr.abs_resource}. Write its "
                    "resource block, then import the existing object into it.",
                    block.to.range,
                )
            )
            return
        if addr.resource.mode == "data":
            self.diags.append(
                error(
                    "Invalid import address",
                    "A data source is read, never imported.",
                    block.to.range,
                )
            )
            return
        if addr in self.by_addr:
            prev = self.by_addr[addr].range
            self.diags.append(
                error(
                    "Duplicate import configuration",
                    f"{addr} is already imported by the block at {prev.filename}:{prev.start.line}.",
                    block.range,
                )
            )
            return
        self.by_addr[addr] = block


def import_id(planner: Any, block: Import) -> str | None:
    """The object id an import block names: a string known at plan time (a literal, or made of
    variables and locals); None after reporting why not."""
    value, failed = planner.eval_expr(block.id, ModuleInstance())
    if failed:
        return None
    if not value.is_known or value.is_null or not isinstance(value.v, str) or not value.v:
        planner.add_diags(
            [
                error(
                    "Invalid import id",
                    "The id of an import block must be a non-empty string known while planning: "
                    "a literal, or made of variables and locals.",
                    block.id.range,
                )
            ]
        )
        return None
    return str(value.v)


def record_to_plan(rec: InstanceRecord) -> dict[str, Any]:
    from mlform.state.format import instance_to_json

    return instance_to_json(rec)


def record_from_plan(data: dict[str, Any]) -> InstanceRecord:
    from mlform.state.format import instance_from_json

    return instance_from_json(data)


def adopt(
    planner: Any,
    addr: AbsResourceInstance,
    kind: Any,
    ctx: Any,
    res: Any,
    provider: Any,
    pkey: str,
    deps: list[str],
) -> InstanceRecord | None:
    """Plan time for an import block whose address the state does not hold: the object from the
    provider, as the record to plan from (and, at apply, to record first). None after reporting
    why it could not be imported."""
    from mlform.engine import changes as C
    from mlform.engine.planner import about
    from mlform.engine.retry import call_with_retries
    from mlform.sdk import ProviderError

    imports: Imports = planner.imports
    block = imports.by_addr[addr]
    obj_id = import_id(planner, block)
    if obj_id is None:
        return None
    try:
        st = call_with_retries(lambda: kind.import_(obj_id, ctx), planner.cancel, kind.provider)
    except NotImplementedError:
        planner.add_diags(
            [
                error(
                    f"Cannot import {addr}",
                    f"The provider cannot import objects of type {addr.resource.type}.",
                    block.range,
                )
            ]
        )
        return None
    except ProviderError as exc:
        planner.add_diags([error(about(addr, exc.summary), exc.detail, block.range)])
        return None
    rec = C.record_from_state(st, addr.key, deps, [], res.lifecycle.create_before_destroy)
    rec.provider_identity = provider.identity() or None
    with planner._lock:
        planner.adopted[addr] = (pkey, rec)
        imports.imported[addr] = obj_id
    return rec
