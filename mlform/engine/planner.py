"""Planning: for every resource instance, refresh what exists, ask its kind what must change and
why, and apply the lifecycle rules (taint, --replace, ignore_changes, replace_triggered_by,
prevent_destroy, create_before_destroy).

Values known at plan time flow to dependents at plan time: a dataset whose digest changed makes
its training job's fingerprint change in the same plan, which is how a plan can say that a job
"must be replaced because dataset.digits changed".
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import itertools
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from mlform.addrs import (
    AbsResource,
    AbsResourceInstance,
    ConfigResource,
    Key,
    ModuleInstance,
    Target,
    target_contains,
)
from mlform.config.model import ResourceConfig
from mlform.diagnostics import Diagnostic, error, warning
from mlform.engine import changes as C
from mlform.engine.bridge import (
    data_has_unknown,
    data_to_value,
    derived_sensitive,
    get_path,
    redact_texts,
    sensitive_paths,
    set_path,
    value_to_data,
)
from mlform.engine.changes import InstanceChange, planned_after, split_record
from mlform.engine.graph import ConfigGraph, Node, ProviderNode, ResourceNode
from mlform.engine.providers import KindInfo, ProviderManager
from mlform.engine.retry import call_with_retries
from mlform.engine.scope import EvalState, Expansion
from mlform.engine.walk import Hooks, NodeFailed, Walker, WalkSettings
from mlform.lang import ast
from mlform.lang import values as V
from mlform.lang.values import Value
from mlform.sdk import ConfigError, Context, Planned, Provider, ProviderError, ResourceState
from mlform.state import PENDING, TAINTED, InstanceRecord, State

# The key an instance moved from can be None (a resource without count or for_each), so "did
# not move" needs its own value.
NOT_MOVED: Any = object()


@dataclass
class PlanOptions:
    mode: str = "normal"  # normal | destroy | refresh_only
    refresh: bool = True
    targets: list[Target] = field(default_factory=list)
    excludes: list[Target] = field(default_factory=list)
    replace: list[AbsResourceInstance] = field(default_factory=list)
    parallelism: int = 10
    # apply --detach: submit long-running work and do not wait for it.
    detach: bool = False


@dataclass
class Drift:
    addr: AbsResourceInstance
    provider: str
    before: dict[str, Any]
    after: dict[str, Any] | None  # None: deleted outside mlform


class ResourceWalker(Walker):
    """Shared by planning and applying: provider contexts, prior records, target selection,
    and the provider configuration that deletes an object."""

    # A provider configuration whose arguments are not known yet (they refer to an object not
    # created yet): planning goes on without it (see Planner.plan_unconfigured), and it is
    # configured at apply once its values are known. Apply, which needs it, reports an error.
    defer_unknown_providers = False

    def __init__(
        self,
        cg: ConfigGraph,
        evals: EvalState,
        providers: ProviderManager,
        root_vars: dict[str, Value],
        settings: WalkSettings,
        prior: State,
        options: PlanOptions,
        data_dir: Path,
        hooks: Hooks | None = None,
    ):
        super().__init__(cg, evals, providers, root_vars, settings, hooks)
        self.prior = prior
        self.options = options
        self.data_dir = data_dir
        self.selected = select_resources(cg, options.targets, options.excludes)
        # Resources a target names directly (as opposed to ones kept because a target depends
        # on them): only their instances that a target covers are planned.
        self.targeted = (
            {n for n in self.selected if any(_names_resource(n, t) for t in options.targets)}
            if self.selected is not None and options.targets
            else set()
        )
        self.dependency_only = (
            {a for a in cg.graph.ancestors(*self.targeted) if isinstance(a, ResourceNode)}
            if self.targeted
            else set()
        )
        self.visited: set[AbsResource] = set()
        self._visited_lock = threading.Lock()
        # Scratch folder names: unique per run without a random draw per provider call.
        self._scratch_prefix = uuid.uuid4().hex[:8]
        self._scratch_seq = itertools.count()
        self._scratch_root = data_dir / "tmp"
        self._types: dict[type, Any] = {}
        # Provider configurations left unconfigured because some of their arguments are not
        # known yet: their address -> the names of those arguments.
        self.deferred: dict[str, list[str]] = {}
        # What each provider operation confirmed: objects created, updated, deleted.
        self.counts: dict[str, int] = {"add": 0, "change": 0, "destroy": 0}

    def count(self, what: str) -> None:
        with self._visited_lock:
            self.counts[what] += 1

    # -- provider configurations ---------------------------------------------------------------

    def configure_provider(self, node: ProviderNode, config: Any, subject: Any) -> None:
        """Configure a provider once every argument is known: a value known only after apply
        (a cluster's endpoint) defers it while planning and is an error at apply."""
        unknown = (
            sorted(k for k, v in config.items() if data_has_unknown(v))
            if isinstance(config, dict)
            else ["(the whole configuration)"]
        )
        if not unknown:
            super().configure_provider(node, config, subject)
            return
        with self._visited_lock:
            self.deferred[str(node)] = unknown
        if self.defer_unknown_providers:
            return
        self.add_diags(
            [
                error(
                    "Provider configuration not known",
                    f"{node} is configured from values that are not known: {', '.join(unknown)}. "
                    "They refer to objects that do not exist (yet, or any longer), so the provider cannot "
                    "be configured. Apply the resources its configuration refers to first "
                    f"(mlform apply --target=ADDRESS), then run this command again.",
                    subject,
                )
            ]
        )
        raise NodeFailed(str(node))

    def identity_of(self, pkey: str, provider: Provider) -> dict[str, str]:
        """`provider.identity()`, asked once per provider configuration and walk."""
        cache: dict[str, dict[str, str]] = self.__dict__.setdefault("_identities", {})
        found = cache.get(pkey)
        if found is None:
            found = cache[pkey] = provider.identity()
        return found

    def provider_node(self, pkey: str) -> ProviderNode | None:
        """The configuration's provider node with this address, if it has one."""
        nodes = getattr(self, "_provider_nodes", None)
        if nodes is None:
            nodes = {str(n): n for n in self.cg.graph.nodes() if isinstance(n, ProviderNode)}
            self._provider_nodes = nodes
        return nodes.get(pkey)

    def provider_for_object(
        self, addr: AbsResourceInstance, pkey: str, rec: InstanceRecord | None, what: str
    ) -> Provider | None:
        """The provider configuration to work on an existing object with (`what`: "delete"),
        configured as plan and apply configure it; None when there is none, or when it is not
        the one that created the object (its identity differs): the error is reported."""
        provider = self.providers.instance(pkey)
        node = self.provider_node(pkey)
        removed = node is None or node.local_name not in self.module(node.module).providers
        if provider is None:
            if pkey in self.deferred:
                self.add_diags(
                    [
                        error(
                            f"Cannot {what} {addr}: its provider configuration is not known",
                            f"{pkey} is configured from values not known yet "
                            f"({', '.join(self.deferred[pkey])}), so it cannot {what} {addr}. Apply the "
                            "resources its configuration refers to first (mlform apply --target=ADDRESS).",
                        )
                    ]
                )
                return None
            implied = (
                removed and "." not in pkey.rpartition("]")[2] and pkey.startswith("provider[")
            )
            if node is not None or not implied:
                self.add_diags(
                    [
                        _provider_removed(addr, pkey, rec, None)
                        if node is None
                        else error(
                            f"Cannot {what} {addr}",
                            f"Its provider configuration {pkey} could not be configured.",
                        )
                    ]
                )
                return None
            # A root provider without a block of its own is configured empty, as plan does
            # for resources that use one implicitly.
            ptype = pkey.split('"')[1] if '"' in pkey else pkey
            if self.add_diags(self.providers.configure(pkey, ptype, {}, None)):
                return None
            provider = self.providers.instance(pkey)
            if provider is None:
                return None
        recorded = rec.provider_identity if rec is not None else None
        if recorded:
            current = self.identity_of(pkey, provider)
            if current and current != recorded:
                if removed:
                    self.add_diags([_provider_removed(addr, pkey, rec, current)])
                else:
                    assert node is not None
                    block = self.module(node.module).providers.get(node.local_name)
                    self.add_diags(
                        [
                            error(
                                f"Cannot {what} {addr}: its provider configuration has changed",
                                f"{addr} was created by {pkey} with {_identity_text(recorded)}, but "
                                f"{pkey} is now configured with {_identity_text(current)}. With this "
                                f"configuration mlform would {what} it where it is not, and leave the "
                                "object where it is. Restore the provider configuration that created it "
                                f"and run this command again; if the object is gone, or managed elsewhere "
                                f"now, forget it with: mlform state rm '{addr}'",
                                block.range if block is not None else None,
                            )
                        ]
                    )
                return None
        return provider

    def make_ctx(
        self, addr: AbsResourceInstance, module_dir: Path, token: str | None = None
    ) -> Context:
        a = str(addr)
        return Context(
            address=a,
            module_dir=module_dir,
            work_dir=self.evals.base_dir,
            data_dir=self.data_dir,
            scratch_dir=self._scratch_root / f"{self._scratch_prefix}-{next(self._scratch_seq)}",
            on_progress=lambda d, t, m: self.hooks.progress(a, d, t, m),
            on_log=lambda line: self.hooks.log(a, line),
            cancel_event=self.cancel,
            idempotency_token=token,
        )

    def dependency_data(self, mi: ModuleInstance, res: ResourceConfig) -> dict[str, Any]:
        """The attributes of the resources an instance refers to, by address, for providers
        that need more than the argument values (a job reading its cluster's allocation)."""
        from mlform.addrs import ConfigResource

        deps = self.cg.resource_deps.get(ConfigResource(mi.module(), res.addr))
        if not deps:
            return {}  # refers to no resource (most instances of a large count)
        out: dict[str, Any] = {}
        for dep in deps:
            value = self.evals.resource_value(mi, dep.resource)
            if value is not None:
                plain, _ = value.unmark_deep()
                out[str(AbsResource(mi, dep.resource))] = value_to_data(plain)
        return out

    def mark_visited(self, abs_res: AbsResource) -> None:
        with self._visited_lock:
            self.visited.add(abs_res)

    def is_selected(self, node: ResourceNode) -> bool:
        return self.selected is None or node in self.selected

    def instance_selected(self, node: ResourceNode, addr: AbsResourceInstance) -> bool:
        """Within a selected resource, whether --target/--exclude cover this very instance."""
        opts = self.options
        if any(target_contains(e, addr) for e in opts.excludes):
            return False
        if node in self.targeted and node not in self.dependency_only:
            return any(target_contains(t, addr) for t in opts.targets)
        return True

    def expose_prior(self, mi: ModuleInstance, res: ResourceConfig, info: KindInfo | None) -> None:
        """A resource left out by --target/--exclude: dependents see what the state records."""
        abs_res = AbsResource(mi, res.addr)
        self.mark_visited(abs_res)
        rec = self.prior.resource(abs_res)
        by_key: dict[Key, Value] = {}
        keys: list[Key] = []
        if rec is not None:
            for inst in rec.instances:
                keys.append(inst.index_key)
                by_key[inst.index_key] = self.record_value(inst, info)
        if res.count is not None:
            exp = Expansion(
                "count", cast("list[Key]", sorted(k for k in keys if isinstance(k, int)))
            )
        elif res.for_each is not None:
            exp = Expansion(
                "for_each", cast("list[Key]", sorted(k for k in keys if isinstance(k, str)))
            )
        else:
            exp = Expansion.single()
        self.evals.expose_resource(mi, res.addr, exp, by_key)

    def instance_work(self, *args: Any) -> tuple[Value, bool]:
        """Plan or apply one instance: (its value for dependents, whether it failed)."""
        raise NotImplementedError

    def orphan_instance(
        self, addr: AbsResourceInstance, pkey: str, info: KindInfo, exp: Expansion, module_dir: Path
    ) -> bool:
        """An instance in state whose key count or for_each no longer produces."""
        raise NotImplementedError

    def visit_resource(self, node: ResourceNode) -> None:
        module, res = self.resource_config(node)
        info, pkey = self.kind_for(node, res)
        if info is None:
            raise NodeFailed(str(node))
        selected = self.is_selected(node)
        failed = False
        for mi in self.instances(node.addr.module):
            if not selected:
                self.expose_prior(mi, res, info)
                continue
            exp = self.expand_resource(mi, res)
            abs_res = AbsResource(mi, res.addr)
            self.mark_visited(abs_res)
            prior_res = self.prior.resource(abs_res)
            prior_keys = [i.index_key for i in prior_res.instances] if prior_res else []
            moved_keys = implicit_moves(prior_keys, exp)
            deps = self.dependencies_of(node, mi)
            # Instances of one resource run side by side, within the parallelism limit.
            in_scope = {
                key: self.instance_selected(node, AbsResourceInstance(mi, res.addr, key))
                for key in {*exp.keys, *prior_keys}
            }
            futures: dict[Key, concurrent.futures.Future[tuple[Value, bool]]] = {}
            try:
                for key in exp.keys:
                    if in_scope[key]:
                        futures[key] = self.pool.submit(
                            self.guarded,
                            self.instance_work,
                            str(AbsResourceInstance(mi, res.addr, key)),
                            module.dir,
                            mi,
                            res,
                            info,
                            pkey,
                            exp,
                            key,
                            moved_keys.get(key, NOT_MOVED),
                            deps,
                        )
            finally:
                # One wake-up when all are done, rather than one per instance finished; and
                # nothing submitted is still running when this node ends, however it ends.
                concurrent.futures.wait(futures.values())
            by_key: dict[Key, Value] = {
                key: self.record_value(
                    self.prior.instance(AbsResourceInstance(mi, res.addr, key)), info
                )
                for key in exp.keys
                if not in_scope[key]
            }
            for key, fut in futures.items():
                value, bad = fut.result()
                by_key[key] = value
                failed |= bad
            # Instances whose key is gone (count or for_each shrank), side by side as well.
            kept = set(exp.keys) | set(moved_keys.values())
            orphans = [
                self.pool.submit(
                    self.orphan_instance,
                    AbsResourceInstance(mi, res.addr, key),
                    pkey,
                    info,
                    exp,
                    module.dir,
                )
                for key in prior_keys
                if key not in kept and in_scope[key]
            ]
            concurrent.futures.wait(orphans)
            for ofut in orphans:
                failed |= not ofut.result()
            self.evals.expose_resource(mi, res.addr, exp, by_key)
        if failed:
            raise NodeFailed(str(node))

    def record_value(self, rec: InstanceRecord | None, info: KindInfo | None) -> Value:
        if rec is None:
            return V.DYNAMIC_UNKNOWN
        return self.data_value(rec.attributes, rec.sensitive_paths, info)

    def data_value(
        self, data: dict[str, Any], sensitive: list[list[str | int]], info: KindInfo | None
    ) -> Value:
        from mlform.engine.bridge import mark_paths
        from mlform.sdk.schema import instance_type

        t = None
        if info is not None:
            # The same few kinds for thousands of instances: build each type once.
            t = self._types.get(info.kind_cls)
            if t is None:
                t = self._types[info.kind_cls] = instance_type(info.kind_cls)
        value = data_to_value(data, t)
        return mark_paths(value, sensitive) if sensitive else value

    def dependencies_of(self, node: ResourceNode, mi: ModuleInstance) -> list[str]:
        deps = self.cg.resource_deps_all.get(node.addr) or self.cg.resource_deps.get(
            node.addr, set()
        )
        out: set[str] = set()
        here = mi.module()
        for d in deps:
            if d.module == here:
                out.add(str(AbsResource(mi, d.resource)))
                continue
            # Reached through a module call or a module's variables: every instance of that
            # module that shares this instance's keys where their paths meet.
            for dmi in self.instances(d.module):
                if _same_branch(dmi, mi):
                    out.add(str(AbsResource(dmi, d.resource)))
        return sorted(out)


class Planner(ResourceWalker):
    defer_unknown_providers = True

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.changes: dict[AbsResourceInstance, InstanceChange] = {}
        self.drift: list[Drift] = []
        self.refreshed: dict[AbsResourceInstance, InstanceRecord | None] = {}
        self.adopted: dict[AbsResourceInstance, tuple[str, InstanceRecord]] = {}
        self.abandoned: list[str] = []
        # The configuration's import blocks (mlform.engine.imports.Imports), set by the operation.
        self.imports: Any = None
        self._lock = threading.Lock()
        self.pending = {p.addr: p for p in self.prior.pending}
        # Resources whose provider refused their own arguments (a dataset source that does not
        # exist): an error, yet not a failure that hides their dependents' own problems. The
        # dependents are planned with these resources' values unknown, so that a plan reports
        # every mistake at once (a plan with errors is never applied).
        self.refused: set[ResourceNode] = set()
        self._visiting = threading.local()
        # Pending jobs still running, by the resource address dependents name them with.
        self.running_jobs: dict[str, list[str]] = {}

    def instance_work(self, *args: Any) -> tuple[Value, bool]:
        return self.plan_instance(*args)

    def visit(self, node: Node) -> None:
        self._visiting.node = node
        try:
            super().visit(node)
        finally:
            self._visiting.node = None

    def add_diags(self, diags: Iterable[Diagnostic]) -> bool:
        """As `Walker.add_diags`; but below a refused resource, a count or for_each left unknown
        by its unknown values is no mistake of its own: the node fails without saying so."""
        items = list(diags)
        node = getattr(self._visiting, "node", None)
        if self.refused and node is not None and any(map(_unknown_expansion, items)):
            if self.cg.graph.ancestors(node) & self.refused:
                kept = [d for d in items if not _unknown_expansion(d)]
                return super().add_diags(kept) or len(kept) < len(items)
        return super().add_diags(items)

    def orphan_instance(
        self, addr: AbsResourceInstance, pkey: str, info: KindInfo, exp: Expansion, module_dir: Path
    ) -> bool:
        self.plan_delete(addr, pkey, info, orphan_reason(addr.key, exp))
        return True

    # -- one instance ---------------------------------------------------------------------------

    def plan_instance(
        self,
        module_dir: Path,
        mi: ModuleInstance,
        res: ResourceConfig,
        info: KindInfo,
        pkey: str,
        exp: Expansion,
        key: Key,
        moved_from: Key | None,
        deps: list[str],
    ) -> tuple[Value, bool]:
        addr = AbsResourceInstance(mi, res.addr, key)
        if self.cancel.is_set():
            return V.DYNAMIC_UNKNOWN, True
        extra = self.evals.expansion_extra(exp, key)
        desired_val, failed = self.eval_resource_body(mi, res, info, extra, info.provider_type)
        if failed:
            return V.DYNAMIC_UNKNOWN, True
        # Preconditions hold before the object is planned; one known only after apply is
        # checked again then.
        if not all(
            [
                self.check_condition(c, mi, extra, "precondition")
                for c in res.lifecycle.preconditions
            ]
        ):
            return V.DYNAMIC_UNKNOWN, True
        desired = value_to_data(desired_val)
        desired_sensitive = sensitive_paths(desired_val)
        provider = self.providers.instance(pkey)
        if provider is None and pkey in self.deferred:
            prior_rec = self.prior.instance(addr)
            if prior_rec is None and moved_from is not NOT_MOVED:
                prior_rec = self.prior.instance(AbsResourceInstance(mi, res.addr, moved_from))
            return self.plan_unconfigured(addr, res, info, pkey, desired, prior_rec, deps)
        if provider is None:
            self.add_diags(
                [
                    error(
                        "Provider not configured",
                        f"The provider {pkey} could not be configured.",
                        res.range,
                    )
                ]
            )
            return V.DYNAMIC_UNKNOWN, True
        kind = provider.kind(res.type)
        ctx = self.make_ctx(addr, module_dir)
        ctx.extra = self.dependency_data(mi, res)
        prior_rec = self.prior.instance(addr)
        if prior_rec is None and moved_from is not NOT_MOVED:
            prior_rec = self.prior.instance(AbsResourceInstance(mi, res.addr, moved_from))
        if prior_rec is None and self.imports is not None and addr in self.imports.by_addr:
            from mlform.engine.imports import adopt

            prior_rec = adopt(self, addr, kind, ctx, res, provider, pkey, deps)
            if prior_rec is None:
                return V.DYNAMIC_UNKNOWN, True
        # A create whose answer a crash lost: find the object by its token and adopt it.
        pend = self.pending.get(str(addr))
        if prior_rec is None and pend is not None:
            found = call_with_retries(
                lambda: kind.find_by_token(pend.token, ctx), self.cancel, kind.provider
            )
            if found is not None:
                prior_rec = C.record_from_state(
                    found,
                    key,
                    deps,
                    [],
                    res.lifecycle.create_before_destroy,
                    # A job whose submit answer was lost: polled below like any pending one.
                    status=PENDING if getattr(kind, "long_running", False) else "ready",
                )
                prior_rec.provider_identity = provider.identity() or None
                with self._lock:
                    self.adopted[addr] = (pkey, prior_rec)
                self.hooks.message(
                    f"{addr}: found the object created before an interruption (id {found.id}); adopting it."
                )
            else:
                with self._lock:
                    self.abandoned.append(str(addr))
        if res.mode == "data":
            return self.plan_data(
                addr, res, info, kind, ctx, desired, desired_sensitive, pkey, deps
            )
        pending: dict[str, Any] | None = None
        if prior_rec is not None and prior_rec.pending:
            # Submitted earlier and not collected yet: ask where it stands, instead of reading.
            polled = self.poll_pending(addr, kind, prior_rec, info, ctx, res)
            if polled is None:
                return self.record_value(prior_rec, info), True
            prior_rec, pending = polled
            if pending["status"] == "succeeded" and self.options.mode == "refresh_only":
                with self._lock:
                    self.refreshed[addr] = prior_rec
        prior_rs = split_record(prior_rec, info.schema) if prior_rec is not None else None
        if (
            prior_rec is not None
            and prior_rec.provider_identity
            and prior_rec.id is not None
            and self.options.refresh
            and not prior_rec.tainted
            and self.provider_for_object(addr, pkey, prior_rec, "read") is None
        ):
            # Read elsewhere, it would seem gone, and be created again: the old one leaks.
            return self.record_value(prior_rec, info), True
        if (
            prior_rs is not None
            and self.options.refresh
            and pending is None
            and not prior_rec.tainted  # type: ignore[union-attr]
        ):
            try:
                # prior_rs is not None here (checked above); mypy does not narrow into the lambda.
                fresh = call_with_retries(
                    lambda: kind.read(prior_rs, ctx), self.cancel, kind.provider
                )  # type: ignore[arg-type]
            except ProviderError as exc:
                self.add_diags(
                    [error(f"Failed to refresh {addr}: {exc.summary}", exc.detail, res.range)]
                )
                return self.record_value(prior_rec, info), True
            self.note_refresh(addr, pkey, prior_rec, fresh, deps, res)  # type: ignore[arg-type]
            prior_rs = fresh
            if fresh is None:
                prior_rec = None
        if self.options.mode == "refresh_only":
            rec = self.refreshed.get(addr, prior_rec) if addr in self.refreshed else prior_rec
            return self.record_value(rec, info), False
        if prior_rec is not None and prior_rec.tainted and prior_rec.id is None:
            # A create that failed left no object: plan a create, with nothing to destroy.
            prior_rs = None
        # ignore_changes: keep what the state has for these paths.
        if prior_rs is not None:
            lc = res.lifecycle
            if lc.ignore_all:
                desired = {**desired, **{k: v for k, v in prior_rs.args.items()}}
            else:
                for path in lc.ignore_changes or []:
                    desired = set_path(desired, list(path), get_path(prior_rs.args, list(path)))
        try:
            planned = kind.plan(prior_rs, desired, ctx)
        except ConfigError as exc:
            subject = res.range
            if exc.attribute and exc.attribute in res.body.attributes:
                subject = res.body.attributes[exc.attribute].expr.range
            refused = [error(exc.summary, exc.detail, subject)]
            self.add_diags(
                self.located(refused, mi, self._body_travs(res), self.instance_address(addr))
            )
            with self._lock:
                self.refused.add(ResourceNode(ConfigResource(mi.module(), res.addr)))
            from mlform.sdk.schema import instance_type

            return V.unknown(instance_type(info.kind_cls)), False
        except ProviderError as exc:
            self.add_diags([error(about(addr, exc.summary), exc.detail, res.range)])
            return V.DYNAMIC_UNKNOWN, True
        try:
            replan = lambda: kind.plan(  # noqa: E731
                None, desired, dataclasses.replace(ctx, forced_replace=True)
            )
            change = self.decide(
                addr, res, planned, prior_rec, prior_rs, desired, pkey, deps, replan=replan
            )
        except ProviderError as exc:
            self.add_diags([error(about(addr, exc.summary), exc.detail, res.range)])
            return V.DYNAMIC_UNKNOWN, True
        if change is None:
            return V.DYNAMIC_UNKNOWN, True
        if (
            change.action in ("replace", "create_then_delete")
            and prior_rec is not None
            and self.provider_for_object(addr, pkey, prior_rec, "replace") is None
        ):
            return V.DYNAMIC_UNKNOWN, True
        if pending is not None:
            self.note_pending(addr, change, pending, info)
        waiting = sorted(
            {job for dep in deps for job in self.running_jobs.get(dep, ())} - {str(addr)}
        )
        if waiting and change.action != "noop":
            change.waiting_for = waiting
            change.reasons = [
                f"waiting for {job}, which is still running" for job in waiting
            ] + change.reasons
        change.after_sensitive = desired_sensitive + _schema_sensitive(info, change.after)
        # A provider's reasons may quote values; none of them may show a sensitive one.
        change.reasons = redact_texts(
            change.reasons,
            [
                (change.before, derived_sensitive(change.before, change.before_sensitive)),
                (change.after, derived_sensitive(change.after, change.after_sensitive)),
            ],
        )
        with self._lock:
            self.changes[addr] = change
        after, after_sensitive = change.after or {}, change.after_sensitive
        return (lambda: self.data_value(after, after_sensitive, info)), False  # type: ignore[return-value]

    def poll_pending(
        self,
        addr: AbsResourceInstance,
        kind: Any,
        prior_rec: InstanceRecord,
        info: KindInfo,
        ctx: Context,
        res: ResourceConfig,
    ) -> tuple[InstanceRecord, dict[str, Any]] | None:
        """Where a pending object stands: (the record to plan from, what the plan says of it).
        Still running: the pending record; succeeded: the final object, its outputs collected
        (ready); failed: the object as it is, tainted, so that it is replaced. None: the poll
        failed (reported)."""
        prior_rs = split_record(prior_rec, info.schema)
        base: dict[str, Any] = {"id": prior_rec.id, "submitted_at": prior_rec.created_at}
        if not getattr(kind, "long_running", False):
            # Its kind no longer runs anything long (a provider downgraded?): replace it.
            failed = InstanceRecord(**{**prior_rec.__dict__, "status": TAINTED})
            return failed, {**base, "status": "failed", "summary": "its kind cannot be polled"}
        try:
            st = call_with_retries(lambda: kind.poll(prior_rs, ctx), self.cancel, kind.provider)
        except ProviderError as exc:
            self.add_diags(
                [error(f"Failed to refresh {addr}: {exc.summary}", exc.detail, res.range)]
            )
            return None
        out = {
            **base,
            "status": st.status,
            "elapsed_s": st.elapsed_s,
            "last_line": st.last_line,
            "progress": list(st.progress) if st.progress is not None else None,
        }
        if st.running:
            return prior_rec, out
        status = "ready" if st.status == "succeeded" else TAINTED
        if st.status == "failed":
            out["summary"] = st.summary or "the job failed"
        rec = C.record_from_state(
            st.state or prior_rs,
            prior_rec.index_key,
            prior_rec.dependencies,
            prior_rec.sensitive_paths,
            prior_rec.create_before_destroy,
            status,
        )
        rec.private = {**prior_rec.private, **rec.private}
        rec.created_at = prior_rec.created_at
        rec.provider_identity = prior_rec.provider_identity
        return rec, out

    def note_pending(
        self,
        addr: AbsResourceInstance,
        change: InstanceChange,
        pending: dict[str, Any],
        info: KindInfo,
    ) -> None:
        """What the plan says of a pending object: a job still running is a no-op whose outputs
        are not known yet (dependents wait for it); a finished one is collected by apply; a
        failed one is replaced, and the plan says why."""
        change.pending = pending
        if pending["status"] == "running" and change.action == "noop":
            unknown = {k: _unknown() for k in info.schema.attrs.attributes if k != "id"}
            change.after = {**(change.after or {}), **unknown}
            with self._lock:
                self.running_jobs.setdefault(str(addr.abs_resource), []).append(str(addr))
        elif pending["status"] == "failed":
            change.reasons = [f"its last run failed: {pending.get('summary')}"] + change.reasons

    def plan_unconfigured(
        self,
        addr: AbsResourceInstance,
        res: ResourceConfig,
        info: KindInfo,
        pkey: str,
        desired: dict[str, Any],
        prior_rec: InstanceRecord | None,
        deps: list[str],
    ) -> tuple[Value, bool]:
        """Plan an instance whose provider configuration is known only after apply (it refers
        to a cluster created in the same apply, say): an object to create is planned from the
        schema alone, everything it computes unknown; a data source is read during apply. An
        object that exists cannot be read or compared without its provider: that is an error
        that says what to apply first."""
        from mlform.sdk.planning import default_plan

        unknown = ", ".join(self.deferred.get(pkey, []))
        note = f"{pkey} is configured from values known only after apply ({unknown})"
        if res.mode == "data":
            change = InstanceChange(
                addr=addr,
                provider=pkey,
                action="read",
                after={**desired, **{k: _unknown() for k in info.schema.attrs.attributes}},
                action_reason=C.READ_CONFIG_UNKNOWN,
                dependencies=deps,
            )
            with self._lock:
                self.changes[addr] = change
            return V.DYNAMIC_UNKNOWN, False
        if prior_rec is not None and not (prior_rec.tainted and prior_rec.id is None):
            node = self.provider_node(pkey)
            upstream = (
                sorted(str(n) for n in self.cg.graph.ancestors(node) if isinstance(n, ResourceNode))
                if node is not None
                else []
            )
            how = (
                "\n    mlform apply " + " ".join(f"--target={t}" for t in upstream)
                if upstream
                else " mlform apply --target=ADDRESS"
            )
            self.add_diags(
                [
                    error(
                        "Provider configuration not known until apply",
                        f"{addr} exists, and {note}, so mlform can neither read it nor plan its changes. "
                        f"Apply what the provider configuration refers to first:{how}\n"
                        "then plan again.",
                        res.range,
                    )
                ]
            )
            return V.DYNAMIC_UNKNOWN, True
        if self.options.mode == "refresh_only":
            return V.DYNAMIC_UNKNOWN, False
        try:
            planned = default_plan(info.kind_cls, None, desired)
        except (ProviderError, ValueError) as exc:
            self.add_diags([error(about(addr, str(exc)), "", res.range)])
            return V.DYNAMIC_UNKNOWN, True
        reasons = [note]
        if prior_rec is not None and prior_rec.tainted:
            reasons.insert(0, "the last attempt to create it failed")
        change = InstanceChange(
            addr=addr,
            provider=pkey,
            action="create",
            after=planned_after(planned.args or desired, planned.attrs, None, "create"),
            reasons=reasons,
            dependencies=deps,
            create_before_destroy=res.lifecycle.create_before_destroy,
        )
        change.after_sensitive = _schema_sensitive(info, change.after)
        with self._lock:
            self.changes[addr] = change
        after, after_sensitive = change.after or {}, change.after_sensitive
        return self.data_value(after, after_sensitive, info), False

    def note_refresh(
        self,
        addr: AbsResourceInstance,
        pkey: str,
        prior_rec: InstanceRecord,
        fresh: ResourceState | None,
        deps: list[str],
        res: ResourceConfig,
    ) -> None:
        if fresh is None:
            with self._lock:
                self.drift.append(Drift(addr, pkey, prior_rec.attributes, None))
                self.refreshed[addr] = None
            return
        new_rec = C.record_from_state(
            fresh,
            prior_rec.index_key,
            prior_rec.dependencies,
            prior_rec.sensitive_paths,
            prior_rec.create_before_destroy,
            prior_rec.status,
        )
        new_rec.created_at = prior_rec.created_at
        new_rec.provider_identity = prior_rec.provider_identity
        if new_rec.attributes != prior_rec.attributes:
            with self._lock:
                self.drift.append(Drift(addr, pkey, prior_rec.attributes, new_rec.attributes))
                self.refreshed[addr] = new_rec

    def decide(
        self,
        addr: AbsResourceInstance,
        res: ResourceConfig,
        planned: Planned,
        prior_rec: InstanceRecord | None,
        prior_rs: ResourceState | None,
        desired: dict[str, Any],
        pkey: str,
        deps: list[str],
        replan: Callable[[], Planned] | None = None,
    ) -> InstanceChange | None:
        action: str = planned.action  # may become "create_then_delete" below
        reasons = list(planned.reasons)
        action_reason: str | None = None
        if prior_rs is None:
            action = "create"
            if prior_rec is not None and prior_rec.tainted:
                reasons.insert(0, "the last attempt to create it failed")
        elif prior_rec is not None and prior_rec.tainted:
            # The heading says "is tainted, so must be replaced"; no reason line repeats it.
            action = "replace"
            action_reason = C.REPLACE_BECAUSE_TAINTED
        elif any(target_contains(r, addr) for r in self.options.replace):
            action = "replace"
            reasons.insert(0, "replacement requested with --replace")
            action_reason = C.REPLACE_BY_REQUEST
        elif action != "replace" and self.triggered(res, addr):
            action = "replace"
            reasons.insert(0, "replace_triggered_by: a referenced resource is changing")
            action_reason = C.REPLACE_BY_TRIGGERS
        elif action == "replace":
            action_reason = C.REPLACE_BECAUSE_CANNOT_UPDATE
        if action == "replace" and res.lifecycle.create_before_destroy:
            action = "create_then_delete"
        if action in ("replace", "create_then_delete") and res.lifecycle.prevent_destroy:
            self.prevent_destroy_error(addr, res)
            return None
        if (
            replan is not None
            and prior_rs is not None
            and action in ("replace", "create_then_delete")
            and planned.action != "replace"
        ):
            # A replacement the engine forces (taint, --replace, replace_triggered_by) creates
            # a new object: plan it as a create, as apply will, so that what only the new object
            # can tell (a retrained model's digest) is unknown rather than the old object's value.
            fresh = replan()
            planned = Planned(
                action=planned.action,
                attrs=fresh.attrs,
                reasons=planned.reasons,
                replace_paths=planned.replace_paths,
                args=fresh.args,
                private=fresh.private,
            )
        args = planned.args or desired
        attrs = dict(planned.attrs)
        prior_id = prior_rs.id if prior_rs is not None else None
        before = prior_rec.attributes if prior_rec is not None and prior_rs is not None else None
        if before is not None and addr in self.refreshed and self.refreshed[addr] is not None:
            before = self.refreshed[addr].attributes  # type: ignore[union-attr]
        after = planned_after(args, attrs, prior_id, action)
        return InstanceChange(
            addr=addr,
            provider=pkey,
            action=action,
            before=before,
            after=after,
            before_sensitive=prior_rec.sensitive_paths if prior_rec is not None else [],
            replace_paths=list(planned.replace_paths),
            reasons=reasons,
            action_reason=action_reason,
            dependencies=deps,
            create_before_destroy=res.lifecycle.create_before_destroy,
            private=dict(planned.private),
        )

    def prevent_destroy_error(self, addr: AbsResourceInstance, res: ResourceConfig) -> None:
        self.add_diags(
            [
                error(
                    "Instance cannot be destroyed",
                    f"Resource {addr} has lifecycle.prevent_destroy set, but the plan calls for this resource to be "
                    "destroyed. To avoid this error and continue with the plan, either disable "
                    "lifecycle.prevent_destroy or reduce the scope of the plan using the --target flag.",
                    res.range,
                )
            ]
        )

    def triggered(self, res: ResourceConfig, addr: AbsResourceInstance) -> bool:
        for expr in res.lifecycle.replace_triggered_by:
            for t in ast.traversals(expr):
                if t.root in ("count", "each", "var", "local", "path", "module", "data", "self"):
                    continue
                if not t.steps or not isinstance(t.steps[0], ast.AttrStep):
                    continue
                from mlform.addrs import Resource

                target = AbsResource(addr.module, Resource("managed", t.root, t.steps[0].name))
                key_filter: Any = ...
                if len(t.steps) > 1 and isinstance(t.steps[1], ast.IndexStep):
                    key_filter = t.steps[1].key.v  # type: ignore[attr-defined]
                with self._lock:
                    for caddr, ch in self.changes.items():
                        if caddr.abs_resource != target:
                            continue
                        if key_filter is not ... and caddr.key != key_filter:
                            continue
                        # An existing object that will change triggers; a first create does not.
                        if ch.before is not None and ch.action in (
                            "update",
                            "replace",
                            "create_then_delete",
                        ):
                            return True
        return False

    def plan_delete(
        self, addr: AbsResourceInstance, pkey: str, info: KindInfo | None, reason: str
    ) -> None:
        rec = self.prior.instance(addr)
        if rec is None or rec.is_shell:
            return  # a shell holds only deposed objects, which have deletes of their own
        module = self.cg.modules.get(addr.module.module())
        res_cfg = module.resources.get(addr.resource) if module else None
        if res_cfg is not None and res_cfg.lifecycle.prevent_destroy:
            self.prevent_destroy_error(addr, res_cfg)
            return
        if (
            rec.id is not None
            and addr.resource.mode == "managed"
            and self.provider_for_object(addr, pkey, rec, "delete") is None
        ):
            return
        with self._lock:
            self.changes[addr] = InstanceChange(
                addr=addr,
                provider=pkey,
                action="delete",
                before=rec.attributes,
                after=None,
                before_sensitive=rec.sensitive_paths,
                reasons=[_delete_reason_text(reason, addr)],
                action_reason=reason,
                dependencies=rec.dependencies,
            )

    def plan_data(
        self,
        addr: AbsResourceInstance,
        res: ResourceConfig,
        info: KindInfo,
        kind: Any,
        ctx: Context,
        desired: dict[str, Any],
        desired_sensitive: list[list[str | int]],
        pkey: str,
        deps: list[str],
    ) -> tuple[Value, bool]:
        if data_has_unknown(desired):
            change = InstanceChange(
                addr=addr,
                provider=pkey,
                action="read",
                after={**desired, **{k: _unknown() for k in info.schema.attrs.attributes}},
                # No reason line: the note for READ_CONFIG_UNKNOWN says it.
                action_reason=C.READ_CONFIG_UNKNOWN,
                dependencies=deps,
            )
            with self._lock:
                self.changes[addr] = change
            return V.DYNAMIC_UNKNOWN, False
        try:
            result = call_with_retries(
                lambda: kind.read_data(desired, ctx), self.cancel, kind.provider
            )
        except ProviderError as exc:
            self.add_diags([error(f"Failed to read {addr}: {exc.summary}", exc.detail, res.range)])
            return V.DYNAMIC_UNKNOWN, True
        after = {**desired, **result}
        # Read now, so nothing is left for apply to do but record it: a no-op that carries
        # what was read (a plan lists only the data sources it must read during apply).
        change = InstanceChange(
            addr=addr,
            provider=pkey,
            action="noop",
            after=after,
            dependencies=deps,
            after_sensitive=desired_sensitive,
        )
        with self._lock:
            self.changes[addr] = change
        return self.data_value(after, desired_sensitive, info), False


def _same_branch(a: ModuleInstance, b: ModuleInstance) -> bool:
    """Whether two module instances agree on the keys of the module calls both paths pass."""
    for sa, sb in zip(a.steps, b.steps, strict=False):
        if sa.name != sb.name:
            return True
        if sa.key != sb.key:
            return False
    return True


def _unknown_expansion(d: Diagnostic) -> bool:
    """A count or for_each refused because its value is not known until apply."""
    return d.summary in ("Invalid count argument", "Invalid for_each argument") and (
        "cannot be determined until apply" in d.detail or "not known until apply" in d.detail
    )


def about(addr: AbsResourceInstance, summary: str) -> str:
    """An error summary that names the instance once (providers often name it themselves)."""
    return summary if str(addr) in summary else f"{addr}: {summary}"


def _unknown() -> Any:
    from mlform.sdk import UNKNOWN

    return UNKNOWN


def _schema_sensitive(info: KindInfo, data: dict[str, Any] | None) -> list[list[str | int]]:
    if not data:
        return []
    from mlform.sdk.schema import sensitive_paths as schema_sensitive

    try:
        return [list(p) for p in schema_sensitive(info.kind_cls, data)]
    except Exception:  # noqa: BLE001 - marks are best effort on partial data
        return []


def implicit_moves(prior_keys: list[Key], exp: Expansion) -> dict[Key, Key]:
    """Terraform's implicit moves: a single instance becomes `[0]` when count is added, and
    `[0]` becomes the single instance when count is removed."""
    moves: dict[Key, Key] = {}
    if exp.mode == "count" and 0 in exp.keys and None in prior_keys and 0 not in prior_keys:
        moves[0] = None
    if exp.mode == "single" and 0 in prior_keys and None not in prior_keys:
        moves[None] = 0
    return moves


def orphan_reason(key: Key, exp: Expansion) -> str:
    if exp.mode == "count":
        return C.DELETE_COUNT_INDEX if isinstance(key, int) else C.DELETE_WRONG_REPETITION
    if exp.mode == "for_each":
        return C.DELETE_EACH_KEY if isinstance(key, str) else C.DELETE_WRONG_REPETITION
    return C.DELETE_WRONG_REPETITION


def _delete_reason_text(reason: str, addr: AbsResourceInstance) -> str:
    # Worded as Terraform words these notes, so that a view showing both the note for the
    # action reason and the reasons says it once.
    import json

    key = addr.key
    if reason == C.DELETE_WRONG_REPETITION:
        if key is None:
            return "resource uses count or for_each"
        return f"resource does not use {'count' if isinstance(key, int) else 'for_each'}"
    return {
        C.DELETE_COUNT_INDEX: f"index [{key}] is out of range for count",
        C.DELETE_EACH_KEY: f"key [{json.dumps(str(key), ensure_ascii=False)}] is not in for_each map",
        C.DELETE_NO_CONFIG: f"{addr.resource.type}.{addr.resource.name} is not in configuration",
        C.DELETE_NO_MODULE: f"{addr.module} is not in configuration",
    }.get(reason, reason)


def _names_resource(node: Node, t: Target) -> bool:
    """Whether a target names this resource block: itself, one of its instances, or a module
    (any instance of it) that contains it."""
    from mlform.addrs import ModuleInstance as _MI

    if not isinstance(node, ResourceNode):
        return False
    if isinstance(t, _MI):
        names = tuple(st.name for st in t.steps)
        return node.addr.module.names[: len(names)] == names
    names = tuple(st.name for st in t.module.steps)
    return node.addr.module.names == names and node.addr.resource == t.resource


def select_resources(
    cg: ConfigGraph, targets: list[Target], excludes: list[Target]
) -> set[Node] | None:
    """The resource nodes a targeted plan covers: the targets and what they depend on, minus
    the excluded ones and what depends on them. None: everything."""
    if not targets and not excludes:
        return None
    from mlform.addrs import ModuleInstance as _MI

    def matches(node: ResourceNode, t: Target) -> bool:
        # Nodes are declarations, not instances: compare module names, not instance keys.
        if isinstance(t, _MI):
            names = tuple(s.name for s in t.steps)
            return node.addr.module.names[: len(names)] == names
        names = tuple(s.name for s in t.module.steps)
        return node.addr.module.names == names and node.addr.resource == t.resource

    resource_nodes = [n for n in cg.graph.nodes() if isinstance(n, ResourceNode)]
    if targets:
        chosen = {n for n in resource_nodes if any(matches(n, t) for t in targets)}
        keep = (
            set(chosen) | {a for a in cg.graph.ancestors(*chosen) if isinstance(a, ResourceNode)}
            if chosen
            else set()
        )
    else:
        keep = set(resource_nodes)
    if excludes:
        from mlform.addrs import AbsResourceInstance as _ARI

        # A whole resource or module excluded goes with everything that depends on it; an
        # excluded instance takes its dependents along but leaves its siblings (filtered
        # instance by instance).
        whole = {
            n
            for n in resource_nodes
            if any(matches(n, t) for t in excludes if not isinstance(t, _ARI))
        }
        partly = {
            n for n in resource_nodes if any(matches(n, t) for t in excludes if isinstance(t, _ARI))
        }
        dropped = set(whole)
        if whole or partly:
            dropped |= {
                d for d in cg.graph.descendants(*whole, *partly) if isinstance(d, ResourceNode)
            }
        keep -= dropped
    return set(keep)


def orphan_resources(
    prior: State, visited: set[AbsResource], cg: ConfigGraph
) -> list[tuple[AbsResource, str]]:
    """State resources no walk visited: removed from the configuration, or in a module
    instance that no longer exists."""
    out = []
    for rec in prior.resources:
        abs_res = rec.addr()
        if abs_res in visited:
            continue
        module = cg.modules.get(abs_res.module.module())
        if module is None:
            reason = C.DELETE_NO_MODULE
        elif abs_res.resource not in module.resources:
            reason = C.DELETE_NO_CONFIG
        else:
            reason = C.DELETE_NO_MODULE
        out.append((abs_res, reason))
    return out


def warn_unused(diags: list[Diagnostic], text: str) -> None:
    diags.append(warning(text))


def _identity_text(identity: dict[str, str]) -> str:
    return ", ".join(f'{k} = "{v}"' for k, v in sorted(identity.items())) or "no identity"


def _provider_removed(
    addr: AbsResourceInstance,
    pkey: str,
    rec: InstanceRecord | None,
    current: dict[str, str] | None,
) -> Diagnostic:
    """Terraform's error for an object whose provider configuration left the configuration."""
    recorded = rec.provider_identity if rec is not None else None
    was = f" (it was configured with {_identity_text(recorded)})" if recorded else ""
    now = (
        f" Without its block, {pkey} is configured with {_identity_text(current)}, which is not "
        "where the object lives."
        if current
        else ""
    )
    return error(
        "Provider configuration not present",
        f"To work with {addr} its original provider configuration at {pkey} is required, but it has "
        "been removed. This occurs when a provider configuration is removed while objects created by "
        f"that provider still exist in the state.{now} Re-add the provider configuration{was} to "
        f"destroy {addr}, after which you can remove the provider configuration again.",
    )
