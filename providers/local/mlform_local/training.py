"""The local `training_job`: a content-addressed run of a command as a supervised subprocess.

Plan digests the code folder (with the stat cache), looks up the environment's lock digest and the
cluster's hardware class, and computes the job's fingerprint (`mlform.kinds.fingerprint`). The
fingerprint of the last succeeded run equal to it: nothing to do. Different: replace (retrain),
with one reason per changed input. An input not known until apply (an environment not built yet,
a dataset id computed during apply) makes the fingerprint unknown and the job a replace that says
which input that is.

Create snapshots the code into the content store, copies it into a fresh working directory and
runs `command` there through the shell, in the environment, with the variables listed in
`mlform.kinds.training_job` (one process per rank for `nodes > 1`). Output streams to `ctx.log`
and to a log file; a timeout, a failure or Ctrl-C stops the whole process group. Retries re-run a
failed attempt in a fresh folder. On success the output folder goes into the content store; the
model's digest, the metrics and a full lineage record are returned.
"""

from __future__ import annotations

import json
import platform
import shutil
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from mlform.kinds import store
from mlform.kinds import training_job as schema
from mlform.kinds.common import now_iso, parse_duration, plain, planned_attrs
from mlform.kinds.digest import DigestError
from mlform.kinds.fingerprint import Fingerprint, diff
from mlform.lineage.capture import worker_facts
from mlform.sdk import (
    UNKNOWN,
    ConfigError,
    Context,
    Kind,
    Planned,
    ProviderError,
    ResourceState,
    is_wholly_known,
)
from mlform.sdk.schema import parse_config
from mlform_local import process
from mlform_local.code_snapshot import CodeChanged, CodeScan, materialize, scan_code, snapshot_code
from mlform_local.provider import provider_data_dir
from mlform_local.runtime import cluster_facts, environment_facts, process_env, resolve_path

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


def _run_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:8]


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
        }

        if prior is None:
            attrs = planned_attrs(
                schema.Attrs, fingerprint=fp.digest if fp else UNKNOWN, **code_known
            )
            return Planned("create", attrs, [], [], args, private)

        prior_inputs = prior.private.get("fingerprint_inputs") or (prior.lineage or {}).get(
            "fingerprint_inputs"
        )
        if prior.attrs.get("status") != schema.STATUS_SUCCEEDED or prior_inputs is None:
            status = prior.attrs.get("status") or "unknown"
            reasons = [f"the last run did not succeed (status {status})"]
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

    # -- apply ------------------------------------------------------------------------------

    def create(self, planned: Planned, ctx: Context) -> ResourceState:
        args = validate_args(schema.Args, planned.args)
        if not is_wholly_known(args):
            raise ProviderError("training job arguments are still unknown at apply")
        data_dir = provider_data_dir(self.provider, ctx).resolve()
        inp = self._inputs(args, ctx, at_apply=True)
        fp = inp.fingerprint()
        assert fp is not None  # every input is known at apply
        env = environment_facts(data_dir, args["environment"], required=True)
        assert env is not None
        cluster = cluster_facts(ctx, args["cluster"])

        scan = inp.code_scan
        code_snapshot: Path | None = None
        if scan is not None:
            try:
                code_snapshot = snapshot_code(
                    data_dir, scan, expected_digest=planned.private.get("code_digest")
                )
            except CodeChanged as e:
                raise ProviderError("the job's code changed since plan", str(e)) from e

        data_env: dict[str, str] = {}
        for name, ds_id in args["datasets"].items():
            if not store.dataset_exists(data_dir, ds_id):
                raise ProviderError(
                    f'dataset "{name}" ({ds_id}) is not in the store',
                    f"expected its snapshot under {store.dataset_snapshot_path(data_dir, ds_id)}. "
                    "Apply the dataset resource with this id first.",
                )
            data_env[f"MLFORM_DATA_{schema.env_name(name)}"] = str(
                store.dataset_uri(data_dir, ds_id)
            )

        params = plain(args["params"] or {})
        job_env: dict[str, str] = dict(data_env)
        job_env["MLFORM_PARAMS"] = json.dumps(params, sort_keys=True)
        for name, value in params.items():
            job_env[f"MLFORM_PARAM_{schema.env_name(name)}"] = (
                value if isinstance(value, str) else json.dumps(value, sort_keys=True)
            )
        if args["seed"] is not None:
            job_env["MLFORM_SEED"] = str(args["seed"])
            job_env["PYTHONHASHSEED"] = str(args["seed"])
        job_env["CUDA_VISIBLE_DEVICES"] = cluster.visible_devices

        # The facts of the machine and environment the job runs in, read there, by the job's
        # interpreter with the job's variables (not this process's view of this host).
        worker = worker_facts(str(env.python), process_env(env, job_env), cwd=data_dir) or {}
        env_info = store.environment_info(data_dir, env.id) if env.id else None

        run_id = _run_id()
        log_path = process.log_dir(data_dir, ctx.address) / f"{run_id}.log"
        run_root = data_dir / "runs" / process.address_safe(ctx.address) / run_id
        timeout = parse_duration(args["timeout"])
        attempts = int(args["retries"] or 0) + 1
        nodes = int(args["nodes"])
        started_at = now_iso()
        t0 = time.monotonic()

        result: process.RunResult | None = None
        output_dir = metrics_file = work = None
        for attempt in range(1, attempts + 1):
            if attempt > 1:
                ctx.log(f"retrying: attempt {attempt} of {attempts}")
                _append(log_path, f"--- attempt {attempt} of {attempts} ---")
            adir = run_root / f"attempt-{attempt}"
            work, output_dir, metrics_file = adir / "work", adir / "output", adir / "metrics.json"
            if code_snapshot is not None:
                materialize(code_snapshot, work)
            work.mkdir(parents=True, exist_ok=True)
            output_dir.mkdir(parents=True, exist_ok=True)
            attempt_env = dict(job_env)
            attempt_env["MLFORM_OUTPUT_DIR"] = str(output_dir)
            attempt_env["MLFORM_METRICS_FILE"] = str(metrics_file)
            attempt_env["MLFORM_RUN_ID"] = run_id
            specs = self._specs(args["command"], work, env, attempt_env, nodes)
            result = process.run_foreground(
                specs,
                log_path=log_path,
                on_line=ctx.log,
                timeout=timeout,
                cancel_event=ctx.cancel_event,
            )
            if result.ok or result.cancelled:
                break
            ctx.log(_failure_summary(result, args["timeout"]))
        assert result is not None and output_dir is not None and metrics_file is not None
        finished_at = now_iso()

        if not result.ok:
            tail = "\n".join(result.tail) or "(the job printed nothing)"
            summary = (
                "training job cancelled"
                if result.cancelled
                else f"training job failed: {_failure_summary(result, args['timeout'])}"
                + (f" (after {attempts} attempts)" if attempts > 1 else "")
            )
            err = ProviderError(
                summary,
                f"last lines of its output:\n{tail}\n\nfull log: {log_path}\n"
                f"working directory kept at {work}",
            )
            # Recorded with the tainted instance: `mlform logs ADDR` shows the failed run.
            err.private = {"log_path": str(log_path)}  # type: ignore[attr-defined]
            raise err

        metrics = _read_metrics(metrics_file, ctx)
        tree, model_dir = store.store_model(
            data_dir, output_dir, origin=f"{ctx.address} run {run_id}", extra={"run_id": run_id}
        )
        store.remove_tree(run_root)  # the model is stored; the scratch copies are not needed

        attrs = schema.Attrs(
            id=run_id,
            fingerprint=fp.digest,
            status=schema.STATUS_SUCCEEDED,
            model=str(model_dir),
            model_digest=tree.digest,
            metrics=metrics,
            started_at=started_at,
            finished_at=finished_at,
            run_id=run_id,
            logs=str(log_path),
            code_digest=scan.digest if scan else None,
            code_commit=scan.git_commit if scan else None,
        ).model_dump()
        lineage = {
            "run_id": run_id,
            "fingerprint": fp.digest,
            "fingerprint_inputs": fp.to_inputs(),
            "code": (
                {**scan.facts(), "snapshot": str(code_snapshot)} if scan is not None else None
            ),
            "environment": {
                "id": env.id,
                "lock_digest": env.lock_digest,
                "python": env.python_version,
                "path": str(env.venv) if env.venv else str(env.python),
                **({"packages": dict(env_info.get("lock") or {})} if env_info else {}),
            },
            "datasets": {
                name: {"id": ds_id, "uri": data_env[f"MLFORM_DATA_{schema.env_name(name)}"]}
                for name, ds_id in args["datasets"].items()
            },
            "params": params,
            "seed": args["seed"],
            "command": args["command"],
            "nodes": nodes,
            "host": {
                "hostname": cluster.host,
                "os": platform.platform(),
                "machine": platform.machine(),
                **(worker.get("host") or {}),
            },
            "hardware": {
                "class": cluster.hardware_class,
                "gpu_model": cluster.gpu_model,
                "gpu_count": cluster.gpu_count,
                "driver_version": cluster.driver_version,
                "cuda_version": cluster.cuda_version,
                **(worker.get("hardware") or {}),
                "visible_devices": cluster.visible_devices,
            },
            "timings": {
                "started_at": started_at,
                "finished_at": finished_at,
                "duration_s": round(time.monotonic() - t0, 3),
                "attempts": attempt,
            },
            "model": {
                "uri": str(model_dir),
                "digest": tree.digest,
                "files": tree.count,
                "bytes": tree.bytes,
            },
            "metrics": metrics,
            "log": str(log_path),
        }
        ctx.lineage.update({"run_id": run_id, "model_digest": tree.digest})
        state = ResourceState(
            id=run_id,
            args=args,
            attrs=attrs,
            lineage=lineage,
            # `mlform logs ADDR` reads the log file from here.
            private={"fingerprint_inputs": fp.to_inputs(), "log_path": str(log_path)},
        )
        if ctx.idempotency_token:
            _save_record(data_dir, ctx.idempotency_token, state)
        return state

    @staticmethod
    def _specs(
        command: str, work: Path, env: Any, job_env: dict[str, str], nodes: int
    ) -> list[process.ProcessSpec]:
        if nodes == 1:
            return [process.ProcessSpec(command, work, process_env(env, job_env))]
        # torch.distributed's launch variables: one process per rank on this host.
        port = process.free_port()
        specs = []
        for rank in range(nodes):
            rank_env = dict(job_env)
            rank_env.update(
                {
                    "MASTER_ADDR": "127.0.0.1",
                    "MASTER_PORT": str(port),
                    "WORLD_SIZE": str(nodes),
                    "RANK": str(rank),
                    "LOCAL_RANK": str(rank),
                    "NODE_RANK": str(rank),
                    "LOCAL_WORLD_SIZE": str(nodes),
                }
            )
            specs.append(
                process.ProcessSpec(command, work, process_env(env, rank_env), f"[rank {rank}] ")
            )
        return specs

    def find_by_token(self, token: str, ctx: Context) -> ResourceState | None:
        """The run a create with this token finished before an interruption lost its answer."""
        path = _record_path(provider_data_dir(self.provider, ctx).resolve(), token)
        try:
            rec = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        state = ResourceState(
            rec["id"], rec["args"], rec["attrs"], rec.get("lineage"), rec.get("private") or {}
        )
        return self.read(state, ctx)

    def update(self, prior: ResourceState, planned: Planned, ctx: Context) -> ResourceState:
        # Only settings that do not decide the result reach here: record them, run nothing.
        return ResourceState(
            id=prior.id,
            args=validate_args(schema.Args, planned.args),
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
        """Forget the run. The stored model stays in the content store: the lineage of other
        records (and a rollback) may need it."""
        data_dir = provider_data_dir(self.provider, ctx).resolve()
        run_root = data_dir / "runs" / process.address_safe(ctx.address) / str(state.id)
        if run_root.exists():
            shutil.rmtree(run_root, ignore_errors=True)


def _record_path(data_dir: Path, token: str) -> Path:
    safe = "".join(c for c in token if c.isalnum() or c in "-_") or "token"
    return data_dir / "records" / "training_job" / f"{safe}.json"


def _save_record(data_dir: Path, token: str, state: ResourceState) -> None:
    """Keep the finished run's state under its create token, for `find_by_token`."""
    path = _record_path(data_dir, token)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    data = {
        "id": state.id,
        "args": state.args,
        "attrs": state.attrs,
        "lineage": state.lineage,
        "private": state.private,
    }
    tmp.write_text(json.dumps(data, sort_keys=True, default=str))
    tmp.replace(path)


def _append(path: Path, line: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as f:
        f.write(line + "\n")


def _failure_summary(result: process.RunResult, timeout: Any) -> str:
    if result.timed_out:
        return f"timed out after {timeout} (timeout = {json.dumps(timeout)}); the job was stopped"
    if result.cancelled:
        return "cancelled"
    codes = [rc for rc in result.returncodes if rc not in (0, None)]
    if len(result.returncodes) > 1:
        failed = [f"rank {i} exited with {rc}" for i, rc in enumerate(result.returncodes) if rc]
        return ", ".join(failed) or "a rank failed"
    rc = codes[0] if codes else None
    if rc is not None and rc < 0:
        return f"killed by signal {-rc}"
    return f"exit status {rc}"


def _read_metrics(path: Path, ctx: Context) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text())
    except ValueError as e:
        ctx.log(f"warning: MLFORM_METRICS_FILE is not valid JSON ({e}); metrics left empty")
        return {}
    if not isinstance(data, dict):
        ctx.log("warning: MLFORM_METRICS_FILE does not hold a JSON object; metrics left empty")
        return {}
    return data
