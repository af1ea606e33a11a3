"""The code a training job or deployment runs: which files, their digest, and its git facts.

`scan_code(folder)` lists the files of a code folder the way a user expects a project to be copied
(no `__pycache__`, `.git`, virtual environments, nor what the folder's `.gitignore` or
`.mlformignore` leaves out), computes the folder digest over them, and records the git commit the
folder is at and a digest of its uncommitted changes. `copy_code(scan, dest)` materializes the
listed files into a fresh working directory, after checking that they still are what plan saw.
"""

from __future__ import annotations

import fnmatch
import hashlib
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["CodeChanged", "CodeScan", "copy_code", "scan_code", "tree_digest"]

# Always left out: caches, VCS metadata, environments and mlform's own data folder.
DEFAULT_EXCLUDES = (
    "__pycache__",
    "*.pyc",
    "*.pyo",
    ".git",
    ".hg",
    ".svn",
    ".mlform",
    ".venv",
    "venv",
    ".tox",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    ".ipynb_checkpoints",
    "node_modules",
    ".DS_Store",
)

_CHUNK = 1 << 20


class CodeChanged(Exception):
    """The code folder changed between plan and apply."""


@dataclass(frozen=True)
class CodeScan:
    """One look at a code folder."""

    root: Path
    # (relative posix path, size, sha256 hex) for each file, sorted by path.
    files: tuple[tuple[str, int, str], ...]
    digest: str
    git_commit: str | None = None
    # sha256 over `git status` and the diff of the folder against HEAD; None when clean or no git.
    git_dirty_digest: str | None = None
    excludes: tuple[str, ...] = field(default=DEFAULT_EXCLUDES)

    @property
    def total_bytes(self) -> int:
        return sum(size for _, size, _ in self.files)


def tree_digest(files: list[tuple[str, int, str]] | tuple[tuple[str, int, str], ...]) -> str:
    """`sha256:<hex>` over the sorted (relative path, size, file sha256) triples."""
    try:
        from mlform.kinds.digest import digest_entries  # type: ignore[attr-defined]
    except ImportError:
        digest_entries = None
    if digest_entries is not None:
        return str(digest_entries(sorted(files)))
    h = hashlib.sha256()
    for rel, size, sha in sorted(files):
        h.update(f"{rel}\0{size}\0{sha}\n".encode())
    return "sha256:" + h.hexdigest()


def _read_ignore(root: Path) -> list[str]:
    patterns: list[str] = []
    for name in (".gitignore", ".mlformignore"):
        p = root / name
        if p.is_file():
            for line in p.read_text(errors="replace").splitlines():
                line = line.strip()
                if line and not line.startswith("#") and not line.startswith("!"):
                    patterns.append(line)
    return patterns


def _excluded(rel: str, name: str, is_dir: bool, patterns: list[str]) -> bool:
    for pat in patterns:
        dir_only = pat.endswith("/")
        pat = pat.rstrip("/")
        if dir_only and not is_dir:
            continue
        if "/" in pat.lstrip("/"):
            # Anchored to the folder's root, as in .gitignore.
            if fnmatch.fnmatchcase(rel, pat.lstrip("/")):
                return True
        elif fnmatch.fnmatchcase(name, pat):
            return True
    return False


def _hash_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(_CHUNK):
            h.update(chunk)
    return h.hexdigest()


def scan_code(folder: Path) -> CodeScan:
    """List, hash and digest the code folder `folder` (a single file is a folder of one)."""
    folder = Path(folder)
    if not folder.exists():
        raise FileNotFoundError(folder)
    files: list[tuple[str, int, str]] = []
    if folder.is_file():
        files.append((folder.name, folder.stat().st_size, _hash_file(folder)))
        root = folder.parent
        patterns: list[str] = []
    else:
        root = folder
        patterns = list(DEFAULT_EXCLUDES) + _read_ignore(folder)
        for dirpath, dirnames, filenames in os.walk(folder):
            base = Path(dirpath)
            rel_base = base.relative_to(folder).as_posix()
            rel_base = "" if rel_base == "." else rel_base + "/"
            dirnames[:] = sorted(
                d for d in dirnames if not _excluded(rel_base + d, d, True, patterns)
            )
            for name in sorted(filenames):
                rel = rel_base + name
                if _excluded(rel, name, False, patterns):
                    continue
                p = base / name
                if not p.is_file():  # sockets, dangling links
                    continue
                files.append((rel, p.stat().st_size, _hash_file(p)))
    files.sort()
    commit, dirty = _git_facts(folder)
    return CodeScan(
        root=root if folder.is_dir() else folder,
        files=tuple(files),
        digest=tree_digest(files),
        git_commit=commit,
        git_dirty_digest=dirty,
        excludes=tuple(patterns),
    )


def _git(folder: Path, *args: str) -> bytes | None:
    cwd = folder if folder.is_dir() else folder.parent
    try:
        out = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            timeout=20,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout if out.returncode == 0 else None


def _git_facts(folder: Path) -> tuple[str | None, str | None]:
    head = _git(folder, "rev-parse", "--verify", "-q", "HEAD")
    if head is None:
        return None, None
    commit = head.decode().strip()
    target = "." if folder.is_dir() else folder.name
    status = _git(folder, "status", "--porcelain", "--untracked-files=all", "--", target) or b""
    if not status.strip():
        return commit, None
    h = hashlib.sha256(status)
    h.update(_git(folder, "diff", "HEAD", "--binary", "--", target) or b"")
    # Untracked files are not in the diff: hash their content too.
    for line in status.decode(errors="replace").splitlines():
        if line.startswith("?? "):
            rel = line[3:].strip().strip('"')
            top = _git(folder, "rev-parse", "--show-toplevel")
            if top is not None:
                p = Path(top.decode().strip()) / rel
                if p.is_file():
                    h.update(rel.encode() + b"\0" + _hash_file(p).encode())
    return commit, "sha256:" + h.hexdigest()


def copy_code(scan: CodeScan, dest: Path, *, expected_digest: str | None = None) -> None:
    """Copy the files of `scan` into `dest` (created), verifying each file's hash as it goes so
    that what runs is exactly what was digested. Raises CodeChanged when a file differs from the
    scan, or when the scan's digest is not `expected_digest` (the one plan showed)."""
    if expected_digest is not None and scan.digest != expected_digest:
        raise CodeChanged(
            f"the code folder {scan.root} changed since plan: {expected_digest} -> {scan.digest}"
        )
    dest.mkdir(parents=True, exist_ok=True)
    single = scan.root.is_file()
    for rel, _size, sha in scan.files:
        src = scan.root if single else scan.root / rel
        out = dest / rel
        out.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, out)
        if _hash_file(out) != sha:
            raise CodeChanged(f"{src} changed while it was copied; run plan again")
