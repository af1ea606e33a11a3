"""The code a training job or deployment runs: which files, their digest, and its git facts.

`scan_code(folder)` lists the files of a code folder the way a user expects a project to be copied
(no `__pycache__`, `.git`, virtual environments, nor what the folder's `.gitignore` or
`.mlformignore` leaves out), digests them with the same tree digest as datasets (and the same stat
cache, so an unchanged folder costs a few stat calls), and records the git commit the folder is at
and a digest of its uncommitted changes. `snapshot_code` stores the files in the content store, so
the exact code of every run stays on record; `materialize` copies a snapshot into a fresh,
writable working directory.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from mlform.kinds.digest import StatCache, TreeDigest, digest_tree, stat_cache_path
from mlform_local.store import DEFAULT_CODE_EXCLUDES, Store

__all__ = ["CodeChanged", "CodeScan", "code_excludes", "materialize", "scan_code", "snapshot_code"]

# Beyond the store's defaults: more environments and tool caches that are not the program.
EXTRA_EXCLUDES = (
    "venv/",
    ".tox/",
    ".mypy_cache/",
    ".pytest_cache/",
    ".ruff_cache/",
    "node_modules/",
    "*.pyo",
)


class CodeChanged(Exception):
    """The code folder changed between plan and apply."""


@dataclass(frozen=True)
class CodeScan:
    """One look at a code folder."""

    root: Path
    tree: TreeDigest
    git_commit: str | None = None
    # sha256 over `git status` and the diff of the folder against HEAD; None when clean or no git.
    git_dirty_digest: str | None = None
    excludes: tuple[str, ...] = ()

    @property
    def digest(self) -> str:
        return self.tree.digest

    def facts(self) -> dict[str, object]:
        """What the lineage records about the code."""
        return {
            "path": str(self.root),
            "digest": self.digest,
            "files": self.tree.count,
            "bytes": self.tree.bytes,
            "git_commit": self.git_commit,
            "git_dirty_digest": self.git_dirty_digest,
        }


def code_excludes(folder: Path) -> list[str]:
    """The exclude patterns for a code folder: the defaults, then its `.gitignore` and
    `.mlformignore` lines (negations, `!pattern`, are not supported and are skipped)."""
    patterns = [*DEFAULT_CODE_EXCLUDES, *EXTRA_EXCLUDES]
    if folder.is_dir():
        for name in (".gitignore", ".mlformignore"):
            p = folder / name
            if p.is_file():
                for line in p.read_text(errors="replace").splitlines():
                    line = line.strip()
                    if line and not line.startswith(("#", "!")):
                        patterns.append(line)
    return patterns


def scan_code(
    folder: Path,
    *,
    data_dir: Path | None = None,
    progress: Callable[[float, float | None, str], None] | None = None,
) -> CodeScan:
    """Digest the code folder `folder` (a single file is a folder of one). With `data_dir`, the
    stat cache under it answers for unchanged files. Raises `mlform.kinds.digest.DigestError`
    when the folder cannot be read."""
    folder = Path(folder)
    excludes = code_excludes(folder)
    if data_dir is not None:
        cache_path = stat_cache_path(data_dir)
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        with StatCache(cache_path) as cache:
            tree = digest_tree(folder, exclude=excludes, cache=cache, progress=progress)
    else:
        tree = digest_tree(folder, exclude=excludes, progress=progress)
    commit, dirty = _git_facts(folder, {f.path for f in tree.files})
    return CodeScan(
        root=folder, tree=tree, git_commit=commit, git_dirty_digest=dirty, excludes=tuple(excludes)
    )


def snapshot_code(data_dir: Path, scan: CodeScan, *, expected_digest: str | None = None) -> Path:
    """Store the scanned files in the content store (once per content) and return the read-only
    snapshot folder. Raises CodeChanged when the scan is not what plan saw (`expected_digest`)
    or a file changed while it was being stored."""
    from mlform_local.store import StoreError

    if expected_digest is not None and scan.digest != expected_digest:
        raise CodeChanged(
            f"the code in {scan.root} changed since plan ({expected_digest} -> {scan.digest}); "
            "run plan again"
        )
    try:
        _tree, path = Store(data_dir).put_tree(scan.root, scan.tree, extra={"kind": "code"})
    except StoreError as e:
        raise CodeChanged(f"{e}; run plan again") from e
    return path


def materialize(snapshot: Path, dest: Path) -> None:
    """Copy a (read-only) snapshot into `dest` as ordinary writable files: a job may write next to
    its code without reaching the store. A single-file snapshot is copied into `dest`."""
    dest.mkdir(parents=True, exist_ok=True)
    if snapshot.is_file():
        shutil.copyfile(snapshot, dest / snapshot.name)
        return
    for dirpath, _dirs, files in os.walk(snapshot):
        rel = Path(dirpath).relative_to(snapshot)
        (dest / rel).mkdir(parents=True, exist_ok=True)
        for name in files:
            src = Path(dirpath) / name
            out = dest / rel / name
            shutil.copyfile(src, out)
            # Keep the executable bit (scripts), drop the store's read-only mode.
            os.chmod(out, (src.stat().st_mode & 0o111) | 0o644)


def _git(folder: Path, *args: str) -> bytes | None:
    cwd = folder if folder.is_dir() else folder.parent
    try:
        out = subprocess.run(["git", *args], cwd=cwd, capture_output=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout if out.returncode == 0 else None


def _git_facts(folder: Path, files: set[str]) -> tuple[str | None, str | None]:
    """The commit HEAD is at, and a digest of the uncommitted changes to the snapshot's files
    (`files`, relative to `folder`), None when there are none; (None, None) outside a git
    repository. Untracked files the snapshot leaves out (caches, outputs) do not count."""
    head = _git(folder, "rev-parse", "--verify", "-q", "HEAD")
    if head is None:
        return None, None
    commit = head.decode().strip()
    top_out = _git(folder, "rev-parse", "--show-toplevel")
    if top_out is None:
        return commit, None
    top = Path(top_out.decode().strip()).resolve()
    base = folder.resolve() if folder.is_dir() else folder.resolve().parent
    try:
        prefix = base.relative_to(top).as_posix()
    except ValueError:
        return commit, None
    prefix = "" if prefix == "." else prefix + "/"
    target = "." if folder.is_dir() else folder.name
    status = _git(folder, "status", "--porcelain", "--untracked-files=all", "--", target) or b""
    relevant: list[str] = []
    untracked: list[str] = []
    for line in status.decode(errors="replace").splitlines():
        path = line[3:].strip().strip('"')
        if line.startswith("?? "):
            rel = path[len(prefix) :] if path.startswith(prefix) else path
            if rel in files:
                relevant.append(line)
                untracked.append(path)
        else:
            relevant.append(line)
    if not relevant:
        return commit, None
    h = hashlib.sha256("\n".join(relevant).encode())
    h.update(_git(folder, "diff", "HEAD", "--binary", "--", target) or b"")
    # Untracked files are not in the diff: hash their content too.
    for path in untracked:
        p = top / path
        if p.is_file():
            h.update(path.encode() + b"\0" + hashlib.sha256(p.read_bytes()).hexdigest().encode())
    return commit, "sha256:" + h.hexdigest()
