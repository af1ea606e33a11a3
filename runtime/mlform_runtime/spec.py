"""The spec a provider hands the runtime: one JSON document for a training job or a server.

`parse_spec(data, kind)` checks the whole document and raises one `SpecError` listing every
problem with its JSON path (`environment.lock[2]: ...`), so a provider fixes them all at once.
The fields and their meaning are documented in docs/runtime.md; this module is their one
definition.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mlform_runtime.digest import is_digest

__all__ = [
    "FORMAT",
    "Artifact",
    "EnvironmentSpec",
    "HealthSpec",
    "Location",
    "RestartSpec",
    "Spec",
    "SpecError",
    "parse_spec",
    "parse_spec_text",
]

FORMAT = 1
JOB, SERVER = "job", "server"

_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")
_DATASET_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")
_ENV_VAR = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# `name==version`, with optional extras, an environment marker and pip's `--hash=` options.
_LOCK_LINE = re.compile(
    r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?(?:\[[A-Za-z0-9._,\s-]*\])?\s*===?\s*[^\s;,]+"
    r"(?:\s*;[^#]*?)?(?:\s+--hash=[a-z0-9]+:[0-9a-fA-F]+)*\s*$"
)


class SpecError(Exception):
    """A spec that cannot be run; `problems` lists each one as `path: what is wrong`."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("; ".join(self.problems))

    def render(self, source: str = "the spec") -> str:
        lines = [f"{source} is not a valid runtime spec ({len(self.problems)} problem(s)):"]
        lines += [f"  - {p}" for p in self.problems]
        lines.append("See docs/runtime.md for the spec's fields.")
        return "\n".join(lines)


@dataclass(frozen=True)
class Artifact:
    """A tree in the artifact store (`digest`), or at a URI (`uri`), or both (the URI is read
    when the store lacks the digest, and what is read is checked against it)."""

    digest: str | None = None
    uri: str | None = None


@dataclass(frozen=True)
class Location:
    """Where the runtime writes (`output`) or where the artifact store is (`store`). `urls` maps
    an object's name to a presigned URL for stores that sign each object; `backend` names a
    module that implements the URI's scheme (see `mlform_runtime.stores`)."""

    uri: str
    urls: Mapping[str, str] = field(default_factory=dict)
    backend: str | None = None


@dataclass(frozen=True)
class EnvironmentSpec:
    """The environment the command runs in. `venv`: an existing environment, used as it is.
    Otherwise one is built from `lock` with `python` and cached by its identity."""

    python: str | None = None
    lock: tuple[str, ...] = ()
    digest: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    venv: str | None = None


@dataclass(frozen=True)
class HealthSpec:
    path: str = "/health"
    interval_s: float = 1.0
    timeout_s: float = 5.0
    # How long a starting server may take to answer its first 2xx.
    start_timeout_s: float = 120.0
    # Probes failed in a row by a server that was healthy before it is restarted.
    failures: int = 3


@dataclass(frozen=True)
class RestartSpec:
    backoff_s: float = 1.0
    max_backoff_s: float = 30.0
    # None: restart for ever.
    max_restarts: int | None = None


@dataclass(frozen=True)
class Spec:
    kind: str
    run_id: str
    command: str
    output: Location
    store: Location | None = None
    address: str = ""
    fingerprint: str | None = None
    code: Artifact | None = None
    environment: EnvironmentSpec | None = None
    datasets: Mapping[str, Artifact] = field(default_factory=dict)
    params: Mapping[str, Any] = field(default_factory=dict)
    seed: int | None = None
    nodes: int = 1
    rank: int | None = None
    master_addr: str | None = None
    master_port: int | None = None
    timeout_s: float | None = None
    heartbeat_s: float = 5.0
    stop_grace_s: float = 10.0
    visible_devices: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    # Servers only.
    model: Artifact | None = None
    port: int = 0
    host: str = "127.0.0.1"
    health: HealthSpec = field(default_factory=HealthSpec)
    restart: RestartSpec = field(default_factory=RestartSpec)
    idle_timeout_s: float | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)


class _Reader:
    """Reads typed fields out of a JSON object, collecting problems instead of raising."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def bad(self, path: str, message: str) -> None:
        self.problems.append(f"{path}: {message}")

    @staticmethod
    def _type(value: Any) -> str:
        if value is None:
            return "null"
        return {bool: "a boolean", int: "a number", float: "a number", str: "a string"}.get(
            type(value), "a list" if isinstance(value, list) else "an object"
        )

    def string(
        self, obj: Mapping[str, Any], key: str, path: str, *, required: bool = False
    ) -> str | None:
        value = obj.get(key)
        if value is None:
            if required:
                self.bad(path + key, "is required (a string)")
            return None
        if not isinstance(value, str):
            self.bad(path + key, f"must be a string, not {self._type(value)}")
            return None
        if required and not value.strip():
            self.bad(path + key, "must not be empty")
            return None
        return value

    def number(
        self,
        obj: Mapping[str, Any],
        key: str,
        path: str,
        default: float | None,
        *,
        positive: bool = True,
    ) -> float | None:
        value = obj.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.bad(path + key, f"must be a number of seconds, not {self._type(value)}")
            return default
        if value < 0 or (positive and value == 0):
            self.bad(path + key, f"must be {'more than' if positive else 'at least'} 0")
            return default
        return float(value)

    def integer(
        self,
        obj: Mapping[str, Any],
        key: str,
        path: str,
        default: int | None,
        lo: int | None = None,
        hi: int | None = None,
    ) -> int | None:
        value = obj.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            self.bad(path + key, f"must be a whole number, not {self._type(value)}")
            return default
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            span = f"from {lo} to {hi}" if hi is not None else f"at least {lo}"
            self.bad(path + key, f"must be {span} (got {value})")
            return default
        return value

    def obj(self, obj: Mapping[str, Any], key: str, path: str) -> Mapping[str, Any] | None:
        value = obj.get(key)
        if value is None:
            return None
        if not isinstance(value, dict):
            self.bad(path + key, f"must be an object, not {self._type(value)}")
            return None
        return value

    def str_map(self, obj: Mapping[str, Any], key: str, path: str, *, env: bool) -> dict[str, str]:
        value = self.obj(obj, key, path)
        out: dict[str, str] = {}
        for k, v in (value or {}).items():
            if env and not _ENV_VAR.match(k):
                self.bad(f"{path}{key}.{k}", "is not a valid environment variable name")
            elif not isinstance(v, str):
                self.bad(f"{path}{key}.{k}", f"must be a string, not {self._type(v)}")
            else:
                out[k] = v
        return out

    def artifact(self, value: Any, path: str) -> Artifact | None:
        if value is None:
            return None
        if isinstance(value, str):  # a bare digest
            value = {"digest": value}
        if not isinstance(value, dict):
            self.bad(path, f"must be an object with digest and/or uri, not {self._type(value)}")
            return None
        digest = self.string(value, "digest", path + ".")
        uri = self.string(value, "uri", path + ".")
        if digest is not None and not is_digest(digest):
            self.bad(path + ".digest", f"must be sha256: and 64 hex digits (got {digest!r})")
        if digest is None and uri is None:
            self.bad(path, "needs a digest (in the store) or a uri, or both")
            return None
        return Artifact(digest=digest, uri=uri)

    def location(self, obj: Mapping[str, Any], key: str, *, required: bool) -> Location | None:
        value = obj.get(key)
        if value is None:
            if required:
                self.bad(key, "is required (an object with uri)")
            return None
        if isinstance(value, str):
            value = {"uri": value}
        if not isinstance(value, dict):
            self.bad(key, f"must be an object with uri, not {self._type(value)}")
            return None
        uri = self.string(value, "uri", key + ".", required=True)
        urls = self.str_map(value, "urls", key + ".", env=False)
        backend = self.string(value, "backend", key + ".")
        return Location(uri=uri, urls=urls, backend=backend) if uri else None


def _environment(r: _Reader, value: Any) -> EnvironmentSpec | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        r.bad("environment", f"must be an object or null, not {r._type(value)}")
        return None
    python = r.string(value, "python", "environment.")
    digest = r.string(value, "digest", "environment.")
    venv = r.string(value, "venv", "environment.")
    lock_value = value.get("lock")
    lock: list[str] = []
    if lock_value is not None and not isinstance(lock_value, list):
        r.bad("environment.lock", f"must be a list of requirement lines, not {r._type(lock_value)}")
    for i, line in enumerate(lock_value or []):
        if not isinstance(line, str):
            r.bad(f"environment.lock[{i}]", f"must be a string, not {r._type(line)}")
        elif not _LOCK_LINE.match(line.strip()):
            r.bad(
                f"environment.lock[{i}]",
                f"{line!r} is not an exact requirement (expected name==version)",
            )
        else:
            lock.append(line.strip())
    if venv is not None and lock:
        r.bad("environment", "give either venv (an existing environment) or lock, not both")
    env = r.str_map(value, "env", "environment.", env=True)
    return EnvironmentSpec(python=python, lock=tuple(lock), digest=digest, env=env, venv=venv)


def parse_spec(data: Any, kind: str | None = None) -> Spec:
    """A Spec from a decoded JSON document. `kind` ("job" for `run`, "server" for `serve`) must
    agree with the document's own `kind` when it has one. SpecError lists every problem."""
    r = _Reader()
    if not isinstance(data, dict):
        raise SpecError([f"(document): must be a JSON object, not {r._type(data)}"])
    fmt = data.get("format")
    if fmt != FORMAT:
        r.bad(
            "format",
            f"must be {FORMAT} (got {json.dumps(fmt)}): this runtime reads spec format {FORMAT}"
            + ("; upgrade mlform-runtime on the worker" if isinstance(fmt, int) else ""),
        )
    doc_kind = data.get("kind")
    if doc_kind is not None and doc_kind not in (JOB, SERVER):
        r.bad("kind", f'must be "job" or "server" (got {json.dumps(doc_kind)})')
        doc_kind = None
    if kind is not None and doc_kind is not None and doc_kind != kind:
        verb = "run" if doc_kind == JOB else "serve"
        r.bad("kind", f'is "{doc_kind}": use `mlform-runtime {verb}` for it')
    the_kind = kind or doc_kind or JOB

    run_id = r.string(data, "run_id", "", required=True)
    if run_id is not None and not _RUN_ID.match(run_id):
        r.bad(
            "run_id",
            "must be 1-128 letters, digits, '.', '_' or '-', starting with one of "
            f"the first two (got {run_id!r})",
        )
        run_id = None
    command = r.string(data, "command", "", required=True)
    output = r.location(data, "output", required=True)
    store = r.location(data, "store", required=False)
    address = r.string(data, "address", "") or ""
    fingerprint = r.string(data, "fingerprint", "")
    code = r.artifact(data.get("code"), "code")
    environment = _environment(r, data.get("environment"))

    datasets: dict[str, Artifact] = {}
    ds_value = r.obj(data, "datasets", "")
    for name, value in (ds_value or {}).items():
        if not _DATASET_NAME.match(name):
            r.bad(f"datasets.{name}", "a dataset name is letters, digits, '_', '.' or '-'")
            continue
        art = r.artifact(value, f"datasets.{name}")
        if art is not None:
            datasets[name] = art

    params = data.get("params")
    if params is None:
        params = {}
    elif not isinstance(params, dict):
        r.bad("params", f"must be a JSON object, not {r._type(params)}")
        params = {}
    seed = r.integer(data, "seed", "", None)
    nodes = r.integer(data, "nodes", "", 1, lo=1) or 1
    rank = r.integer(data, "rank", "", None, lo=0)
    if rank is not None and rank >= nodes:
        r.bad("rank", f"must be less than nodes ({nodes}); got {rank}")
    master_addr = r.string(data, "master_addr", "")
    master_port = r.integer(data, "master_port", "", None, lo=1, hi=65535)
    if rank is not None and nodes > 1 and (master_addr is None or master_port is None):
        r.bad(
            "master_addr",
            "a worker of a multi-node job (rank set) needs master_addr and "
            "master_port: the address of rank 0",
        )
    timeout_s = r.number(data, "timeout_s", "", None)
    heartbeat_s = r.number(data, "heartbeat_s", "", 5.0) or 5.0
    stop_grace_s = r.number(data, "stop_grace_s", "", 10.0, positive=False)
    visible = r.string(data, "visible_devices", "")
    env = r.str_map(data, "env", "", env=True)

    model = r.artifact(data.get("model"), "model") if the_kind == SERVER else None
    if store is None:
        by_digest = [("code", code), ("model", model)] + [
            (f"datasets.{n}", a) for n, a in datasets.items()
        ]
        uses_store = [p for p, a in by_digest if a is not None and a.uri is None]
        if the_kind == JOB:
            r.bad("store", "is required for a job (the model is uploaded there)")
        elif uses_store:
            r.bad("store", f"is required to fetch {', '.join(uses_store)} by digest")
    port = r.integer(data, "port", "", 0, lo=0, hi=65535) or 0
    host = r.string(data, "host", "") or "127.0.0.1"
    health = HealthSpec()
    hv = r.obj(data, "health", "")
    if hv is not None:
        hpath = r.string(hv, "path", "health.") or "/health"
        if not hpath.startswith("/"):
            r.bad("health.path", f"must start with / (got {hpath!r})")
        health = HealthSpec(
            path=hpath,
            interval_s=r.number(hv, "interval_s", "health.", 1.0) or 1.0,
            timeout_s=r.number(hv, "timeout_s", "health.", 5.0) or 5.0,
            start_timeout_s=r.number(hv, "start_timeout_s", "health.", 120.0) or 120.0,
            failures=r.integer(hv, "failures", "health.", 3, lo=1) or 3,
        )
    restart = RestartSpec()
    rv = r.obj(data, "restart", "")
    if rv is not None:
        restart = RestartSpec(
            backoff_s=r.number(rv, "backoff_s", "restart.", 1.0) or 1.0,
            max_backoff_s=r.number(rv, "max_backoff_s", "restart.", 30.0) or 30.0,
            max_restarts=r.integer(rv, "max_restarts", "restart.", None, lo=0),
        )
    idle = r.number(data, "idle_timeout_s", "", None)

    if r.problems:
        raise SpecError(r.problems)
    assert run_id is not None and command is not None and output is not None
    return Spec(
        kind=the_kind,
        run_id=run_id,
        command=command,
        output=output,
        store=store,
        address=address,
        fingerprint=fingerprint,
        code=code,
        environment=environment,
        datasets=datasets,
        params=params,
        seed=seed,
        nodes=nodes,
        rank=rank,
        master_addr=master_addr,
        master_port=master_port,
        timeout_s=timeout_s,
        heartbeat_s=heartbeat_s,
        stop_grace_s=stop_grace_s if stop_grace_s is not None else 10.0,
        visible_devices=visible,
        env=env,
        model=model,
        port=port,
        host=host,
        health=health,
        restart=restart,
        idle_timeout_s=idle,
        raw=data,
    )


def parse_spec_text(text: str, kind: str | None = None) -> Spec:
    """A Spec from JSON text; invalid JSON is a SpecError naming the line and column."""
    try:
        data = json.loads(text)
    except ValueError as e:
        line = getattr(e, "lineno", "?")
        col = getattr(e, "colno", "?")
        msg = getattr(e, "msg", str(e))
        raise SpecError([f"(document) line {line}, column {col}: not valid JSON: {msg}"]) from e
    return parse_spec(data, kind)
