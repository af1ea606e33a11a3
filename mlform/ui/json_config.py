"""The `configuration` object of a JSON plan, in Terraform's shape: what the configuration
declares, with each expression given as its constant value or the references it makes.

Policy tools read it to check, say, that every training job names a pinned environment, or
which resources a variable flows into, without evaluating anything themselves.
"""

from __future__ import annotations

from typing import Any

from mlform.config.decode import static_value
from mlform.config.model import Module, ResourceConfig
from mlform.config.syntax import Body
from mlform.lang import ast
from mlform.lang.ast import traversal_text


def configuration_json(root: Module, provider_of: dict[str, str] | None = None) -> dict[str, Any]:
    """`provider_of` maps a resource's address in the configuration to its provider
    configuration's key (as `provider_config_key`)."""
    providers: dict[str, Any] = {}
    for m in root.walk():
        prefix = f"{'.'.join(m.path.names)}:" if m.path.names else ""
        for local_name, pb in m.providers.items():
            entry: dict[str, Any] = {"name": pb.type, "full_name": pb.type}
            if pb.alias:
                entry["alias"] = pb.alias
            if m.path.names:
                entry["module_address"] = str(m.path)
            exprs = _body(pb.body)
            if exprs:
                entry["expressions"] = exprs
            providers[prefix + local_name] = entry
    out: dict[str, Any] = {"root_module": _module(root, provider_of or {})}
    if providers:
        out["provider_config"] = providers
    return out


def _module(m: Module, provider_of: dict[str, str]) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    if m.outputs:
        doc["outputs"] = {
            name: {
                **({"sensitive": True} if o.sensitive else {}),
                "expression": _expr(o.expr),
                **({"description": o.description} if o.description else {}),
                **(
                    {"depends_on": [traversal_text(t) for t in o.depends_on]}
                    if o.depends_on
                    else {}
                ),
            }
            for name, o in sorted(m.outputs.items())
        }
    resources = [_resource(r, m, provider_of) for r in m.resources.values()]
    if resources:
        doc["resources"] = sorted(resources, key=lambda r: r["address"])
    if m.module_calls:
        calls: dict[str, Any] = {}
        for name, call in sorted(m.module_calls.items()):
            entry: dict[str, Any] = {"source": call.source}
            exprs = _body(call.body)
            if exprs:
                entry["expressions"] = exprs
            if call.count is not None:
                entry["count_expression"] = _expr(call.count)
            if call.for_each is not None:
                entry["for_each_expression"] = _expr(call.for_each)
            if call.depends_on:
                entry["depends_on"] = [traversal_text(t) for t in call.depends_on]
            child = m.children.get(name)
            if child is not None:
                entry["module"] = _module(child, provider_of)
            if call.version:
                entry["version_constraint"] = call.version
            calls[name] = entry
        doc["module_calls"] = calls
    if m.variables:
        doc["variables"] = {}
        for name, v in sorted(m.variables.items()):
            entry = {}
            default = static_value(v.default) if v.default is not None else None
            if default is not None and not v.sensitive:
                # A sensitive variable's default stays out of the plan, as its value does.
                entry["default"] = default.to_json()
            if v.description:
                entry["description"] = v.description
            if v.sensitive:
                entry["sensitive"] = True
            doc["variables"][name] = entry
    return doc


def _resource(r: ResourceConfig, m: Module, provider_of: dict[str, str]) -> dict[str, Any]:
    addr = str(r.addr)
    full = f"{m.path}.{addr}" if m.path.names else addr
    entry: dict[str, Any] = {
        "address": addr,
        "mode": r.mode,
        "type": r.type,
        "name": r.name,
        "provider_config_key": provider_of.get(full, m.provider_type_for(r)),
        "expressions": _body(r.body),
        "schema_version": 0,
    }
    if r.count is not None:
        entry["count_expression"] = _expr(r.count)
    if r.for_each is not None:
        entry["for_each_expression"] = _expr(r.for_each)
    if r.depends_on:
        entry["depends_on"] = [traversal_text(t) for t in r.depends_on]
    return entry


def _body(body: Body) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, attr in body.attributes.items():
        out[name] = _expr(attr.expr)
    for block in body.blocks:
        if block.type == "dynamic":
            continue  # expanded only when evaluated
        out.setdefault(block.type, []).append(_body(block.body))
    return out


def _expr(expr: ast.Expr) -> dict[str, Any]:
    value = static_value(expr)
    if value is not None:
        return {"constant_value": value.to_json()}
    refs: list[str] = []
    for t in ast.traversals(expr):
        for ref in _reference_forms(t):
            if ref not in refs:
                refs.append(ref)
    return {"references": refs} if refs else {}


def _reference_forms(t: ast.ScopeTraversal) -> list[str]:
    """Terraform lists a reference and its shorter prefixes that name an object:
    `dataset.digits.id` gives `dataset.digits.id` and `dataset.digits`."""
    full = traversal_text(t)
    parts = [full]
    if t.root in ("var", "local", "count", "each", "path", "terraform", "mlform", "self"):
        return parts if len(t.steps) <= 1 else [full, traversal_text(t, 1)]
    depth = 3 if t.root in ("data", "module") else 2
    if len(t.steps) + 1 > depth:
        parts.append(traversal_text(t, depth - 1))
    return parts
