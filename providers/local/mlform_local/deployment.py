"""The local `deployment`: a model served by supervised server processes behind a stable endpoint.

Each revision runs `replicas` copies of `command` (through the shell, in the environment, in a
fresh copy of the code snapshot) as detached processes that outlive `mlform`, each on its own
port with `PORT` and `MLFORM_MODEL_DIR` set. In front of them a small proxy process
(`mlform_local.proxy`) owns the endpoint port and forwards connections round robin to the current
revision's servers, listed in a targets file.

A new model, command, code, environment or replica count is an update: the new revision's servers
start on new ports and must pass their health check; then the targets file switches to them (the
endpoint does not move and keeps answering), and only then is the old revision stopped (TERM,
then KILL after a grace period). Servers are recorded by (PID, start time) so that refresh can
tell a dead server, or a PID reused by another program, from ours: a server found dead or
unhealthy comes back from `read` with `status` "stopped" or "unhealthy", and plan shows the
update that restarts it, with the reason.
"""

from __future__ import annotations

import http.client
import json
import os
import shutil
import socket
import time
import uuid
from pathlib import Path
from typing import Any

from mlform.kinds import deployment as schema
from mlform.kinds import store
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
from mlform_local import process, proxy
from mlform_local.code_snapshot import CodeChanged, materialize, scan_code, snapshot_code
from mlform_local.provider import provider_data_dir
from mlform_local.runtime import environment_facts, process_env, resolve_path
from mlform_local.training import validate_args

__all__ = ["DeploymentKind", "probe"]

HEALTHY, UNHEALTHY, STOPPED = "healthy", "unhealthy", "stopped"
# Files in a deployment's folder: the create's idempotency token, every process started (for
# cleaning up after a crash), and the last state returned (for adopting it after one).
TOKEN_FILE, STARTED_FILE, RECORD_FILE = "token", "started.json", "record.json"
# How long an old revision may finish its in-flight requests after the switch, and how long it
# gets between TERM and KILL.
DRAIN_S = 0.5
STOP_GRACE_S = 10.0

# Arguments that need a new revision when they change (the endpoint stays).
_REVISION_ARGS = ("model", "command", "code", "environment", "env", "replicas", "health_check")


def _health(args: dict[str, Any]) -> schema.HealthCheck:
    hc = args.get("health_check")
    if isinstance(hc, schema.HealthCheck):
        return hc
    return schema.HealthCheck.model_validate(hc or {})


def probe(port: int, path: str, timeout: float) -> tuple[bool, str]:
    """One health probe: GET http://127.0.0.1:<port><path>; (passed, what happened)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"User-Agent": "mlform-health-check"})
        resp = conn.getresponse()
        resp.read()
        if 200 <= resp.status < 300:
            return True, f"HTTP {resp.status}"
        return False, f"HTTP {resp.status} {resp.reason}"
    except (OSError, http.client.HTTPException) as e:
        return False, f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
    finally:
        conn.close()


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
            backends = self._start_revision(args, planned, ctx, home, revision)
            proxy.write_targets(targets, revision, [f"127.0.0.1:{b['port']}" for b in backends])
            try:
                px = self._start_proxy(port, targets, home, logs, ctx)
            except BaseException:
                self._stop_backends(backends)
                raise
        except BaseException:
            store.remove_tree(home)
            raise
        return self._state(dep_id, args, planned, ctx, port, revision, backends, px, home)

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
        new = self._start_revision(args, planned, ctx, home, revision)

        px = pp.get("proxy") or {}
        if not process.is_alive(int(px.get("pid", 0)), px.get("start_time")):
            # The endpoint itself died: bring it back on the same port, now pointing at `new`.
            proxy.write_targets(targets, revision, [f"127.0.0.1:{b['port']}" for b in new])
            if not process.port_free(port):
                self._stop_backends(new)
                raise ProviderError(
                    f"the endpoint port {port} is taken by another program",
                    "The deployment's proxy is not running and something else listens on its "
                    "port. Stop it, or set another `port`.",
                )
            try:
                px = self._start_proxy(port, targets, home, logs, ctx)
            except ProviderError:
                self._stop_backends(new)
                raise
        else:
            proxy.write_targets(targets, revision, [f"127.0.0.1:{b['port']}" for b in new])
            ctx.log(f"switched the endpoint to revision {revision}")
            time.sleep(DRAIN_S)  # in-flight requests to the old revision finish
        old = [b for b in pp.get("backends") or [] if b]
        self._stop_backends(old)
        for b in old:
            if b.get("workdir"):
                shutil.rmtree(b["workdir"], ignore_errors=True)
        return self._state(prior.id, args, planned, ctx, port, revision, new, px, home)

    def _state(
        self,
        dep_id: str,
        args: dict[str, Any],
        planned: Planned,
        ctx: Context,
        port: int,
        revision: int,
        backends: list[dict[str, Any]],
        px: dict[str, Any],
        home: Path,
    ) -> ResourceState:
        data_dir = provider_data_dir(self.provider, ctx).resolve()
        model_digest = self._model_digest(args.get("model"), ctx)
        started_at = now_iso()
        attrs = schema.Attrs(
            id=dep_id,
            endpoint=f"http://127.0.0.1:{port}",
            revision=revision,
            status=HEALTHY,
            model_digest=None if model_digest is UNKNOWN else model_digest,
            port=port,
            pids=[b["pid"] for b in backends],
            started_at=started_at,
            logs=str(process.log_dir(data_dir, ctx.address)),
        ).model_dump()
        code_digest = backends[0].get("code_digest") if backends else None
        private = {
            "home": str(home),
            "port": port,
            "proxy": px,
            "backends": backends,
            "code_digest": code_digest,
            # `mlform logs ADDR` shows this one: the first server of the serving revision.
            "log_path": backends[0]["log_path"] if backends else None,
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
        _write_json(home / STARTED_FILE, [px, *backends])
        _write_json(
            home / RECORD_FILE,
            {"id": dep_id, "args": args, "attrs": attrs, "lineage": lineage, "private": private},
        )
        return state

    def _start_revision(
        self, args: dict[str, Any], planned: Planned, ctx: Context, home: Path, revision: int
    ) -> list[dict[str, Any]]:
        """Start the revision's servers and wait until every one passes its health check; on
        failure stop them all and raise ProviderError with the last lines of their logs."""
        data_dir = provider_data_dir(self.provider, ctx).resolve()
        env = environment_facts(data_dir, args.get("environment"), required=True)
        assert env is not None
        model_dir = None
        if args.get("model"):
            model_dir = resolve_path(ctx, args["model"])
            if not model_dir.exists():
                raise ProviderError(
                    f"the model {args['model']} does not exist",
                    "`model` should be a training job's `model` attribute or a folder.",
                )
        snapshot = None
        code_digest = None
        if args.get("code"):
            scan = scan_code(resolve_path(ctx, args["code"]), data_dir=data_dir)
            try:
                snapshot = snapshot_code(
                    data_dir, scan, expected_digest=planned.private.get("code_digest")
                )
            except CodeChanged as e:
                raise ProviderError("the deployment's code changed since plan", str(e)) from e
            code_digest = scan.digest
        logs = process.log_dir(data_dir, ctx.address)
        hc = _health(args)
        started: list[dict[str, Any]] = []
        try:
            for replica in range(int(args["replicas"])):
                work = home / f"rev-{revision}" / f"replica-{replica}"
                if work.exists():
                    shutil.rmtree(work, ignore_errors=True)
                if snapshot is not None:
                    materialize(snapshot, work)
                work.mkdir(parents=True, exist_ok=True)
                bport = process.free_port()
                extra = {
                    "PORT": str(bport),
                    "MLFORM_REVISION": str(revision),
                    "MLFORM_REPLICA": str(replica),
                    **{str(k): str(v) for k, v in (args.get("env") or {}).items()},
                }
                if model_dir is not None:
                    extra["MLFORM_MODEL_DIR"] = str(model_dir)
                log_path = logs / f"rev-{revision}-replica-{replica}.log"
                p = process.spawn_detached(
                    args["command"], cwd=work, env=process_env(env, extra), log_path=log_path
                )
                ctx.log(
                    f"revision {revision} replica {replica}: started PID {p.pid} on port {bport}"
                )
                _note_started(home, p)
                started.append(
                    {
                        **p.to_dict(),
                        "port": bport,
                        "replica": replica,
                        "revision": revision,
                        "workdir": str(work),
                        "code_digest": code_digest,
                    }
                )
            for b in started:
                self._wait_healthy(b, hc, ctx)
        except BaseException:
            self._stop_backends(started)
            raise
        return started

    def _wait_healthy(self, b: dict[str, Any], hc: schema.HealthCheck, ctx: Context) -> None:
        interval = parse_duration(hc.interval) or 1.0
        timeout = parse_duration(hc.timeout) or 5.0
        failures = 0
        last = ""
        last_report = time.monotonic()
        url = f"http://127.0.0.1:{b['port']}{hc.path}"
        while True:
            if ctx.cancelled:
                raise ProviderError("deployment cancelled while waiting for its health check")
            if not process.is_alive(b["pid"], b["start_time"]):
                tail = "\n".join(process.tail_lines(Path(b["log_path"]))) or "(no output)"
                raise ProviderError(
                    f"the server exited before its health check passed (PID {b['pid']})",
                    f"last lines of its log:\n{tail}\n\nfull log: {b['log_path']}",
                )
            ok, last = probe(b["port"], hc.path, timeout)
            if ok:
                ctx.log(f"health check passed: GET {url} → {last}")
                return
            failures += 1
            if failures > hc.retries:
                tail = "\n".join(process.tail_lines(Path(b["log_path"]))) or "(no output)"
                raise ProviderError(
                    f"health check failed: GET {url} did not answer 2xx after {failures} tries "
                    f"(last: {last})",
                    f"last lines of the server's log:\n{tail}\n\nfull log: {b['log_path']}",
                )
            # A server loading a model takes a few probes: say so now and then, not each time.
            if time.monotonic() - last_report >= 5.0:
                last_report = time.monotonic()
                ctx.progress(failures, None, f"waiting for GET {url} ({last})")
            time.sleep(interval)

    def _start_proxy(
        self, port: int, targets: Path, home: Path, logs: Path, ctx: Context
    ) -> dict[str, Any]:
        p = process.spawn_detached(
            proxy.start_command(port, targets),
            cwd=home,
            env=dict(os.environ),
            log_path=logs / "endpoint.log",
        )
        _note_started(home, p)
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

    @staticmethod
    def _stop_backends(backends: list[dict[str, Any]]) -> None:
        for b in backends:
            process.stop(int(b["pid"]), b.get("start_time"), grace=STOP_GRACE_S)

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
                process.stop(int(p["pid"]), p.get("start_time"), grace=STOP_GRACE_S)
            store.remove_tree(home)
        return None

    # -- refresh and destroy ----------------------------------------------------------------

    def read(self, state: ResourceState, ctx: Context) -> ResourceState | None:
        """The deployment as it is now: `status` "stopped" when its servers or its endpoint are
        not running, "unhealthy" when a server fails its health check (the reason is kept for
        plan)."""
        pp = state.private
        backends = pp.get("backends") or []
        px = pp.get("proxy") or {}
        hc = _health(state.args)
        problems: list[str] = []
        alive = []
        for b in backends:
            if process.is_alive(int(b["pid"]), b.get("start_time")):
                alive.append(b)
            else:
                problems.append(f"server process {b['pid']} is not running")
        if not process.is_alive(int(px.get("pid", 0)), px.get("start_time")):
            problems.append(f"endpoint proxy process {px.get('pid')} is not running")
        status = HEALTHY if not problems else (STOPPED if not alive else UNHEALTHY)
        if status == HEALTHY:
            timeout = parse_duration(hc.timeout) or 5.0
            for b in alive:
                ok, what = probe(int(b["port"]), hc.path, timeout)
                if not ok:
                    # One failed probe may be a hiccup: look again before calling it unhealthy.
                    time.sleep(min(1.0, parse_duration(hc.interval) or 1.0))
                    ok, what = probe(int(b["port"]), hc.path, timeout)
                if not ok:
                    status = UNHEALTHY
                    problems.append(
                        f"server process {b['pid']} fails its health check (GET {hc.path}: {what})"
                    )
        attrs = dict(state.attrs)
        attrs["status"] = status
        attrs["pids"] = [b["pid"] for b in alive]
        private = dict(pp)
        if problems:
            private["drift"] = "; ".join(problems)
        else:
            private.pop("drift", None)
        return ResourceState(state.id, dict(state.args), attrs, state.lineage, private)

    def delete(self, state: ResourceState, ctx: Context) -> None:
        """Stop the endpoint and every server (TERM, then KILL after a grace period). Logs stay."""
        pp = state.private
        px = pp.get("proxy") or {}
        if px.get("pid"):
            process.stop(int(px["pid"]), px.get("start_time"), grace=STOP_GRACE_S)
        self._stop_backends(pp.get("backends") or [])
        home = pp.get("home")
        if home:
            store.remove_tree(Path(home))


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(data, sort_keys=True))
    os.replace(tmp, path)


def _read_started(home: Path) -> list[dict[str, Any]]:
    try:
        return list(json.loads((home / STARTED_FILE).read_text()))
    except (OSError, ValueError):
        return []


def _note_started(home: Path, p: process.DetachedProcess) -> None:
    _write_json(home / STARTED_FILE, [*_read_started(home), p.to_dict()])


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
