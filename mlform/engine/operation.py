"""The operations the CLI drives: load, plan, apply, destroy, import, refresh.

One front object, `Operations`, holds the working directory, the workspace and the backend;
each command maps its flags to one call on it and renders the result.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from mlform.addrs import (
    AbsResource,
    AbsResourceInstance,
    ModuleInstance,
    ModulePath,
    parse_instance,
)
from mlform.config.loader import config_files, load_config
from mlform.config.model import Module
from mlform.config.variables import collect, resolve, terminal_prompt
from mlform.diagnostics import Diagnostic, DiagnosticsError, error, warning
from mlform.engine import changes as C
from mlform.engine.applier import Applier, delete_deposed, delete_in_order
from mlform.engine.bridge import (
    data_has_unknown,
    derived_sensitive,
    sensitive_paths,
    value_to_data,
)
from mlform.engine.changes import InstanceChange
from mlform.engine.checks import CheckOutcome, evaluate_checks
from mlform.engine.cost import plan_costs, read_history
from mlform.engine.graph import ConfigGraph, build_graph
from mlform.engine.guardrails import check_plan
from mlform.engine.imports import (
    FORGET,
    Forgets,
    Imports,
    forget_change,
    forget_warning,
    record_from_plan,
    record_to_plan,
)
from mlform.engine.planner import Planner, PlanOptions, ResourceWalker, orphan_resources
from mlform.engine.providers import ProviderManager
from mlform.engine.scope import EvalState
from mlform.engine.validate import sort_diagnostics
from mlform.engine.walk import Hooks, WalkSettings
from mlform.lang.values import Value
from mlform.plans import Action, OutputChange, Plan, ResourceChange, config_digest
from mlform.sdk import UNKNOWN
from mlform.state import OutputRecord, State
from mlform.state.backends import Backend, load_backend
from mlform.state.encryption import Encryption
from mlform.state.session import StateSession

W = TypeVar("W", bound=ResourceWalker)

# Seconds apply waits, after the first Ctrl-C made it stop waiting for jobs, for a second one
# that cancels them.
INTERRUPT_GRACE = 3.0

ACTION_OF = {
    "create": Action.CREATE,
    "update": Action.UPDATE,
    "replace": Action.DELETE_THEN_CREATE,
    "create_then_delete": Action.CREATE_THEN_DELETE,
    "delete": Action.DELETE,
    "noop": Action.NOOP,
    "read": Action.READ,
    "forget": Action.FORGET,
}
ENGINE_ACTION = {v: k for k, v in ACTION_OF.items()}


@dataclass
class Loaded:
    root: Module
    cg: ConfigGraph
    root_vars: dict[str, Value]
    files: dict[str, bytes]
    diags: list[Diagnostic] = field(default_factory=list)


@dataclass
class PlanResult:
    plan: Plan
    changes: dict[AbsResourceInstance, InstanceChange]
    diags: list[Diagnostic]
    adopted: dict[AbsResourceInstance, tuple[str, Any]] = field(default_factory=dict)
    abandoned: list[str] = field(default_factory=list)
    refreshed: dict[AbsResourceInstance, Any] = field(default_factory=dict)
    moved: list[tuple[str, str]] = field(default_factory=list)
    # Deletes of deposed objects, apart from `changes` (which holds one change per address).
    deposed: list[InstanceChange] = field(default_factory=list)

    @property
    def errored(self) -> bool:
        return any(d.is_error for d in self.diags)


class Operations:
    def __init__(
        self, workdir: Path | str = ".", workspace: str | None = None, hooks: Hooks | None = None
    ):
        from mlform.state.workspace import current_workspace

        self.workdir = Path(workdir)
        self.workspace = workspace or current_workspace(self.workdir)
        self.hooks = hooks or Hooks()
        self.data_dir = self.workdir / ".mlform"
        self.cancel = threading.Event()
        # The second Ctrl-C while jobs this run submitted are left running: cancel them.
        self.abort = threading.Event()
        # After apply: the jobs left running (pending), and those a second Ctrl-C cancelled.
        self.detached: list[AbsResourceInstance] = []
        self.cancelled_jobs: list[AbsResourceInstance] = []
        self._applier: Applier | None = None
        self._root: Module | None = None
        self._encryption: Encryption | None = None
        self._var_args: list[Any] = []

    # -- configuration -------------------------------------------------------------------------

    def load_root(self) -> Module:
        if self._root is None:
            root, diags = load_config(self.workdir)
            if any(d.is_error for d in diags):
                raise DiagnosticsError(sort_diagnostics(diags))
            self._root = root
        return self._root

    def backend(self) -> Backend:
        from mlform.config.decode import static_value
        from mlform.config.loader import config_files

        root = self._root
        if root is None and config_files(self.workdir):
            # The backend is configured in the files: a broken file must be reported, not
            # silently replaced by the local backend.
            root = self.load_root()
        btype, bconf = "local", {}
        if root is not None and root.settings.backend is not None:
            bc = root.settings.backend
            btype = bc.type
            for name, attr in bc.body.attributes.items():
                v = static_value(attr.expr)
                if v is None:
                    raise DiagnosticsError(
                        [
                            error(
                                "Variables not allowed",
                                "A backend's settings are read before anything is evaluated, so they must be literal values.",
                                attr.expr.range,
                            )
                        ]
                    )
                bconf[name] = v.to_python()
        backend = load_backend(btype, bconf, self.workdir)
        backend.encryption = self.encryption(root).state
        return backend

    def encryption(self, root: Module | None = None) -> Encryption:
        """The state and plan encryption the configuration and MLFORM_ENCRYPTION ask for,
        passphrases read from the variables given to this run (cached)."""
        if self._encryption is None:
            from mlform.state.encryption import load_encryption

            if root is None and self._root is None and config_files(self.workdir):
                root = self.load_root()
            self._encryption = load_encryption(root or self._root, self.workdir, self._var_args)
        return self._encryption

    def load(
        self, var_args: list[Any], interactive: bool = True, allow_missing: bool = False
    ) -> Loaded:
        from mlform.engine.init import check_lock

        root = self.load_root()
        self._var_args = list(var_args)
        diags: list[Diagnostic] = list(check_lock(self.workdir, root))
        raw, vd = collect(self.workdir, var_args)
        diags.extend(vd)
        prompt = terminal_prompt if interactive else None
        root_vars, rd = resolve(root, raw, allow_missing=allow_missing, prompt=prompt)
        diags.extend(rd)
        cg, gd = build_graph(root)
        diags.extend(gd)
        if any(d.is_error for d in diags):
            raise DiagnosticsError(sort_diagnostics(diags))
        files: dict[str, bytes] = {}
        for m in root.walk():
            for f in config_files(m.dir):
                try:
                    rel = str(f.resolve().relative_to(self.workdir.resolve()))
                except ValueError:
                    rel = str(f)
                files[rel] = f.read_bytes()
        return Loaded(root, cg, root_vars, files, diags)

    def open_session(
        self, operation: str, lock: bool = True, lock_timeout: float = 0.0
    ) -> StateSession:
        return StateSession.open(
            self.backend(),
            self.workspace,
            operation=operation,
            lock=lock,
            lock_timeout=lock_timeout,
        )

    # -- plan ------------------------------------------------------------------------------------

    def walker(
        self,
        cls: type[W],
        loaded: Loaded,
        prior: State,
        options: PlanOptions,
        providers: ProviderManager | None = None,
        **extra: Any,
    ) -> W:
        """A walker of the given kind over the loaded configuration, with a fresh evaluation
        state and (unless given) provider set."""
        return cls(
            loaded.cg,
            EvalState(loaded.cg.modules, self.workdir, self.workspace),
            providers or ProviderManager(self.workdir, self.data_dir),
            loaded.root_vars,
            WalkSettings(parallelism=options.parallelism, cancel=self.cancel),
            prior,
            options,
            self.data_dir,
            self.hooks,
            **extra,
        )

    def moves(
        self, loaded: Loaded, state: State
    ) -> tuple[State, list[tuple[str, str]], list[Diagnostic]]:
        """`moved` blocks applied to a copy of the state: the moves that apply (their source is
        in state and their destination is not), in declaration order."""
        from mlform.addrs import AddressError, parse_target
        from mlform.lang.ast import traversal_text
        from mlform.state.edit import move
        from mlform.state.errors import StateError

        done: list[tuple[str, str]] = []
        diags: list[Diagnostic] = []
        for m in loaded.root.walk():
            blocks = []
            for mv in m.moved:
                try:
                    src = parse_target(traversal_text(mv.from_))
                    dst = parse_target(traversal_text(mv.to))
                except AddressError as exc:
                    diags.append(error("Invalid moved block", str(exc), mv.range))
                    continue
                blocks.append((mv, src, dst))
            if not blocks:
                continue
            # A module's moved blocks speak of addresses inside the module: they apply in each
            # of its instances that the state holds objects under.
            for base in _module_instances_in_state(state, m.path):
                for mv, rel_src, rel_dst in blocks:
                    src, dst = _inside(base, rel_src), _inside(base, rel_dst)
                    if not _present(state, src) or _present(state, dst):
                        continue
                    try:
                        state = move(state, src, dst)
                    except StateError as exc:
                        diags.append(error("Cannot apply moved block", str(exc), mv.range))
                        continue
                    done.append((str(src), str(dst)))
        return state, done, diags

    def plan(self, loaded: Loaded, prior: State, options: PlanOptions) -> PlanResult:
        prior, moved, mdiags = self.moves(loaded, prior)
        loaded.diags.extend(mdiags)
        planner = self.walker(Planner, loaded, prior, options)
        evals, providers = planner.evals, planner.providers
        # import and removed blocks (mlform.engine.imports).
        imports, forgets = Imports(loaded.root), Forgets(loaded.root)
        loaded.diags.extend(imports.diags + forgets.diags)
        forgotten: list[AbsResourceInstance] = []
        if options.mode == "normal":
            planner.imports = imports
        checked = CheckOutcome()
        try:
            if options.mode == "destroy":
                # Each provider configured as plan and apply configure it, so that what
                # destroy would delete is checked against the configuration that created it.
                self.configure_providers(loaded, prior, options, planner)
                changes = self._destroy_changes(prior, loaded.cg, planner)
            else:
                planner.run()
                for abs_res, reason in orphan_resources(prior, planner.visited, loaded.cg):
                    if options.mode == "refresh_only":
                        continue
                    if planner.selected is not None:
                        continue
                    rec = prior.resource(abs_res)
                    if rec is None:
                        continue
                    for inst in rec.instances:
                        addr = abs_res.instance(inst.index_key)
                        if forgets.forgets(addr):
                            planner.changes[addr] = forget_change(addr, rec.provider, inst)
                            forgotten.append(addr)
                            continue
                        planner.plan_delete(addr, rec.provider, None, reason)
                changes = planner.changes
                # check blocks, once everything is planned (mlform.engine.checks).
                checked = evaluate_checks(planner)
        finally:
            providers.close()
        diags = (
            loaded.diags
            + ([forget_warning(forgotten)] if forgotten else [])
            + planner.diags
            + checked.diags
            + _unmatched_addresses(options, changes, prior)
            + _targeting_warning(options, applied=False)
        )
        deposed = _deposed_changes(prior, options)
        plan = self._make_plan(loaded, prior, options, changes, planner, evals, diags, deposed)
        plan.checks = checked.to_json()
        _mark_moves(plan, moved)
        _mark_imports(plan, imports, planner)
        # Prices, the runs' estimated costs, max_price_per_hour (mlform.engine.cost).
        priced = plan_costs(
            plan, loaded.cg.modules, providers, lambda: read_history(self.backend(), self.workspace)
        )
        if priced:
            diags = diags + priced
            plan.errored = True
        # The team's guardrails hold on what the plan makes (mlform.engine.guardrails).
        guarded = check_plan(loaded.root, loaded.cg.modules, plan)
        if guarded:
            diags = diags + guarded
            plan.errored = plan.errored or any(d.is_error for d in guarded)
        return PlanResult(
            plan,
            changes,
            sort_diagnostics(diags),
            planner.adopted,
            planner.abandoned,
            planner.refreshed,
            moved,
            deposed,
        )

    def _destroy_changes(
        self, prior: State, cg: ConfigGraph, planner: Planner
    ) -> dict[AbsResourceInstance, InstanceChange]:
        for _addr, rec, inst in prior.all_instances():
            a = rec.addr().instance(inst.index_key)
            if rec.mode == "data" or inst.is_shell:
                continue
            module = cg.modules.get(a.module.module())
            cfg = module.resources.get(a.resource) if module else None
            if cfg is not None and cfg.lifecycle.prevent_destroy:
                planner.prevent_destroy_error(a, cfg)
                continue
            if (
                inst.id is not None
                and planner.provider_for_object(a, rec.provider, inst, "delete") is None
            ):
                continue
            planner.changes[a] = InstanceChange(
                addr=a,
                provider=rec.provider,
                action="delete",
                before=inst.attributes,
                before_sensitive=inst.sensitive_paths,
                dependencies=inst.dependencies,
            )
        return planner.changes

    def _make_plan(
        self,
        loaded: Loaded,
        prior: State,
        options: PlanOptions,
        changes: dict[AbsResourceInstance, InstanceChange],
        planner: Planner,
        evals: EvalState,
        diags: list[Diagnostic],
        deposed: list[InstanceChange],
    ) -> Plan:
        rcs = [to_resource_change(ch) for ch in [*changes.values(), *deposed]]
        drift = []
        for d in planner.drift:
            prior_inst = prior.instance(d.addr)
            sens = prior_inst.sensitive_paths if prior_inst is not None else []
            drift.append(
                ResourceChange(
                    addr=d.addr,
                    action=Action.UPDATE if d.after is not None else Action.DELETE,
                    provider=d.provider,
                    before=d.before,
                    after=d.after,
                    before_sensitive=derived_sensitive(d.before, sens),
                    after_sensitive=derived_sensitive(d.after, sens),
                    # No reason line: the heading says "has changed" or "has been deleted".
                )
            )
        outputs = []
        if options.mode != "refresh_only":
            root_out = evals.module_values(ModuleInstance()).outputs
            root_cfg = loaded.root.outputs
            for name, out in root_cfg.items():
                value = root_out.get(name)
                prior_out = prior.outputs.get(name)
                if options.mode == "destroy":
                    if prior_out is not None:
                        outputs.append(
                            OutputChange(
                                name, Action.DELETE, prior_out.value, None, prior_out.sensitive
                            )
                        )
                    continue
                after = value_to_data(value) if value is not None else UNKNOWN
                hidden = out.sensitive or (value is not None and value.has_mark_deep("sensitive"))
                if prior_out is None:
                    outputs.append(OutputChange(name, Action.CREATE, None, after, hidden))
                elif data_has_unknown(after) or prior_out.value != after:
                    outputs.append(
                        OutputChange(name, Action.UPDATE, prior_out.value, after, hidden)
                    )
                else:
                    outputs.append(OutputChange(name, Action.NOOP, prior_out.value, after, hidden))
            for name, prior_out in prior.outputs.items():
                if name not in root_cfg:
                    outputs.append(
                        OutputChange(
                            name, Action.DELETE, prior_out.value, None, prior_out.sensitive
                        )
                    )
        return Plan(
            mode=options.mode,  # type: ignore[arg-type]
            changes=sorted(rcs, key=lambda c: c.sort_key()),
            drift=sorted(drift, key=lambda c: c.sort_key()),
            output_changes=outputs,
            prior_state=prior.to_json(),
            # A passphrase of the state encryption is not the plan's to keep.
            variables={
                k: value_to_data(v)
                for k, v in loaded.root_vars.items()
                if k not in self.encryption(loaded.root).variables
            },
            sensitive_variables=sorted(
                k
                for k, v in loaded.root_vars.items()
                if v.is_sensitive and k not in self.encryption(loaded.root).variables
            ),
            targets=[str(t) for t in options.targets],
            excludes=[str(t) for t in options.excludes],
            force_replace=[str(r) for r in options.replace],
            workspace=self.workspace,
            state_serial=prior.serial,
            # A state never written (serial 0) has a lineage made up for this run alone; the
            # next run makes up another, so a saved plan must not be tied to it.
            state_lineage=prior.lineage if prior.serial else None,
            config_digest=config_digest(loaded.files),
            errored=any(d.is_error for d in diags),
        )

    # -- apply -------------------------------------------------------------------------------------

    def apply(
        self, loaded: Loaded, session: StateSession, result: PlanResult, options: PlanOptions
    ) -> list[Diagnostic]:
        """Carry out a plan, recording each step in the session's journal as it completes."""
        diags: list[Diagnostic] = []
        self._apply_moves(session, result.moved)
        for addr, (pkey, rec) in result.adopted.items():
            session.put_instance(addr, pkey, rec)
        for pending in result.abandoned:
            session.resolve_pending(pending)
        for change in result.changes.values():
            if change.action == FORGET:
                # A removed block with destroy = false: the state lets go, the object stays.
                session.remove_instance(change.addr)
        if options.mode == "refresh_only":
            for addr, rec in result.refreshed.items():
                if rec is None:
                    session.forget_object(addr, _provider_of(session.state, addr))
                else:
                    session.put_instance(addr, _provider_of(session.state, addr), rec)
            self._store_outputs(session, loaded, None, options)
            return diags
        # Refreshed attributes are what the provider reported; keep them before changing anything.
        for addr, rec in result.refreshed.items():
            if rec is None:
                session.forget_object(addr, _provider_of(session.state, addr))
            elif addr not in result.changes or result.changes[addr].action == "noop":
                session.put_instance(addr, _provider_of(session.state, addr), rec)
        applier = self.walker(
            Applier, loaded, session.state, options, changes=result.changes, session=session
        )
        evals, providers = applier.evals, applier.providers
        # The configuration, plan and state live through the whole apply: set them aside from
        # the cyclic collector, whose full passes over them would stall every worker thread.
        gc.freeze()
        try:
            if options.mode == "destroy":
                deletes = [c for c in result.changes.values() if c.action == "delete"]
                self.configure_providers(loaded, session.state, options, applier)
                deleted = delete_in_order(applier, deletes, options.parallelism)
                if result.deposed and not self.cancel.is_set():
                    deleted &= delete_deposed(applier, result.deposed, options.parallelism)
                if deleted and not self.cancel.is_set():
                    # Data sources hold nothing to destroy; they leave the state with the rest.
                    for addr, rec, _inst in list(session.state.all_instances()):
                        if rec.mode == "data":
                            session.remove_instance(addr)
            else:
                self._applier = applier
                applier.run()
                orphans = [
                    c
                    for c in result.changes.values()
                    if c.action == "delete" and c.addr.abs_resource not in applier.visited
                ]
                if orphans and not self.cancel.is_set():
                    delete_in_order(applier, orphans, options.parallelism)
                if result.deposed and not self.cancel.is_set():
                    # Left over from replacements whose old object could not be deleted.
                    delete_deposed(applier, result.deposed, options.parallelism)
                # check blocks, once everything is applied (mlform.engine.checks).
                diags.extend(evaluate_checks(applier).diags)
                self._settle_detached(applier, options)
        finally:
            self._applier = None
            gc.unfreeze()
            providers.close()
            self.counts = dict(applier.counts)
        diags.extend(applier.diags)
        diags.extend(_targeting_warning(options, applied=True))
        self._store_outputs(session, loaded, evals, options)
        return sort_diagnostics(diags)

    def second_interrupt(self) -> bool:
        """A second Ctrl-C: when this run left jobs running (the first stopped waiting for
        them), it cancels them (True); otherwise (False) the caller exits at once, as ever."""
        applier = self._applier
        if applier is None or not applier.detached:
            return False
        self.abort.set()
        return True

    def _settle_detached(self, applier: Applier, options: PlanOptions) -> None:
        """After the walk: the jobs left running stay pending, unless the user presses Ctrl-C
        a second time (during the walk, or within INTERRUPT_GRACE seconds after the first
        interrupt made apply stop waiting), which cancels them."""
        if applier.detached and self.cancel.is_set() and not options.detach:
            if not self.abort.is_set():
                names = ", ".join(str(a) for a in applier.detached)
                self.hooks.message(
                    f"\nStopped waiting for {names}: it keeps running. Press Ctrl-C again within "
                    f"{INTERRUPT_GRACE:.0f} seconds to cancel it."
                )
                self.abort.wait(INTERRUPT_GRACE)
            if self.abort.is_set():
                self.cancelled_jobs = applier.cancel_detached()
        self.detached = list(applier.detached)
        self.applied_addrs = {a for a, _ in applier.applied}

    def waiting_on_jobs(self, result: PlanResult) -> list[str]:
        """The planned changes the last apply left undone because they depend, directly or
        through others, on a job it left running."""
        blocked = {str(a.abs_resource) for a in self.detached}
        done = getattr(self, "applied_addrs", set())
        left = [
            ch
            for ch in result.changes.values()
            if ch.action not in ("noop", "delete", "read")
            and ch.addr not in done
            and ch.addr not in self.detached
        ]
        out: set[str] = set()
        grew = True
        while grew:
            grew = False
            for ch in left:
                if str(ch.addr) not in out and blocked.intersection(ch.dependencies):
                    out.add(str(ch.addr))
                    blocked.add(str(ch.addr.abs_resource))
                    grew = True
        return sorted(out)

    def cancel_job(self, loaded: Loaded, session: StateSession, addr: AbsResourceInstance) -> None:
        """`mlform cancel ADDR`: stop a pending job and record it failed (tainted), with the
        provider configured as plan and apply configure it."""
        from mlform.engine.configure import ConfigureWalker

        rec = session.state.instance(addr)
        if rec is None:
            raise DiagnosticsError(
                [
                    error(
                        "No such resource instance",
                        f"{addr} is not in the state. Run mlform state list to see what is.",
                    )
                ]
            )
        if not rec.pending:
            raise DiagnosticsError(
                [
                    error(
                        f"{addr} is not running",
                        f"Its status is {rec.status}: only a pending job (submitted, not "
                        "finished) can be cancelled. To replace it, use mlform apply --replace "
                        f"'{addr}'; to destroy it, mlform destroy --target '{addr}'.",
                    )
                ]
            )
        options = PlanOptions()
        walker = self.walker(ConfigureWalker, loaded, session.state, options)
        applier = self.walker(
            Applier,
            loaded,
            session.state,
            options,
            providers=walker.providers,
            changes={},
            session=session,
        )
        try:
            walker.run()
            applier.deferred.update(walker.deferred)
            if any(d.is_error for d in walker.diags):
                raise DiagnosticsError(walker.diags)
            pkey = _provider_of(session.state, addr)
            if not applier.cancel_instance(addr, pkey, rec):
                raise DiagnosticsError(applier.diags)
        finally:
            walker.providers.close()

    def job_logs(
        self, loaded: Loaded, state: State, addr: AbsResourceInstance, follow: bool
    ) -> Iterator[str] | None:
        """A long-running object's log lines, from its provider (`Kind.logs`), following new
        ones until the job ends when `follow`; None when its kind keeps no log of that sort
        (the caller reads the log file the state records). Stops when `cancel` is set."""
        from mlform.engine.changes import split_record
        from mlform.engine.configure import ConfigureWalker

        rec = state.instance(addr)
        res = state.resource(addr.abs_resource)
        if rec is None or res is None or addr.resource.mode != "managed":
            return None
        walker = self.walker(ConfigureWalker, loaded, state, PlanOptions())
        try:
            walker.run()
            provider = walker.provider_for_object(addr, res.provider, rec, "read the log of")
            if provider is None:
                raise DiagnosticsError(walker.diags)
            info, diags = walker.providers.kind_info(
                provider.name, addr.resource.type, "managed", None
            )
            if info is None:
                raise DiagnosticsError(diags)
            kind = provider.kind(addr.resource.type)
            if not getattr(kind, "long_running", False):
                walker.providers.close()
                return None
            ctx = walker.make_ctx(addr, self.workdir)
            job = split_record(rec, info.schema)
        except BaseException:
            walker.providers.close()
            raise

        def lines() -> Iterator[str]:
            try:
                yield from kind.logs(job, ctx, follow=follow, since=0)
            finally:
                walker.providers.close()

        return lines()

    def configure_providers(
        self, loaded: Loaded, state: State, options: PlanOptions, into: ResourceWalker
    ) -> None:
        """Configure every provider of the configuration into `into`'s provider set as plan
        and apply do (variables, locals, data sources and other resources' attributes, these
        as `state` records them), for work on objects that exist: destroy."""
        from mlform.engine.configure import ConfigureWalker

        cw = self.walker(ConfigureWalker, loaded, state, options, providers=into.providers)
        cw.run()
        into.deferred.update(cw.deferred)
        into.add_diags(cw.diags)

    def applied_summary(self, plan: Plan) -> Any:
        """What the last apply did, as the providers confirmed it: objects created, updated
        and deleted (a plan's counts say what was meant to happen)."""
        from mlform.plans import PlanSummary

        counts = getattr(self, "counts", None)
        if counts is None:
            return plan.summary()
        return PlanSummary(counts["add"], counts["change"], counts["destroy"])

    def _store_outputs(
        self, session: StateSession, loaded: Loaded, evals: EvalState | None, options: PlanOptions
    ) -> None:
        if options.mode == "destroy":
            session.set_outputs({})
            return
        if evals is None:
            return
        values = evals.module_values(ModuleInstance()).outputs
        outs: dict[str, OutputRecord] = {}
        for name, out in loaded.root.outputs.items():
            v = values.get(name)
            if v is None or not v.is_wholly_known():
                prev = session.state.outputs.get(name)
                if prev is not None:
                    outs[name] = prev
                continue
            plain, _marks = v.unmark_deep()
            outs[name] = OutputRecord(
                value=value_to_data(plain),
                type=plain.type.to_json(),
                sensitive=out.sensitive or bool(sensitive_paths(v)),
            )
        session.set_outputs(outs)

    def _apply_moves(self, session: StateSession, moved: list[tuple[str, str]]) -> None:
        """Each move as a durable remove and put, so that a crash never leaves an object
        recorded at neither address (or, worse, at both)."""
        from mlform.addrs import parse_target
        from mlform.state.edit import move

        for src, dst in moved:
            before = {str(a): (r.provider, i) for a, r, i in session.state.all_instances()}
            after_state = move(session.state, parse_target(src), parse_target(dst))
            after = {str(a): (r.provider, i) for a, r, i in after_state.all_instances()}
            for addr in before.keys() - after.keys():
                session.remove_instance(addr)
            for addr in after.keys() - before.keys():
                prov, inst = after[addr]
                session.put_instance(addr, prov, inst)


def _module_instances_in_state(state: State, path: ModulePath) -> list[ModuleInstance]:
    """The instances of the configuration module `path` that objects in state live under
    (the root module: just the root)."""
    if path.is_root:
        return [ModuleInstance()]
    n = len(path.names)
    found = {
        ModuleInstance(a.module.steps[:n])
        for a, _r, _i in state.all_instances()
        if tuple(s.name for s in a.module.steps[:n]) == path.names
    }
    return sorted(found, key=lambda mi: mi.sort_key())


def _inside(base: ModuleInstance, target: Any) -> Any:
    """A moved block's address, written inside a module, as seen from the root."""
    if base.is_root:
        return target
    if isinstance(target, ModuleInstance):
        return ModuleInstance(base.steps + target.steps)
    module = ModuleInstance(base.steps + target.module.steps)
    if isinstance(target, AbsResourceInstance):
        return AbsResourceInstance(module, target.resource, target.key)
    return AbsResource(module, target.resource)


def _present(state: State, target: Any) -> bool:
    from mlform.addrs import target_contains

    return any(target_contains(target, a) for a, _r, _i in state.all_instances())


def _mark_moves(plan: Plan, moved: list[tuple[str, str]]) -> None:
    if not moved:
        return
    from mlform.addrs import parse_target, target_contains

    for src, dst in moved:
        s, d = parse_target(src), parse_target(dst)
        for ch in plan.changes:
            if target_contains(d, ch.addr):
                ch.prev_addr = _map_back(ch.addr, s, d)


def _map_back(addr: AbsResourceInstance, src: Any, dst: Any) -> AbsResourceInstance:
    if isinstance(src, AbsResourceInstance):
        return src
    if isinstance(src, AbsResource):
        return AbsResourceInstance(src.module, src.resource, addr.key)
    n = len(dst.steps)
    return AbsResourceInstance(
        ModuleInstance(src.steps + addr.module.steps[n:]), addr.resource, addr.key
    )


def _provider_of(state: State, addr: AbsResourceInstance) -> str:
    rec = state.resource(addr.abs_resource)
    return rec.provider if rec is not None else ""


def to_resource_change(ch: InstanceChange) -> ResourceChange:
    return ResourceChange(
        addr=ch.addr,
        action=ACTION_OF[ch.action],
        provider=ch.provider,
        before=ch.before,
        after=ch.after,
        before_sensitive=derived_sensitive(ch.before, ch.before_sensitive),
        after_sensitive=derived_sensitive(ch.after, ch.after_sensitive + _unknown_now(ch)),
        replace_paths=[[p] for p in ch.replace_paths],
        reasons=ch.reasons,
        action_reason=ch.action_reason,
        deposed=ch.deposed,
        pending=ch.pending,
        waiting_for=list(ch.waiting_for),
        planned={
            "dependencies": ch.dependencies,
            "create_before_destroy": ch.create_before_destroy,
            "private": ch.private,
        },
    )


def _unknown_now(ch: InstanceChange) -> list[list[str | int]]:
    """Paths sensitive before whose value is unknown until apply: presumed still sensitive
    (a computed copy of a secret), so no view warns that they stop being sensitive."""
    from mlform.engine.bridge import get_path

    if ch.before is None or ch.after is None:
        return []
    return [p for p in ch.before_sensitive if get_path(ch.after, list(p)) is UNKNOWN]


def from_resource_change(rc: ResourceChange) -> InstanceChange:
    extra = rc.planned or {}
    return InstanceChange(
        addr=rc.addr,
        provider=rc.provider,
        action=ENGINE_ACTION[rc.action],
        before=rc.before,
        after=rc.after,
        before_sensitive=rc.before_sensitive,
        after_sensitive=rc.after_sensitive,
        replace_paths=[".".join(map(str, p)) for p in rc.replace_paths],
        reasons=rc.reasons,
        action_reason=rc.action_reason,
        dependencies=list(extra.get("dependencies", [])),
        create_before_destroy=bool(extra.get("create_before_destroy", False)),
        private=dict(extra.get("private", {})),
        deposed=rc.deposed,
        pending=rc.pending,
        waiting_for=list(rc.waiting_for),
    )


def result_from_saved(plan: Plan) -> PlanResult:
    changes = {rc.addr: from_resource_change(rc) for rc in plan.changes if not rc.deposed}
    deposed = [from_resource_change(rc) for rc in plan.changes if rc.deposed]
    # Objects import blocks adopted while planning: recorded first, as a fresh plan's are.
    adopted = {
        rc.addr: (rc.provider, record_from_plan(rc.planned["imported"]))
        for rc in plan.changes
        if rc.planned and rc.planned.get("imported") and not rc.deposed
    }
    return PlanResult(plan, changes, [], adopted=adopted, deposed=deposed)


def _mark_imports(plan: Plan, imports: Imports, planner: Planner) -> None:
    """The changes of imported instances say so (`importing`), and carry the imported object
    for a saved plan's apply."""
    for rc in plan.changes:
        obj_id = imports.imported.get(rc.addr)
        if obj_id is None or rc.deposed or rc.addr not in planner.adopted:
            continue
        rc.importing = {"id": obj_id}
        rc.planned = {**(rc.planned or {}), "imported": record_to_plan(planner.adopted[rc.addr][1])}


def _deposed_changes(prior: State, options: PlanOptions) -> list[InstanceChange]:
    """A delete for each deposed object (InstanceRecord.deposed) of the instances this
    operation covers: left over from a replacement whose old object could not be deleted."""
    from mlform.addrs import target_contains

    if options.mode == "refresh_only":
        return []
    out = []
    for addr, rec, inst in prior.all_instances():
        if not inst.deposed:
            continue
        if options.targets and not any(target_contains(t, addr) for t in options.targets):
            continue
        if any(target_contains(e, addr) for e in options.excludes):
            continue
        for key, obj in sorted(inst.deposed.items()):
            out.append(
                InstanceChange(
                    addr=addr,
                    provider=rec.provider,
                    action="delete",
                    before=obj.attributes,
                    before_sensitive=obj.sensitive_paths,
                    dependencies=obj.dependencies,
                    deposed=key,
                )
            )
    return out


def parse_addresses(texts: list[str], what: str) -> list[Any]:
    from mlform.addrs import AddressError, parse_target

    out = []
    diags = []
    for t in texts:
        try:
            out.append(parse_target(t))
        except AddressError as exc:
            diags.append(error(f"Invalid {what} address", str(exc)))
    if diags:
        raise DiagnosticsError(diags)
    return out


def parse_replace(texts: list[str]) -> list[AbsResourceInstance]:
    from mlform.addrs import AddressError

    out = []
    diags = []
    for t in texts:
        try:
            out.append(parse_instance(t))
        except AddressError as exc:
            diags.append(error("Invalid --replace address", str(exc)))
    if diags:
        raise DiagnosticsError(diags)
    return out


__all__ = ["Operations", "PlanOptions", "PlanResult", "C", "warning"]


def _unmatched_addresses(
    options: PlanOptions,
    changes: dict[AbsResourceInstance, InstanceChange],
    prior: State,
) -> list[Diagnostic]:
    """A warning for each --target or --replace address that names nothing in the configuration
    or the state: a typo there would otherwise plan silently without the user's intent."""
    from mlform.diagnostics import suggestion

    def steps_match(want: ModuleInstance, have: ModuleInstance) -> bool:
        # A step without a key (`module.m`) stands for every instance of that call.
        if len(have.steps) < len(want.steps):
            return False
        return all(
            w.name == h.name and (w.key is None or w.key == h.key)
            for w, h in zip(want.steps, have.steps, strict=False)
        )

    def contains(t: Any, a: AbsResourceInstance) -> bool:
        if isinstance(t, ModuleInstance):
            return steps_match(t, a.module)
        same_place = len(t.module.steps) == len(a.module.steps) and steps_match(t.module, a.module)
        if isinstance(t, AbsResource):
            return same_place and t.resource == a.resource
        return same_place and t.resource == a.resource and t.key == a.key

    if not options.targets and not options.replace:
        return []
    known = set(changes)
    known.update(rec.addr().instance(inst.index_key) for _a, rec, inst in prior.all_instances())
    names = sorted({str(a) for a in known})
    out: list[Diagnostic] = []
    for flag, addrs in (("--target", options.targets), ("--replace", options.replace)):
        for t in addrs:
            if not any(contains(t, a) for a in known):
                out.append(
                    warning(
                        f"{flag} {t} matches nothing",
                        f"No resource instance in the configuration or the state matches {t}, so "
                        f"{flag} {t} has no effect.{suggestion(str(t), names)}",
                    )
                )
    return out


def _targeting_warning(options: PlanOptions, applied: bool) -> list[Diagnostic]:
    """Terraform's warnings for a partial plan (`--target`, `--exclude`): the plan may leave out
    changes the configuration asks for, so a full plan should follow."""
    if not options.targets and not options.excludes:
        return []
    flag = "--target" if options.targets else "--exclude"
    note = (
        f"Note that the {flag} option is not suitable for routine use, and is provided only for "
        "exceptional situations such as recovering from errors or mistakes, or when mlform "
        "specifically suggests to use it as part of an error message."
    )
    if applied:
        return [
            warning(
                "Applied changes may be incomplete",
                f"The plan was created with the {flag} option in effect, so some changes requested in "
                "the configuration may have been ignored and the output values may not be fully "
                "updated. Run the following command to verify that no other changes are pending:\n"
                f"    mlform plan\n\n{note}",
            )
        ]
    what = "Resource targeting" if options.targets else "Resource exclusion"
    return [
        warning(
            f"{what} is in effect",
            f"You are creating a plan with the {flag} option, which means that the result of this "
            "plan may not represent all of the changes requested by the current configuration. "
            f"Run a full plan (without {flag}) afterwards to see what is left.\n\n{note}",
        )
    ]
