"""Applying a plan: the same walk, now calling providers, each step made durable at once.

Every create is journaled with an idempotency token before the provider is called; every
result is journaled (fsync'd) the moment it returns, so a crash loses nothing. A failed create
or replace leaves the instance tainted, its dependents are skipped, independent work goes on,
and every error is reported at the end.

A long-running kind's create is a submit: the object is journaled as pending (with its token)
the moment the provider answers, then apply waits for it, polling, streaming its log lines and
progress, and records the final object. With --detach, or after the first Ctrl-C, apply stops
waiting: the job keeps running, its dependents wait (they are not applied), and the next plan or
apply collects it.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import itertools
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from mlform import dag
from mlform.addrs import AbsResourceInstance, Key, ModuleInstance, parse_instance
from mlform.config.model import ResourceConfig
from mlform.diagnostics import error
from mlform.engine import changes as C
from mlform.engine.bridge import (
    data_has_unknown,
    get_path,
    sensitive_paths,
    set_path,
    value_to_data,
)
from mlform.engine.changes import InstanceChange, split_record
from mlform.engine.planner import (
    NOT_MOVED,
    PlanOptions,
    ResourceWalker,
    about,
    call_with_retries,
)
from mlform.engine.providers import KindInfo
from mlform.engine.scope import Expansion
from mlform.engine.walk import NodeFailed, unexpected_errors
from mlform.lang import values as V
from mlform.lang.values import Value
from mlform.sdk import UNKNOWN, Context, Kind, ProviderError, ResourceState
from mlform.state import PENDING, TAINTED, InstanceRecord
from mlform.state.errors import JournalError
from mlform.state.session import StateSession


class JobDetached(Exception):
    """Apply stopped waiting for a submitted job (--detach, Ctrl-C): it keeps running."""


class Applier(ResourceWalker):
    def __init__(
        self,
        *args: Any,
        changes: dict[AbsResourceInstance, InstanceChange],
        session: StateSession,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        self.planned = changes
        self.session = session
        self.applied: list[tuple[AbsResourceInstance, str]] = []
        # Idempotency tokens: unique to this run (128 random bits) and to each create in it.
        self._token_prefix = uuid.uuid4().hex
        self._token_seq = itertools.count(1)
        self._journal_failed = False
        # Jobs left running when apply stopped waiting for them (--detach, Ctrl-C).
        self.detached: list[AbsResourceInstance] = []

    @property
    def state(self):  # type: ignore[no-untyped-def]
        return self.session.state

    def instance_work(self, *args: Any) -> tuple[Value, bool]:
        try:
            return self.apply_instance(*args)
        except JournalError as exc:
            self.journal_failed(exc)
            return V.DYNAMIC_UNKNOWN, True

    def journal_failed(self, exc: JournalError) -> None:
        """Nothing more may be sent once the journal cannot record it (a full disk): stop the
        run and say so once, not once per instance."""
        with self._visited_lock:
            first = not self._journal_failed
            self._journal_failed = True
        self.cancel.set()
        if first:
            self.add_diags(exc.diagnostics)

    def orphan_instance(
        self, addr: AbsResourceInstance, pkey: str, info: KindInfo, exp: Expansion, module_dir: Path
    ) -> bool:
        # Deleted here when the plan says so (count or for_each shrank).
        change = self.planned.get(addr)
        if change is not None and change.action == "delete":
            try:
                return self.delete_instance(addr, change, module_dir)
            except JournalError as exc:
                self.journal_failed(exc)
                return False
        return True

    def apply_instance(
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
        change = self.planned.get(addr)
        prior_rec = self.state.instance(addr)
        if prior_rec is None and moved_from is not NOT_MOVED:
            old = AbsResourceInstance(mi, res.addr, moved_from)
            moved = self.state.instance(old)
            if moved is not None:
                self.session.remove_instance(old)
                prior_rec = self.session.put_instance(addr, pkey, moved)
        if (
            res.mode == "data"
            and change is not None
            and change.action == "noop"
            and change.after is not None
        ):
            # Read during the plan: record what was read.
            rec = InstanceRecord(
                index_key=key,
                id=str(change.after.get("id") or ""),
                attributes=change.after,
                sensitive_paths=change.after_sensitive,
                dependencies=deps,
            )
            return self.record_value(self.session.put_instance(addr, pkey, rec), info), False
        if (
            change is not None
            and change.action == "noop"
            and prior_rec is not None
            and prior_rec.pending
            and res.mode == "managed"
        ):
            return self.collect_pending(addr, pkey, info, res, module_dir, prior_rec)
        if change is None or change.action == "noop":
            return (lambda: self.record_value(prior_rec, info)), False  # type: ignore[return-value]
        if self.cancel.is_set():
            return V.DYNAMIC_UNKNOWN, True
        known = planned_known_args(change, info) if res.mode == "managed" else None
        if known is not None:
            # Every argument was known when the plan was made, and a known value must not
            # change at apply: the plan's arguments are the ones to apply.
            desired, sens = known
            problem = None
        else:
            desired_val, failed = self.eval_resource_body(
                mi, res, info, self.evals.expansion_extra(exp, key), info.provider_type
            )
            if failed:
                return V.DYNAMIC_UNKNOWN, True
            desired = value_to_data(desired_val)
            sens = sensitive_paths(desired_val)
            problem = consistency_problem(change, with_ignored(desired, prior_rec, res, info), info)
        if problem:
            self.add_diags(
                [
                    error(
                        "Value changed between plan and apply",
                        f"While applying {addr}, {problem}. A value known when the plan was made must not change at "
                        "apply; run mlform plan again.",
                        res.range,
                    )
                ]
            )
            return V.DYNAMIC_UNKNOWN, True
        # A precondition that depended on values known only after apply is decided now,
        # before the object is touched.
        extra = self.evals.expansion_extra(exp, key)
        if not all(
            [
                self.check_condition(c, mi, extra, "precondition")
                for c in res.lifecycle.preconditions
            ]
        ):
            return V.DYNAMIC_UNKNOWN, True
        provider = self.providers.instance(pkey)
        assert provider is not None
        kind = provider.kind(res.type)
        if res.mode == "data":
            ctx = self.make_ctx(addr, module_dir)
            ctx.extra = self.dependency_data(mi, res)
            try:
                result = call_with_retries(
                    lambda: kind.read_data(desired, ctx), self.cancel, kind.provider
                )
            except ProviderError as exc:
                self.add_diags(
                    [error(f"Failed to read {addr}: {exc.summary}", exc.detail, res.range)]
                )
                return V.DYNAMIC_UNKNOWN, True
            after = {**desired, **result}
            rec = InstanceRecord(
                index_key=key,
                id=str(result.get("id", "")),
                attributes=after,
                sensitive_paths=sens,
                dependencies=deps,
            )
            rec = self.session.put_instance(addr, pkey, rec)
            return self.record_value(rec, info), False
        lc = res.lifecycle
        prior_rs = split_record(prior_rec, info.schema) if prior_rec is not None else None
        if prior_rec is not None and prior_rec.tainted and prior_rec.id is None:
            prior_rs = None  # a failed create left no object behind
        if prior_rs is not None:
            if lc.ignore_all:
                desired = {**desired, **prior_rs.args}
            else:
                for path in lc.ignore_changes or []:
                    desired = set_path(desired, list(path), get_path(prior_rs.args, list(path)))
        ctx = self.make_ctx(addr, module_dir)
        ctx.extra = self.dependency_data(mi, res)
        # A replacement the user forced makes a new object (see Context.forced_replace).
        ctx.forced_replace = change.action_reason in (
            C.REPLACE_BECAUSE_TAINTED,
            C.REPLACE_BY_REQUEST,
            C.REPLACE_BY_TRIGGERS,
        )
        try:
            planned = kind.plan(prior_rs if change.action == "update" else None, desired, ctx)
        except ProviderError as exc:
            self.add_diags([error(about(addr, exc.summary), exc.detail, res.range)])
            return V.DYNAMIC_UNKNOWN, True
        planned.action = change.action  # type: ignore[assignment]
        # What the provider noted when the plan was made (the digest it saw of a dataset or a
        # code folder) goes to apply, as Terraform passes a plan's private data: the provider
        # can then refuse to apply content that changed since the plan the user approved.
        planned.private = {
            **planned.private,
            **{k: v for k, v in (change.private or {}).items() if v is not None},
        }
        sens = sens + [list(p) for p in _schema_sensitive(info, desired)]
        if (
            change.action in ("replace", "create_then_delete")
            and prior_rs is not None
            and self.provider_for_object(addr, pkey, prior_rec, "replace") is None
        ):
            return V.DYNAMIC_UNKNOWN, True  # not the provider configuration that created it
        identity = self.identity_of(pkey, provider) or None
        started = time.monotonic()
        deposed_key = uuid.uuid4().hex[:8]

        def submitted(st: ResourceState) -> None:
            # A job submitted: recorded (durably) as pending with its token, before apply
            # waits for it, so that a crash or a detach leaves it for the next run to collect.
            rec = C.record_from_state(st, key, deps, sens, lc.create_before_destroy, status=PENDING)
            rec.private = {**rec.private, "token": ctx.idempotency_token}
            rec.provider_identity = identity
            if change.action == "create_then_delete" and prior_rec is not None:
                # The old object stays recorded (deposed) until it is deleted.
                rec.deposed = {
                    **(prior_rec.deposed or {}),
                    deposed_key: dataclasses.replace(prior_rec, deposed={}),
                }
            self.session.put_instance(addr, pkey, rec)

        self.hooks.start(str(addr), change.action)
        try:
            if change.action == "update":
                assert prior_rs is not None
                new = call_with_retries(
                    lambda: kind.update(prior_rs, planned, ctx), self.cancel, kind.provider
                )
            elif change.action == "create":
                new = self.create(addr, pkey, kind, planned, ctx, submitted)
            elif change.action == "replace":
                if prior_rs is not None:
                    call_with_retries(
                        lambda: kind.delete(prior_rs, ctx), self.cancel, kind.provider
                    )
                    self.session.forget_object(addr, pkey)
                    self.count("destroy")
                new = self.create(addr, pkey, kind, planned, ctx, submitted)
            elif change.action == "create_then_delete":
                new = self.create(addr, pkey, kind, planned, ctx, submitted)
                if prior_rs is not None:
                    try:
                        call_with_retries(
                            lambda: kind.delete(prior_rs, ctx), self.cancel, kind.provider
                        )
                        self.count("destroy")
                    except ProviderError as exc:
                        # The replacement exists and is the instance now; the old object
                        # stays in the state as a deposed object, which the next apply
                        # deletes again (as Terraform does).
                        assert prior_rec is not None
                        self.add_diags(
                            [
                                error(
                                    about(
                                        addr,
                                        f"the previous object could not be deleted: {exc.summary}",
                                    ),
                                    (exc.detail + "\n\n" if exc.detail else "")
                                    + f"The replacement was created. The previous object (id {prior_rs.id}) "
                                    f"is kept in the state as deposed object {deposed_key}; the next apply "
                                    "deletes it again.",
                                    res.range,
                                )
                            ]
                        )
                        rec = C.record_from_state(new, key, deps, sens, lc.create_before_destroy)
                        rec.provider_identity = identity
                        self.count("add")
                        rec.deposed = {
                            **(prior_rec.deposed or {}),
                            deposed_key: dataclasses.replace(prior_rec, deposed={}),
                        }
                        self.session.put_instance(addr, pkey, rec)
                        return V.DYNAMIC_UNKNOWN, True
            else:
                raise AssertionError(change.action)
        except JobDetached:
            self.job_detached(addr, started)
            return V.DYNAMIC_UNKNOWN, True
        except ProviderError as exc:
            self.hooks.done(str(addr), change.action, time.monotonic() - started, failed=True)
            detail = exc.detail
            partial = getattr(exc, "partial", None)
            if change.action in ("create", "replace", "create_then_delete") and partial is not None:
                # The object exists although its create failed: recorded, tainted, with its id
                # and attributes, so that the next plan replaces it rather than leaking it.
                rec = C.record_from_state(
                    partial, key, deps, sens, lc.create_before_destroy, status=TAINTED
                )
                rec.private = {**dict(getattr(exc, "private", None) or {}), **rec.private}
                rec.provider_identity = identity
                if prior_rec is not None and change.action == "create_then_delete":
                    # The old object is deposed: the next apply deletes it, as Terraform does.
                    rec.deposed = {
                        **(prior_rec.deposed or {}),
                        uuid.uuid4().hex[:8]: dataclasses.replace(prior_rec, deposed={}),
                    }
                self.session.put_instance(addr, pkey, rec)
                detail = (detail + "\n\n" if detail else "") + (
                    f"The object was created (id {partial.id}) but is not usable: {addr} is "
                    "recorded as tainted, and the next plan will replace it."
                )
            elif change.action in ("create", "replace", "create_then_delete"):
                # Record the attempt so the next plan retries it (as a replacement).
                rec = InstanceRecord(
                    index_key=key,
                    status=TAINTED,
                    id=None,
                    attributes=C.full_attributes(desired, {}, None),
                    sensitive_paths=sens,
                    dependencies=deps,
                    create_before_destroy=lc.create_before_destroy,
                    # What the provider attached to its error (a failed run's log_path), so
                    # that `mlform logs` can show the log of the attempt that failed.
                    private=dict(getattr(exc, "private", None) or {}),
                )
                # With create_before_destroy the old object is still there and stays recorded.
                if not (prior_rec is not None and change.action == "create_then_delete"):
                    self.session.put_instance(addr, pkey, rec)
                detail = (
                    detail + "\n\n" if detail else ""
                ) + f"{addr} is recorded as tainted: the next plan will create it again."
            subject = res.range
            attribute = getattr(exc, "attribute", None)
            if attribute and attribute in res.body.attributes:
                # The provider named the argument at fault (a package that does not exist).
                subject = res.body.attributes[attribute].expr.range
            self.add_diags([error(about(addr, exc.summary), detail, subject)])
            return V.DYNAMIC_UNKNOWN, True
        from mlform.lineage.capture import enrich

        new.lineage = enrich(new.lineage, res.type, ctx.lineage)
        rec = C.record_from_state(new, key, deps, sens, lc.create_before_destroy)
        rec.provider_identity = identity
        if getattr(kind, "long_running", False):
            rec.private = {"token": ctx.idempotency_token, **rec.private}
            # The old object of a create_then_delete was deleted: not deposed any longer.
            rec.deposed = dict(prior_rec.deposed or {}) if prior_rec is not None else {}
        if prior_rec is not None and change.action == "update":
            rec.created_at = prior_rec.created_at
        stored = self.session.put_instance(addr, pkey, rec)
        self.count("change" if change.action == "update" else "add")
        self.hooks.done(str(addr), change.action, time.monotonic() - started, id=new.id)
        with self._visited_lock:
            self.applied.append((addr, change.action))
        if not lc.postconditions:
            return (lambda: self.record_value(stored, info)), False  # type: ignore[return-value]
        value = self.record_value(stored, info)
        ok = True
        for check in lc.postconditions:
            ok &= self.check_condition(
                check, mi, {"self": value, **self.evals.expansion_extra(exp, key)}, "postcondition"
            )
        if not ok:
            tainted = InstanceRecord(**{**stored.__dict__, "status": TAINTED})
            self.session.put_instance(addr, pkey, tainted)
            return value, True
        return value, False

    def create(
        self,
        addr: AbsResourceInstance,
        pkey: str,
        kind: Any,
        planned: Any,
        ctx: Context,
        submitted: Any = None,
    ) -> ResourceState:
        # The create is journaled with its token before the provider is called, so that an
        # object whose answer a crash loses can be found again by that token.
        token = f"{self._token_prefix}-{next(self._token_seq)}"
        self.session.begin_create(addr, token, pkey)
        ctx.idempotency_token = token
        if getattr(kind, "long_running", False):
            job: ResourceState = call_with_retries(
                lambda: kind.submit(planned, ctx), self.cancel, kind.provider
            )
            if submitted is not None:
                submitted(job)
            st = self.wait_for(kind, job, ctx)
        else:
            st = call_with_retries(lambda: kind.create(planned, ctx), self.cancel, kind.provider)
        # (An error that carries the object it made is not retried: see call_with_retries.)
        if ctx.lineage:
            # Facts the provider reported through the context join its lineage record.
            st.lineage = {**(st.lineage or {}), **ctx.lineage}
        return st

    # -- long-running work ---------------------------------------------------------------------

    def wait_for(self, kind: Kind, job: ResourceState, ctx: Context) -> ResourceState:
        """Wait for a submitted job, streaming its new log lines and its progress: the final
        object once it succeeded. Raises ProviderError (with the object as `partial`) when it
        failed, and JobDetached when apply stops waiting (--detach, Ctrl-C)."""
        seen = int(job.private.get("_log_seen", 0)) if job.private else 0
        interval = float(getattr(kind, "poll_interval", 2.0) or 2.0)

        def stream() -> None:
            nonlocal seen
            try:
                for line in kind.logs(job, ctx, follow=False, since=seen):
                    seen += 1
                    ctx.log(line)
            except ProviderError:
                pass  # no log to show: the job itself is what matters

        while True:
            stream()
            try:
                status = call_with_retries(lambda: kind.poll(job, ctx), self.cancel, kind.provider)
            except ProviderError as exc:
                # The job may well be running: it stays recorded as pending, for the next
                # run to poll again, rather than be forgotten or replaced.
                self.add_diags(
                    [
                        error(
                            about(parse_instance(ctx.address), f"cannot poll: {exc.summary}"),
                            (exc.detail + "\n\n" if exc.detail else "")
                            + "It stays recorded as pending; mlform apply polls it again.",
                        )
                    ]
                )
                raise JobDetached(ctx.address) from None
            if status.running:
                if status.progress is not None:
                    done, total = status.progress
                    ctx.progress(done, total, status.last_line or "running")
                if self.options.detach or self.cancel.is_set():
                    raise JobDetached(ctx.address)
                if self.cancel.wait(status.poll_interval or interval):
                    raise JobDetached(ctx.address)
                continue
            stream()
            if status.status == "succeeded":
                return status.state or job
            raise ProviderError(
                status.summary or f"{ctx.address}: the job failed",
                status.detail,
                partial=status.state or job,
            )

    def job_detached(self, addr: AbsResourceInstance, started: float) -> None:
        with self._visited_lock:
            self.detached.append(addr)
        self.hooks.message(
            f"{addr}: still running after {time.monotonic() - started:.0f}s; apply stops waiting "
            "for it (it keeps running; mlform apply collects it)"
        )

    def collect_pending(
        self,
        addr: AbsResourceInstance,
        pkey: str,
        info: KindInfo,
        res: ResourceConfig,
        module_dir: Path,
        prior_rec: InstanceRecord,
    ) -> tuple[Value, bool]:
        """A job submitted by an earlier run and still pending: wait for it (unless detached)
        and record what it produced, or that it failed (tainted)."""
        provider = self.provider_for_object(addr, pkey, prior_rec, "collect")
        if provider is None:
            return V.DYNAMIC_UNKNOWN, True
        kind = provider.kind(res.type)
        ctx = self.make_ctx(addr, module_dir)
        job = split_record(prior_rec, info.schema)
        started = time.monotonic()
        self.hooks.start(str(addr), "wait")
        try:
            new = self.wait_for(kind, job, ctx)
        except JobDetached:
            self.job_detached(addr, started)
            return V.DYNAMIC_UNKNOWN, True
        except ProviderError as exc:
            self.hooks.done(str(addr), "wait", time.monotonic() - started, failed=True)
            partial = exc.partial or job
            rec = C.record_from_state(
                partial,
                prior_rec.index_key,
                prior_rec.dependencies,
                prior_rec.sensitive_paths,
                prior_rec.create_before_destroy,
                status=TAINTED,
            )
            rec.private = {**prior_rec.private, **rec.private}
            rec.provider_identity = prior_rec.provider_identity
            self.session.put_instance(addr, pkey, rec)
            detail = (exc.detail + "\n\n" if exc.detail else "") + (
                f"{addr} is recorded as tainted: the next plan will replace it."
            )
            self.add_diags([error(about(addr, exc.summary), detail, res.range)])
            return V.DYNAMIC_UNKNOWN, True
        from mlform.lineage.capture import enrich

        new.lineage = enrich(new.lineage, res.type, ctx.lineage)
        rec = C.record_from_state(
            new,
            prior_rec.index_key,
            prior_rec.dependencies,
            prior_rec.sensitive_paths,
            prior_rec.create_before_destroy,
        )
        rec.private = {**prior_rec.private, **rec.private}
        rec.provider_identity = prior_rec.provider_identity
        rec.created_at = prior_rec.created_at
        stored = self.session.put_instance(addr, pkey, rec)
        self.count("add")
        self.hooks.done(str(addr), "wait", time.monotonic() - started, id=new.id)
        with self._visited_lock:
            self.applied.append((addr, "collect"))
        return self.record_value(stored, info), False

    def cancel_detached(self) -> list[AbsResourceInstance]:
        """Cancel the jobs this run left running (a second Ctrl-C) and record them failed
        (tainted): the next plan replaces them. Returns those cancelled."""
        done = []
        for addr in list(self.detached):
            rec = self.state.instance(addr)
            if rec is None or not rec.pending:
                continue
            pkey = self.state.resource(addr.abs_resource).provider  # type: ignore[union-attr]
            if self.cancel_instance(addr, pkey, rec):
                done.append(addr)
        return done

    def cancel_instance(self, addr: AbsResourceInstance, pkey: str, rec: InstanceRecord) -> bool:
        """Stop a pending job and record it tainted; False (reported) when it cannot be."""
        provider = self.provider_for_object(addr, pkey, rec, "cancel")
        if provider is None:
            return False
        info, diags = self.providers.kind_info(
            provider.name, addr.resource.type, addr.resource.mode, None
        )
        if info is None:
            self.add_diags(diags)
            return False
        kind = provider.kind(addr.resource.type)
        ctx = self.make_ctx(addr, self.evals.root_dir)
        ctx.cancel_event = threading.Event()  # the run's own may be set: this call must go
        try:
            call_with_retries(
                lambda: kind.cancel(split_record(rec, info.schema), ctx), None, provider
            )
        except ProviderError as exc:
            self.add_diags([error(about(addr, f"cannot cancel: {exc.summary}"), exc.detail)])
            return False
        self.session.put_instance(addr, pkey, dataclasses.replace(rec, status=TAINTED))
        with self._visited_lock:
            if addr in self.detached:
                self.detached.remove(addr)
        self.hooks.message(f"{addr}: cancelled; recorded as tainted (the next apply replaces it)")
        return True

    def delete_instance(
        self, addr: AbsResourceInstance, change: InstanceChange, module_dir: Path | None = None
    ) -> bool:
        rec = self.state.instance(addr)
        if rec is None:
            return True
        found = self._kind_to_delete(addr, change, rec)
        if found is None:
            return False
        kind, info = found  # kind None: no object to ask a provider to delete
        ctx = self.make_ctx(addr, module_dir or self.evals.root_dir)
        started = time.monotonic()
        self.hooks.start(str(addr), "delete")
        if rec.id is not None and addr.resource.mode == "managed":
            try:
                call_with_retries(
                    lambda: kind.delete(split_record(rec, info.schema), ctx),
                    self.cancel,
                    kind.provider,
                )
            except ProviderError as exc:
                self.hooks.done(str(addr), "delete", time.monotonic() - started, failed=True)
                self.add_diags([error(about(addr, exc.summary), exc.detail)])
                return False
            self.count("destroy")  # the provider confirmed it gone
        self.session.forget_object(addr, change.provider)
        self.hooks.done(str(addr), "delete", time.monotonic() - started)
        with self._visited_lock:
            self.applied.append((addr, "delete"))
        return True

    def delete_deposed_object(self, change: InstanceChange) -> bool:
        """Delete one deposed object of an instance and record the instance without it."""
        addr, key = change.addr, change.deposed
        assert key is not None
        rec = self.state.instance(addr)
        obj = (rec.deposed or {}).get(key) if rec is not None else None
        if rec is None or obj is None:
            return True  # already gone
        found = self._kind_to_delete(addr, change, obj)
        if found is None:
            return False
        kind, info = found  # kind None: no object to ask a provider to delete
        ctx = self.make_ctx(addr, self.evals.root_dir)
        label = f"{addr} (deposed object {key})"
        started = time.monotonic()
        self.hooks.start(label, "delete")
        try:
            if kind is not None:
                call_with_retries(
                    lambda: kind.delete(split_record(obj, info.schema), ctx),
                    self.cancel,
                    kind.provider,
                )
        except ProviderError as exc:
            self.hooks.done(label, "delete", time.monotonic() - started, failed=True)
            self.add_diags(
                [
                    error(
                        f"Failed to delete deposed object {key} of {addr}: {exc.summary}",
                        (exc.detail + "\n\n" if exc.detail else "")
                        + f"The object (id {obj.id}) stays in the state as a deposed object; the next "
                        "apply tries again.",
                    )
                ]
            )
            return False
        if kind is not None:
            self.count("destroy")
        rest = {k: v for k, v in (rec.deposed or {}).items() if k != key}
        self.session.put_instance(addr, change.provider, dataclasses.replace(rec, deposed=rest))
        if rec.is_shell and not rest:
            self.session.remove_instance(addr)  # nothing is left under this address
        self.hooks.done(label, "delete", time.monotonic() - started)
        with self._visited_lock:
            self.applied.append((addr, "delete"))
        return True

    def _kind_to_delete(
        self, addr: AbsResourceInstance, change: InstanceChange, rec: InstanceRecord
    ) -> Any:
        """The provider kind and its schema to delete `addr`'s object `rec` with: the provider
        configuration that created it. None when there is none (the error is reported)."""
        if rec.id is None or addr.resource.mode != "managed":
            provider = self.providers.instance(change.provider)
            if provider is None:
                return None, None  # nothing to ask a provider: the record is just forgotten
        else:
            provider = self.provider_for_object(addr, change.provider, rec, "delete")
            if provider is None:
                return None
        info, diags = self.providers.kind_info(
            provider.name, addr.resource.type, addr.resource.mode, None
        )
        if info is None:
            self.add_diags(diags)
            return None
        return provider.kind(addr.resource.type), info


def delete_deposed(applier: Applier, changes: list[InstanceChange], parallelism: int) -> bool:
    """Delete deposed objects, at most `parallelism` at a time; those of one instance one
    after another, since each deletion rewrites that instance's record."""
    by_addr: dict[AbsResourceInstance, list[InstanceChange]] = {}
    for ch in changes:
        by_addr.setdefault(ch.addr, []).append(ch)

    def delete_all(chs: list[InstanceChange]) -> bool:
        ok = True
        for ch in chs:
            if applier.cancel.is_set():
                return False
            try:
                ok &= applier.delete_deposed_object(ch)
            except JournalError as exc:
                applier.journal_failed(exc)
                return False
        return ok

    with ThreadPoolExecutor(
        max_workers=max(1, parallelism), thread_name_prefix="mlform-delete"
    ) as pool:
        return all(list(pool.map(delete_all, by_addr.values())))


def delete_in_order(applier: Applier, changes: list[InstanceChange], parallelism: int) -> bool:
    """Delete instances so that nothing is deleted before what depends on it; the instances
    of one resource are deleted side by side, at most `parallelism` calls at a time."""
    by_res: dict[str, list[InstanceChange]] = {}
    for ch in changes:
        by_res.setdefault(str(ch.addr.abs_resource), []).append(ch)
    g: dag.Graph[str] = dag.Graph()
    for name in by_res:
        g.add_node(name)
    for name, chs in by_res.items():
        for ch in chs:
            for dep in ch.dependencies:
                if dep in by_res and dep != name:
                    # `name` depends on `dep`, so `dep` is deleted after `name`.
                    g.add_edge(dep, name)

    def delete(ch: InstanceChange) -> bool:
        if applier.cancel.is_set():
            return False  # Ctrl-C: what has not started yet stays as it is
        try:
            return applier.delete_instance(ch.addr, ch)
        except JournalError as exc:
            applier.journal_failed(exc)
            return False

    with ThreadPoolExecutor(
        max_workers=max(1, parallelism), thread_name_prefix="mlform-delete"
    ) as pool:

        def visit(name: str) -> None:
            futures = [pool.submit(delete, ch) for ch in by_res[name]]
            concurrent.futures.wait(futures)
            # A bug in a delete is re-raised here and reported as an unexpected error.
            if not all([fut.result() for fut in futures]):
                raise NodeFailed(name)

        result = dag.walk(g, visit, parallelism=max(1, parallelism), cancel=applier.cancel)
    applier.add_diags(unexpected_errors(result))
    return result.success


def with_ignored(
    desired: dict[str, Any], prior: InstanceRecord | None, res: ResourceConfig, info: KindInfo
) -> dict[str, Any]:
    """`desired` with lifecycle.ignore_changes applied, as the plan saw it: the state's values
    at the ignored paths."""
    if prior is None or (prior.tainted and prior.id is None):
        return desired
    prior_args = split_record(prior, info.schema).args
    lc = res.lifecycle
    if lc.ignore_all:
        return {**desired, **prior_args}
    for path in lc.ignore_changes or []:
        desired = set_path(desired, list(path), get_path(prior_args, list(path)))
    return desired


def planned_known_args(
    change: InstanceChange, info: KindInfo
) -> tuple[dict[str, Any], list[list[str | int]]] | None:
    """The arguments a planned change will apply, if the plan knew all of them."""
    if change.after is None:
        return None
    names = info.arg_names()
    args = {k: v for k, v in change.after.items() if k in names}
    if data_has_unknown(args):
        return None
    return args, [p for p in change.after_sensitive if p and p[0] in names]


def consistency_problem(
    change: InstanceChange, desired: dict[str, Any], info: KindInfo
) -> str | None:
    """Where a value the plan knew differs now (None when all agree)."""
    if change.after is None:
        return None
    names = set(info.schema.args.attributes) | set(info.schema.args.blocks)
    for name in names:
        if name not in change.after or name not in desired:
            continue
        planned = change.after[name]
        got = desired[name]
        diff = _first_difference(planned, got, [name])
        if diff is not None:
            return f"{'.'.join(map(str, diff))} was planned as {_short(get_path(change.after, diff))} but is now {_short(get_path(desired, diff))}"
    return None


def _first_difference(planned: Any, got: Any, path: list[Any]) -> list[Any] | None:
    if planned is UNKNOWN or data_has_unknown(planned) and not isinstance(planned, dict | list):
        return None
    if isinstance(planned, dict) and isinstance(got, dict):
        for k in planned:
            if k in got:
                d = _first_difference(planned[k], got[k], [*path, k])
                if d is not None:
                    return d
        return None
    if isinstance(planned, list) and isinstance(got, list):
        if len(planned) != len(got):
            return path
        for i, (a, b) in enumerate(zip(planned, got, strict=True)):
            d = _first_difference(a, b, [*path, i])
            if d is not None:
                return d
        return None
    if planned != got:
        return path
    return None


def _short(v: Any) -> str:
    import json

    try:
        text = json.dumps(v)
    except TypeError:
        text = repr(v)
    return text if len(text) < 60 else text[:57] + "..."


def _schema_sensitive(info: KindInfo, data: dict[str, Any]) -> list[list[str | int]]:
    from mlform.sdk.schema import sensitive_paths as schema_sensitive

    try:
        return [list(p) for p in schema_sensitive(info.kind_cls, data)]
    except Exception:  # noqa: BLE001 - marks are best effort on partial data
        return []


__all__ = ["Applier", "PlanOptions", "delete_deposed", "delete_in_order", "parse_instance"]
