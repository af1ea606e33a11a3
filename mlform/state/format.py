"""The state file format: JSON close to Terraform's v4, versioned, with one upgrade per old version.

    {"format_version": 1, "serial": 3, "lineage": "<uuid4>", "mlform_version": "0.1.0",
     "outputs": {"name": {"value": ..., "type": ..., "sensitive": false}},
     "resources": [{"mode", "type", "name", "module", "provider", "instances": [...]}],
     "pending": [{"addr", "token", "provider", "at"}],
     "meta": {"operation", "who", "ci", "at", "summary"}}

A file written by a newer mlform is refused (its format may hold what this one would drop); an
older one is upgraded in memory through `UPGRADES[v]` (v -> v+1), one step at a time, and written
in the current format by the next commit. Resources and instances are written in address order
so that two states with the same content are the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from mlform import __version__
from mlform.addrs import _key_sort
from mlform.state.errors import StateError
from mlform.state.model import (
    FORMAT_VERSION,
    PENDING,
    READY,
    TAINTED,
    InstanceRecord,
    OutputRecord,
    PendingCreate,
    ResourceRecord,
    State,
    _resource_sort_key,
)

# --- writing ----------------------------------------------------------------------------------


def instance_to_json(rec: InstanceRecord, as_change: bool = False) -> dict[str, Any]:
    """An instance as state holds it. Deposed objects are written when there are some, and,
    for a journal entry (`as_change`), whenever the record says what they are (an empty
    object clears them; no key keeps what state has)."""
    out = {
        "index_key": rec.index_key,
        "status": rec.status,
        "id": rec.id,
        "attributes": rec.attributes,
        "sensitive_paths": rec.sensitive_paths,
        "dependencies": rec.dependencies,
        "create_before_destroy": rec.create_before_destroy,
        "private": rec.private,
        "lineage": rec.lineage,
        "created_at": rec.created_at,
        "updated_at": rec.updated_at,
    }
    if rec.provider_identity:
        out["provider_identity"] = rec.provider_identity
    if rec.deposed or (as_change and rec.deposed is not None):
        out["deposed"] = {k: instance_to_json(d) for k, d in sorted((rec.deposed or {}).items())}
    return out


def state_to_json(state: State) -> dict[str, Any]:
    resources = []
    for res in sorted(state.resources, key=_resource_sort_key):
        if not res.instances:
            continue
        resources.append(
            {
                "mode": res.mode,
                "type": res.type,
                "name": res.name,
                "module": res.module,
                "provider": res.provider,
                "instances": [
                    instance_to_json(i)
                    for i in sorted(res.instances, key=lambda i: _key_sort(i.index_key))
                ],
            }
        )
    return {
        "format_version": FORMAT_VERSION,
        "serial": state.serial,
        "lineage": state.lineage,
        "mlform_version": state.mlform_version or __version__,
        "outputs": {
            name: {"value": o.value, "type": o.type, "sensitive": o.sensitive}
            for name, o in sorted(state.outputs.items())
        },
        "resources": resources,
        "pending": [
            {"addr": p.addr, "token": p.token, "provider": p.provider, "at": p.at}
            for p in state.pending
        ],
        "meta": state.meta,
    }


def _json_default(obj: object) -> object:
    # Numbers from the language are int or Decimal; JSON has one number type.
    if isinstance(obj, Decimal):
        return int(obj) if obj == obj.to_integral_value() else float(obj)
    if isinstance(obj, (set, frozenset, tuple)):
        return list(obj)
    raise TypeError(f"{type(obj).__name__} is not JSON data")


def dumps(data: Any, pretty: bool = True) -> str:
    """JSON text for state data; pretty (the state file) or one line (a journal entry)."""
    if pretty:
        return json.dumps(data, indent=2, ensure_ascii=False, default=_json_default) + "\n"
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=_json_default)


def state_dumps(state: State) -> str:
    return dumps(state_to_json(state))


# --- reading ----------------------------------------------------------------------------------


def _expect(d: dict[str, Any], field: str, kind: type | tuple[type, ...], what: str) -> None:
    # A state edited by hand must fail here, with the field named, and not later as an internal
    # error in the middle of a plan.
    if d.get(field) is not None and not isinstance(d[field], kind):
        raise TypeError(f"an instance's `{field}` must be {what}, not {type(d[field]).__name__}")


def instance_from_json(d: dict[str, Any]) -> InstanceRecord:
    if not isinstance(d, dict):
        raise TypeError(f"an instance must be a JSON object, not {type(d).__name__}")
    _expect(d, "attributes", dict, "an object")
    _expect(d, "private", dict, "an object")
    _expect(d, "sensitive_paths", list, "a list")
    _expect(d, "dependencies", list, "a list")
    _expect(d, "index_key", (int, str), "a number or a string")
    _expect(d, "provider_identity", dict, "an object")
    if d.get("status", READY) not in (READY, TAINTED, PENDING):
        raise ValueError(
            f"an instance's `status` must be {READY!r}, {TAINTED!r} or {PENDING!r}, "
            f"not {d['status']!r}"
        )
    return InstanceRecord(
        index_key=d.get("index_key"),
        status=d.get("status", READY),
        id=d.get("id"),
        attributes=d.get("attributes") or {},
        sensitive_paths=d.get("sensitive_paths") or [],
        dependencies=d.get("dependencies") or [],
        create_before_destroy=bool(d.get("create_before_destroy", False)),
        private=d.get("private") or {},
        lineage=d.get("lineage"),
        created_at=d.get("created_at", ""),
        updated_at=d.get("updated_at", ""),
        deposed=_deposed_from_json(d),
        provider_identity=d.get("provider_identity") or None,
    )


def _deposed_from_json(d: dict[str, Any]) -> dict[str, InstanceRecord] | None:
    if "deposed" not in d:
        return None  # a record that says nothing of deposed objects (see InstanceRecord)
    _expect(d, "deposed", dict, "an object")
    return {str(k): instance_from_json(v) for k, v in (d["deposed"] or {}).items()}


_TOP_LEVEL_SHAPES: tuple[tuple[str, type, str], ...] = (
    ("resources", list, "a list"),
    ("outputs", dict, "an object"),
    ("pending", list, "a list"),
    ("meta", dict, "an object"),
)


def state_from_json(data: Any, source: str = "state") -> State:
    """A State from parsed JSON of any supported format version (upgrading older ones)."""
    data = upgrade(data, source)
    try:
        for field, kind, what in _TOP_LEVEL_SHAPES:
            if data.get(field) is not None and not isinstance(data[field], kind):
                raise TypeError(f"`{field}` must be {what}, not {type(data[field]).__name__}")
        for r in data.get("resources") or []:
            if not isinstance(r, dict) or not isinstance(r.get("instances", []), list):
                raise TypeError("each resource must be an object whose `instances` is a list")
        state = State(
            format_version=FORMAT_VERSION,
            serial=int(data["serial"]),
            lineage=str(data["lineage"]),
            mlform_version=str(data.get("mlform_version", "")),
            outputs={
                name: OutputRecord(
                    value=o.get("value"),
                    type=o.get("type", "dynamic"),
                    sensitive=bool(o.get("sensitive", False)),
                )
                for name, o in (data.get("outputs") or {}).items()
            },
            resources=[
                ResourceRecord(
                    mode=r["mode"],
                    type=r["type"],
                    name=r["name"],
                    module=r.get("module", ""),
                    provider=r.get("provider", ""),
                    instances=[instance_from_json(i) for i in r.get("instances", [])],
                )
                for r in data.get("resources") or []
            ],
            pending=[
                PendingCreate(
                    addr=p["addr"],
                    token=p["token"],
                    provider=p.get("provider", ""),
                    at=p.get("at", ""),
                )
                for p in data.get("pending") or []
            ],
            meta=data.get("meta") or {},
        )
        _check_rules(data, state)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        why = (
            str(exc)
            if isinstance(exc, ValueError)
            else f"a required field is missing or has the wrong shape ({type(exc).__name__}: {exc})"
        )
        raise StateError(
            f"{source} is not a valid mlform state",
            f"In it, {why}. mlform does not use or replace a state it cannot trust: "
            "restore a good serial from the history folder beside it (`mlform state push "
            "--force <history>/<serial>.json`), or fix it by hand.",
        ) from None
    return state


def _check_rules(data: dict[str, Any], state: State) -> None:
    """What a state must be beyond its shape: raises ValueError naming the first rule broken.

    A serial is a whole number from 0 up and a lineage a non-empty string; every resource has a
    known mode, a type and a name; no address is held twice (two records for one address make
    `destroy` report objects destroyed that still exist)."""
    serial = data.get("serial")
    if isinstance(serial, bool) or not isinstance(serial, int) or serial < 0:
        raise ValueError(f"`serial` must be a whole number from 0 up, not {serial!r}")
    lineage = data.get("lineage")
    if not isinstance(lineage, str) or not lineage.strip():
        raise ValueError(f"`lineage` must be a non-empty string, not {lineage!r}")
    seen: set[str] = set()
    for res in state.resources:
        if res.mode not in ("managed", "data"):
            raise ValueError(f"a resource's `mode` must be 'managed' or 'data', not {res.mode!r}")
        for name, value in (("type", res.type), ("name", res.name)):
            if not isinstance(value, str) or not value:
                raise ValueError(f"a resource's `{name}` must be a non-empty string")
        if not isinstance(res.module, str):
            raise ValueError("a resource's `module` must be a string")
        base = str(res.addr())
        if base in seen:
            raise ValueError(f"{base} is recorded twice (two resource records)")
        seen.add(base)
        keys: set[object] = set()
        for inst in res.instances:
            if inst.index_key in keys:
                raise ValueError(f"{res.addr().instance(inst.index_key)} is recorded twice")
            keys.add(inst.index_key)


def load_text(text: str, source: str) -> State:
    """Parse a state file's text; `source` (a path) names it in every error."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise StateError(
            f"The state file {source} is corrupt",
            f"It is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}). "
            "mlform will not overwrite it. Restore the last good serial from the history folder "
            "beside it (`mlform state push --force <history>/<serial>.json`) or repair it by "
            "hand.",
        ) from None
    return state_from_json(data, source)


def load_file(path: Path) -> State:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise StateError(
            f"The state file {path} is corrupt",
            "It is not UTF-8 text; mlform will not overwrite it.",
        ) from None
    except OSError as exc:
        if isinstance(exc, FileNotFoundError):
            raise
        raise StateError(
            f"Cannot read the state file {path}: {exc.strerror or exc}",
            "mlform reads and writes the state and the files beside it (history, journal, "
            "lock). Give the user running mlform read and write access to them (for example "
            f"`chmod u+rw {path}`), or run mlform as their owner.",
        ) from None
    return load_text(text, str(path))


# --- upgrades ---------------------------------------------------------------------------------


def _upgrade_0_to_1(data: dict[str, Any]) -> dict[str, Any]:
    """Format 0 (mlform before 0.1): `tainted` booleans instead of `status`,
    `sensitive_attributes` instead of `sensitive_paths`, outputs without a type, no `pending`
    and no `meta`."""
    out = dict(data)
    out["format_version"] = 1
    for o in (out.get("outputs") or {}).values():
        o.setdefault("type", "dynamic")
    for r in out.get("resources") or []:
        for inst in r.get("instances") or []:
            inst["status"] = "tainted" if inst.pop("tainted", False) else "ready"
            inst["sensitive_paths"] = inst.pop("sensitive_attributes", None) or []
            inst.setdefault("create_before_destroy", False)
            inst.setdefault("private", {})
            inst.setdefault("lineage", None)
            inst.setdefault("created_at", "")
            inst.setdefault("updated_at", "")
    out.setdefault("pending", [])
    out.setdefault("meta", {})
    return out


# UPGRADES[v] turns format v into format v + 1.
UPGRADES: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {0: _upgrade_0_to_1}


def upgrade(data: Any, source: str = "state") -> dict[str, Any]:
    if not isinstance(data, dict) or "format_version" not in data:
        raise StateError(
            f"{source} is not an mlform state",
            "It has no `format_version`. If it is a Terraform state, mlform cannot read it "
            "directly; if it is mlform's, restore it from the history folder beside it.",
        )
    version = data["format_version"]
    if not isinstance(version, int) or version < 0:
        raise StateError(f"{source} has an invalid format_version {version!r}")
    if version > FORMAT_VERSION:
        raise StateError(
            f"{source} was written by a newer mlform (state format {version})",
            f"This mlform ({__version__}) reads state formats up to {FORMAT_VERSION}. "
            "Upgrade mlform (`pip install -U mlform`) to use this state; it was left untouched.",
        )
    while version < FORMAT_VERSION:
        data = UPGRADES[version](data)
        version = data["format_version"]
    return data
