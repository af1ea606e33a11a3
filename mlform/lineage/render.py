"""Views of a lineage graph: an indented tree for the terminal, JSON, Graphviz dot, Mermaid, and
one self-contained HTML page (the graph drawn in inline SVG, each node's details beside it; no
script, style sheet or font is loaded from anywhere, so the file can be mailed or archived)."""

from __future__ import annotations

import html
import json
from typing import Any

from mlform.lineage.query import Graph, Node

__all__ = ["render", "FORMATS", "tree", "to_json", "dot", "mermaid", "html_page"]

FORMATS = ("tree", "json", "dot", "mermaid", "html")


def _value(v: Any) -> str:
    if isinstance(v, dict):
        return ", ".join(f"{k}={_value(x)}" for k, x in v.items()) or "{}"
    if isinstance(v, list):
        return ", ".join(_value(x) for x in v) or "[]"
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "true" if v else "false"
    return str(v)


def _title(n: Node) -> str:
    ident = f" [{n.id}]" if n.id and n.kind != "code" else ""
    serials = ""
    if len(n.serials) > 1 or n.details.get("in_latest_serial") is not None:
        serials = " (serials " + ", ".join(str(s) for s in n.serials) + ")"
    now = (
        " ← in the latest serial"
        if n.details.get("in_latest_serial") and n.kind == "deployment"
        else ""
    )
    return f"{n.addr}{ident}{serials}{now}"


# Details shown in the terminal tree; the other formats carry them all.
_TREE_KEYS = {
    "dataset": ("digest", "files", "bytes", "source"),
    "environment": ("lock_digest", "python_version", "packages"),
    "cluster": ("hardware_class", "gpu_model", "gpu_count", "driver_version", "cuda_version"),
    "training_job": (
        "model_digest",
        "metrics",
        "params",
        "seed",
        "command",
        "datasets",
        "environment",
        "hardware",
        "host",
    ),
    "deployment": ("endpoint", "status", "revision", "model_digest"),
    "code": ("digest", "git_commit", "git_branch", "git_remote", "dirty", "snapshot"),
}


def tree(g: Graph) -> str:
    lines: list[str] = []
    head = "upstream of" if g.direction == "upstream" else "downstream of"
    where = f" at serial {g.serial}" if g.serial is not None else " across the history"
    lines.append(f"Lineage {head} {g.nodes[g.root].addr}{where}")
    lines.append("")
    printed: set[str] = set()

    def walk(key: str, prefix: str, last: bool, top: bool) -> None:
        n = g.nodes[key]
        branch = "" if top else ("└── " if last else "├── ")
        seen = key in printed
        lines.append(prefix + branch + _title(n) + ("  (shown above)" if seen else ""))
        if seen:
            return
        printed.add(key)
        inner = prefix + ("" if top else ("    " if last else "│   "))
        kids = g.children(key)
        bar = "│ " if kids else "  "
        keys = _TREE_KEYS.get(n.kind, tuple(n.details))
        for k in keys:
            if k in n.details:
                lines.append(f"{inner}{bar} {k}: {_value(n.details[k])}")
        for i, c in enumerate(kids):
            walk(c, inner, i == len(kids) - 1, False)

    walk(g.root, "", True, True)
    return "\n".join(lines) + "\n"


def to_json(g: Graph) -> str:
    return json.dumps(g.to_json(), indent=2, default=str, sort_keys=False) + "\n"


def _ids(g: Graph) -> dict[str, str]:
    return {k: f"n{i}" for i, k in enumerate(g.nodes)}


def _short(n: Node) -> str:
    d = n.details
    for k in ("model_digest", "digest", "lock_digest", "endpoint", "hardware_class"):
        if d.get(k):
            v = str(d[k])
            return f"{k}: {v[:19]}" if v.startswith("sha256:") else f"{k}: {v}"
    return n.kind


def dot(g: Graph) -> str:
    ids = _ids(g)
    out = ["digraph lineage {", "  rankdir=LR;", '  node [shape=box, fontname="monospace"];']
    for k, n in g.nodes.items():
        label = (n.addr + "\\n" + _short(n)).replace('"', '\\"')
        extra = ", penwidth=2" if k == g.root else ""
        out.append(f'  {ids[k]} [label="{label}"{extra}];')
    for a, b in g.edges:
        # Arrows follow the data: from what was used to what used it.
        out.append(f"  {ids[b]} -> {ids[a]};")
    out.append("}")
    return "\n".join(out) + "\n"


def mermaid(g: Graph) -> str:
    ids = _ids(g)
    out = ["flowchart LR"]
    for k, n in g.nodes.items():
        label = f"{n.addr}<br/>{_short(n)}".replace('"', "#quot;")
        out.append(f'  {ids[k]}["{label}"]')
    for a, b in g.edges:
        out.append(f"  {ids[b]} --> {ids[a]}")
    return "\n".join(out) + "\n"


# -- HTML ----------------------------------------------------------------------------------------

_W, _H, _GX, _GY = 250, 56, 90, 28

_COLORS = {
    "dataset": "#e3f2fd",
    "environment": "#e8f5e9",
    "cluster": "#fff3e0",
    "training_job": "#f3e5f5",
    "deployment": "#ffebee",
    "code": "#eceff1",
}


def _layers(g: Graph) -> dict[str, int]:
    """Columns by data flow: inputs on the left, the root's consumers or producers placed by the
    longest path, so every edge goes left to right."""
    depth: dict[str, int] = {g.root: 0}
    changed = True
    rounds = 0
    while changed and rounds <= len(g.nodes):
        changed = False
        rounds += 1
        for k in g.nodes:
            if k not in depth:
                continue
            for c in g.children(k):
                if depth.get(c, -1) < depth[k] + 1:
                    depth[c] = depth[k] + 1
                    changed = True
    for k in g.nodes:
        depth.setdefault(k, 0)
    if g.direction == "upstream":  # inputs on the left
        top = max(depth.values())
        depth = {k: top - d for k, d in depth.items()}
    return depth


def _detail_rows(d: dict[str, Any]) -> str:
    rows = []
    for k, v in d.items():
        if isinstance(v, dict) and v:
            inner = "".join(
                f"<tr><th>{html.escape(str(ik))}</th><td>{html.escape(_value(iv))}</td></tr>"
                for ik, iv in v.items()
            )
            cell = f"<table>{inner}</table>"
        else:
            cell = html.escape(_value(v))
        rows.append(f"<tr><th>{html.escape(str(k))}</th><td>{cell}</td></tr>")
    return "".join(rows)


def html_page(g: Graph, extra: str = "") -> str:
    """The page; `extra` is more HTML shown under the graph and its details (the metrics)."""
    ids = _ids(g)
    col = _layers(g)
    per_col: dict[int, list[str]] = {}
    for k in g.nodes:
        per_col.setdefault(col[k], []).append(k)
    pos: dict[str, tuple[int, int]] = {}
    for c, keys in per_col.items():
        for i, k in enumerate(keys):
            pos[k] = (20 + c * (_W + _GX), 20 + i * (_H + _GY))
    width = 40 + (max(per_col) + 1) * (_W + _GX) - _GX
    height = 40 + max(len(v) for v in per_col.values()) * (_H + _GY) - _GY

    parts = []
    for a, b in g.edges:
        # Arrows follow the data: from the input to its consumer.
        src, dst = (b, a)
        (x1, y1), (x2, y2) = pos[src], pos[dst]
        if x1 <= x2:
            sx, ex = x1 + _W, x2
        else:
            sx, ex = x1, x2 + _W
        sy, ey = y1 + _H // 2, y2 + _H // 2
        mx = (sx + ex) // 2
        parts.append(
            f'<path class="edge" d="M{sx},{sy} C{mx},{sy} {mx},{ey} {ex},{ey}" '
            f'marker-end="url(#arrow)"/>'
        )
    for k, n in g.nodes.items():
        x, y = pos[k]
        fill = _COLORS.get(n.kind, "#ffffff")
        stroke = 3 if k == g.root else 1
        parts.append(
            f'<a href="#{ids[k]}"><g class="node" id="svg-{ids[k]}" data-address="'
            f'{html.escape(n.addr)}"><title>{html.escape(_title(n))}</title>'
            f'<rect x="{x}" y="{y}" width="{_W}" height="{_H}" rx="6" fill="{fill}" '
            f'stroke="#37474f" stroke-width="{stroke}"/>'
            f'<text x="{x + 10}" y="{y + 22}" class="addr">{html.escape(n.addr[:34])}</text>'
            f'<text x="{x + 10}" y="{y + 42}" class="sub">{html.escape(_short(n)[:38])}</text>'
            "</g></a>"
        )
    svg = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="lineage graph">'
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" '
        'markerHeight="8" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'fill="#546e7a"/></marker></defs>' + "".join(parts) + "</svg>"
    )
    sections = []
    for k, n in g.nodes.items():
        sections.append(
            f'<section id="{ids[k]}" class="detail"><h2>{html.escape(_title(n))}</h2>'
            f'<p class="kind">{html.escape(n.kind)}</p>'
            f"<table>{_detail_rows(n.details)}</table></section>"
        )
    head = "upstream of" if g.direction == "upstream" else "downstream of"
    where = f"serial {g.serial}" if g.serial is not None else "every serial"
    title = f"Lineage {head} {g.nodes[g.root].addr} ({where})"
    style = (
        "body{font-family:system-ui,sans-serif;margin:16px;color:#263238}"
        ".wrap{display:flex;gap:24px;align-items:flex-start}"
        ".graph{flex:0 0 auto;overflow:auto;max-width:60vw}"
        ".details{flex:1 1 auto;max-height:90vh;overflow:auto}"
        ".edge{fill:none;stroke:#546e7a;stroke-width:1.5}"
        ".addr{font:bold 13px monospace}.sub{font:11px monospace;fill:#455a64}"
        ".detail{border:1px solid #cfd8dc;border-radius:6px;padding:8px;margin-bottom:10px}"
        ".detail:target{border-color:#1565c0;box-shadow:0 0 0 2px #90caf9}"
        ".detail h2{font-size:14px;margin:0 0 4px;font-family:monospace}"
        ".kind{margin:0 0 6px;color:#607d8b;font-size:12px}"
        "table{border-collapse:collapse;font-size:12px}"
        "th{text-align:left;vertical-align:top;padding:2px 8px 2px 0;color:#455a64;white-space:nowrap}"
        "td{font-family:monospace;word-break:break-all;padding:2px 0}"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{style}</style></head><body>"
        f"<h1>{html.escape(title)}</h1>"
        f'<div class="wrap"><div class="graph">{svg}</div>'
        f'<div class="details">{"".join(sections)}</div></div>'
        f"{extra}</body></html>\n"
    )


def render(g: Graph, fmt: str) -> str:
    return {
        "tree": tree,
        "json": to_json,
        "dot": dot,
        "mermaid": mermaid,
        "html": html_page,
    }[fmt](g)


# -- one line of who, which CI run and when, as history, metrics and the lineage page show them --


def who_text(who: Any) -> str:
    if isinstance(who, dict):
        user, host = who.get("user") or "", who.get("host") or ""
        if who.get("via"):  # a CI run's actor: the CI column names the run
            return str(user)
        return f"{user}@{host}" if host else str(user)
    return "" if who is None else str(who)


def ci_text(ci: dict[str, Any] | None) -> str:
    """`github-actions acme/models run 123 PR #42` (serials before the lineage's CI shape name
    `project` and `run`)."""
    if not ci:
        return ""
    parts = [str(ci.get("system") or "ci")]
    repository = ci.get("repository") or ci.get("project")
    run_id = ci.get("run_id") or ci.get("run")
    if repository:
        parts.append(str(repository))
    if run_id:
        parts.append(f"run {run_id}")
    pr = ci.get("pull_request")
    if pr:
        parts.append(f"MR !{pr}" if ci.get("system") == "gitlab-ci" else f"PR #{pr}")
    return " ".join(parts)


def time_text(at: str) -> str:
    """`2026-11-27T14:10:31.886140Z` → `2026-11-27T14:10:31Z`: seconds are enough to read."""
    if "." in at and at.endswith("Z"):
        return at.split(".", 1)[0] + "Z"
    return at
