"""Lineage graphs read from the state history: upstream (what produced an instance, at one serial)
and downstream (what consumed any version of an instance, across every serial).

A graph's nodes are instances as recorded in a serial (plus one node per code snapshot a job or a
deployment ran); its edges point from a consumer to what it used. An edge exists where the
consumer depends on a resource (the state's `dependencies`) and, when that resource has several
instances, names the instance's id or digest in its arguments; a job's code becomes its own node
so a changed commit is visible in the graph.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlform.state.backends import Backend
    from mlform.state.model import State

__all__ = [
    "LineageError",
    "Node",
    "Graph",
    "load_serial",
    "serials",
    "upstream",
    "downstream",
    "instances",
    "matches",
]


class LineageError(Exception):
    """A lineage question that cannot be answered (no such serial, no such address)."""

    def __init__(self, summary: str, detail: str = ""):
        super().__init__(summary)
        self.summary = summary
        self.detail = detail


@dataclass
class Node:
    """One recorded instance (or a code snapshot) in a lineage graph."""

    key: str  # unique within the graph
    addr: str
    kind: str  # the resource type, or "code"
    id: str | None
    details: dict[str, Any] = field(default_factory=dict)
    serials: list[int] = field(default_factory=list)

    def label(self) -> str:
        return self.addr

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "address": self.addr,
            "kind": self.kind,
            "id": self.id,
            "serials": self.serials,
            "details": self.details,
        }


_ORDER = {"training_job": 0, "dataset": 1, "environment": 2, "code": 3, "cluster": 4}


@dataclass
class Graph:
    """A lineage graph: `root` is the node asked about; edges are (consumer, input)."""

    root: str
    direction: str  # "upstream" | "downstream"
    serial: int | None
    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[tuple[str, str]] = field(default_factory=list)

    def add_edge(self, consumer: str, used: str) -> None:
        if (consumer, used) not in self.edges:
            self.edges.append((consumer, used))

    def children(self, key: str) -> list[str]:
        """Upstream: what `key` used. Downstream: what used `key`. The producer of a model
        first, then data, environment, code and hardware."""
        if self.direction == "upstream":
            kids = [b for a, b in self.edges if a == key]
        else:
            kids = [a for a, b in self.edges if b == key]
        return sorted(kids, key=lambda k: (_ORDER.get(self.nodes[k].kind, 9), k))

    def to_json(self) -> dict[str, Any]:
        return {
            "direction": self.direction,
            "serial": self.serial,
            "root": self.root,
            "nodes": [n.to_json() for n in self.nodes.values()],
            "edges": [{"from": a, "to": b} for a, b in self.edges],
        }


# -- reading serials ----------------------------------------------------------------------------


def serials(backend: Backend, workspace: str) -> list[int]:
    return [e.serial for e in backend.history(workspace)]


def load_serial(backend: Backend, workspace: str, serial: int | None) -> State:
    """The state at `serial` (the latest when None); LineageError naming the kept serials when
    it is not in the history."""
    from mlform.state.session import read_state

    if serial is None:
        state = read_state(backend, workspace)
        if state.serial == 0 and not state.resources:
            raise LineageError(
                "No state yet",
                f"Workspace {workspace!r} has no state: run `mlform apply` first.",
            )
        return state
    kept = serials(backend, workspace)
    if serial not in kept:
        shown = ", ".join(str(s) for s in kept) or "none"
        raise LineageError(
            f"Serial {serial} is not in the history",
            f"Workspace {workspace!r} keeps serials: {shown}. `mlform history` lists them.",
        )
    return backend.read_serial(workspace, serial)


def instances(state: State) -> list[tuple[str, str, Any, Any]]:
    """(instance address, resource address, resource record, instance record) of every
    managed instance."""
    out = []
    for addr, res, inst in state.all_instances():
        if res.mode != "managed":
            continue
        out.append((str(addr), str(addr.abs_resource), res, inst))
    return out


def matches(text: str, inst_addr: str, res_addr: str) -> bool:
    return text in (inst_addr, res_addr)


# -- node details -------------------------------------------------------------------------------


def _pick(d: dict[str, Any] | None, *keys: str) -> dict[str, Any]:
    d = d or {}
    return {k: d.get(k) for k in keys if k in d}


def details(kind: str, attrs: dict[str, Any], lineage: dict[str, Any] | None) -> dict[str, Any]:
    """What a reader wants to see of an instance in a lineage graph."""
    lin = lineage or {}
    out: dict[str, Any] = {}
    if kind == "dataset":
        out = _pick(attrs, "digest", "files", "bytes", "source", "version", "uri")
    elif kind == "environment":
        out = _pick(attrs, "digest", "python_version", "lock")
        out = {"lock_digest": out.pop("digest", None), **out}
        out["packages"] = out.pop("lock", None) or lin.get("packages")
    elif kind == "cluster":
        out = _pick(
            attrs,
            "hardware_class",
            "gpu_model",
            "gpu_count",
            "driver_version",
            "cuda_version",
            "cpu_count",
            "memory_mb",
        )
    elif kind == "training_job":
        out = _pick(attrs, "run_id", "status", "model_digest", "metrics")
        out.update(_pick(lin, "params", "seed", "command", "nodes"))
        out["datasets"] = {
            n: (v.get("id") if isinstance(v, dict) else v)
            for n, v in (lin.get("datasets") or attrs.get("datasets") or {}).items()
        }
        env = lin.get("environment") or {}
        out["environment"] = _pick(env, "id", "lock_digest", "python")
        out["hardware"] = lin.get("hardware") or {}
        out["host"] = lin.get("host") or {}
        out["timings"] = lin.get("timings") or {}
    elif kind == "deployment":
        out = _pick(attrs, "endpoint", "status", "revision", "model_digest", "model")
    elif kind == "code":
        out = _pick(
            lin,
            "digest",
            "git_commit",
            "git_branch",
            "git_remote",
            "dirty",
            "git_dirty_digest",
            "path",
            "snapshot",
        )
    else:
        out = {k: v for k, v in attrs.items() if isinstance(v, (str, int, float, bool))}
    for k in ("applied_by", "applied_at", "ci"):
        if lin.get(k) is not None and kind != "code":
            out[k] = lin[k]
    return out


def _code_node(
    consumer_addr: str, kind: str, attrs: dict[str, Any], lin: dict[str, Any]
) -> Node | None:
    code = lin.get("code")
    if isinstance(code, dict) and code.get("digest"):
        facts = code
    elif kind == "deployment" and lin.get("code_digest"):
        facts = {"digest": lin["code_digest"]}
    elif attrs.get("code_digest"):
        facts = {"digest": attrs["code_digest"], "git_commit": attrs.get("code_commit")}
    else:
        return None
    digest = str(facts["digest"])
    return Node(
        key=f"code:{digest}",
        addr=f"code {digest[:19]}",
        kind="code",
        id=digest,
        details=details("code", {}, facts),
    )


# -- edges within one serial --------------------------------------------------------------------


@dataclass
class _Entry:
    addr: str
    res_addr: str
    kind: str
    inst: Any


def _serial_edges(state: State) -> tuple[dict[str, _Entry], list[tuple[str, str]]]:
    """Every managed instance by address, and the edges (consumer, input) between them."""
    entries: dict[str, _Entry] = {}
    by_res: dict[str, list[str]] = {}
    for addr, res_addr, res, inst in instances(state):
        entries[addr] = _Entry(addr, res_addr, res.type, inst)
        by_res.setdefault(res_addr, []).append(addr)
    edges: list[tuple[str, str]] = []
    for addr, e in entries.items():
        deps = [
            c
            for dep in e.inst.dependencies or []
            for c in (by_res.get(dep) or ([dep] if dep in entries else []))
        ]
        deps = [c for c in deps if c != addr]
        if e.kind in CONTENT_KINDS:
            # Dependencies say what was evaluated first, which is broader than what a model
            # was made from (a sweep's runs all wait for every dataset of the module call).
            # Among content-addressed inputs, lineage keeps the ones whose identity the
            # record names: a job's datasets and environment, a deployment's model.
            named = [
                c
                for c in deps
                if entries[c].kind not in CONTENT_KINDS or _names_input(e.inst, entries[c].inst)
            ]
            deps = named if named else deps
        edges.extend((addr, c) for c in dict.fromkeys(deps))
    return entries, edges


# Kinds whose identity is their content: a record names exactly the versions it used.
CONTENT_KINDS = ("dataset", "environment", "training_job", "deployment")


def _names_input(consumer: Any, producer: Any) -> bool:
    """Whether the consumer's record names this producer: its id, or the digest or location of
    what it produced."""
    attrs = producer.attributes or {}
    idents = [
        producer.id,
        attrs.get("digest"),
        attrs.get("model_digest"),
        attrs.get("model"),
        attrs.get("uri"),
    ]
    text = json.dumps([consumer.attributes, consumer.lineage], default=str)
    return any(isinstance(i, str) and i and i in text for i in idents)


SENSITIVE_SHOWN = "(sensitive value)"


def _leaves(v: Any) -> list[Any]:
    if isinstance(v, dict):
        return [x for e in v.values() for x in _leaves(e)]
    if isinstance(v, list):
        return [x for e in v for x in _leaves(e)]
    return [] if v is None or isinstance(v, bool) else [v]


def _secrets(attrs: dict[str, Any], paths: list[Any]) -> set[Any]:
    """The values at an instance's sensitive attribute paths."""
    out: set[Any] = set()
    for path in paths or []:
        v: Any = attrs
        for step in path if isinstance(path, list) else [path]:
            if isinstance(v, dict) and step in v:
                v = v[step]
            elif isinstance(v, list) and isinstance(step, int) and -len(v) <= step < len(v):
                v = v[step]
            else:
                v = None
                break
        out.update(x for x in _leaves(v) if isinstance(x, str | int | float))
    return out


def _redact(v: Any, secrets: set[Any]) -> Any:
    # By value: a job's lineage record copies its params, so a secret passed as a param shows
    # up there as well as in the attribute the sensitive path names.
    if isinstance(v, dict):
        return {k: _redact(x, secrets) for k, x in v.items()}
    if isinstance(v, list):
        return [_redact(x, secrets) for x in v]
    if v is not None and not isinstance(v, bool) and v in secrets:
        return SENSITIVE_SHOWN
    return v


def _node(e: _Entry, serial: int) -> Node:
    attrs = e.inst.attributes or {}
    shown = details(e.kind, attrs, e.inst.lineage)
    secrets = _secrets(attrs, e.inst.sensitive_paths)
    return Node(
        key=e.addr,
        addr=e.addr,
        kind=e.kind,
        id=e.inst.id,
        details=_redact(shown, secrets) if secrets else shown,
        serials=[serial],
    )


def _find(entries: dict[str, _Entry], text: str) -> list[str]:
    return [a for a, e in entries.items() if matches(text, a, e.res_addr)]


def upstream(state: State, address: str) -> Graph:
    """What produced `address` in this serial: everything it used, transitively, with code."""
    entries, edges = _serial_edges(state)
    roots = _find(entries, address)
    if not roots:
        raise LineageError(
            f"{address} is not in serial {state.serial}",
            _not_found_detail(entries, state.serial),
        )
    g = Graph(root=roots[0], direction="upstream", serial=state.serial)
    todo = list(roots)
    while todo:
        a = todo.pop()
        if a in g.nodes:
            continue
        e = entries[a]
        g.nodes[a] = _node(e, state.serial)
        code = _code_node(a, e.kind, e.inst.attributes or {}, e.inst.lineage or {})
        if code is not None:
            code.serials = [state.serial]
            g.nodes.setdefault(code.key, code)
            g.add_edge(a, code.key)
        for c, u in edges:
            if c == a:
                g.add_edge(a, u)
                todo.append(u)
    return g


def _version_key(
    g: Graph, entries: dict[str, _Entry], keymap: dict[str, str], serial: int, a: str
) -> str:
    """The node of instance `a` of one serial in a downstream graph: one node per recorded
    version of an instance, with the serials it appears in."""
    if a not in keymap:
        e = entries[a]
        # A deployment keeps its id while the model it serves changes: each model it served is
        # a node of its own.
        served = (e.inst.attributes or {}).get("model_digest")
        k = f"{a}#{e.inst.id}" + (f"#{served}" if e.kind == "deployment" else "")
        keymap[a] = k
        node = g.nodes.get(k)
        if node is None:
            node = _node(e, serial)
            node.key = k
            g.nodes[k] = node
        elif serial not in node.serials:
            node.serials.append(serial)
    return keymap[a]


def downstream(states: Iterable[State], address: str, latest_serial: int | None = None) -> Graph:
    """Everything that consumed any version of `address`, in any serial: each consumer is one
    node per (address, id), with the serials it appears in."""
    g = Graph(root="", direction="downstream", serial=None)
    found = False
    for state in states:
        entries, edges = _serial_edges(state)
        roots = _find(entries, address)
        if not roots:
            continue
        found = True
        keymap: dict[str, str] = {}

        def key_of(
            a: str,
            _s: int = state.serial,
            _e: dict[str, _Entry] = entries,
            _km: dict[str, str] = keymap,
        ) -> str:
            return _version_key(g, _e, _km, _s, a)

        todo = list(roots)
        seen: set[str] = set()
        if not g.root:
            # One node stands for the address; each version recorded under it hangs below.
            g.root = f"address:{address}"
            g.nodes[g.root] = Node(
                g.root, address, entries[roots[0]].kind, None, {"versions": []}, []
            )
        top = g.nodes[g.root]
        for r in roots:
            g.add_edge(key_of(r), g.root)
            if state.serial not in top.serials:
                top.serials.append(state.serial)
            ident = entries[r].inst.id
            if ident not in top.details["versions"]:
                top.details["versions"].append(ident)
        while todo:
            a = todo.pop()
            if a in seen:
                continue
            seen.add(a)
            ka = key_of(a)
            for c, u in edges:
                if u == a:
                    g.add_edge(key_of(c), ka)
                    todo.append(c)
    if not found:
        raise LineageError(
            f"{address} is in no serial of the history",
            "Check the address with `mlform history` or `mlform state list`.",
        )
    if latest_serial is not None:
        for n in g.nodes.values():
            n.details["in_latest_serial"] = latest_serial in n.serials
    return g


def _not_found_detail(entries: dict[str, _Entry], serial: int) -> str:
    have = ", ".join(sorted(entries)) or "nothing"
    return f"Serial {serial} records: {have}."
