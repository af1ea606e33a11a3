"""What the engine decided for each resource instance, and how instance records convert.

`InstanceChange` is the engine's own record of one planned change; `mlform.plans` turns a list
of them into the `Plan` users see and saved plans hold.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mlform.addrs import AbsResourceInstance
from mlform.engine.bridge import derived_sensitive
from mlform.sdk import UNKNOWN, ResourceState
from mlform.sdk.schema import KindSchema
from mlform.state import InstanceRecord

# Terraform's action reasons, for the JSON plan.
REPLACE_BECAUSE_TAINTED = "replace_because_tainted"
REPLACE_BY_REQUEST = "replace_by_request"
REPLACE_BY_TRIGGERS = "replace_by_triggers"
REPLACE_BECAUSE_CANNOT_UPDATE = "replace_because_cannot_update"
DELETE_NO_CONFIG = "delete_because_no_resource_config"
DELETE_COUNT_INDEX = "delete_because_count_index"
DELETE_EACH_KEY = "delete_because_each_key"
DELETE_WRONG_REPETITION = "delete_because_wrong_repetition"
DELETE_NO_MODULE = "delete_because_no_module"
READ_CONFIG_UNKNOWN = "read_because_config_unknown"


@dataclass
class InstanceChange:
    addr: AbsResourceInstance
    provider: str  # the provider configuration's address, 'provider["local"]'
    action: str  # create | update | replace | create_then_delete | delete | noop | read
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = None
    before_sensitive: list[list[str | int]] = field(default_factory=list)
    after_sensitive: list[list[str | int]] = field(default_factory=list)
    replace_paths: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    action_reason: str | None = None
    dependencies: list[str] = field(default_factory=list)
    create_before_destroy: bool = False
    private: dict[str, Any] = field(default_factory=dict)
    # The deposed object this change deletes (see InstanceRecord.deposed); None for the
    # instance's current object.
    deposed: str | None = None
    # A pending object (a job submitted earlier) as the plan's poll found it: {"status":
    # "running" | "succeeded" | "failed", "id", "submitted_at", "elapsed_s", "last_line",
    # "progress", "summary"}; None for everything else.
    pending: dict[str, Any] | None = None
    # The pending jobs, still running, that this change waits for.
    waiting_for: list[str] = field(default_factory=list)

    @property
    def mode(self) -> str:
        return self.addr.resource.mode

    @property
    def is_change(self) -> bool:
        return self.action not in ("noop",) and not (
            self.action == "read" and self.after is not None and not _has_unknown(self.after)
        )


def _has_unknown(data: Any) -> bool:
    from mlform.engine.bridge import data_has_unknown

    return data_has_unknown(data)


def split_record(rec: InstanceRecord, schema: KindSchema | None) -> ResourceState:
    """An instance record as the provider sees it: arguments apart from computed attributes."""
    attrs_all = dict(rec.attributes)
    attrs_all.pop("id", None)
    if schema is None:
        return ResourceState(
            id=rec.id or "",
            args=attrs_all,
            attrs={},
            lineage=rec.lineage,
            private=dict(rec.private),
        )
    arg_names = set(schema.args.attributes) | set(schema.args.blocks)
    args = {k: v for k, v in attrs_all.items() if k in arg_names}
    attrs = {k: v for k, v in attrs_all.items() if k not in arg_names}
    return ResourceState(
        id=rec.id or "", args=args, attrs=attrs, lineage=rec.lineage, private=dict(rec.private)
    )


def full_attributes(args: dict[str, Any], attrs: dict[str, Any], id_: Any) -> dict[str, Any]:
    """What state and references see: arguments, computed attributes and the id together."""
    out = dict(args)
    for k, v in attrs.items():
        if k == "id":
            continue
        out[k] = v
    out["id"] = id_
    return out


def record_from_state(
    st: ResourceState,
    key: Any,
    dependencies: list[str],
    sensitive: list[list[str | int]],
    create_before_destroy: bool,
    status: str = "ready",
) -> InstanceRecord:
    attributes = full_attributes(st.args, st.attrs, st.id)
    return InstanceRecord(
        index_key=key,
        status=status,
        id=st.id,
        attributes=attributes,
        sensitive_paths=derived_sensitive(attributes, sensitive),
        dependencies=sorted(dependencies),
        create_before_destroy=create_before_destroy,
        private=dict(st.private),
        lineage=st.lineage,
    )


def planned_after(
    args: dict[str, Any], attrs: dict[str, Any], prior_id: Any, action: str
) -> dict[str, Any]:
    id_ = attrs.get(
        "id", UNKNOWN if action in ("create", "replace", "create_then_delete") else prior_id
    )
    return full_attributes(args, attrs, id_)
