"""What changed between two serials, instance by instance: for a training job its inputs (data
digests, packages added, removed, upgraded and downgraded, params, seed, command, code commit,
driver, CUDA, cuDNN) and outputs (model digest, metrics with their deltas); for other kinds the
recorded id and digests."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from mlform.lineage.query import instances, matches

if TYPE_CHECKING:
    from mlform.state.model import State

__all__ = ["Change", "InstanceDiff", "diff_states", "package_changes", "render_text", "to_json"]


@dataclass
class Change:
    """One field that differs: `path` such as `params.c`, `datasets.digits`, `metrics.accuracy`."""

    path: str
    before: Any
    after: Any
    delta: Any = None  # numbers only: after - before

    def to_json(self) -> dict[str, Any]:
        out = {"path": self.path, "before": self.before, "after": self.after}
        if self.delta is not None:
            out["delta"] = self.delta
        return out


@dataclass
class InstanceDiff:
    address: str
    kind: str
    status: str  # added | removed | changed | unchanged
    inputs: list[Change] = field(default_factory=list)
    outputs: list[Change] = field(default_factory=list)
    packages: dict[str, list[Any]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "address": self.address,
            "kind": self.kind,
            "status": self.status,
            "inputs": [c.to_json() for c in self.inputs],
            "packages": self.packages,
            "outputs": [c.to_json() for c in self.outputs],
        }


def _version_key(v: str) -> Any:
    try:
        from packaging.version import Version

        return (0, Version(v))
    except Exception:  # noqa: BLE001 - not a PEP 440 version, or packaging not installed
        return (1, v)


def package_changes(a: dict[str, str] | None, b: dict[str, str] | None) -> dict[str, list[Any]]:
    """Packages added, removed, upgraded and downgraded between two locks (name → version)."""
    a, b = a or {}, b or {}
    out: dict[str, list[Any]] = {"added": [], "removed": [], "upgraded": [], "downgraded": []}
    for name in sorted(set(a) | set(b)):
        if name not in a:
            out["added"].append({"name": name, "version": b[name]})
        elif name not in b:
            out["removed"].append({"name": name, "version": a[name]})
        elif a[name] != b[name]:
            ka, kb = _version_key(str(a[name])), _version_key(str(b[name]))
            up = kb > ka if ka[0] == kb[0] else str(b[name]) > str(a[name])
            out["upgraded" if up else "downgraded"].append(
                {"name": name, "from": a[name], "to": b[name]}
            )
    return {k: v for k, v in out.items() if v}


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float, Decimal)) and not isinstance(v, bool)


def _delta(a: Any, b: Any) -> Any:
    if _is_num(a) and _is_num(b):
        d = b - a
        return round(d, 10) if isinstance(d, float) else d
    return None


def _flat(prefix: str, d: Any) -> dict[str, Any]:
    if isinstance(d, dict):
        out: dict[str, Any] = {}
        for k, v in d.items():
            out.update(_flat(f"{prefix}.{k}" if prefix else str(k), v))
        return out or ({prefix: {}} if prefix else {})
    return {prefix: d}


def _compare(a: dict[str, Any], b: dict[str, Any]) -> list[Change]:
    fa, fb = _flat("", a), _flat("", b)
    out = []
    for k in sorted(set(fa) | set(fb)):
        va, vb = fa.get(k), fb.get(k)
        if va != vb:
            out.append(Change(k, va, vb, _delta(va, vb)))
    return out


def _env_lock(state: State, env_id: str | None) -> dict[str, str] | None:
    if not env_id:
        return None
    for _a, _r, res, inst in instances(state):
        if res.type == "environment" and inst.id == env_id:
            lock = (inst.attributes or {}).get("lock")
            return dict(lock) if isinstance(lock, dict) else None
    return None


def job_inputs(state: State, inst: Any) -> tuple[dict[str, Any], dict[str, str] | None]:
    """A training job's inputs as compared, and its environment's lock."""
    lin = inst.lineage or {}
    attrs = inst.attributes or {}
    env = lin.get("environment") or {}
    hw = lin.get("hardware") or {}
    code = lin.get("code") or {}
    datasets = {
        n: (v.get("id") if isinstance(v, dict) else v)
        for n, v in (lin.get("datasets") or attrs.get("datasets") or {}).items()
    }
    inputs = {
        "datasets": datasets,
        "params": lin.get("params", attrs.get("params")) or {},
        "seed": lin.get("seed", attrs.get("seed")),
        "command": lin.get("command", attrs.get("command")),
        "code": {
            "digest": code.get("digest", attrs.get("code_digest")),
            "commit": code.get("git_commit", attrs.get("code_commit")),
            "dirty_digest": code.get("git_dirty_digest"),
        },
        "environment": {
            "lock_digest": env.get("lock_digest"),
            "python": env.get("python"),
        },
        "hardware": {
            "gpu_model": hw.get("gpu_model"),
            "gpu_count": hw.get("gpu_count"),
            "driver_version": hw.get("driver_version"),
            "cuda_version": hw.get("cuda_version"),
            "cudnn_version": hw.get("cudnn_version"),
        },
    }
    lock = env.get("packages") if isinstance(env.get("packages"), dict) else None
    return inputs, lock or _env_lock(state, env.get("id") or attrs.get("environment"))


def _outputs(kind: str, inst: Any) -> dict[str, Any]:
    attrs = inst.attributes or {}
    if kind == "training_job":
        return {"model_digest": attrs.get("model_digest"), "metrics": attrs.get("metrics") or {}}
    if kind == "deployment":
        return {"model_digest": attrs.get("model_digest"), "revision": attrs.get("revision")}
    if kind == "dataset":
        return {
            "digest": attrs.get("digest"),
            "files": attrs.get("files"),
            "bytes": attrs.get("bytes"),
        }
    if kind == "environment":
        return {"lock_digest": attrs.get("digest")}
    return {"id": inst.id}


def _inputs(kind: str, state: State, inst: Any) -> tuple[dict[str, Any], dict[str, str] | None]:
    if kind == "training_job":
        return job_inputs(state, inst)
    attrs = inst.attributes or {}
    if kind == "environment":
        lock = attrs.get("lock")
        return {"python": attrs.get("python_version")}, dict(lock) if isinstance(
            lock, dict
        ) else None
    if kind == "deployment":
        lin = inst.lineage or {}
        return {
            "environment": attrs.get("environment"),
            "code_digest": lin.get("code_digest"),
            "command": attrs.get("command"),
        }, None
    if kind == "dataset":
        return {"source": attrs.get("source")}, None
    return {}, None


def _hide_secrets(d: InstanceDiff, xa: Any, xb: Any) -> None:
    """Show `(sensitive value)` for what either serial records as sensitive (a job's params
    copied into its lineage record included)."""
    from mlform.lineage.query import _redact, _secrets

    sa = _secrets(xa.attributes or {}, xa.sensitive_paths)
    sb = _secrets(xb.attributes or {}, xb.sensitive_paths)
    if not sa and not sb:
        return
    for c in (*d.inputs, *d.outputs):
        before, after = _redact(c.before, sa), _redact(c.after, sb)
        if (before, after) != (c.before, c.after):
            c.before, c.after, c.delta = before, after, None


def diff_states(a: State, b: State, address: str | None = None) -> list[InstanceDiff]:
    """Every instance (or those at `address`) compared between serials `a` and `b`."""
    ia = {addr: (ra, res, inst) for addr, ra, res, inst in instances(a)}
    ib = {addr: (ra, res, inst) for addr, ra, res, inst in instances(b)}
    out: list[InstanceDiff] = []
    for addr in sorted(set(ia) | set(ib)):
        ra = (ia.get(addr) or ib[addr])[0]
        if address is not None and not matches(address, addr, ra):
            continue
        kind = (ia.get(addr) or ib[addr])[1].type
        if addr not in ia:
            out.append(InstanceDiff(addr, kind, "added"))
            continue
        if addr not in ib:
            out.append(InstanceDiff(addr, kind, "removed"))
            continue
        xa, xb = ia[addr][2], ib[addr][2]
        in_a, lock_a = _inputs(kind, a, xa)
        in_b, lock_b = _inputs(kind, b, xb)
        d = InstanceDiff(addr, kind, "unchanged")
        d.inputs = _compare(in_a, in_b)
        d.packages = package_changes(lock_a, lock_b)
        d.outputs = _compare(_outputs(kind, xa), _outputs(kind, xb))
        _hide_secrets(d, xa, xb)
        if d.inputs or d.packages or d.outputs or xa.id != xb.id:
            d.status = "changed"
        out.append(d)
    return out


def _v(v: Any, other: Any = None) -> str:
    """A value as the diff shows it. Booleans as the language writes them; a string beside a
    value of another type (a param recorded as "0.5", now 0.5) quoted, so the change shows."""
    import json

    if v is None:
        return "(none)"
    if isinstance(v, dict | list):
        return json.dumps(v, default=str)
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str) and other is not None and not isinstance(other, str):
        return json.dumps(v, ensure_ascii=False)
    return str(v)


def _num(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:+.6g}"
    return f"{v:+}" if _is_num(v) else str(v)


def render_text(serial_a: int, serial_b: int, diffs: list[InstanceDiff]) -> str:
    lines = [f"Comparing serial {serial_a} with serial {serial_b}", ""]
    changed = [d for d in diffs if d.status != "unchanged"]
    if not changed:
        lines.append("No differences.")
        return "\n".join(lines) + "\n"
    for d in changed:
        sym = {"added": "+", "removed": "-", "changed": "~"}[d.status]
        lines.append(f"{sym} {d.address} ({d.status})")
        if d.inputs or d.packages:
            lines.append("    inputs:")
            for c in d.inputs:
                lines.append(f"      {c.path}: {_v(c.before, c.after)} → {_v(c.after, c.before)}")
            for what, items in d.packages.items():
                for p in items:
                    if "version" in p:
                        lines.append(f"      package {what}: {p['name']} {p['version']}")
                    else:
                        lines.append(f"      package {what}: {p['name']} {p['from']} → {p['to']}")
        if d.outputs:
            lines.append("    outputs:")
            for c in d.outputs:
                delta = f" ({_num(c.delta)})" if c.delta is not None else ""
                before, after = _v(c.before, c.after), _v(c.after, c.before)
                lines.append(f"      {c.path}: {before} → {after}{delta}")
        lines.append("")
    n = len(changed)
    lines.append(f"{n} instance{'s differ' if n != 1 else ' differs'}.")
    return "\n".join(lines) + "\n"


def to_json(serial_a: int, serial_b: int, diffs: list[InstanceDiff]) -> dict[str, Any]:
    return {
        "serial_a": serial_a,
        "serial_b": serial_b,
        "instances": [d.to_json() for d in diffs],
    }
