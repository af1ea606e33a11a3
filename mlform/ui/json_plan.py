"""The JSON plan (`mlform plan --json`, `mlform show --json PLANFILE`) in Terraform's shape.

Tools that read Terraform's JSON plans (policy checkers such as OPA/conftest, cost estimators,
review bots) read mlform's unchanged: `format_version` "1.2", `planned_values`,
`resource_changes[].change.{actions, before, after, after_unknown, before_sensitive,
after_sensitive, replace_paths}`, `action_reason`, `resource_drift`, `output_changes`,
`prior_state` and `configuration`. `terraform_version` carries the Terraform release whose
format this follows; `mlform_version` says which mlform wrote it.

One deliberate difference: Terraform writes sensitive values in clear and only flags them;
mlform never writes them. A sensitive value is null in `before`/`after` (and left out of
`planned_values`), with its place marked in the `*_sensitive` masks.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from mlform.addrs import AbsResourceInstance, ModuleInstance
from mlform.plans import Action, OutputChange, Plan, ResourceChange, to_json_data, unknown_mask
from mlform.sdk.contract import UNKNOWN, is_wholly_known

__all__ = [
    "FORMAT_VERSION",
    "TERRAFORM_COMPAT_VERSION",
    "plan_json",
    "redact",
    "sensitive_mask",
    "state_values",
]

FORMAT_VERSION = "1.2"
# The Terraform release whose JSON plan format mlform's follows.
TERRAFORM_COMPAT_VERSION = "1.9.0"

Path = list[str | int]


def _sub(paths: Iterable[Path], step: str | int) -> list[Path]:
    return [list(p[1:]) for p in paths if p and p[0] == step]


def sensitive_mask(value: Any, paths: Iterable[Path]) -> Any:
    """Terraform's `*_sensitive` mask: `true` where a value is sensitive, an object with only
    the keys that hold something sensitive, a list with an entry per element, `false` for a
    null or wholly non-sensitive value at the top."""
    plist = [list(p) for p in paths]
    if [] in plist:
        return True
    if value is None:
        return False
    if isinstance(value, Mapping):
        out: dict[str, Any] = {}
        for k, v in value.items():
            m = sensitive_mask(v, _sub(plist, k))
            if m is not False:
                out[str(k)] = m
        return out
    if isinstance(value, list | tuple):
        return [sensitive_mask(v, _sub(plist, i)) for i, v in enumerate(value)]
    return False


def redact(value: Any, paths: Iterable[Path]) -> Any:
    """The value with every sensitive part replaced by null."""
    plist = [list(p) for p in paths]
    if [] in plist:
        return None
    if not plist:
        return value
    if isinstance(value, Mapping):
        return {k: redact(v, _sub(plist, k)) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v, _sub(plist, i)) for i, v in enumerate(value)]
    return value


def _after_unknown(after: Any) -> Any:
    if after is None or is_wholly_known(after):
        return {} if after is not UNKNOWN else True
    return unknown_mask(after)


def _provider_name(provider: str) -> str:
    """`provider["test"].east` -> `test`: the provider's type, as `provider_name` holds it."""
    if '["' in provider:
        return provider.split('["', 1)[1].split('"]', 1)[0]
    return provider


def _change_json(rc: ResourceChange) -> dict[str, Any]:
    before = rc.before if rc.action not in (Action.CREATE, Action.READ) else None
    after = rc.after if rc.action is not Action.DELETE else None
    change: dict[str, Any] = {
        "actions": rc.action.json_actions,
        "before": to_json_data(redact(before, rc.before_sensitive)),
        "after": to_json_data(redact(after, rc.after_sensitive)),
        "after_unknown": _after_unknown(after),
        "before_sensitive": sensitive_mask(before, rc.before_sensitive),
        "after_sensitive": sensitive_mask(
            to_json_data(after) if after is not None else None, rc.after_sensitive
        ),
    }
    if rc.replace_paths:
        change["replace_paths"] = [list(p) for p in rc.replace_paths]
    if rc.importing is not None:
        change["importing"] = dict(rc.importing)
    out: dict[str, Any] = {"address": str(rc.addr)}
    if rc.moved and rc.prev_addr is not None:
        out["previous_address"] = str(rc.prev_addr)
    if rc.addr.module.steps:
        out["module_address"] = str(rc.addr.module)
    out["mode"] = rc.addr.resource.mode
    out["type"] = rc.addr.resource.type
    out["name"] = rc.addr.resource.name
    if rc.addr.key is not None:
        out["index"] = rc.addr.key
    out["provider_name"] = _provider_name(rc.provider)
    if rc.deposed:
        out["deposed"] = rc.deposed
    out["change"] = change
    if rc.pending is not None:
        # mlform's own: a job submitted earlier, as the plan's poll found it.
        out["mlform_pending"] = dict(rc.pending)
    if rc.waiting_for:
        out["mlform_waiting_for"] = list(rc.waiting_for)
    if rc.action_reason:
        out["action_reason"] = rc.action_reason
    return out


def _sorted(changes: Iterable[ResourceChange]) -> list[ResourceChange]:
    return sorted(changes, key=lambda rc: (str(rc.addr), rc.deposed or ""))


def _known_values(value: Any) -> Any:
    """`planned_values` leave out what is not known yet: top-level unknown attributes are
    omitted, nested ones become null."""
    if isinstance(value, Mapping):
        return {k: to_json_data(v) for k, v in value.items() if v is not UNKNOWN}
    return to_json_data(value)


def _resource_value(
    addr: AbsResourceInstance,
    provider: str,
    values: Any,
    sensitive: list[Path],
) -> dict[str, Any]:
    out: dict[str, Any] = {
        "address": str(addr),
        "mode": addr.resource.mode,
        "type": addr.resource.type,
        "name": addr.resource.name,
    }
    if addr.key is not None:
        out["index"] = addr.key
    out["provider_name"] = _provider_name(provider)
    out["schema_version"] = 0
    out["values"] = _known_values(redact(values, sensitive)) if values is not None else {}
    out["sensitive_values"] = sensitive_mask(to_json_data(values) or {}, sensitive)
    return out


def _module_tree(entries: list[tuple[ModuleInstance, dict[str, Any]]]) -> dict[str, Any]:
    """Resources grouped by module, as `root_module` with nested `child_modules`."""
    root: dict[str, Any] = {}
    nodes: dict[ModuleInstance, dict[str, Any]] = {ModuleInstance(): root}

    def node_for(mod: ModuleInstance) -> dict[str, Any]:
        if mod in nodes:
            return nodes[mod]
        parent = node_for(mod.parent())
        n: dict[str, Any] = {"address": str(mod)}
        parent.setdefault("child_modules", []).append(n)
        nodes[mod] = n
        return n

    for mod, res in entries:
        node_for(mod).setdefault("resources", []).append(res)
    for n in nodes.values():
        if "child_modules" in n:
            n["child_modules"].sort(key=lambda c: c["address"])
    return root


def _planned_values(plan: Plan) -> dict[str, Any]:
    entries = []
    for rc in _sorted(plan.changes):
        if rc.action in (Action.DELETE, Action.FORGET) or rc.deposed:
            continue
        entries.append(
            (rc.addr.module, _resource_value(rc.addr, rc.provider, rc.after, rc.after_sensitive))
        )
    out: dict[str, Any] = {}
    outputs = {}
    for oc in sorted(plan.output_changes, key=lambda o: o.name):
        if oc.action is Action.DELETE:
            continue
        entry: dict[str, Any] = {"sensitive": oc.sensitive}
        if not oc.sensitive and is_wholly_known(oc.after):
            entry["value"] = to_json_data(oc.after)
        outputs[oc.name] = entry
    if outputs:
        out["outputs"] = outputs
    out["root_module"] = _module_tree(entries)
    return out


def _output_change_json(oc: OutputChange) -> dict[str, Any]:
    before = oc.before if oc.action is not Action.CREATE else None
    after = oc.after if oc.action is not Action.DELETE else None
    return {
        "actions": oc.action.json_actions,
        "before": None if oc.sensitive else to_json_data(before),
        "after": None if oc.sensitive else to_json_data(after),
        "after_unknown": unknown_mask(after),
        "before_sensitive": oc.sensitive,
        "after_sensitive": oc.sensitive,
    }


# -- prior state ------------------------------------------------------------------------------------


def _instance_attrs(inst: Mapping[str, Any]) -> dict[str, Any]:
    if "attributes" in inst:
        return dict(inst["attributes"] or {})
    return {**(inst.get("args") or {}), **(inst.get("attrs") or {})}


def _sensitive_paths(raw: Any) -> list[Path]:
    """Sensitive paths as mlform's state lists them (`[["a", 0]]`) or as Terraform's v4 state
    does (`[[{"type": "get_attr", "value": "a"}, {"type": "index", ...}]]`)."""
    out: list[Path] = []
    for p in raw or []:
        steps: Path = []
        for step in p:
            if isinstance(step, Mapping):
                v: Any = step.get("value")  # a key (str or int) as the state wrote it
                if isinstance(v, Mapping):  # index steps carry {"value": ..., "type": ...}
                    v = v.get("value")
                steps.append(v)
            else:
                steps.append(step)
        out.append(steps)
    return out


def state_values(state: Mapping[str, Any]) -> dict[str, Any]:
    """A state file's JSON as Terraform's "values representation" (what `prior_state` and
    `terraform show -json` hold). Sensitive values are left out, as everywhere in mlform."""
    from mlform.addrs import Resource, parse_module_instance

    entries = []
    for res in state.get("resources", []) or []:
        module = parse_module_instance(res.get("module", "") or "")
        resource = Resource(res.get("mode", "managed"), res["type"], res["name"])
        for inst in res.get("instances", []) or []:
            if inst.get("deposed") and inst.get("id") is None:
                continue  # only holds deposed objects: there is no current object to show
            key = inst.get("index_key")
            addr = AbsResourceInstance(module, resource, key)
            sens = _sensitive_paths(inst.get("sensitive_attributes") or inst.get("sensitive_paths"))
            entries.append(
                (
                    module,
                    _resource_value(addr, res.get("provider", ""), _instance_attrs(inst), sens),
                )
            )
    entries.sort(key=lambda e: e[1]["address"])
    values: dict[str, Any] = {}
    outputs = {}
    for name, out in sorted((state.get("outputs") or {}).items()):
        entry: dict[str, Any] = {"sensitive": bool(out.get("sensitive"))}
        if not entry["sensitive"]:
            entry["value"] = to_json_data(out.get("value"))
        if "type" in out:
            entry["type"] = out["type"]
        outputs[name] = entry
    if outputs:
        values["outputs"] = outputs
    values["root_module"] = _module_tree(entries)
    return {
        "format_version": "1.0",
        "terraform_version": TERRAFORM_COMPAT_VERSION,
        "mlform_version": state.get("mlform_version", ""),
        "values": values,
    }


# -- the document ------------------------------------------------------------------------------------


def plan_json(plan: Plan, config_json: dict[str, Any] | None = None) -> dict[str, Any]:
    """The JSON plan document. `config_json` is the configuration representation (Terraform's
    `configuration` object) when the caller has one."""
    doc: dict[str, Any] = {
        "format_version": FORMAT_VERSION,
        "terraform_version": TERRAFORM_COMPAT_VERSION,
        "mlform_version": plan.mlform_version,
    }
    if plan.variables:
        # Terraform prints a sensitive variable's value here; mlform keeps it out, as it does
        # everywhere else in a JSON plan.
        hidden = set(plan.sensitive_variables)
        doc["variables"] = {
            name: {"sensitive": True} if name in hidden else {"value": to_json_data(value)}
            for name, value in sorted(plan.variables.items())
        }
    doc["planned_values"] = _planned_values(plan)
    drift = [_change_json(rc) for rc in _sorted(plan.drift)]
    if drift:
        doc["resource_drift"] = drift
    changes = [_change_json(rc) for rc in _sorted(plan.changes)]
    if changes:
        doc["resource_changes"] = changes
    if plan.output_changes:
        doc["output_changes"] = {
            oc.name: _output_change_json(oc)
            for oc in sorted(plan.output_changes, key=lambda o: o.name)
        }
    if plan.prior_state is not None:
        doc["prior_state"] = state_values(plan.prior_state)
    if config_json is not None:
        doc["configuration"] = config_json
    if plan.targets:
        doc["targets"] = list(plan.targets)
    if plan.excludes:
        doc["excludes"] = list(plan.excludes)
    if plan.checks:
        # check blocks' results: address, status (pass, fail, unknown, error), instances.
        doc["checks"] = plan.checks
    if plan.cost:
        # What the plan costs (mlform.engine.cost): USD totals and the priced instances.
        doc["cost"] = plan.cost
    doc["timestamp"] = plan.timestamp
    doc["applyable"] = plan.applyable
    doc["complete"] = not plan.errored
    doc["errored"] = plan.errored
    return doc
