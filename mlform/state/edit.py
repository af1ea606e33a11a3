"""Editing state by hand: `mlform state mv|rm|push`, `taint` and `untaint`.

`move`, `remove`, `taint` and `untaint` are pure: they take a State and return a new one (or
raise StateError saying why the edit is refused), leaving the objects themselves untouched. The
caller writes the result through a session (`commit_edit`), so each edit is its own serial in the
history, with its operation name in `meta`. Moves follow Terraform's rules: a resource moves to
a resource of the same mode and type (or into a module under its own name), an instance to an
instance, a module to a module; an address that already exists is never overwritten.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from mlform.addrs import (
    AbsResource,
    AbsResourceInstance,
    ModuleInstance,
    Target,
    parse_target,
    target_contains,
)
from mlform.state.backends import Backend
from mlform.state.errors import StateError
from mlform.state.model import READY, TAINTED, State
from mlform.state.session import StateSession


def _as_target(t: Target | str) -> Target:
    return parse_target(t) if isinstance(t, str) else t


def _instances_under(state: State, module: ModuleInstance) -> list[AbsResourceInstance]:
    return [a for a, _, _ in state.all_instances() if target_contains(module, a)]


def _check_mode_type(src: AbsResource, dst: AbsResource) -> None:
    if src.resource.mode != dst.resource.mode:
        raise StateError(
            f"Cannot move {src} to {dst}",
            "A managed resource and a data resource cannot take each other's place.",
        )
    if src.resource.type != dst.resource.type:
        raise StateError(
            f"Cannot move {src} to {dst}: resource types do not match",
            f"{src.resource.type} and {dst.resource.type} are different kinds; an object keeps "
            "its kind. Remove it (`mlform state rm`) and `mlform import` it under the new address.",
        )


def _exists_error(dst: object) -> StateError:
    return StateError(
        f"Cannot move to {dst}: that address already exists in state",
        "A move never overwrites. Remove or move the object at the destination first.",
    )


def _rewrite_dependencies(state: State, renames: dict[str, str]) -> None:
    """Dependencies name resources; follow them to their new addresses."""
    if not renames:
        return
    for _, _, inst in state.all_instances():
        if any(d in renames for d in inst.dependencies):
            inst.dependencies = sorted({renames.get(d, d) for d in inst.dependencies})


def move(state: State, src: Target | str, dst: Target | str) -> State:
    """A copy of `state` with `src` (resource, instance or module) moved to `dst`."""
    src, dst = _as_target(src), _as_target(dst)
    new = state.copy()
    renames: dict[str, str] = {}

    if isinstance(src, ModuleInstance):
        if not isinstance(dst, ModuleInstance):
            raise StateError(
                f"Cannot move module {src} to {dst}", "A module moves to a module address."
            )
        if dst.steps[: len(src.steps)] == src.steps:
            raise StateError(f"Cannot move module {src} into itself ({dst})")
        moved = _instances_under(new, src)
        if not moved:
            raise StateError(f"No objects in state under {src}", "Check `mlform state list`.")
        if _instances_under(new, dst):
            raise _exists_error(dst)
        n = len(src.steps)
        for addr in moved:
            rec = new.resource(addr.abs_resource)
            assert rec is not None
            provider = rec.provider
            inst = new.remove_instance(addr)
            assert inst is not None
            target = AbsResourceInstance(
                ModuleInstance(dst.steps + addr.module.steps[n:]), addr.resource, addr.key
            )
            new.set_instance(target, provider, inst)
            renames[str(addr.abs_resource)] = str(target.abs_resource)
        _rewrite_dependencies(new, renames)
        return new

    if isinstance(src, AbsResource) and not _single_to_instance(new, src, dst):
        res = new.resource(src)
        if res is None:
            raise StateError(f"No resource {src} in state", "Check `mlform state list`.")
        if isinstance(dst, ModuleInstance):
            dst = AbsResource(dst, src.resource)
        if isinstance(dst, AbsResourceInstance):
            raise StateError(
                f"Cannot move resource {src} to the instance {dst}",
                f"{src} may have several instances; move it to a resource address, or move one "
                "of its instances.",
            )
        _check_mode_type(src, dst)
        if new.resource(dst) is not None:
            raise _exists_error(dst)
        for inst in list(res.instances):
            key = inst.index_key
            new.remove_instance(src.instance(key))
            new.set_instance(dst.instance(key), res.provider, inst)
        renames[str(src)] = str(dst)
        _rewrite_dependencies(new, renames)
        return new

    # One instance (a resource address without a key names its single instance).
    s = src if isinstance(src, AbsResourceInstance) else src.instance(None)
    if isinstance(dst, ModuleInstance):
        dst = AbsResourceInstance(dst, s.resource, s.key)
    d = dst if isinstance(dst, AbsResourceInstance) else dst.instance(None)
    _check_mode_type(s.abs_resource, d.abs_resource)
    rec = new.resource(s.abs_resource)
    if rec is None or rec.find(s.key) is None:
        raise StateError(f"No instance {s} in state", "Check `mlform state list`.")
    if new.instance(d) is not None:
        raise _exists_error(d)
    provider = rec.provider
    single = len(rec.instances) == 1
    inst = new.remove_instance(s)
    assert inst is not None
    new.set_instance(d, provider, inst)
    if single and s.abs_resource != d.abs_resource:
        renames[str(s.abs_resource)] = str(d.abs_resource)
    _rewrite_dependencies(new, renames)
    return new


def _single_to_instance(state: State, src: AbsResource, dst: Target) -> bool:
    """`mv a.b a.c[0]` where a.b has one unkeyed instance: an instance move, as in Terraform."""
    if not isinstance(dst, AbsResourceInstance):
        return False
    res = state.resource(src)
    return res is not None and len(res.instances) == 1 and res.instances[0].index_key is None


def remove(state: State, targets: Iterable[Target | str]) -> tuple[State, list[str]]:
    """A copy of `state` without the targeted instances; refuses a target that matches nothing."""
    new = state.copy()
    parsed = [_as_target(t) for t in targets]
    removed: list[str] = []
    unmatched: list[str] = []
    everything = [a for a, _, _ in new.all_instances()]
    for t in parsed:
        hits = [a for a in everything if target_contains(t, a) and str(a) not in removed]
        if not hits:
            unmatched.append(str(t))
        for a in hits:
            new.remove_instance(a)
            removed.append(str(a))
    if unmatched:
        raise StateError(
            "No matching objects in state for " + ", ".join(unmatched),
            "Nothing was removed. Check the addresses with `mlform state list`.",
        )
    return new, removed


def _set_status(state: State, addr: AbsResourceInstance | str, status: str) -> State:
    a = _as_target(addr) if isinstance(addr, str) else addr
    if isinstance(a, ModuleInstance):
        raise StateError(f"{a} is a module", "Taint one resource instance at a time.")
    if isinstance(a, AbsResource):
        a = a.instance(None)
    if a.resource.mode == "data":
        raise StateError(
            f"Cannot taint {a}",
            "Data resources are read again on every plan; there is nothing to replace.",
        )
    new = state.copy()
    inst = new.instance(a)
    if inst is None:
        res = new.resource(a.abs_resource)
        hint = "Check `mlform state list`."
        if res is not None and res.instances:
            keys = ", ".join(str(a.abs_resource.instance(i.index_key)) for i in res.instances[:5])
            hint = f"{a.abs_resource} has instances {keys}; name one of them."
        raise StateError(f"No instance {a} in state", hint)
    inst.status = status
    return new


def taint(state: State, addr: AbsResourceInstance | str) -> State:
    """Mark an instance tainted: the next plan replaces it."""
    return _set_status(state, addr, TAINTED)


def untaint(state: State, addr: AbsResourceInstance | str) -> State:
    return _set_status(state, addr, READY)


def commit_edit(
    backend: Backend,
    workspace: str,
    operation: str,
    edit: Callable[[State], State],
    lock_timeout: float = 0.0,
    summary: Any = None,
    who: str | None = None,
    lock: bool = True,
) -> State:
    """Lock, apply `edit` to the latest state, and write the result as the next serial.

    `lock=False` skips the lock (`--lock=false`): only safe when nothing else uses the state."""
    with StateSession.open(
        backend, workspace, operation=operation, lock=lock, lock_timeout=lock_timeout, who=who
    ) as sess:
        sess.replace_state(edit(sess.state))
        return sess.commit({"operation": operation, "summary": summary}, force=True)


def push(
    backend: Backend,
    workspace: str,
    new_state: State,
    force: bool = False,
    lock_timeout: float = 0.0,
    lock: bool = True,
) -> State:
    """Replace a workspace's state with `new_state` (`mlform state push`).

    Refused without `force` when its lineage differs or its serial is lower than the current
    one: either means it is not a newer version of this state. The result is written as a new
    serial (the pushed serial when it is higher), so the history keeps what it replaced.
    """
    with StateSession.open(
        backend,
        workspace,
        operation="state push",
        lock=lock,
        lock_timeout=lock_timeout,
        recover=force,
    ) as sess:
        current = sess.state
        if sess.existed and not force:
            if new_state.lineage != current.lineage:
                raise StateError(
                    "Cannot push a state with a different lineage",
                    f"The pushed state has lineage {new_state.lineage}, the current one "
                    f"{current.lineage}: they are different histories, and pushing would replace "
                    "this one. Use --force if that is what you want.",
                )
            if new_state.serial < current.serial:
                raise StateError(
                    f"Cannot push serial {new_state.serial} over serial {current.serial}",
                    "The pushed state is older than the current one. Pull the current state, "
                    "make your change on it, and push that; or use --force.",
                )
        # Above every serial kept, so that the history is never rewritten (the current state
        # may be damaged, or behind its history when it was restored by hand).
        base = max(current.serial, backend.latest_serial(workspace) or 0)
        sess.replace_state(new_state)
        sess.state.lineage = new_state.lineage or current.lineage
        # commit writes serial + 1: land on the pushed serial when it is ahead.
        sess.state.serial = max(base, new_state.serial - 1)
        return sess.commit({"operation": "state push"}, force=True)


__all__ = [
    "commit_edit",
    "move",
    "push",
    "remove",
    "taint",
    "untaint",
]
