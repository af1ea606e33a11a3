"""Retention: remove the stored objects (snapshots, models, built environments, run records and
run folders) that no kept serial references, in every provider's artifact store.

What is kept: everything any kept serial mentions (in any workspace of the backend): the 64 hex
digits of every digest and id in it, and every instance's id (a run id). A serial mentions an
object when its name appears anywhere in it (arguments, attributes, lineage): a wide net, so an
object is removed only when nothing kept could lead to it. `--keep-serials N` keeps the last N
serials of each workspace (the latest always); without it every serial is kept and only objects
no serial ever referenced go.

The stores asked are those of the providers the state's history records (each resource's
provider and the identity recorded with its instances): `Provider.artifacts` opens each, and its
`ArtifactStore.gc` decides what goes, so a model trained on any provider is collected where it
is. Reproduce's scratch folders, which are mlform's own, are always removable.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlform.sdk.contract import ArtifactStore, GcReport, StoredObject
    from mlform.state.backends import Backend
    from mlform.state.model import State

__all__ = ["GcPlan", "collect", "open_store", "referenced", "render_text", "stores_of"]

_HEX = re.compile(r"(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])")
_PROVIDER = re.compile(r'provider\["([^"]+)"\]')


@dataclass
class GcPlan:
    data_dir: Path
    kept_serials: dict[str, list[int]]
    # One report per artifact store asked, by its description.
    reports: dict[str, GcReport] = field(default_factory=dict)
    scratch: list[StoredObject] = field(default_factory=list)
    # Providers whose store could not be opened, with why.
    skipped: list[str] = field(default_factory=list)

    @property
    def removals(self) -> list[StoredObject]:
        out = [r for rep in self.reports.values() for r in rep.removals]
        return out + self.scratch

    @property
    def kept_objects(self) -> int:
        return sum(rep.kept for rep in self.reports.values())

    @property
    def blobs(self) -> int:
        return sum(rep.blobs for rep in self.reports.values())

    @property
    def blob_bytes(self) -> int:
        return sum(rep.blob_bytes for rep in self.reports.values())

    @property
    def bytes(self) -> int:
        return sum(r.bytes for r in self.removals) + self.blob_bytes

    def to_json(self) -> dict[str, Any]:
        return {
            "data_dir": str(self.data_dir),
            "kept_serials": self.kept_serials,
            "kept_objects": self.kept_objects,
            "stores": list(self.reports),
            "skipped": self.skipped,
            "removals": [r.to_json() for r in self.removals],
            "blobs_removed": self.blobs,
            "bytes_freed": self.bytes,
        }


def _tree_bytes(path: Path) -> int:
    total = 0
    for dirpath, _dirs, files in os.walk(path):
        for f in files:
            try:
                total += os.lstat(os.path.join(dirpath, f)).st_size
            except OSError:
                continue
    return total


def kept_serials(backend: Backend, keep: int | None) -> dict[str, list[int]]:
    out = {}
    for ws in backend.workspaces():
        serials = [e.serial for e in backend.history(ws)]
        out[ws] = serials if keep is None else serials[-max(keep, 1) :]
    return out


def _names_in(state: State) -> set[str]:
    from mlform.state.format import state_dumps as dumps

    names = set(_HEX.findall(dumps(state)))
    for _addr, _res, inst in state.all_instances():
        if inst.id:
            names.add(str(inst.id))
    return names


def referenced(backend: Backend, kept: dict[str, list[int]]) -> set[str]:
    """The names (64-hex digests and ids, instance ids) the kept serials hold."""
    names: set[str] = set()
    for ws, serials in kept.items():
        for s in serials:
            names |= _names_in(backend.read_serial(ws, s))
        latest = backend.read(ws)
        if latest is not None:
            names |= _names_in(latest)
    return names


def _providers_in(state: State) -> set[tuple[str, str]]:
    """(provider type, identity as sorted JSON) of every instance in `state`."""
    out = set()
    for _addr, res, inst in state.all_instances():
        m = _PROVIDER.search(res.provider or "")
        if m is None:
            continue
        out.add((m.group(1), json.dumps(inst.provider_identity or {}, sort_keys=True)))
    return out


def open_store(
    name: str, identity: dict[str, str], data_dir: Path, workdir: Path
) -> ArtifactStore | None:
    """The artifact store of provider `name` that made objects recorded with `identity`: the
    provider configured with its default settings, asked for `artifacts`."""
    from mlform.sdk import Context
    from mlform.sdk.plugins import load_provider
    from mlform.sdk.schema import parse_model

    cls = load_provider(name)
    provider = cls()
    ctx = Context(
        address=f'provider["{name}"]',
        module_dir=workdir,
        data_dir=data_dir,
        scratch_dir=data_dir / "tmp",
        work_dir=workdir,
    )
    provider.configure(parse_model(cls.config, {}), ctx)
    return provider.artifacts(ctx, identity)


def stores_of(
    backend: Backend, data_dir: Path, workdir: Path
) -> tuple[dict[str, ArtifactStore], list[str]]:
    """The artifact store of every provider (and identity) the history of any workspace
    records, by description; and the providers that could not be asked, with why."""
    seen: set[tuple[str, str]] = set()
    for ws in backend.workspaces():
        for entry in backend.history(ws):
            seen |= _providers_in(backend.read_serial(ws, entry.serial))
        latest = backend.read(ws)
        if latest is not None:
            seen |= _providers_in(latest)
    stores: dict[str, ArtifactStore] = {}
    skipped: list[str] = []
    for name, identity in sorted(seen):
        try:
            store = open_store(name, json.loads(identity), data_dir, workdir)
        except Exception as e:  # noqa: BLE001 - a provider that cannot be asked is reported
            skipped.append(f"{name}: {e}")
            continue
        if store is not None:
            stores.setdefault(store.describe(), store)
    return stores, skipped


def collect(
    backend: Backend, data_dir: Path, keep: int | None, *, dry_run: bool, workdir: Path
) -> GcPlan:
    """Ask every artifact store to remove what the kept serials do not reference (with
    `dry_run`, nothing: only say what would go), and remove reproduce's scratch folders."""
    from mlform.sdk.contract import StoredObject

    kept = kept_serials(backend, keep)
    names = referenced(backend, kept)
    stores, skipped = stores_of(backend, data_dir, workdir)
    plan = GcPlan(data_dir=data_dir, kept_serials=kept, skipped=skipped)
    for where, store in stores.items():
        plan.reports[where] = store.gc(names, dry_run=dry_run)
    scratch = data_dir / "reproduce"
    if scratch.is_dir():
        for child in sorted(scratch.iterdir()):
            plan.scratch.append(StoredObject("scratch", child.name, str(child), _tree_bytes(child)))
            if not dry_run:
                shutil.rmtree(child, ignore_errors=True)
    return plan


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
    for why in plan.skipped:
        lines.append(f"Warning: could not ask the provider {why}")
    if not plan.removals and not plan.blobs:
        lines.append("Nothing to remove.")
        return "\n".join(lines) + "\n"
    for r in plan.removals:
        src = f" (from {r.source})" if r.source else ""
        lines.append(f"{verb} {r.kind} {r.name}{src}")
    if plan.blobs:
        lines.append(
            f"{verb} {plan.blobs} file blobs no kept snapshot uses ({human(plan.blob_bytes)})"
        )
    freed = "would be freed" if dry_run else "freed"
    lines.append(f"{human(plan.bytes)} ({plan.bytes} bytes) {freed}.")
    return "\n".join(lines) + "\n"


def to_json(plan: GcPlan, dry_run: bool) -> str:
    return json.dumps({**plan.to_json(), "dry_run": dry_run}, indent=2)
