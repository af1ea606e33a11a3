"""The local `training_job`: a content-addressed run of a command, through the runtime.

Plan digests the code folder (with the stat cache), looks up the environment's lock digest and the
cluster's hardware class, and computes the job's fingerprint (`mlform.kinds.fingerprint`). The
fingerprint of the last succeeded run equal to it: nothing to do. A result kept for it in the run
cache (`runcache`: any earlier run, in any workspace): restored, no training. Otherwise: replace
(retrain), with one reason per changed input. An input not known until apply (an environment not
built yet, a dataset id computed during apply) makes the fingerprint unknown and the job a replace
that says which input that is.

The kind is long-running. `submit` snapshots the code into the content store, writes the job's
spec (docs/runtime.md) and starts `mlform-runtime run SPEC --detach` from mlform's own
environment, returning at once; the run outlives the CLI (`runs`). `poll` reads what the runtime
wrote (status, log, result); a failed attempt with `retries` left is run again in a fresh output
folder. What a run means (the `MLFORM_*` variables, ranks, metrics, the model's digest, the
lineage facts read on the worker) is the runtime's alone; the state's attributes and lineage
record are made from its result.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from mlform.kinds import training_job as schema
from mlform.kinds.common import now_iso, parse_duration, plain, planned_attrs, short_digest
from mlform.kinds.digest import DigestError
from mlform.kinds.fingerprint import Fingerprint, diff
from mlform.sdk import (
    UNKNOWN,
    ConfigError,
    Context,
    JobStatus,
    Kind,
    Planned,
    ProviderError,
    ResourceState,
    is_wholly_known,
)
from mlform.sdk.schema import parse_config
from mlform_local import process, runcache, runs, store
from mlform_local.code_snapshot import CodeChanged, CodeScan, scan_code, snapshot_code
from mlform_local.provider import provider_data_dir
from mlform_local.runtime import cluster_facts, environment_facts, resolve_path

__all__ = ["TrainingJobKind", "validate_args"]

# The arguments whose change re-runs the job, by the fingerprint input they feed.
_INPUT_ARGS = {
    "code": "code",
    "environment": "environment",
    "environment_digest": "environment",
    "datasets": "datasets",
    "params": "params",
    "seed": "seed",
    "command": "command",
    "nodes": "nodes",
    "hardware_class": "cluster",
}


def validate_args(model: type[BaseModel], desired: dict[str, Any]) -> dict[str, Any]:
    """The arguments normalized by the kind's model (defaults filled), with values not known yet
    kept as UNKNOWN. A value the model refuses is a ConfigError naming the argument."""
    known = {k: v for k, v in desired.items() if is_wholly_known(v)}
    unknown = {k: v for k, v in desired.items() if not is_wholly_known(v)}
    probe = dict(known)
    for name, field_info in model.model_fields.items():
        if name in unknown and field_info.is_required():
            probe[name] = "" if field_info.annotation in (str, "str") else None
    args = parse_config(model, probe).model_dump()
    args.update(unknown)
    return args


class _Inputs:
    """The fingerprint's inputs as plan or apply sees them; `unknown` names those not known yet."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.unknown: list[tuple[str, str]] = []  # (input key, reason)
        self.code_scan: CodeScan | None = None

    def fingerprint(self) -> Fingerprint | None:
        if self.unknown:
            return None
        return Fingerprint.of(**self.values)


class TrainingJobKind(Kind):
    """`training_job` on this machine."""

    args = schema.Args
    attrs = schema.Attrs
    description = "A training run on this machine, content-addressed by its inputs."
    # Submitted to the runtime, detached: apply waits for it (or not, with --detach).
    long_running = True
    poll_interval = 0.5

    # -- inputs -----------------------------------------------------------------------------

    def _inputs(self, args: dict[str, Any], ctx: Context, *, at_apply: bool) -> _Inputs:
        data_dir = provider_data_dir(self.provider, ctx).resolve()
        inp = _Inputs()
        code = args.get("code")
        if code is UNKNOWN:
            inp.unknown.append(("code", "code is known only after apply"))
        elif code:
            path = resolve_path(ctx, code)
            if not path.exists():
                raise ConfigError(
                    f"code folder {code!r} does not exist",
                    f"Looked for {path}. {ctx.path_hint(code)}",
                    attribute="code",
                )
            try:
                inp.code_scan = scan_code(path, data_dir=data_dir, progress=ctx.progress)
            except DigestError as e:
                raise ProviderError(f"cannot read the code folder {path}", str(e)) from e
            inp.values["code"] = inp.code_scan.digest
        else:
            inp.values["code"] = ""

        env_id = args.get("environment")
        if env_id is UNKNOWN:
            inp.unknown.append(("environment", "environment is known only after apply"))
        else:
            inp.values["environment"] = env_id or ""
            env = environment_facts(data_dir, env_id, required=at_apply)
            if env is None:
                inp.unknown.append(
                    (
                        "environment_digest",
                        f"environment {env_id} is not built yet: its packages are known only "
                        "after apply",
                    )
                )
            else:
                # mlform's own interpreter (no environment) has no lock to record.
                inp.values["environment_digest"] = (env.lock_digest or "") if env_id else ""

        datasets = args.get("datasets")
        if datasets is UNKNOWN:
            inp.unknown.append(("datasets", "datasets are known only after apply"))
        else:
            known = {}
            for name, ds in (datasets or {}).items():
                if ds is UNKNOWN:
                    inp.unknown.append(("datasets", f'dataset "{name}" is known only after apply'))
                else:
                    known[name] = ds
            inp.values["datasets"] = known

        for key in ("params", "seed", "command", "nodes"):
            value = args.get(key)
            if not is_wholly_known(value):
                inp.unknown.append((key, f"{key} is known only after apply"))
            else:
                inp.values[key] = plain(value) if key == "params" else value

        cluster = args.get("cluster")
        if cluster is UNKNOWN:
            inp.unknown.append(("hardware_class", "cluster is known only after apply"))
        else:
            inp.values["hardware_class"] = cluster_facts(ctx, cluster).hardware_class
        return inp

    # -- plan -------------------------------------------------------------------------------

    def plan(self, prior: ResourceState | None, desired: dict[str, Any], ctx: Context) -> Planned:
        args = validate_args(schema.Args, desired)
        if is_wholly_known(args.get("timeout")):
            try:
                parse_duration(args.get("timeout"))
            except ValueError as e:
                raise ConfigError(str(e), attribute="timeout") from e
        if is_wholly_known(args.get("nodes")) and args["nodes"] < 1:
            raise ConfigError("nodes must be at least 1", attribute="nodes")
        if is_wholly_known(args.get("retries")) and (args["retries"] or 0) < 0:
            raise ConfigError("retries must be 0 or more", attribute="retries")
        inp = self._inputs(args, ctx, at_apply=False)
        fp = inp.fingerprint()
        scan = inp.code_scan
        private: dict[str, Any] = {"code_digest": scan.digest if scan else None}
        if fp is not None:
            private["fingerprint_inputs"] = fp.to_inputs()
        code_known = {
            "code_digest": scan.digest if scan else None,
            "code_commit": scan.git_commit if scan else None,
            # This host costs nothing (mlform.engine.cost prices what a cloud runs).
            "price_per_hour": 0.0,
            "estimated_cost": 0.0,
        }

        # A replacement the user forced (taint, -replace) trains again: never restored.
        restore = (
            self._restore_planned(prior, args, fp, private, ctx)
            if fp is not None and not ctx.forced_replace
            else None
        )
        if prior is None:
            if restore is not None:
                return restore
            attrs = planned_attrs(
                schema.Attrs, fingerprint=fp.digest if fp else UNKNOWN, **code_known
            )
            return Planned("create", attrs, [], [], args, private)

        prior_inputs = prior.private.get("fingerprint_inputs") or (prior.lineage or {}).get(
            "fingerprint_inputs"
        )
        prior_status = prior.attrs.get("status")
        if (
            prior_status == STATUS_RUNNING
            and fp is not None
            and fp.digest == prior.attrs.get("fingerprint")
        ):
            # Submitted earlier and still running with these inputs: never started twice; the
            # engine waits for it and collects it.
            return Planned("noop", dict(prior.attrs), [], [], args, private)
        if prior_status != schema.STATUS_SUCCEEDED or prior_inputs is None:
            if restore is not None:
                restore.action = "replace"
                return restore
            reasons = [f"the last run did not succeed (status {prior_status or 'unknown'})"]
            attrs = planned_attrs(
                schema.Attrs, fingerprint=fp.digest if fp else UNKNOWN, **code_known
            )
            return Planned("replace", attrs, reasons, [], args, private)

        if fp is not None and fp.digest == prior.attrs.get("fingerprint"):
            # Same inputs, same result: nothing to run. Settings that do not decide the result
            # (timeout, retries, the cluster's name) are recorded without a run.
            changed = [
                k for k in ("timeout", "retries", "cluster") if prior.args.get(k) != args.get(k)
            ]
            reasons = [f"{k} changed (does not retrain)" for k in changed]
            return Planned(
                "update" if changed else "noop", dict(prior.attrs), reasons, [], args, private
            )

        # Diff what is known; for what is not, say so.
        new_inputs = dict(Fingerprint.from_inputs(prior_inputs).to_inputs())
        new_inputs.update(inp.values)
        if fp is not None:
            new_inputs = fp.to_inputs()
        reasons = [r for r in diff(prior_inputs, new_inputs)]
        reasons += [why for _key, why in inp.unknown]
        if restore is not None:
            restore.reasons += reasons
            return restore
        paths = self._replace_paths(prior_inputs, new_inputs, inp)
        if not reasons:  # equal inputs but a different recorded digest (an older format)
            reasons = ["the fingerprint changed"]
        attrs = planned_attrs(schema.Attrs, fingerprint=fp.digest if fp else UNKNOWN, **code_known)
        return Planned("replace", attrs, reasons, paths, args, private)

    @staticmethod
    def _replace_paths(old: dict[str, Any], new: dict[str, Any], inp: _Inputs) -> list[str]:
        paths: list[str] = []
        for key, argname in _INPUT_ARGS.items():
            if key == "datasets":
                od, nd = old.get("datasets") or {}, new.get("datasets") or {}
                paths += [
                    f"datasets.{n}" for n in sorted(set(od) | set(nd)) if od.get(n) != nd.get(n)
                ]
            elif old.get(key) != new.get(key) and argname not in paths:
                paths.append(argname)
        for key, _why in inp.unknown:
            argname = _INPUT_ARGS.get(key, key)
            if argname not in paths:
                paths.append(argname)
        return paths

    # -- the run cache ----------------------------------------------------------------------

    def _restore_planned(
        self,
        prior: ResourceState | None,
        args: dict[str, Any],
        fp: Fingerprint,
        private: dict[str, Any],
        ctx: Context,
    ) -> Planned | None:
        """A plan that takes the kept result of an earlier run with this fingerprint (any
        workspace, any address) instead of training; None when there is none."""
        data_dir = provider_data_dir(self.provider, ctx).resolve()
        kept = runcache.find(data_dir, fp.digest)
        if kept is None:
            return None
        when = _when(str((kept.get("attrs") or {}).get("finished_at") or ""))
        reason = (
            f"will be restored from the run of {when}, fingerprint {short_digest(fp.digest)}, "
            "no training"
        )
        attrs = {**dict(kept.get("attrs") or {}), "fingerprint": fp.digest}
        attrs["model"] = str(store.model_path(data_dir, attrs["model_digest"]))
        private = {**private, "restore": fp.digest}
        pending = prior is not None and prior.attrs.get("status") == STATUS_RUNNING
        if prior is None:
            return Planned("create", attrs, [reason], [], args, private)
        if pending:
            # A run still going with other inputs: stopped (replaced), then restored.
            return Planned("replace", attrs, [reason], list(_INPUT_ARGS_SET), args, private)
        return Planned("update", attrs, [reason], [], args, private)

    def _restored(self, args: dict[str, Any], fingerprint: str, ctx: Context) -> ResourceState:
        data_dir = provider_data_dir(self.provider, ctx).resolve()
        kept = runcache.find(data_dir, fingerprint)
        if kept is None:
            raise ProviderError(
                f"the kept run of fingerprint {short_digest(fingerprint)} is gone",
                "Its model was removed from the store since the plan (mlform gc?). Run "
                "mlform plan again: the job will train.",
                retryable=False,
            )
        attrs = {**dict(kept.get("attrs") or {}), "fingerprint": fingerprint}
        attrs["model"] = str(store.model_path(data_dir, attrs["model_digest"]))
        lineage = dict(kept.get("lineage") or {})
        lineage["restored_from"] = {
            "run_id": attrs.get("run_id"),
            "address": kept.get("address"),
            "finished_at": attrs.get("finished_at"),
            "restored_at": now_iso(),
        }
        ctx.log(
            f"restored from the run {attrs.get('run_id')} of {_when(str(attrs.get('finished_at')))}"
            f" (fingerprint {short_digest(fingerprint)}): no training"
        )
        ctx.lineage.update({"run_id": attrs.get("run_id"), "model_digest": attrs["model_digest"]})
        return ResourceState(
            id=str(attrs.get("id") or attrs.get("run_id")),
            args=args,
            attrs=attrs,
            lineage=lineage,
            private={
                "fingerprint_inputs": lineage.get("fingerprint_inputs"),
                "restored": fingerprint,
                **({"run_dir": kept["run_dir"]} if kept.get("run_dir") else {}),
            },
        )

    # -- apply: submit, poll, cancel, logs ------------------------------------------------

    def submit(self, planned: Planned, ctx: Context) -> ResourceState:
        """Start the run through the runtime, detached, and return at once (see `runs`)."""
        args = validate_args(schema.Args, planned.args)
        if not is_wholly_known(args):
            raise ProviderError("training job arguments are still unknown at apply")
        data_dir = provider_data_dir(self.provider, ctx).resolve()
        token = ctx.idempotency_token
        if token:
            found = runs.run_by_token(data_dir, token)
            if found is not None:  # a retried submit: the run exists, start nothing
                return self._running_state(found, ctx)
        inp = self._inputs(args, ctx, at_apply=True)
        fp = inp.fingerprint()
        assert fp is not None  # every input is known at apply
        # Restored only when the plan said so: a replacement forced by `taint` or `-replace`
        # (the plan itself a no-op) trains again, on purpose.
        if planned.private.get("restore") == fp.digest:
            return self._restored(args, fp.digest, ctx)
        env = environment_facts(data_dir, args["environment"], required=True)
        assert env is not None
        cluster = cluster_facts(ctx, args["cluster"])

        scan = inp.code_scan
        if scan is not None:
            try:
                snapshot_code(data_dir, scan, expected_digest=planned.private.get("code_digest"))
            except CodeChanged as e:
                raise ProviderError("the job's code changed since plan", str(e)) from e
        for name, ds_id in args["datasets"].items():
            if not store.dataset_exists(data_dir, ds_id):
                raise ProviderError(
                    f'dataset "{name}" ({ds_id}) is not in the store',
                    f"expected its snapshot under {store.dataset_snapshot_path(data_dir, ds_id)}. "
                    "Apply the dataset resource with this id first.",
                )
        env_info = store.environment_info(data_dir, env.id) if env.id else None
        spec: dict[str, Any] = {
            "format": 1,
            "kind": "job",
            "address": ctx.address,
            "fingerprint": fp.digest,
            "code": {"digest": scan.digest} if scan is not None else None,
            "environment": (
                {
                    "venv": str(env.venv),
                    "digest": env.lock_digest,
                    "env": dict(env.env),
                }
                if env.id and env.venv is not None
                else None
            ),
            "datasets": {name: {"digest": ds} for name, ds in args["datasets"].items()},
            "params": plain(args["params"] or {}),
            "seed": args["seed"],
            "command": args["command"],
            "nodes": int(args["nodes"]),
            "timeout_s": parse_duration(args["timeout"]),
            "visible_devices": cluster.visible_devices,
            "store": {"uri": str(data_dir / "store")},
        }
        run_id = runs.new_run_id()
        job = {
            "address": ctx.address,
            "fingerprint": fp.digest,
            "fingerprint_inputs": fp.to_inputs(),
            "args": args,
            "attempts": int(args["retries"] or 0) + 1,
            "timeout": args["timeout"],
            "submitted_at": now_iso(),
            "spec": spec,
            "code": scan.facts() if scan is not None else None,
            "code_snapshot": (
                str(store.dataset_snapshot_path(data_dir, scan.digest)) if scan else None
            ),
            "environment": {
                "id": env.id,
                "lock_digest": env.lock_digest,
                "python": env.python_version,
                "path": str(env.venv) if env.venv else str(env.python),
                **({"packages": dict(env_info.get("lock") or {})} if env_info else {}),
            },
            "datasets": {
                name: {"id": ds, "uri": str(store.dataset_uri(data_dir, ds))}
                for name, ds in args["datasets"].items()
            },
            "cluster": {
                "class": cluster.hardware_class,
                "gpu_model": cluster.gpu_model,
                "gpu_count": cluster.gpu_count,
                "driver_version": cluster.driver_version,
                "cuda_version": cluster.cuda_version,
                "visible_devices": cluster.visible_devices,
                "hostname": cluster.host,
            },
        }
        run = runs.Run.create(data_dir, ctx.address, run_id, job, token)
        run.start_attempt(1, spec, data_dir)
        ctx.log(f"started run {run_id} (attempt 1 of {job['attempts']})")
        return self._running_state(run, ctx)

    def _running_state(self, run: runs.Run, ctx: Context) -> ResourceState:
        job = run.job or {}
        latest = run.latest()
        attrs = schema.Attrs(
            id=run.run_id,
            fingerprint=job.get("fingerprint"),
            status=STATUS_RUNNING,
            run_id=run.run_id,
            started_at=job.get("submitted_at"),
            logs=str(latest.log_path) if latest else None,
            code_digest=(job.get("code") or {}).get("digest"),
            code_commit=(job.get("code") or {}).get("commit"),
            price_per_hour=0.0,
            estimated_cost=0.0,
        ).model_dump()
        return ResourceState(
            id=run.run_id,
            args=dict(job.get("args") or {}),
            attrs=attrs,
            private={
                "run_dir": str(run.folder),
                "fingerprint_inputs": job.get("fingerprint_inputs"),
            },
        )

    def _run_of(self, state: ResourceState, ctx: Context) -> runs.Run | None:
        folder = (state.private or {}).get("run_dir")
        if folder:
            run = runs.Run(Path(folder))
            if run.job is not None:
                return run
        data_dir = provider_data_dir(self.provider, ctx).resolve()
        run = runs.Run(runs.runs_root(data_dir) / process.address_safe(ctx.address) / str(state.id))
        return run if run.job is not None else None

    def poll(self, state: ResourceState, ctx: Context) -> JobStatus:
        """Where the run stands, from the files its runtime wrote. A failed attempt with
        attempts left starts the next one (in a fresh output folder) and the run goes on."""
        if state.private.get("restored"):
            return JobStatus("succeeded", state=state)
        run = self._run_of(state, ctx)
        if run is None:
            return JobStatus(
                "failed",
                state=state,
                summary=f"the run {state.id} is gone",
                detail="Its folder under the data directory's runs/ was removed.",
            )
        job = run.job or {}
        attempt = run.latest()
        if attempt is None:
            return JobStatus("failed", state=state, summary=f"the run {run.run_id} never started")
        result = attempt.result
        status = attempt.status or {}
        last = status.get("last_log_line")
        elapsed = _elapsed(job.get("submitted_at"))
        if result is None:
            state_now = status.get("state")
            alive = attempt.runtime_alive()
            if state_now in (None, "preparing", "running") and (
                alive or (state_now is None and time.time() - attempt.started_at() < 10)
            ):
                return JobStatus(
                    "running",
                    state=self._running_state(run, ctx),
                    elapsed_s=elapsed,
                    last_line=last or ("starting" if state_now is None else state_now),
                    poll_interval=1.0,
                )
            # The runtime ended without a result: killed with its machine, or broken.
            tail = run.tail(attempt)
            result = {
                "state": "failed",
                "reason": "the runtime stopped without a result",
                "detail_tail": tail,
            }
        if result.get("state") == "succeeded":
            final = self._collect(run, attempt, result, ctx)
            return JobStatus("succeeded", state=final, elapsed_s=elapsed, last_line=last)
        attempts = int(job.get("attempts") or 1)
        cancelled = result.get("state") == "cancelled" or run.cancelled
        if not cancelled and attempt.n < attempts:
            ctx.log(f"{_failure(result, job)}; retrying: attempt {attempt.n + 1} of {attempts}")
            run.start_attempt(attempt.n + 1, dict(job.get("spec") or {}), _data_dir_of(run))
            return JobStatus(
                "running",
                state=self._running_state(run, ctx),
                elapsed_s=elapsed,
                last_line=f"retrying: attempt {attempt.n + 1} of {attempts}",
                poll_interval=0.5,
            )
        failed = self._running_state(run, ctx)
        failed.attrs["status"] = schema.STATUS_FAILED
        failed.attrs["finished_at"] = _iso((result.get("timings") or {}).get("finished_at"))
        tail = result.get("detail_tail") or run.tail(attempt)
        if cancelled:
            summary = "training job cancelled"
        else:
            summary = f"training job failed: {_failure(result, job)}" + (
                f" (after {attempts} attempts)" if attempts > 1 else ""
            )
        detail = (
            "last lines of its output:\n"
            + ("\n".join(tail) or "(the job printed nothing)")
            + f"\n\nfull log: {attempt.log_path}"
        )
        return JobStatus("failed", state=failed, summary=summary, detail=detail, last_line=last)

    def _collect(
        self, run: runs.Run, attempt: runs.Attempt, result: dict[str, Any], ctx: Context
    ) -> ResourceState:
        """The final state of a succeeded run: the runtime's result, as the state's attributes
        and lineage record, and kept in the run cache."""
        job = run.job or {}
        data_dir = _data_dir_of(run)
        model = result.get("model") or {}
        wl = result.get("lineage") or {}
        timings = result.get("timings") or {}
        started_at = job.get("submitted_at")
        finished_at = _iso(timings.get("finished_at"))
        model_dir = model.get("path") or str(store.model_path(data_dir, model["digest"]))
        attrs = schema.Attrs(
            id=run.run_id,
            fingerprint=job.get("fingerprint"),
            status=schema.STATUS_SUCCEEDED,
            model=str(model_dir),
            model_digest=model.get("digest"),
            metrics=result.get("metrics") or {},
            started_at=started_at,
            finished_at=finished_at,
            run_id=run.run_id,
            logs=str(attempt.log_path),
            code_digest=(job.get("code") or {}).get("digest"),
            code_commit=(job.get("code") or {}).get("commit"),
        ).model_dump()
        env = dict(job.get("environment") or {})
        if wl.get("packages") and not env.get("packages"):
            env["packages"] = wl["packages"]
        if wl.get("packages"):
            env["installed"] = wl["packages"]
        cluster = dict(job.get("cluster") or {})
        host = dict(wl.get("host") or {})
        lineage = {
            "run_id": run.run_id,
            "fingerprint": job.get("fingerprint"),
            "fingerprint_inputs": job.get("fingerprint_inputs"),
            "code": (
                {**job["code"], "snapshot": job.get("code_snapshot")} if job.get("code") else None
            ),
            "environment": env,
            "datasets": job.get("datasets") or {},
            "params": (job.get("spec") or {}).get("params") or {},
            "seed": (job.get("args") or {}).get("seed"),
            "command": (job.get("args") or {}).get("command"),
            "nodes": (job.get("args") or {}).get("nodes"),
            "host": {"hostname": cluster.get("hostname"), **host},
            "hardware": {
                "class": cluster.get("class"),
                "gpu_model": cluster.get("gpu_model"),
                "gpu_count": cluster.get("gpu_count"),
                "driver_version": cluster.get("driver_version"),
                "cuda_version": cluster.get("cuda_version"),
                # What the job's own interpreter read on the worker wins.
                **{k: v for k, v in (wl.get("hardware") or {}).items()},
                "visible_devices": cluster.get("visible_devices"),
            },
            "timings": {
                "started_at": started_at,
                "finished_at": finished_at,
                "duration_s": timings.get("duration_s"),
                "attempts": attempt.n,
            },
            "model": {
                "uri": str(model_dir),
                "digest": model.get("digest"),
                "files": model.get("files"),
                "bytes": model.get("bytes"),
            },
            "metrics": result.get("metrics") or {},
            "log": str(attempt.log_path),
        }
        ctx.lineage.update({"run_id": run.run_id, "model_digest": model.get("digest")})
        fingerprint = job.get("fingerprint")
        if isinstance(fingerprint, str) and model.get("digest"):
            runcache.keep(
                data_dir,
                fingerprint,
                {
                    "address": job.get("address"),
                    "run_dir": str(run.folder),
                    "attrs": attrs,
                    "lineage": lineage,
                },
            )
        return ResourceState(
            id=run.run_id,
            args=dict(job.get("args") or {}),
            attrs=attrs,
            lineage=lineage,
            private={
                "run_dir": str(run.folder),
                "fingerprint_inputs": job.get("fingerprint_inputs"),
                "log_path": str(attempt.log_path),
            },
        )

    def cancel(self, state: ResourceState, ctx: Context) -> None:
        """Stop the run (`mlform cancel`, a second Ctrl-C) through the runtime's cancel;
        a run that already ended is left as it is."""
        if state.private.get("restored"):
            return
        run = self._run_of(state, ctx)
        if run is not None:
            run.cancel("cancelled by mlform")

    def logs(
        self, state: ResourceState, ctx: Context, follow: bool = False, since: int = 0
    ) -> Iterator[str]:
        """The run's log: every attempt's `log.txt`, in order."""
        run = self._run_of(state, ctx)
        if run is None:
            path = state.private.get("log_path") or state.attrs.get("logs")
            if path and Path(path).is_file():
                yield from Path(path).read_text(errors="replace").splitlines()[since:]
                return
            raise ProviderError(f"the log of run {state.id} is gone")
        n = since
        while True:
            lines = run.lines()
            yield from lines[n:]
            n = max(n, len(lines))
            if not follow or ctx.cancel_event.is_set():
                return
            if not self.poll(state, ctx).running:
                yield from run.lines()[n:]
                return
            ctx.cancel_event.wait(0.3)

    def create(self, planned: Planned, ctx: Context) -> ResourceState:
        """Submit and wait: the blocking form, for callers other than the engine (reproduce,
        tests). Ctrl-C (`ctx.cancel_event`) cancels the run."""
        state = self.submit(planned, ctx)
        seen = 0
        while True:
            for line in self.logs(state, ctx, since=seen):
                seen += 1
                ctx.log(line)
            status = self.poll(state, ctx)
            if status.status == "succeeded":
                for line in self.logs(status.state or state, ctx, since=seen):
                    ctx.log(line)
                return status.state or state
            if status.status == "failed":
                for line in self.logs(state, ctx, since=seen):
                    ctx.log(line)
                raise ProviderError(status.summary, status.detail, partial=status.state)
            state = status.state or state
            if ctx.cancel_event.wait(0.2):
                self.cancel(state, ctx)
                final = self.poll(state, ctx)
                raise ProviderError(
                    "training job cancelled", final.detail, partial=final.state or state
                )

    def find_by_token(self, token: str, ctx: Context) -> ResourceState | None:
        """The run a submit with this token started before an interruption lost its answer."""
        run = runs.run_by_token(provider_data_dir(self.provider, ctx).resolve(), token)
        if run is None:
            return None
        return self._running_state(run, ctx)

    def update(self, prior: ResourceState, planned: Planned, ctx: Context) -> ResourceState:
        args = validate_args(schema.Args, planned.args)
        restore = planned.private.get("restore")
        if restore:
            return self._restored(args, str(restore), ctx)
        # Only settings that do not decide the result reach here: record them, run nothing.
        return ResourceState(
            id=prior.id,
            args=args,
            attrs=dict(prior.attrs),
            lineage=prior.lineage,
            private=dict(prior.private),
        )

    def read(self, state: ResourceState, ctx: Context) -> ResourceState | None:
        """The run's record stays while its stored model exists."""
        if state.attrs.get("status") != schema.STATUS_SUCCEEDED:
            return state
        model = state.attrs.get("model")
        if model and Path(model).is_dir():
            return state
        # The project moved (another checkout, a renamed folder, its `.mlform` with it): the
        # model is found by its digest in this working directory's store, not by the old path.
        digest = state.attrs.get("model_digest")
        if isinstance(digest, str) and digest.startswith("sha256:"):
            here = store.model_path(provider_data_dir(self.provider, ctx).resolve(), digest)
            if here.is_dir():
                attrs = {**state.attrs, "model": str(here)}
                return ResourceState(
                    id=state.id,
                    args=state.args,
                    attrs=attrs,
                    lineage=state.lineage,
                    private=state.private,
                )
        return None

    def delete(self, state: ResourceState, ctx: Context) -> None:
        """Forget the run, stopping it when it still runs. The stored model stays in the
        content store (and the run cache): the lineage of other records, a rollback and a
        restore may need it."""
        if state.attrs.get("status") not in (schema.STATUS_SUCCEEDED, schema.STATUS_FAILED):
            self.cancel(state, ctx)


STATUS_RUNNING = "running"
_INPUT_ARGS_SET = ("code", "environment", "datasets", "params", "seed", "command", "nodes")


def _data_dir_of(run: runs.Run) -> Path:
    """The provider data dir a run folder lies in (`<data_dir>/runs/<address>/<run_id>`)."""
    return run.folder.parent.parent.parent


def _elapsed(since: Any) -> float | None:
    if not isinstance(since, str):
        return None
    try:
        t = datetime.fromisoformat(since.replace("Z", "+00:00"))
    except ValueError:
        return None
    return max(0.0, time.time() - t.timestamp())


def _iso(value: Any) -> str | None:
    """A runtime's time (microseconds) in mlform's form (`2026-12-06T14:02:11Z`)."""
    if not isinstance(value, str):
        return None
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _when(iso: str) -> str:
    """`2026-12-06 14:02` (UTC) from an RFC 3339 time."""
    try:
        t = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    except ValueError:
        return iso or "an earlier run"
    return t.astimezone(UTC).strftime("%Y-%m-%d %H:%M")


def _failure(result: dict[str, Any], job: dict[str, Any]) -> str:
    reason = str(result.get("reason") or "it failed")
    if result.get("exit_code") == 124 or reason.startswith("timed out"):
        timeout = job.get("timeout")
        return f"timed out after {timeout} (timeout = {json.dumps(timeout)}); the job was stopped"
    return reason
