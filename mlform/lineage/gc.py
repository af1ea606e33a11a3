"""Retention of the content store: remove the snapshots, models and built environments that no
kept serial references, and the file blobs only they used.

What is kept: everything any kept serial mentions (in any workspace of the backend), and anything
a live resource reference (`refs/`) names. A serial mentions an object when its id or digest
appears anywhere in it (arguments, attributes, lineage): a wide net, so an object is removed only
when nothing kept could lead to it. `--keep-serials N` keeps the last N serials of each workspace
(the latest always); without it every serial is kept and only objects no serial ever referenced
go. Reproduce scratch folders are always removable. Objects being written (temporary names) are
never touched.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlform.state.backends import Backend

__all__ = ["Removal", "GcPlan", "referenced", "plan_gc", "run_gc", "render_text"]

_HEX = re.compile(r"(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])")


@dataclass
class Removal:
    what: str  # "snapshot" | "model" | "environment" | "run" (a run-cache record) | "scratch"
    name: str  # digest, env id or folder name
    path: Path
    bytes: int = 0
    source: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.what,
            "name": self.name,
            "path": str(self.path),
            "bytes": self.bytes,
            "source": self.source,
        }


@dataclass
class GcPlan:
    data_dir: Path
    kept_serials: dict[str, list[int]]
    removals: list[Removal] = field(default_factory=list)
    blobs: list[tuple[Path, int]] = field(default_factory=list)
    kept_objects: int = 0

    @property
    def bytes(self) -> int:
        return sum(r.bytes for r in self.removals) + sum(b for _p, b in self.blobs)

    def to_json(self) -> dict[str, Any]:
        return {
            "data_dir": str(self.data_dir),
            "kept_serials": self.kept_serials,
            "kept_objects": self.kept_objects,
            "removals": [r.to_json() for r in self.removals],
            "blobs_removed": len(self.blobs),
            "bytes_freed": self.bytes,
        }


def _tree_bytes(path: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for f in files:
            try:
                st = os.lstat(os.path.join(dirpath, f))
            except OSError:
                continue
            # Hard links into the blobs free nothing by themselves: the blobs are counted apart.
            if st.st_nlink <= 1:
                total += st.st_size
    return total


def kept_serials(backend: Backend, keep: int | None) -> dict[str, list[int]]:
    out = {}
    for ws in backend.workspaces():
        serials = [e.serial for e in backend.history(ws)]
        out[ws] = serials if keep is None else serials[-max(keep, 1) :]
    return out


def referenced(backend: Backend, kept: dict[str, list[int]], data_dir: Path) -> set[str]:
    """The 64-hex names (digests, environment ids) the kept serials and live references hold."""
    from mlform.state.format import state_dumps as dumps

    names: set[str] = set()
    for ws, serials in kept.items():
        for s in serials:
            names.update(_HEX.findall(dumps(backend.read_serial(ws, s))))
        latest = backend.read(ws)
        if latest is not None:
            names.update(_HEX.findall(dumps(latest)))
    refs = data_dir / "refs"
    if refs.is_dir():
        for p in refs.rglob("*.json"):
            try:
                names.update(_HEX.findall(p.read_text()))
            except OSError:
                continue
    return names


def plan_gc(backend: Backend, data_dir: Path, keep: int | None) -> GcPlan:
    from mlform.kinds.store import Store

    kept = kept_serials(backend, keep)
    names = referenced(backend, kept, data_dir)
    store = Store(data_dir)
    plan = GcPlan(data_dir=data_dir, kept_serials=kept)
    remaining_manifests: list[dict[str, Any]] = []
    for namespace, what in (("snapshots", "snapshot"), ("models", "model")):
        folder = store.root / namespace
        if not folder.is_dir():
            continue
        for child in sorted(folder.iterdir()):
            if len(child.name) != 64 or not child.is_dir():
                continue  # temporary names: a snapshot being written
            manifest = store.manifest(f"sha256:{child.name}") or {}
            if child.name in names:
                plan.kept_objects += 1
                remaining_manifests.append(manifest)
                continue
            plan.removals.append(
                Removal(
                    what,
                    f"sha256:{child.name}",
                    child,
                    _tree_bytes(child),
                    str(manifest.get("source") or ""),
                )
            )
    envs = data_dir / "envs"
    if envs.is_dir():
        for child in sorted(envs.iterdir()):
            env_match = re.fullmatch(r"env-([0-9a-f]{64})", child.name)
            if env_match is None or not child.is_dir() or not (child / "mlform-env.json").exists():
                continue  # a build in progress, or a lock file
            if env_match.group(1) in names:
                plan.kept_objects += 1
                continue
            plan.removals.append(Removal("environment", child.name, child, _tree_bytes(child)))
    # The run cache (`store/runs/<fingerprint>.json`): a record goes with its model.
    removed_models = {r.name for r in plan.removals if r.what == "model"}
    runs = store.root / "runs"
    if runs.is_dir():
        for rec_path in sorted(runs.glob("*.json")):
            try:
                rec = json.loads(rec_path.read_text())
            except (OSError, ValueError):
                continue
            model = (rec.get("attrs") or {}).get("model_digest") if isinstance(rec, dict) else None
            if model in removed_models:
                plan.removals.append(
                    Removal("run", f"sha256:{rec_path.stem}", rec_path, 0, str(rec.get("address")))
                )
    scratch = data_dir / "reproduce"
    if scratch.is_dir():
        for child in sorted(scratch.iterdir()):
            plan.removals.append(Removal("scratch", child.name, child, _tree_bytes(child)))
    # Blobs: only those no remaining manifest lists.
    used: set[str] = set()
    for m in remaining_manifests:
        for entry in m.get("files") or []:
            if isinstance(entry, list | tuple) and len(entry) >= 3:
                used.add(str(entry[2]))
    blobs = store.root / "blobs"
    if blobs.is_dir():
        for sub in blobs.iterdir():
            if not sub.is_dir():
                continue
            for b in sub.iterdir():
                if len(b.name) == 64 and b.name not in used:
                    try:
                        plan.blobs.append((b, b.stat().st_size))
                    except OSError:
                        continue
    return plan


def run_gc(plan: GcPlan) -> None:
    from mlform.kinds.store import Store, remove_tree

    store = Store(plan.data_dir)
    for r in plan.removals:
        if r.what in ("snapshot", "model"):
            store.remove_snapshot(r.name, "snapshots" if r.what == "snapshot" else "models")
        else:
            remove_tree(r.path)
            if r.what == "environment":
                lock = r.path.with_name(r.path.name + ".lock")
                lock.unlink(missing_ok=True)
    for b, _size in plan.blobs:
        b.unlink(missing_ok=True)


def human(n: int) -> str:
    size = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{int(size)} B" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"


def render_text(plan: GcPlan, dry_run: bool) -> str:
    verb = "Would remove" if dry_run else "Removed"
    kept = ", ".join(
        f"{ws}: {', '.join(map(str, s)) or 'none'}" for ws, s in plan.kept_serials.items()
    )
    lines = [f"Kept serials ({kept}) reference {plan.kept_objects} stored objects."]
    if not plan.removals and not plan.blobs:
        lines.append("Nothing to remove.")
        return "\n".join(lines) + "\n"
    for r in plan.removals:
        src = f" (from {r.source})" if r.source else ""
        lines.append(f"{verb} {r.what} {r.name}{src}")
    if plan.blobs:
        blob_bytes = sum(b for _p, b in plan.blobs)
        lines.append(
            f"{verb} {len(plan.blobs)} file blobs no kept snapshot uses ({human(blob_bytes)})"
        )
    freed = "would be freed" if dry_run else "freed"
    lines.append(f"{human(plan.bytes)} ({plan.bytes} bytes) {freed}.")
    return "\n".join(lines) + "\n"


def to_json(plan: GcPlan, dry_run: bool) -> str:
    return json.dumps({**plan.to_json(), "dry_run": dry_run}, indent=2)
