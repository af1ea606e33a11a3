"""Plans: what an operation will change, and why; and the saved-plan file.

A `Plan` lists one `ResourceChange` per resource instance (its `Action`, the object before and
after, which paths force replacement, and the reasons), the drift that refresh found, the
changes to outputs, and what the plan was made against: the prior state (with its serial and
lineage) and a digest of the configuration. `mlform plan -out FILE` writes it with
`write_plan`; `mlform apply FILE` reads it back with `read_plan` and refuses it when
`stale_reasons` finds that the state or the configuration moved on since.

A saved plan is one zip file holding `plan.json` and the configuration files the plan was made
from (`config/<path>`), as Terraform's plan files hold their configuration snapshot. Values not
known until apply (`UNKNOWN`) are stored the way Terraform's JSON plans store them: the value
with null in their place plus a parallel mask that says where they were, so they read back
exactly.
"""

from __future__ import annotations

import datetime as _dt
import enum
import hashlib
import io
import json
import os
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from mlform import __version__
from mlform.addrs import AbsResourceInstance, Mode, parse_instance
from mlform.sdk.contract import UNKNOWN

if TYPE_CHECKING:
    from mlform.state.encryption import Codec

__all__ = [
    "check_plan_target",
    "ACTION_REASONS",
    "Action",
    "OutputChange",
    "Plan",
    "PlanFileError",
    "PlanMode",
    "PlanSummary",
    "ResourceChange",
    "SavedPlan",
    "config_digest",
    "join_unknown",
    "read_plan",
    "split_unknown",
    "stale_reasons",
    "unknown_mask",
    "write_plan",
]

PLAN_FORMAT_VERSION = 1
PlanMode = Literal["normal", "destroy", "refresh_only"]
Path_ = list[str | int]


class Action(enum.Enum):
    """What happens to one instance. The value is the name Terraform's JSON uses."""

    NOOP = "no-op"
    CREATE = "create"
    READ = "read"
    UPDATE = "update"
    DELETE = "delete"
    DELETE_THEN_CREATE = "delete-then-create"
    CREATE_THEN_DELETE = "create-then-delete"
    # A `removed` block with `destroy = false`: the state lets go; the object stays.
    FORGET = "forget"

    @property
    def symbol(self) -> str:
        return _SYMBOLS[self]

    @property
    def is_replace(self) -> bool:
        return self in (Action.DELETE_THEN_CREATE, Action.CREATE_THEN_DELETE)

    @property
    def json_actions(self) -> list[str]:
        """`change.actions` in a JSON plan: `["delete", "create"]` for a replace."""
        if self is Action.DELETE_THEN_CREATE:
            return ["delete", "create"]
        if self is Action.CREATE_THEN_DELETE:
            return ["create", "delete"]
        return [self.value]

    @staticmethod
    def from_json_actions(actions: list[str]) -> Action:
        if actions == ["delete", "create"]:
            return Action.DELETE_THEN_CREATE
        if actions == ["create", "delete"]:
            return Action.CREATE_THEN_DELETE
        return Action(actions[0])

    def __str__(self) -> str:
        return self.value


_SYMBOLS = {
    Action.NOOP: " ",
    Action.CREATE: "+",
    Action.READ: "<=",
    Action.UPDATE: "~",
    Action.DELETE: "-",
    Action.DELETE_THEN_CREATE: "-/+",
    Action.CREATE_THEN_DELETE: "+/-",
    Action.FORGET: ".",
}

# Terraform's `action_reason` strings, which mlform's JSON plans use unchanged.
ACTION_REASONS = frozenset(
    {
        "replace_because_tainted",
        "replace_because_cannot_update",
        "replace_by_request",
        "replace_by_triggers",
        "delete_because_no_resource_config",
        "delete_because_wrong_repetition",
        "delete_because_count_index",
        "delete_because_each_key",
        "delete_because_no_module",
        "delete_because_no_move_target",
        "read_because_config_unknown",
        "read_because_dependency_pending",
        "read_because_check_nested",
    }
)


@dataclass
class ResourceChange:
    """The planned change of one resource instance.

    `before` and `after` are the whole object (arguments and attributes) as plain JSON data,
    None when there is none (before a create, after a delete); `after` holds `UNKNOWN` where a
    value is known only after apply. Sensitive and replace paths are lists of steps
    (`["params", "c"]`, `["volumes", 0, "secret"]`).
    """

    addr: AbsResourceInstance
    action: Action
    provider: str = ""  # the provider configuration, as `provider["test"]`
    before: Any = None
    after: Any = None
    before_sensitive: list[Path_] = field(default_factory=list)
    after_sensitive: list[Path_] = field(default_factory=list)
    replace_paths: list[Path_] = field(default_factory=list)
    # For people: "params.c changed 1 → 2", "dataset.digits changed sha256:ab12… → …".
    reasons: list[str] = field(default_factory=list)
    # For machines: one of ACTION_REASONS, or None.
    action_reason: str | None = None
    # Where the instance was in state before a `moved` block or `state mv` (None if it was not
    # moved).
    prev_addr: AbsResourceInstance | None = None
    # {"id": "..."} when the change imports an existing object.
    importing: dict[str, Any] | None = None
    # A deposed object's key (create_before_destroy leftovers); None for the current object.
    deposed: str | None = None
    # What apply hands back to the provider: {"args": ..., "attrs": ..., "private": ...}.
    # Kept in saved plans, never shown.
    planned: dict[str, Any] | None = None
    # A job submitted earlier, as the plan found it (see InstanceChange.pending): "running"
    # (apply waits for it), "succeeded" (apply records its outputs), "failed" (replaced).
    pending: dict[str, Any] | None = None
    # The running jobs this change waits for (their outputs are not known yet).
    waiting_for: list[str] = field(default_factory=list)

    @property
    def mode(self) -> Mode:
        return self.addr.resource.mode

    @property
    def type(self) -> str:
        return self.addr.resource.type

    @property
    def name(self) -> str:
        return self.addr.resource.name

    @property
    def index(self) -> int | str | None:
        return self.addr.key

    @property
    def moved(self) -> bool:
        return self.prev_addr is not None and self.prev_addr != self.addr

    def sort_key(self) -> tuple[object, ...]:
        return (self.addr.sort_key(), self.deposed or "")


@dataclass
class OutputChange:
    name: str
    action: Action
    before: Any = None
    after: Any = None  # UNKNOWN when known only after apply
    sensitive: bool = False


@dataclass(frozen=True)
class PlanSummary:
    add: int = 0
    change: int = 0
    destroy: int = 0
    import_: int = 0
    read: int = 0
    move: int = 0
    forget: int = 0

    def __str__(self) -> str:
        """`Plan: 1 to import, 2 to add, 1 to change, 0 to destroy.` (`, 1 to forget` after
        it when a removed block forgets objects)."""
        head = f"{self.import_} to import, " if self.import_ else ""
        tail = f", {self.forget} to forget" if self.forget else ""
        return (
            f"Plan: {head}{self.add} to add, {self.change} to change, {self.destroy} to "
            f"destroy{tail}."
        )


@dataclass
class Plan:
    mode: PlanMode = "normal"
    changes: list[ResourceChange] = field(default_factory=list)
    # Differences between the prior state and what refresh found (objects changed outside
    # mlform), with action UPDATE (changed) or DELETE (gone).
    drift: list[ResourceChange] = field(default_factory=list)
    output_changes: list[OutputChange] = field(default_factory=list)
    # The refreshed state this plan was made against, in the state file's JSON format.
    prior_state: dict[str, Any] | None = None
    # Root module variables: name -> value as plain JSON data.
    variables: dict[str, Any] = field(default_factory=dict)
    # The names of those declared `sensitive = true`: their values stay out of JSON plans.
    sensitive_variables: list[str] = field(default_factory=list)
    targets: list[str] = field(default_factory=list)
    excludes: list[str] = field(default_factory=list)
    # Addresses given with `--replace`.
    force_replace: list[str] = field(default_factory=list)
    workspace: str = "default"
    state_serial: int | None = None
    state_lineage: str | None = None
    config_digest: str = ""
    mlform_version: str = __version__
    timestamp: str = field(
        default_factory=lambda: _dt.datetime.now(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    )
    # True when planning stopped on errors: the plan is shown but cannot be applied.
    errored: bool = False
    # The check blocks' results when planned, as the JSON plan's `checks` array
    # (mlform.engine.checks).
    checks: list[dict[str, Any]] = field(default_factory=list)
    # What the plan costs (mlform.engine.cost): totals and the priced instances, the JSON
    # plan's `cost` object; None when nothing is priced.
    cost: dict[str, Any] | None = None

    def summary(self) -> PlanSummary:
        add = change = destroy = imp = read = move = forget = 0
        for rc in self.changes:
            a = rc.action
            if a is Action.CREATE:
                add += 1
            elif a is Action.UPDATE:
                change += 1
            elif a is Action.DELETE:
                destroy += 1
            elif a.is_replace:
                add += 1
                destroy += 1
            elif a is Action.READ:
                read += 1
            elif a is Action.FORGET:
                forget += 1
            if rc.importing is not None:
                imp += 1
            if rc.moved:
                move += 1
        return PlanSummary(add, change, destroy, imp, read, move, forget)

    def resource_changes(self) -> list[ResourceChange]:
        """The changes that do something (no-ops left out), in address order."""
        return sorted(
            (
                rc
                for rc in self.changes
                if rc.action is not Action.NOOP or rc.importing is not None or rc.moved
            ),
            key=ResourceChange.sort_key,
        )

    @property
    def pending(self) -> list[ResourceChange]:
        """Jobs submitted earlier that apply waits for or collects (running or finished), in
        address order."""
        return sorted(
            (
                rc
                for rc in self.changes
                if rc.pending is not None and rc.pending.get("status") in ("running", "succeeded")
            ),
            key=ResourceChange.sort_key,
        )

    @property
    def has_changes(self) -> bool:
        """Whether applying would do anything: what `--detailed-exitcode` reports as 2.
        In refresh-only mode, drift is the change. A job still running (or finished and not
        collected) counts: apply waits for it and records its outputs in the state."""
        if self.mode == "refresh_only":
            return bool(self.drift) or any(o.action is not Action.NOOP for o in self.output_changes)
        return (
            bool(self.resource_changes())
            or bool(self.pending)
            or any(o.action is not Action.NOOP for o in self.output_changes)
        )

    @property
    def applyable(self) -> bool:
        return not self.errored and self.has_changes

    def change_for(self, addr: AbsResourceInstance) -> ResourceChange | None:
        for rc in self.changes:
            if rc.addr == addr and rc.deposed is None:
                return rc
        return None


# -- unknown values ------------------------------------------------------------------------------


def unknown_mask(value: Any) -> Any:
    """Where `value` holds UNKNOWN, in the shape of Terraform's `after_unknown`: `true` for an
    unknown value, an object with only the keys that hold unknowns, a list with one entry per
    element, `false` for a known value."""
    if value is UNKNOWN:
        return True
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            m = unknown_mask(v)
            if m is not False:
                out[str(k)] = m
        return out
    if isinstance(value, list | tuple):
        return [unknown_mask(v) for v in value]
    return False


def to_json_data(value: Any) -> Any:
    """Plain JSON data: UNKNOWN becomes null, Decimals numbers, tuples lists."""
    if value is UNKNOWN or value is None:
        return None
    if isinstance(value, Mapping):
        return {str(k): to_json_data(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [to_json_data(v) for v in value]
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def split_unknown(value: Any) -> tuple[Any, Any]:
    """(JSON data with null for unknowns, the unknown mask)."""
    return to_json_data(value), unknown_mask(value)


def join_unknown(value: Any, mask: Any) -> Any:
    """Undo `split_unknown`."""
    if mask is True:
        return UNKNOWN
    if isinstance(mask, dict) and isinstance(value, dict):
        return {k: join_unknown(v, mask.get(k, False)) for k, v in value.items()} | {
            k: UNKNOWN for k, m in mask.items() if m is True and k not in value
        }
    if isinstance(mask, list) and isinstance(value, list):
        return [join_unknown(v, m) for v, m in zip(value, mask, strict=False)] + value[len(mask) :]
    return value


def _enc(value: Any) -> dict[str, Any]:
    data, mask = split_unknown(value)
    if not _any_true(mask):
        return {"value": data}
    return {"value": data, "unknown": mask}


def _any_true(mask: Any) -> bool:
    if mask is True:
        return True
    if isinstance(mask, dict):
        return any(_any_true(m) for m in mask.values())
    if isinstance(mask, list):
        return any(_any_true(m) for m in mask)
    return False


def _dec(d: dict[str, Any]) -> Any:
    return join_unknown(d.get("value"), d.get("unknown", False))


# -- (de)serialization -----------------------------------------------------------------------------


def _change_to_dict(rc: ResourceChange) -> dict[str, Any]:
    return {
        "address": str(rc.addr),
        "prev_address": str(rc.prev_addr) if rc.prev_addr is not None else None,
        "action": rc.action.value,
        "provider": rc.provider,
        "before": _enc(rc.before),
        "after": _enc(rc.after),
        "before_sensitive": rc.before_sensitive,
        "after_sensitive": rc.after_sensitive,
        "replace_paths": rc.replace_paths,
        "reasons": rc.reasons,
        "action_reason": rc.action_reason,
        "importing": rc.importing,
        "deposed": rc.deposed,
        "planned": _enc(rc.planned) if rc.planned is not None else None,
        "pending": rc.pending,
        "waiting_for": rc.waiting_for,
    }


def _change_from_dict(d: dict[str, Any]) -> ResourceChange:
    return ResourceChange(
        addr=parse_instance(d["address"]),
        prev_addr=parse_instance(d["prev_address"]) if d.get("prev_address") else None,
        action=Action(d["action"]),
        provider=d.get("provider", ""),
        before=_dec(d["before"]),
        after=_dec(d["after"]),
        before_sensitive=d.get("before_sensitive", []),
        after_sensitive=d.get("after_sensitive", []),
        replace_paths=d.get("replace_paths", []),
        reasons=d.get("reasons", []),
        action_reason=d.get("action_reason"),
        importing=d.get("importing"),
        deposed=d.get("deposed"),
        planned=_dec(d["planned"]) if d.get("planned") is not None else None,
        pending=d.get("pending"),
        waiting_for=list(d.get("waiting_for") or []),
    )


def plan_to_dict(plan: Plan) -> dict[str, Any]:
    return {
        "format_version": PLAN_FORMAT_VERSION,
        "mlform_version": plan.mlform_version,
        "timestamp": plan.timestamp,
        "mode": plan.mode,
        "workspace": plan.workspace,
        "state_serial": plan.state_serial,
        "state_lineage": plan.state_lineage,
        "config_digest": plan.config_digest,
        "errored": plan.errored,
        "targets": plan.targets,
        "excludes": plan.excludes,
        "force_replace": plan.force_replace,
        "variables": _enc(plan.variables),
        "sensitive_variables": plan.sensitive_variables,
        "changes": [_change_to_dict(rc) for rc in plan.changes],
        "drift": [_change_to_dict(rc) for rc in plan.drift],
        "output_changes": [
            {
                "name": o.name,
                "action": o.action.value,
                "before": _enc(o.before),
                "after": _enc(o.after),
                "sensitive": o.sensitive,
            }
            for o in plan.output_changes
        ],
        "prior_state": plan.prior_state,
        **({"checks": plan.checks} if plan.checks else {}),
        **({"cost": plan.cost} if plan.cost else {}),
    }


def plan_from_dict(d: dict[str, Any]) -> Plan:
    version = d.get("format_version")
    if version != PLAN_FORMAT_VERSION:
        raise PlanFileError(
            f"this plan file has format version {version!r}; mlform {__version__} reads "
            f"version {PLAN_FORMAT_VERSION}. Make a new plan with `mlform plan -out FILE`."
        )
    return Plan(
        mode=d["mode"],
        changes=[_change_from_dict(c) for c in d.get("changes", [])],
        drift=[_change_from_dict(c) for c in d.get("drift", [])],
        output_changes=[
            OutputChange(
                name=o["name"],
                action=Action(o["action"]),
                before=_dec(o["before"]),
                after=_dec(o["after"]),
                sensitive=o.get("sensitive", False),
            )
            for o in d.get("output_changes", [])
        ],
        prior_state=d.get("prior_state"),
        variables=_dec(d.get("variables", {"value": {}})) or {},
        sensitive_variables=d.get("sensitive_variables", []),
        targets=d.get("targets", []),
        excludes=d.get("excludes", []),
        force_replace=d.get("force_replace", []),
        workspace=d.get("workspace", "default"),
        state_serial=d.get("state_serial"),
        state_lineage=d.get("state_lineage"),
        config_digest=d.get("config_digest", ""),
        mlform_version=d.get("mlform_version", ""),
        timestamp=d.get("timestamp", ""),
        errored=d.get("errored", False),
        checks=list(d.get("checks") or []),
        cost=d.get("cost") or None,
    )


# -- saved plans -----------------------------------------------------------------------------------


class PlanFileError(Exception):
    """A saved plan that cannot be read; the message says why and what to do."""


@dataclass
class SavedPlan:
    plan: Plan
    # The configuration files the plan was made from, by path relative to the working
    # directory (`main.mlf.hcl`, `modules/net/main.mlf.hcl`).
    config_files: dict[str, bytes]
    path: Path | None = None


_PLAN_ENTRY = "plan.json"
_CONFIG_DIR = "config/"


def config_digest(files: Mapping[str, bytes]) -> str:
    """`sha256:<hex>` over the files' names and contents, in name order."""
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(name.encode() + b"\0")
        h.update(hashlib.sha256(files[name]).digest())
    return "sha256:" + h.hexdigest()


def check_plan_target(path: str | Path) -> None:
    """Raise PlanFileError when a plan cannot be saved at `path`: its folder is missing, it is a
    folder, or it is a file that is not an mlform plan (a configuration or state file, which
    `plan -out` must not overwrite)."""
    target = Path(path)
    if target.is_dir():
        raise PlanFileError(f"Cannot save the plan to {target}. It is a folder; give a file name.")
    parent = target.parent
    if not parent.is_dir():
        raise PlanFileError(
            f"Cannot save the plan to {target}. The folder {parent} does not exist; create it "
            "first or choose another path."
        )
    if target.exists():
        try:
            with zipfile.ZipFile(target) as z:
                is_plan = _PLAN_ENTRY in z.namelist()
        except (OSError, zipfile.BadZipFile):
            is_plan = _is_sealed_plan(target)
        if not is_plan:
            raise PlanFileError(
                f"Cannot save the plan to {target}. That file exists and is not an mlform plan, "
                "so mlform will not overwrite it (it may be a configuration or a state file). "
                "Choose another name, such as next.mlplan."
            )


def _is_sealed_plan(path: Path) -> bool:
    """An encrypted plan file (mlform.state.encryption's envelope, purpose "plan")."""
    try:
        with open(path, "rb") as f:
            head = f.read(512)
    except OSError:
        return False
    from mlform.state.encryption import is_envelope

    return is_envelope(head) and b'"purpose":"plan"' in head


def write_plan(
    path: str | Path,
    plan: Plan,
    config_files: Mapping[str, bytes],
    encryption: Codec | None = None,
) -> None:
    """Save `plan` with the configuration it was made from. The plan's `config_digest` is
    set from the files when it is empty. With `encryption` (the plan section of the
    configured encryption), the file is sealed as a whole."""
    check_plan_target(path)
    if not plan.config_digest:
        plan.config_digest = config_digest(config_files)
    body = json.dumps(plan_to_dict(plan), ensure_ascii=False, sort_keys=True).encode()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr(_PLAN_ENTRY, body)
        for name in sorted(config_files):
            z.writestr(_CONFIG_DIR + _safe_name(name), config_files[name])
    data = buf.getvalue() if encryption is None else encryption.seal(buf.getvalue(), "plan")
    target = Path(path)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    # A saved plan holds sensitive values in clear, as the state does: readable by its owner
    # only (0600 whatever the umask), and never half written.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        try:
            os.fchmod(fd, 0o600)  # an old temporary file keeps its mode: set it
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
        finally:
            os.close(fd)
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _safe_name(name: str) -> str:
    parts = Path(name).as_posix().split("/")
    if name.startswith("/") or ".." in parts or not name:
        raise ValueError(f"configuration file path {name!r} must be relative, without ..")
    return "/".join(parts)


def read_plan(path: str | Path, encryption: Codec | None = None) -> SavedPlan:
    """A saved plan; an encrypted one is opened with `encryption` (the plan section of the
    configured encryption), and a plain one is refused when that section reads no plain text
    (EncryptionError)."""
    p = Path(path)
    try:
        source: Path | io.BytesIO = p
        if encryption is not None or _is_sealed_plan(p):
            from mlform.state.encryption import open_bytes

            source = io.BytesIO(open_bytes(p.read_bytes(), encryption, "plan", str(p)))
        with zipfile.ZipFile(source) as z:
            names = z.namelist()
            if _PLAN_ENTRY not in names:
                raise PlanFileError(f"{p} is not an mlform plan file (it has no {_PLAN_ENTRY}).")
            data = json.loads(z.read(_PLAN_ENTRY))
            files = {
                n[len(_CONFIG_DIR) :]: z.read(n)
                for n in names
                if n.startswith(_CONFIG_DIR) and not n.endswith("/")
            }
    except FileNotFoundError:
        raise PlanFileError(
            f"The plan file {p} does not exist. Make one with `mlform plan -out FILE`."
        ) from None
    except OSError as exc:
        raise PlanFileError(f"Cannot read the plan file {p}. {exc.strerror or exc}.") from None
    except (zipfile.BadZipFile, json.JSONDecodeError, UnicodeDecodeError) as exc:
        # The hint names no file: the one given may be the state or a configuration file,
        # which `plan -out` would overwrite.
        raise PlanFileError(
            f"{p} is not an mlform plan file. It cannot be read as one ({exc}); make a plan "
            "file with `mlform plan -out FILE`."
        ) from None
    try:
        if not isinstance(data, dict):
            raise TypeError("its plan.json is not a JSON object")
        plan = plan_from_dict(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        if isinstance(exc, PlanFileError):
            raise
        raise PlanFileError(f"The plan file {p} is damaged: {exc}.") from None
    return SavedPlan(plan, files, p)


def stale_reasons(
    saved: SavedPlan | Plan,
    current_state_serial: int | None,
    current_lineage: str | None,
    current_config_digest: str,
) -> list[str]:
    """Why a saved plan may no longer be applied; empty when it still may."""
    plan = saved.plan if isinstance(saved, SavedPlan) else saved
    reasons: list[str] = []
    if plan.state_lineage and current_lineage and plan.state_lineage != current_lineage:
        reasons.append(
            f"the plan was made for a different state (lineage {plan.state_lineage}; the "
            f"current state's lineage is {current_lineage})"
        )
    elif plan.state_serial != current_state_serial:
        then = "no state" if plan.state_serial is None else f"serial {plan.state_serial}"
        now = "no state" if current_state_serial is None else f"serial {current_state_serial}"
        reasons.append(f"the state changed since the plan was made ({then} then, {now} now)")
    if plan.config_digest and plan.config_digest != current_config_digest:
        reasons.append("the configuration changed since the plan was made")
    if plan.mlform_version != __version__:
        reasons.append(
            f"the plan was made by mlform {plan.mlform_version}; this is mlform {__version__}"
        )
    return reasons
