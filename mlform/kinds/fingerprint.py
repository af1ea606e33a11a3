"""A training job's fingerprint: one digest over everything that decides its result.

The inputs are the code digest, the environment (its id, a content address of the request, and the
digest of its lock when known), each dataset's digest by the name the job uses, the params, the
seed, the command, the number of nodes and the hardware class of the cluster. Two runs with equal
fingerprints are expected to produce the same model; plan retrains only when the fingerprint
changes, and `diff` says which input did:

    dataset "train" changed sha256:ab12cd34… → sha256:9f3c0a1b…
    params.c changed 1 → 2

`Fingerprint` is a frozen value. `to_inputs()` gives the plain-data form to record in state;
`Fingerprint.from_inputs()` reads it back (and `diff` accepts either form).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from mlform.kinds.common import canonical_json, format_digest, plain, short_digest

# Bumped when what the fingerprint covers changes, so older recorded ones never compare equal.
FINGERPRINT_VERSION = 1


@dataclass(frozen=True)
class Fingerprint:
    """The inputs of a training run. Build one with `Fingerprint.of(...)`; `digest` (also `str()`)
    is `sha256:<hex>` over the canonical JSON of `to_inputs()`."""

    code: str
    environment: str
    environment_digest: str
    datasets: tuple[tuple[str, str], ...]
    params_json: str
    seed: int | None
    command: str
    nodes: int
    hardware_class: str

    @classmethod
    def of(
        cls,
        *,
        code: str = "",
        environment: str = "",
        environment_digest: str = "",
        datasets: Mapping[str, str] | None = None,
        params: Mapping[str, Any] | None = None,
        seed: int | None = None,
        command: str = "",
        nodes: int = 1,
        hardware_class: str = "cpu",
    ) -> Fingerprint:
        """`code`: the code snapshot's digest ("" without code). `environment`: the environment's
        id; `environment_digest`: its lock digest ("" when not known). `datasets`: name → dataset
        digest. `params`: plain data (numbers compare by value: 1 and 1.0 are equal)."""
        return cls(
            code=code or "",
            environment=environment or "",
            environment_digest=environment_digest or "",
            datasets=tuple(sorted((str(k), str(v)) for k, v in (datasets or {}).items())),
            params_json=canonical_json(dict(params or {})),
            seed=None if seed is None else int(seed),
            command=command,
            nodes=int(nodes),
            hardware_class=hardware_class or "cpu",
        )

    @property
    def params(self) -> dict[str, Any]:
        return json.loads(self.params_json)

    def to_inputs(self) -> dict[str, Any]:
        """The inputs as plain JSON-able data, for the state and the lineage record."""
        return {
            "version": FINGERPRINT_VERSION,
            "code": self.code,
            "environment": self.environment,
            "environment_digest": self.environment_digest,
            "datasets": dict(self.datasets),
            "params": self.params,
            "seed": self.seed,
            "command": self.command,
            "nodes": self.nodes,
            "hardware_class": self.hardware_class,
        }

    @classmethod
    def from_inputs(cls, inputs: Mapping[str, Any]) -> Fingerprint:
        """The inverse of `to_inputs` (missing keys take their defaults)."""
        return cls.of(
            code=inputs.get("code", ""),
            environment=inputs.get("environment", ""),
            environment_digest=inputs.get("environment_digest", ""),
            datasets=inputs.get("datasets") or {},
            params=inputs.get("params") or {},
            seed=inputs.get("seed"),
            command=inputs.get("command", ""),
            nodes=inputs.get("nodes", 1),
            hardware_class=inputs.get("hardware_class", "cpu"),
        )

    @property
    def digest(self) -> str:
        return format_digest(hashlib.sha256(canonical_json(self.to_inputs()).encode()).hexdigest())

    def __str__(self) -> str:
        return self.digest


def _as_inputs(value: Fingerprint | Mapping[str, Any]) -> dict[str, Any]:
    if isinstance(value, Fingerprint):
        return value.to_inputs()
    return Fingerprint.from_inputs(value).to_inputs()


def _show(value: Any) -> str:
    """A value as a user would write it: digests shortened, strings quoted, others as JSON."""
    if isinstance(value, str):
        if value.startswith("sha256:"):
            return short_digest(value)
        return json.dumps(value, ensure_ascii=False)
    return json.dumps(plain(value), ensure_ascii=False, sort_keys=True)


def _diff_params(old: Any, new: Any, path: str, out: list[str]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new)):
            sub = f"{path}.{key}"
            if key not in old:
                out.append(f"{sub} added (= {_show(new[key])})")
            elif key not in new:
                out.append(f"{sub} removed (was {_show(old[key])})")
            else:
                _diff_params(old[key], new[key], sub, out)
        return
    if canonical_json(old) != canonical_json(new):
        was, now = _type_name(old), _type_name(new)
        # A value whose type alone changed ("false" recorded before params kept their types)
        # says so, or the reason would read as if nothing had changed.
        typed = f" ({was} → {now})" if was != now else ""
        out.append(f"{path} changed {_show(old)} → {_show(new)}{typed}")


def _type_name(value: Any) -> str:
    """The language's name for the type of a plain value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list | tuple):
        return "list"
    return "number"


def diff(
    old_inputs: Fingerprint | Mapping[str, Any] | None,
    new_inputs: Fingerprint | Mapping[str, Any],
) -> list[str]:
    """Why `new_inputs` differ from `old_inputs`, one human reason per changed input, in a stable
    order (code, environment, datasets, params, seed, command, nodes, hardware). Empty when they
    are equal. `old_inputs` None (no earlier run) gives ["no earlier run"]."""
    if old_inputs is None:
        return ["no earlier run"]
    old, new = _as_inputs(old_inputs), _as_inputs(new_inputs)
    out: list[str] = []
    if old.get("version") != new.get("version"):
        out.append(f"fingerprint format changed {old.get('version')} → {new.get('version')}")
    if old["code"] != new["code"]:
        out.append(f"code changed {_show(old['code'] or None)} → {_show(new['code'] or None)}")
    if old["environment"] != new["environment"]:
        out.append(
            f"environment changed {old['environment'] or 'null'} → {new['environment'] or 'null'}"
        )
    elif old["environment_digest"] != new["environment_digest"]:
        out.append(
            f"environment packages changed {_show(old['environment_digest'] or None)} → "
            f"{_show(new['environment_digest'] or None)}"
        )
    od, nd = old["datasets"], new["datasets"]
    for name in sorted(set(od) | set(nd)):
        if name not in od:
            out.append(f'dataset "{name}" added ({_show(nd[name])})')
        elif name not in nd:
            out.append(f'dataset "{name}" removed (was {_show(od[name])})')
        elif od[name] != nd[name]:
            out.append(f'dataset "{name}" changed {_show(od[name])} → {_show(nd[name])}')
    _diff_params(old["params"], new["params"], "params", out)
    for key in ("seed", "command", "nodes"):
        if old[key] != new[key]:
            out.append(f"{key} changed {_show(old[key])} → {_show(new[key])}")
    if old["hardware_class"] != new["hardware_class"]:
        out.append(f"hardware changed {old['hardware_class']} → {new['hardware_class']}")
    return out
