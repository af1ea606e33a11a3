"""The local `deployment`: a model served by the runtime behind a stable endpoint.

Each replica of a revision is one `mlform-runtime serve` (`mlform_local.servers`), started
detached so that it outlives `mlform`. The runtime runs `command` in the environment, in a copy
of the code snapshot, with `PORT` and `MLFORM_MODEL_DIR`; it probes the health check, restarts a
server that crashes or stops answering (with backoff), and reports in its `status.json` whether
the server is healthy and which model digest it serves. In front of the replicas a small proxy
process (`mlform_local.proxy`) owns the endpoint port and forwards connections round robin to
the current revision's runtimes, listed in a targets file: that is what keeps the endpoint
across revisions.

A new model, command, code, environment or replica count is an update: the new revision's
runtimes start and must report their servers healthy; then the targets file switches to them
(the endpoint does not move and keeps answering), and only then is the old revision stopped.
Runtimes are recorded by (PID, start time) so that refresh can tell a dead one, or a PID reused
by another program, from ours: a runtime found dead, a server it reports unhealthy or serving
another model than the one recorded, or a dead endpoint proxy, comes back from `read` with
`status` "stopped" or "unhealthy", and plan shows the update that fixes it, with the reason.
"""

from __future__ import annotations

import json
import os
import socket
import time
import uuid
from pathlib import Path
from typing import Any

from mlform.kinds import deployment as schema
from mlform.kinds.common import now_iso, parse_duration, planned_attrs, short_digest
from mlform.kinds.digest import DigestError, StatCache, digest_tree, stat_cache_path
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
from mlform_local import process, proxy, servers, store
from mlform_local.code_snapshot import CodeChanged, scan_code, snapshot_code
from mlform_local.provider import provider_data_dir
from mlform_local.runtime import environment_facts, resolve_path
from mlform_local.training import validate_args

__all__ = ["DeploymentKind"]

HEALTHY, UNHEALTHY, STOPPED = "healthy", "unhealthy", "stopped"
# Files in a deployment's folder: the create's idempotency token, every process started (for
# cleaning up after a crash), and the last state returned (for adopting it after one).
TOKEN_FILE, STARTED_FILE, RECORD_FILE = "token", "started.json", "record.json"
# How long an old revision may finish its in-flight requests after the switch, and how long the
# endpoint proxy gets between TERM and KILL.
DRAIN_S = 0.5
STOP_GRACE_S = 10.0


def _health(args: dict[str, Any]) -> schema.HealthCheck:
    hc = args.get("health_check")
    if isinstance(hc, schema.HealthCheck):
        return hc
    return schema.HealthCheck.model_validate(hc or {})


class DeploymentKind(Kind):
    """`deployment` on this machine."""

    args = schema.Args
    attrs = schema.Attrs
    description = "A model served by supervised processes behind a stable endpoint on 127.0.0.1."

    # -- plan -------------------------------------------------------------------------------

    def _normalize(self, desired: dict[str, Any]) -> dict[str, Any]:
        args = validate_args(schema.Args, desired)
        if is_wholly_known(args.get("health_check")) and args.get("health_check") is None:
            args["health_check"] = schema.HealthCheck().model_dump()
        hc = args.get("health_check")
        if hc is not None and is_wholly_known(hc):
            for key in ("interval", "timeout"):
                try:
                    parse_duration(hc[key])
                except ValueError as e:
                    raise ConfigError(f"health_check.{key}: {e}", attribute="health_check") from e
            if not str(hc["path"]).startswith("/"):
                raise ConfigError(
                    f"health_check.path must start with /, got {hc['path']!r}",
                    attribute="health_check",
                )
        if is_wholly_known(args.get("replicas")) and args["replicas"] < 1:
            raise ConfigError("replicas must be at least 1", attribute="replicas")
        port = args.get("port")
        if is_wholly_known(port) and port is not None and not 1 <= port <= 65535:
            raise ConfigError(f"port {port} is not a TCP port (1-65535)", attribute="port")
        return args

    def _code_digest(self, args: dict[str, Any], ctx: Context) -> Any:
        code = args.get("code")
        if code is UNKNOWN:
            return UNKNOWN
        if not code:
            return None
        path = resolve_path(ctx, code)
        if not path.exists():
            raise ConfigError(
                f"code folder {code!r} does not exist",
                f"Looked for {path}. {ctx.path_hint(code)}",
                attribute="code",
            )
        try:
            return scan_code(path, data_dir=provider_data_dir(self.provider, ctx).resolve()).digest
        except DigestError as e:
            raise ProviderError(f"cannot read the code folder {path}", str(e)) from e

    def _model_digest(self, model: Any, ctx: Context) -> Any:
        """The digest of the model folder: read off its place in the content store, else hashed
        (with the stat cache)."""
        if model is UNKNOWN:
            return UNKNOWN
        if not model:
            return None
        path = resolve_path(ctx, model)
        data_dir = provider_data_dir(self.provider, ctx).resolve()
        models = store.Store(data_dir).root / store.MODELS
        if path.parent == models and len(path.name) == 64:
            return "sha256:" + path.name
        if not path.exists():
            return UNKNOWN  # produced during this apply (or missing: create says so)
        cache_path = stat_cache_path(data_dir)
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        with StatCache(cache_path) as cache:
            return digest_tree(path, cache=cache).digest

    def plan(self, prior: ResourceState | None, desired: dict[str, Any], ctx: Context) -> Planned:
        args = self._normalize(desired)
        code_digest = self._code_digest(args, ctx)
        model_digest = self._model_digest(args.get("model"), ctx)
        private = {"code_digest": code_digest if code_digest is not UNKNOWN else None}
        port = args.get("port")
        if prior is None:
            endpoint = f"http://127.0.0.1:{port}" if isinstance(port, int) else UNKNOWN
            attrs = planned_attrs(
                schema.Attrs,
                endpoint=endpoint,
                port=port if isinstance(port, int) else UNKNOWN,
                revision=1,
                status=HEALTHY,
                model_digest=model_digest,
            )
            return Planned("create", attrs, [], [], args, private)

        pa = {**prior.attrs, "port": _endpoint_port(prior)}
        if port is not None and port != pa["port"]:
            attrs = planned_attrs(
                schema.Attrs,
                endpoint=f"http://127.0.0.1:{port}" if isinstance(port, int) else UNKNOWN,
                port=port,
                revision=1,
                status=HEALTHY,
                model_digest=model_digest,
            )
            return Planned(
                "replace",
                attrs,
                [f"port changed {pa.get('port')} → {port} (the endpoint moves)"],
                ["port"],
                args,
                private,
            )

        reasons = self._restart_reasons(prior, args, code_digest, model_digest)
        if reasons:
            attrs = dict(pa)
            attrs.update(
                revision=int(pa.get("revision") or 0) + 1,
                status=HEALTHY,
                model_digest=model_digest,
                pids=UNKNOWN,
                started_at=UNKNOWN,
            )
            return Planned("update", attrs, reasons, [], args, private)
        # `port` is left out: unset, it means "the one chosen at create", which the state may
        # hold under the same name.
        if any(prior.args.get(k) != args.get(k) for k in ("cluster", "autoscaling")):
            return Planned("update", dict(pa), ["settings changed (no restart)"], [], args, private)
        return Planned("noop", dict(pa), [], [], args, private)

    def _restart_reasons(
        self, prior: ResourceState, args: dict[str, Any], code_digest: Any, model_digest: Any
    ) -> list[str]:
        """Why the deployment needs a new revision: drift found by refresh, a new model, code,
        command, environment, variables, replica count or health check. Empty: it need not."""
        pa, pp = prior.attrs, prior.private
        reasons: list[str] = []
        status = pa.get("status")
        if status != HEALTHY:
            drift = pp.get("drift") or f"the deployment is {status}"
            reasons.append(f"{drift}: it will be restarted")
        if model_digest is UNKNOWN or model_digest != pa.get("model_digest"):
            shown = "(known after apply)" if model_digest is UNKNOWN else short_digest(model_digest)
            reasons.append(f"model changed {short_digest(pa.get('model_digest'))} → {shown}")
        elif args.get("model") != prior.args.get("model"):
            reasons.append(f"model changed {prior.args.get('model')} → {args.get('model')}")
        if code_digest is UNKNOWN or code_digest != pp.get("code_digest"):
            shown = "(known after apply)" if code_digest is UNKNOWN else short_digest(code_digest)
            reasons.append(f"code changed {short_digest(pp.get('code_digest'))} → {shown}")
        for key in ("command", "environment", "env", "replicas", "health_check"):
            old, new = prior.args.get(key), args.get(key)
            if key == "health_check":
                old = schema.HealthCheck.model_validate(old or {}).model_dump()
            if old != new:
                reasons.append(f"{key} changed {_show(old)} → {_show(new)}")
        return reasons

    # -- apply ------------------------------------------------------------------------------

    def create(self, planned: Planned, ctx: Context) -> ResourceState:
        args = self._normalize(planned.args)
        data_dir = provider_data_dir(self.provider, ctx).resolve()
        dep_id = "deploy-" + uuid.uuid4().hex[:12]
        home = data_dir / "deployments" / dep_id
        port = args["port"] or process.free_port()
        if not process.port_free(port):
            raise ProviderError(
                f"port {port} is already in use on 127.0.0.1",
                "Stop what listens there, or choose another `port` (or leave it unset for a "
                "free one).",
            )
        home.mkdir(parents=True, exist_ok=True)
        if ctx.idempotency_token:
            # Written first, so that a create interrupted by a crash can be found again.
            (home / TOKEN_FILE).write_text(ctx.idempotency_token)
        targets = home / "targets.json"
        logs = process.log_dir(data_dir, ctx.address)
        revision = 1
        try:
            replicas = self._start_revision(args, planned, ctx, dep_id, home, revision)
            proxy.write_targets(targets, revision, _targets(replicas))
            try:
                px = self._start_proxy(port, targets, home, logs, ctx)
            except BaseException:
                _stop_all(replicas)
                raise
        except BaseException:
            store.remove_tree(home)
            raise
        return self._state(dep_id, args, ctx, port, revision, replicas, px, home)

    def update(self, prior: ResourceState, planned: Planned, ctx: Context) -> ResourceState:
        args = self._normalize(planned.args)
        pa, pp = prior.attrs, prior.private
        home = Path(pp.get("home") or "")
        # Decide again rather than trust the plan's reasons: the engine may hand over the state
        # as recorded before refresh, and a server may have died since plan.
        current = self.read(prior, ctx) or prior
        reasons = self._restart_reasons(
            current,
            args,
            self._code_digest(args, ctx),
            self._model_digest(args.get("model"), ctx),
        )
        if not reasons:
            return ResourceState(prior.id, args, dict(pa), prior.lineage, dict(pp))
        for reason in reasons:
            ctx.log(f"new revision: {reason}")
        data_dir = provider_data_dir(self.provider, ctx).resolve()
        logs = process.log_dir(data_dir, ctx.address)
        port = _endpoint_port(prior)
        targets = home / "targets.json"
        home.mkdir(parents=True, exist_ok=True)
        revision = int(pa.get("revision") or 0) + 1
        new = self._start_revision(args, planned, ctx, prior.id, home, revision)

        px = pp.get("proxy") or {}
        if not process.is_alive(int(px.get("pid", 0)), px.get("start_time")):
            # The endpoint itself died: bring it back on the same port, now pointing at `new`.
            proxy.write_targets(targets, revision, _targets(new))
            if not process.port_free(port):
                _stop_all(new)
                raise ProviderError(
                    f"the endpoint port {port} is taken by another program",
                    "The deployment's proxy is not running and something else listens on its "
                    "port. Stop it, or set another `port`.",
                )
            try:
                px = self._start_proxy(port, targets, home, logs, ctx)
            except ProviderError:
                _stop_all(new)
                raise
        else:
            proxy.write_targets(targets, revision, _targets(new))
            ctx.log(f"switched the endpoint to revision {revision}")
            time.sleep(DRAIN_S)  # in-flight requests to the old revision finish
        _stop_all(_replicas(pp))
        return self._state(prior.id, args, ctx, port, revision, new, px, home)

    def _state(
        self,
        dep_id: str,
        args: dict[str, Any],
        ctx: Context,
        port: int,
        revision: int,
        replicas: list[servers.Replica],
        px: dict[str, Any],
        home: Path,
    ) -> ResourceState:
        data_dir = provider_data_dir(self.provider, ctx).resolve()
        # The digest the runtime reports it serves (the one it was given and checked).
        served = {r.status.get("model_digest") for r in replicas}
        model_digest = served.pop() if len(served) == 1 else None
        started_at = now_iso()
        attrs = schema.Attrs(
            id=dep_id,
            endpoint=f"http://127.0.0.1:{port}",
            revision=revision,
            status=HEALTHY,
            model_digest=model_digest,
            port=port,
            pids=[r.pid for r in replicas],
            started_at=started_at,
            logs=str(process.log_dir(data_dir, ctx.address)),
        ).model_dump()
        code_digest = self._served_code_digest(replicas)
        private = {
            "home": str(home),
            "port": port,
            "proxy": px,
            "replicas": [r.to_dict() for r in replicas],
            "code_digest": code_digest,
            # `mlform logs ADDR` shows this one: the first server of the serving revision.
            "log_path": str(replicas[0].log_path) if replicas else None,
        }
        lineage = {
            "revision": revision,
            "model": args.get("model"),
            "model_digest": attrs["model_digest"],
            "code_digest": code_digest,
            "environment": args.get("environment"),
            "command": args.get("command"),
            "replicas": args.get("replicas"),
            "started_at": started_at,
        }
        state = ResourceState(dep_id, args, attrs, lineage, private)
        _write_json(home / STARTED_FILE, [px, *private["replicas"]])
        _write_json(
            home / RECORD_FILE,
            {"id": dep_id, "args": args, "attrs": attrs, "lineage": lineage, "private": private},
        )
        return state

    @staticmethod
    def _served_code_digest(replicas: list[servers.Replica]) -> str | None:
        for r in replicas:
            spec = _read_json_file(r.output / servers.SPEC) or {}
            code = spec.get("code") if isinstance(spec, dict) else None
            if isinstance(code, dict) and code.get("digest"):
                return str(code["digest"])
        return None

    def _spec(
        self, args: dict[str, Any], planned: Planned, ctx: Context, data_dir: Path
    ) -> dict[str, Any]:
        """The runtime's server spec shared by the revision's replicas (docs/runtime.md)."""
        env = environment_facts(data_dir, args.get("environment"), required=True)
        assert env is not None
        model = None
        if args.get("model"):
            model_dir = resolve_path(ctx, args["model"])
            if not model_dir.exists():
                raise ProviderError(
                    f"the model {args['model']} does not exist",
                    "`model` should be a training job's `model` attribute or a folder.",
                )
            digest = self._model_digest(args["model"], ctx)
            # The store is asked for the digest first (a trained model is read in place);
            # another folder is digested by the runtime and must match.
            model = {"uri": str(model_dir)}
            if isinstance(digest, str):
                model["digest"] = digest
        code = None
        if args.get("code"):
            scan = scan_code(resolve_path(ctx, args["code"]), data_dir=data_dir)
            try:
                snapshot_code(data_dir, scan, expected_digest=planned.private.get("code_digest"))
            except CodeChanged as e:
                raise ProviderError("the deployment's code changed since plan", str(e)) from e
            code = {"digest": scan.digest}
        hc = _health(args)
        interval = parse_duration(hc.interval) or 1.0
        timeout = parse_duration(hc.timeout) or 5.0
        return {
            "format": 1,
            "kind": "server",
            "address": ctx.address,
            "command": args["command"],
            "code": code,
            "model": model,
            "environment": (
                {"venv": str(env.venv), "digest": env.lock_digest, "env": dict(env.env)}
                if env.id and env.venv is not None
                else None
            ),
            "env": {str(k): str(v) for k, v in (args.get("env") or {}).items()},
            "store": {"uri": str(data_dir / "store")},
            "port": 0,
            "health": {
                "path": hc.path,
                "interval_s": interval,
                "timeout_s": timeout,
                # `retries` probes may fail while a server starts, and in a row once it served.
                "start_timeout_s": (hc.retries + 1) * interval + timeout,
                "failures": hc.retries + 1,
            },
        }

    def _start_revision(
        self,
        args: dict[str, Any],
        planned: Planned,
        ctx: Context,
        dep_id: str,
        home: Path,
        revision: int,
    ) -> list[servers.Replica]:
        """Start the revision's replicas (one runtime each) and wait until every one is healthy;
        on failure stop them all and raise ProviderError with the last lines of the log."""
        data_dir = provider_data_dir(self.provider, ctx).resolve()
        base = self._spec(args, planned, ctx, data_dir)
        logs = process.log_dir(data_dir, ctx.address) / dep_id
        started: list[servers.Replica] = []
        try:
            for i in range(int(args["replicas"])):
                spec = {
                    **base,
                    "run_id": f"{dep_id}-r{revision}-{i}",
                    "env": {
                        **base["env"],
                        "MLFORM_REVISION": str(revision),
                        "MLFORM_REPLICA": str(i),
                    },
                }
                rep = servers.start_replica(
                    spec,
                    logs / f"rev-{revision}-replica-{i}",
                    revision=revision,
                    replica=i,
                    cache=data_dir / "runtime",
                )
                _note_started(home, rep.to_dict())
                ctx.log(f"revision {revision} replica {i}: started the runtime (PID {rep.pid})")
                started.append(rep)
            for rep in started:
                self._wait_healthy(rep, ctx, int(args["replicas"]) > 1)
        except BaseException:
            _stop_all(started)
            raise
        return started

    def _wait_healthy(self, rep: servers.Replica, ctx: Context, many: bool) -> None:
        """Follow the replica's log until the runtime reports it healthy. The runtime probes and
        restarts; a server that has to be restarted before it was ever healthy (it exited, or
        did not pass its check in time) fails the revision here."""
        prefix = f"[replica {rep.replica}] " if many else ""
        seen = 0
        spec = _read_json_file(rep.output / servers.SPEC) or {}
        start_timeout = float((spec.get("health") or {}).get("start_timeout_s") or 120.0)
        deadline = time.monotonic() + start_timeout + servers.START_GRACE_S
        while True:
            lines = rep.lines()
            for line in lines[seen:]:
                ctx.log(prefix + line)
            seen = max(seen, len(lines))
            status = rep.status
            state = status.get("state")
            if state == "healthy" and rep.endpoint_port is not None:
                # The log is written every half second: pass on what came before the health
                # check passed (the runtime's "healthy" line), then say so.
                flushed = time.monotonic() + 2.0
                while time.monotonic() < flushed:
                    lines = rep.lines()
                    for line in lines[seen:]:
                        ctx.log(prefix + line)
                    seen = max(seen, len(lines))
                    if any(line.startswith(servers.HEALTHY_LINE) for line in lines):
                        break
                    time.sleep(0.05)
                ctx.log(
                    f"revision {rep.revision} replica {rep.replica}: health check passed "
                    f"(server PID {status.get('server_pid')}, behind port {rep.endpoint_port})"
                )
                return
            failed = state in ("failed", "stopped") or (
                state == "unhealthy" and int(status.get("restarts") or 0) > 0
            )
            if failed or not rep.alive() or time.monotonic() > deadline or ctx.cancelled:
                reason = str(status.get("reason") or "")
                if ctx.cancelled:
                    summary = "deployment cancelled while waiting for its health check"
                elif reason.startswith("the server exited"):
                    summary = f"the server exited before its health check passed ({reason[18:]})"
                elif reason.startswith("not healthy"):
                    path = (spec.get("health") or {}).get("path", "/health")
                    summary = f"health check failed: GET {path} did not answer 2xx: {reason}"
                elif not rep.alive() and not status:
                    summary = "the runtime serving the model stopped before it started"
                elif time.monotonic() > deadline:
                    summary = "the server did not get healthy in time"
                else:
                    summary = f"the server did not start: {reason or state}"
                rep.stop("the revision failed")  # also flushes the log
                raise ProviderError(
                    summary,
                    f"last lines of its log:\n{rep.tail()}\n\nfull log: {rep.log_path}",
                )
            time.sleep(0.05)

    def _start_proxy(
        self, port: int, targets: Path, home: Path, logs: Path, ctx: Context
    ) -> dict[str, Any]:
        p = process.spawn_detached(
            proxy.start_command(port, targets),
            cwd=home,
            env=dict(os.environ),
            log_path=logs / "endpoint.log",
        )
        _note_started(home, p.to_dict())
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if not process.is_alive(p.pid, p.start_time):
                tail = "\n".join(process.tail_lines(Path(p.log_path)))
                raise ProviderError(f"the endpoint proxy on port {port} did not start", tail)
            with socket.socket() as s:
                s.settimeout(1)
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    ctx.log(f"endpoint http://127.0.0.1:{port} (proxy PID {p.pid})")
                    return {**p.to_dict(), "port": port}
            time.sleep(0.05)
        process.stop(p.pid, p.start_time, grace=2)
        raise ProviderError(f"the endpoint proxy did not listen on port {port} within 15s")

    def find_by_token(self, token: str, ctx: Context) -> ResourceState | None:
        """The deployment a create with this token made before an interruption. One whose create
        did not finish is cleaned up instead (its processes stopped), so that it is created
        afresh."""
        root = provider_data_dir(self.provider, ctx).resolve() / "deployments"
        if not root.is_dir():
            return None
        for home in root.iterdir():
            try:
                if (home / TOKEN_FILE).read_text().strip() != token:
                    continue
            except OSError:
                continue
            try:
                rec = json.loads((home / RECORD_FILE).read_text())
            except (OSError, ValueError):
                rec = None
            if rec is not None:
                return ResourceState(
                    rec["id"], rec["args"], rec["attrs"], rec.get("lineage"), rec["private"]
                )
            for p in _read_started(home):
                if p.get("output"):
                    servers.Replica.from_dict(p).stop("the create was interrupted")
                else:
                    process.stop(int(p["pid"]), p.get("start_time"), grace=STOP_GRACE_S)
            store.remove_tree(home)
        return None

    # -- refresh and destroy ----------------------------------------------------------------

    def read(self, state: ResourceState, ctx: Context) -> ResourceState | None:
        """The deployment as its runtimes report it: `status` "stopped" when no runtime is
        running, "unhealthy" when one is not (or its endpoint proxy is not), or when a server
        is not healthy or serves another model than the one recorded (the reason is kept for
        plan). The runtimes probe and restart their servers themselves; this only reads."""
        pp = state.private
        replicas = _replicas(pp)
        px = pp.get("proxy") or {}
        expected = state.attrs.get("model_digest")
        problems: list[str] = []
        alive = []
        healthy = 0
        for r in replicas:
            if not r.alive():
                problems.append(f"server process {r.pid} is not running")
                continue
            alive.append(r)
            status = r.status
            st = status.get("state")
            if st != "healthy":
                why = status.get("reason")
                problems.append(
                    f"server process {r.pid} is {st or 'not reporting'}"
                    + (f" ({why})" if why else "")
                )
                continue
            served = status.get("model_digest")
            if served != expected:
                problems.append(
                    f"server process {r.pid} serves model {short_digest(served)}, "
                    f"not {short_digest(expected)}"
                )
                continue
            healthy += 1
        if not process.is_alive(int(px.get("pid", 0)), px.get("start_time")):
            problems.append(f"endpoint proxy process {px.get('pid')} is not running")
        status = HEALTHY if not problems else (STOPPED if not alive else UNHEALTHY)
        attrs = dict(state.attrs)
        attrs["status"] = status
        attrs["pids"] = [r.pid for r in alive]
        private = dict(pp)
        if problems:
            private["drift"] = "; ".join(problems)
        else:
            private.pop("drift", None)
        return ResourceState(state.id, dict(state.args), attrs, state.lineage, private)

    def delete(self, state: ResourceState, ctx: Context) -> None:
        """Stop the endpoint and every server's runtime (which stops its server: TERM, then
        KILL after a grace period). Logs stay."""
        pp = state.private
        px = pp.get("proxy") or {}
        if px.get("pid"):
            process.stop(int(px["pid"]), px.get("start_time"), grace=STOP_GRACE_S)
        _stop_all(_replicas(pp))
        home = pp.get("home")
        if home:
            store.remove_tree(Path(home))


def _replicas(private: dict[str, Any]) -> list[servers.Replica]:
    return [servers.Replica.from_dict(r) for r in private.get("replicas") or [] if r]


def _targets(replicas: list[servers.Replica]) -> list[str]:
    return [f"127.0.0.1:{r.endpoint_port}" for r in replicas]


def _stop_all(replicas: list[servers.Replica]) -> None:
    for r in replicas:
        r.stop()


def _read_json_file(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, sort_keys=True))
    os.replace(tmp, path)


def _read_started(home: Path) -> list[dict[str, Any]]:
    try:
        return list(json.loads((home / STARTED_FILE).read_text()))
    except (OSError, ValueError):
        return []


def _note_started(home: Path, p: dict[str, Any]) -> None:
    _write_json(home / STARTED_FILE, [*_read_started(home), p])


def _endpoint_port(state: ResourceState) -> int:
    """The endpoint's port as recorded. The `port` attribute shares its name with the argument,
    so an engine that splits one record into arguments and attributes may hand it over on either
    side; the private record of the proxy is the reliable one."""
    px = state.private.get("proxy") or {}
    for value in (
        px.get("port"),
        state.private.get("port"),
        state.attrs.get("port"),
        state.args.get("port"),
    ):
        if isinstance(value, int) and value > 0:
            return value
    raise ProviderError(f"the state of deployment {state.id} records no endpoint port")


def _show(value: Any) -> str:
    if isinstance(value, str):
        return json.dumps(value)
    return json.dumps(value, sort_keys=True, default=str)
