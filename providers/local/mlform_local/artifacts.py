"""The local provider's artifact store (`mlform.sdk.contract.ArtifactStore`): what `mlform gc`
and `mlform reproduce` see of a data folder (`.mlform/` by default).

It holds the content store (`store/`: blobs, manifests, dataset and code snapshots, models, and
the run cache's records in `store/runs/`), the built environments (`envs/`), the training runs'
folders (`runs/<address>/<run_id>/`, with `runs/tokens/`) and the live references (`refs/`).

Retention (`gc`): an object is kept when a name the caller keeps leads to it (the 64 hex digits of
a digest or environment id, a run's id) or a live reference names it; the rest goes, and the file
blobs only removed snapshots used. A run-cache record goes when its fingerprint is no longer
mentioned or its model goes; a run folder when its run id is no longer mentioned and its runtime
is not running. Objects being written (temporary names) are never touched.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

from mlform.sdk.contract import ArtifactStore, GcReport, StoredObject
from mlform_local import runs as runs_mod
from mlform_local.store import ENV_MARKER, MODELS, SNAPSHOTS, Store, environment_info, remove_tree

__all__ = ["LocalArtifacts"]

_HEX = re.compile(r"(?<![0-9a-f])[0-9a-f]{64}(?![0-9a-f])")


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


class LocalArtifacts(ArtifactStore):
    """The stores under one local data folder."""

    def __init__(self, data_dir: Path):
        self.data_dir = Path(data_dir).absolute()
        self.store = Store(self.data_dir)

    def describe(self) -> str:
        return f"the content store in {self.data_dir}"

    # -- reading ------------------------------------------------------------------------------

    def exists(self, digest: str) -> bool:
        return self.store.has_snapshot(digest) or self.store.has_snapshot(digest, MODELS)

    def _path(self, digest: str) -> Path:
        if self.store.has_snapshot(digest):
            return self.store.uri(digest)
        if self.store.has_snapshot(digest, MODELS):
            return self.store.uri(digest, MODELS)
        raise FileNotFoundError(f"{digest} is not in {self.describe()}")

    def uri(self, digest: str) -> str:
        return str(self._path(digest))

    def get_tree(self, digest: str, dest: Path) -> Path:
        src = self._path(digest)
        if src.is_dir():
            shutil.copytree(src, dest, copy_function=shutil.copyfile)
        else:
            dest.mkdir(parents=True)
            shutil.copyfile(src, dest / src.name)
        return dest

    def environment_lock(self, env_id: str) -> dict[str, str] | None:
        try:
            built = environment_info(self.data_dir, env_id) or {}
        except ValueError:
            return None
        lock = built.get("lock")
        return dict(lock) if isinstance(lock, dict) else None

    # -- retention ----------------------------------------------------------------------------

    def _live_refs(self) -> set[str]:
        names: set[str] = set()
        refs = self.data_dir / "refs"
        if refs.is_dir():
            for p in refs.rglob("*.json"):
                try:
                    names.update(_HEX.findall(p.read_text()))
                except OSError:
                    continue
        return names

    def gc(self, keep: set[str], *, dry_run: bool) -> GcReport:
        names = set(keep) | self._live_refs()
        report = GcReport()
        remaining: list[dict[str, Any]] = []
        for namespace, what in ((SNAPSHOTS, "snapshot"), (MODELS, "model")):
            folder = self.store.root / namespace
            if not folder.is_dir():
                continue
            for child in sorted(folder.iterdir()):
                if len(child.name) != 64 or not child.is_dir():
                    continue  # temporary names: a snapshot being written
                manifest = self.store.manifest(f"sha256:{child.name}") or {}
                if child.name in names:
                    report.kept += 1
                    remaining.append(manifest)
                    continue
                report.removals.append(
                    StoredObject(
                        what,
                        f"sha256:{child.name}",
                        str(child),
                        _tree_bytes(child),
                        str(manifest.get("source") or ""),
                    )
                )
        envs = self.data_dir / "envs"
        if envs.is_dir():
            for child in sorted(envs.iterdir()):
                m = re.fullmatch(r"env-([0-9a-f]{64})", child.name)
                if m is None or not child.is_dir() or not (child / ENV_MARKER).exists():
                    continue  # a build in progress, or a lock file
                if m.group(1) in names:
                    report.kept += 1
                    continue
                report.removals.append(
                    StoredObject("environment", child.name, str(child), _tree_bytes(child))
                )
        removed_models = {r.name for r in report.removals if r.kind == "model"}
        self._gc_run_cache(names, removed_models, report)
        self._gc_run_folders(keep, report)
        blobs = self._unused_blobs(remaining)
        report.blobs, report.blob_bytes = len(blobs), sum(size for _p, size in blobs)
        if not dry_run:
            self._remove(report, blobs)
        return report

    def _gc_run_cache(self, names: set[str], removed_models: set[str], report: GcReport) -> None:
        """A kept run's record (`store/runs/<fingerprint>.json`) goes with its model, or when no
        kept serial mentions its fingerprint."""
        folder = self.store.root / "runs"
        if not folder.is_dir():
            return
        for rec_path in sorted(folder.glob("*.json")):
            try:
                rec = json.loads(rec_path.read_text())
            except (OSError, ValueError):
                continue
            if not isinstance(rec, dict):
                continue
            model = (rec.get("attrs") or {}).get("model_digest")
            if model in removed_models or rec_path.stem not in names:
                report.removals.append(
                    StoredObject(
                        "run", f"sha256:{rec_path.stem}", str(rec_path), 0, str(rec.get("address"))
                    )
                )
            else:
                report.kept += 1

    def _gc_run_folders(self, keep: set[str], report: GcReport) -> None:
        """A training run's folder goes when no kept serial mentions its run id and no attempt
        of it is still running."""
        root = runs_mod.runs_root(self.data_dir)
        if not root.is_dir():
            return
        for address_dir in sorted(root.iterdir()):
            if not address_dir.is_dir() or address_dir.name == "tokens":
                continue
            for run_dir in sorted(address_dir.iterdir()):
                if not run_dir.is_dir():
                    continue
                run = runs_mod.Run(run_dir)
                if run.run_id in keep:
                    report.kept += 1
                    continue
                latest = run.latest()
                if latest is not None and latest.result is None and latest.runtime_alive():
                    report.kept += 1  # still running: never pulled from under the runtime
                    continue
                job = run.job or {}
                report.removals.append(
                    StoredObject(
                        "run folder",
                        run.run_id,
                        str(run_dir),
                        _tree_bytes(run_dir),
                        str(job.get("address") or ""),
                    )
                )

    def _unused_blobs(self, remaining: list[dict[str, Any]]) -> list[tuple[Path, int]]:
        used: set[str] = set()
        for m in remaining:
            for entry in m.get("files") or []:
                if isinstance(entry, list | tuple) and len(entry) >= 3:
                    used.add(str(entry[2]))
        out: list[tuple[Path, int]] = []
        blobs = self.store.root / "blobs"
        if blobs.is_dir():
            for sub in blobs.iterdir():
                if not sub.is_dir():
                    continue
                for b in sub.iterdir():
                    if len(b.name) == 64 and b.name not in used:
                        try:
                            out.append((b, b.stat().st_size))
                        except OSError:
                            continue
        return out

    def _remove(self, report: GcReport, blobs: list[tuple[Path, int]]) -> None:
        removed_runs: set[str] = set()
        for r in report.removals:
            if r.kind in ("snapshot", "model"):
                self.store.remove_snapshot(r.name, SNAPSHOTS if r.kind == "snapshot" else MODELS)
            elif r.kind == "run":
                Path(r.location).unlink(missing_ok=True)
            elif r.kind == "run folder":
                remove_tree(Path(r.location))
                removed_runs.add(str(Path(r.location)))
                parent = Path(r.location).parent
                try:
                    parent.rmdir()  # the address' folder, once its last run went
                except OSError:
                    pass
            elif r.kind == "environment":
                remove_tree(Path(r.location))
                Path(r.location).with_name(Path(r.location).name + ".lock").unlink(missing_ok=True)
        for b, _size in blobs:
            b.unlink(missing_ok=True)
        # Idempotency tokens that name a removed run name nothing any more.
        tokens = runs_mod.runs_root(self.data_dir) / "tokens"
        if removed_runs and tokens.is_dir():
            for t in tokens.glob("*.json"):
                try:
                    ref = json.loads(t.read_text())
                except (OSError, ValueError):
                    continue
                if isinstance(ref, dict) and str(ref.get("run_dir")) in removed_runs:
                    t.unlink(missing_ok=True)
