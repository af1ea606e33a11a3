"""`mlform history [ADDR] [--json]`: every serial of the selected workspace, oldest first.

Each line says when the serial was written, by whom (and from which CI run), by which operation
and what it changed. With ADDR (a resource, an instance or a module) only the serials in which
something at that address changed are listed, with what happened to it; that comparison reads
consecutive serials from the history, so it costs one read per serial kept.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import click

from mlform.cli.common import handle_errors
from mlform.lineage.render import ci_text, time_text, who_text

if TYPE_CHECKING:
    from mlform.addrs import Target
    from mlform.state.backends import Backend, HistoryEntry
    from mlform.state.model import State


@dataclass
class Row:
    entry: HistoryEntry
    changes: dict[str, str] = field(default_factory=dict)


# --- formatting one entry --------------------------------------------------------------------


def summary_text(summary: Any) -> str:
    if summary is None:
        return ""
    if isinstance(summary, str):
        return summary
    if isinstance(summary, dict):
        if {"add", "change", "destroy"} <= set(summary):
            return (
                f"{summary['add']} added, {summary['change']} changed, "
                f"{summary['destroy']} destroyed"
            )
        return ", ".join(f"{k}: {_compact(v)}" for k, v in summary.items())
    return _compact(summary)


def _compact(v: Any) -> str:
    return v if isinstance(v, str) else json.dumps(v, ensure_ascii=False, default=str)


# --- what changed at an address --------------------------------------------------------------


def _instances(state: State | None, target: Target) -> dict[str, dict[str, Any]]:
    from mlform.cli.state_cmd import contains
    from mlform.state.format import instance_to_json

    if state is None:
        return {}
    out = {}
    for addr, _, inst in state.all_instances():
        if contains(target, addr):
            data = instance_to_json(inst)
            data.pop("updated_at", None)  # rewritten by every put, even with nothing new
            out[str(addr)] = data
    return out


def _change(before: dict[str, Any] | None, after: dict[str, Any] | None) -> str | None:
    if before == after:
        return None
    if before is None:
        return "created"
    if after is None:
        return "removed"
    if {k: v for k, v in before.items() if k != "status"} == {
        k: v for k, v in after.items() if k != "status"
    }:
        return "tainted" if after.get("status") == "tainted" else "untainted"
    return "updated"


def address_rows(
    backend: Backend, workspace: str, entries: list[HistoryEntry], target: Target
) -> list[Row]:
    """The entries in which something under `target` changed, each with what changed."""
    rows = []
    previous: dict[str, dict[str, Any]] = {}
    for entry in entries:
        current = _instances(backend.read_serial(workspace, entry.serial), target)
        changes = {}
        for addr in sorted(set(previous) | set(current)):
            what = _change(previous.get(addr), current.get(addr))
            if what is not None and entry.operation == "state mv":
                # A move reads as a removal at one address and a creation at another.
                what = {"created": "moved here", "removed": "moved away"}.get(what, what)
            if what is not None:
                changes[addr] = what
        if changes:
            rows.append(Row(entry, changes))
        previous = current
    return rows


# --- rendering -------------------------------------------------------------------------------


def _changes_text(changes: dict[str, str]) -> str:
    if len(changes) == 1:
        addr, what = next(iter(changes.items()))
        return f"{addr} {what}"
    return "; ".join(f"{a} {w}" for a, w in changes.items())


def render_table(rows: list[Row], with_changes: bool) -> str:
    any_ci = any(r.entry.ci for r in rows)
    header = ["SERIAL", "TIME", "WHO", "OPERATION"]
    if any_ci:
        header.append("CI")
    header.append("CHANGE" if with_changes else "SUMMARY")
    table = [header]
    for r in rows:
        e = r.entry
        line = [str(e.serial), time_text(e.at), who_text(e.who), e.operation or "-"]
        if any_ci:
            line.append(ci_text(e.ci) or "-")
        line.append(_changes_text(r.changes) if with_changes else summary_text(e.summary))
        table.append(line)
    widths = [max(len(row[i]) for row in table) for i in range(len(header) - 1)]
    out = []
    for row in table:
        cells = [c.ljust(w) for c, w in zip(row[:-1], widths, strict=True)]
        out.append(("  ".join([*cells, row[-1]])).rstrip())
    return "\n".join(out)


def row_json(r: Row, with_changes: bool) -> dict[str, Any]:
    e = r.entry
    out: dict[str, Any] = {
        "serial": e.serial,
        "time": e.at,
        "who": e.who,
        "operation": e.operation,
        "ci": e.ci,
        "summary": e.summary,
        "lineage": e.lineage,
    }
    if with_changes:
        out["changes"] = r.changes
    return out


@click.command("history")
@click.argument("address", required=False, metavar="[ADDR]")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array, oldest serial first.")
def command(address: str | None, as_json: bool) -> None:
    """List every state serial of the workspace: when, who, which operation, what changed.

    With ADDR (a resource, an instance or a module), only the serials that changed it, and how
    (created, updated, tainted, untainted, removed, moved here, moved away).

    \b
    Examples:
      mlform history
      mlform history training_job.digits
      mlform history --json | jq '.[-1].who'
    """
    from mlform.cli.state_cmd import backend_and_workspace, parse_address

    with handle_errors():
        target = parse_address(address) if address is not None else None
        backend, ws = backend_and_workspace()
        backend.require_workspace(ws)
        entries = backend.history(ws)
        if target is not None:
            rows = address_rows(backend, ws, entries, target)
        else:
            rows = [Row(e) for e in entries]
        with_changes = target is not None
        if as_json:
            click.echo(json.dumps([row_json(r, with_changes) for r in rows], default=str))
            return
        if not rows:
            what = f"no serial changed {address}" if address else "no serials yet"
            click.echo(f"Workspace {ws!r} has {what}.", err=True)
            return
        click.echo(render_table(rows, with_changes))
