"""Digests of files and folders, the same definition as mlform's (`mlform/kinds/digest.py`).

A tree's digest is `sha256:<hex>` over one line per file, sorted by relative path:

    <relative posix path> NUL <size in bytes> NUL <sha256 hex of the content> LF

so it changes when a file is added, removed, renamed or edited, and not when only a timestamp
does. A single file is a tree of one entry named by its base name. Symbolic links to files and
folders are followed (a folder once); other entries (sockets, devices) are left out.

This is a copy, not an import: the runtime depends on nothing but the standard library. The
runtime's tests check that both give the same digest for the same tree when mlform is installed.
"""

from __future__ import annotations

import hashlib
import os
import stat as stat_mod
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "DigestError",
    "FileEntry",
    "TreeDigest",
    "digest_hex",
    "digest_tree",
    "hash_file",
    "is_digest",
    "tree_digest_of",
]

PREFIX = "sha256:"
CHUNK = 1 << 20


class DigestError(Exception):
    """A tree cannot be digested: it does not exist, or an entry cannot be read."""


def is_digest(value: object) -> bool:
    """True for `sha256:` followed by 64 lower-case hex digits."""
    if not isinstance(value, str) or not value.startswith(PREFIX):
        return False
    hexpart = value[len(PREFIX) :]
    return len(hexpart) == 64 and all(c in "0123456789abcdef" for c in hexpart)


def digest_hex(digest: str) -> str:
    """The hex part of `sha256:<hex>`; ValueError when malformed."""
    if not is_digest(digest):
        raise ValueError(f"not a sha256 digest: {digest!r} (expected sha256: and 64 hex digits)")
    return digest[len(PREFIX) :]


@dataclass(frozen=True)
class FileEntry:
    """One file of a tree: its relative posix path, size and sha256 hex."""

    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class TreeDigest:
    """A digested tree; `files` sorted by path; `single_file` when the source was one file."""

    digest: str
    files: tuple[FileEntry, ...]
    bytes: int
    single_file: bool = False

    @property
    def count(self) -> int:
        return len(self.files)

    def to_manifest(self) -> dict[str, Any]:
        """The manifest's core (the store adds where it came from and when)."""
        return {
            "digest": self.digest,
            "bytes": self.bytes,
            "single_file": self.single_file,
            "files": [[f.path, f.size, f.sha256] for f in self.files],
        }

    @classmethod
    def from_manifest(cls, data: dict[str, Any]) -> TreeDigest:
        """The tree a manifest describes. ValueError when the manifest is malformed or its
        `digest` is not the digest of its file list."""
        try:
            files = tuple(FileEntry(str(p), int(s), str(h)) for p, s, h in data.get("files", []))
            tree = cls(
                digest=str(data["digest"]),
                files=files,
                bytes=sum(f.size for f in files),
                single_file=bool(data.get("single_file", False)),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise ValueError(f"malformed manifest: {e}") from e
        for f in files:
            if f.path.startswith("/") or ".." in f.path.split("/") or len(f.sha256) != 64:
                raise ValueError(f"malformed manifest: bad entry {f.path!r}")
        actual = tree_digest_of(files)
        if actual != tree.digest:
            raise ValueError(f"manifest says {tree.digest} but its file list digests to {actual}")
        return tree


def tree_digest_of(entries: Iterable[FileEntry]) -> str:
    """The digest of a set of entries (the format in the module docstring)."""
    h = hashlib.sha256()
    for e in sorted(entries, key=lambda e: e.path):
        h.update(f"{e.path}\0{e.size}\0{e.sha256}\n".encode())
    return PREFIX + h.hexdigest()


def hash_file(path: str | Path) -> str:
    """The sha256 hex of a file's content."""
    return _hash_sized(path)[0]


def _hash_sized(path: str | Path) -> tuple[str, int]:
    """(sha256 hex, bytes read) of a file's content: the size is what was hashed."""
    h = hashlib.sha256()
    buf = bytearray(CHUNK)
    view = memoryview(buf)
    size = 0
    with open(path, "rb", buffering=0) as f:
        while n := f.readinto(buf):
            h.update(view[:n])
            size += n
    return h.hexdigest(), size


def _scan(root: Path) -> list[tuple[str, str]]:
    """(absolute path, relative posix path) of every regular file under `root`, sorted."""
    out: list[tuple[str, str]] = []
    seen: set[tuple[int, int]] = set()

    def walk(dirpath: str, rel: str) -> None:
        st = os.stat(dirpath)
        if (st.st_dev, st.st_ino) in seen:
            return
        seen.add((st.st_dev, st.st_ino))
        try:
            entries = list(os.scandir(dirpath))
        except OSError as e:
            raise DigestError(f"cannot read folder {dirpath}: {e.strerror}") from e
        for entry in entries:
            relpath = f"{rel}/{entry.name}" if rel else entry.name
            try:
                if entry.is_dir():
                    walk(entry.path, relpath)
                    continue
                st_e = entry.stat()
            except FileNotFoundError:
                continue  # a dangling link, or removed while walking
            except OSError as e:
                raise DigestError(f"{entry.path} cannot be read: {e.strerror or e}") from e
            if stat_mod.S_ISREG(st_e.st_mode):
                out.append((entry.path, relpath))

    walk(str(root), "")
    out.sort(key=lambda t: t[1])
    return out


def digest_tree(source: str | Path) -> TreeDigest:
    """Digest a file or a folder (see the module docstring). DigestError when `source` does not
    exist or cannot be read."""
    source = Path(source)
    try:
        st = source.stat()
    except FileNotFoundError as e:
        raise DigestError(f"{source} does not exist") from e
    except OSError as e:
        raise DigestError(f"cannot read {source}: {e.strerror}") from e
    if stat_mod.S_ISDIR(st.st_mode):
        single = False
        found = _scan(source)
    elif stat_mod.S_ISREG(st.st_mode):
        single = True
        found = [(str(source), source.name)]
    else:
        raise DigestError(f"{source} is neither a file nor a folder")
    files = []
    for abspath, relpath in found:
        try:
            hexdigest, size = _hash_sized(abspath)
            files.append(FileEntry(relpath, size, hexdigest))
        except FileNotFoundError as e:
            raise DigestError(f"{abspath} vanished while it was being read") from e
        except OSError as e:
            raise DigestError(f"{abspath} cannot be read: {e.strerror or e}") from e
    return TreeDigest(
        digest=tree_digest_of(files),
        files=tuple(files),
        bytes=sum(f.size for f in files),
        single_file=single,
    )
