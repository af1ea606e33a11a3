"""Digests of files and folders, and the stat cache that makes them cheap to recompute.

A tree's digest is `sha256:<hex>` over one line per file, sorted by relative path:

    <relative posix path> NUL <size in bytes> NUL <sha256 hex of the content> LF

so it changes when a file is added, removed, renamed or edited, and not when only a timestamp
does. A single file is a tree of one entry named by its base name.

Hashing is the slow part, so `StatCache` (sqlite, WAL mode) remembers each file's hash under its
(path, size, mtime_ns, inode): an unchanged folder costs a stat per file and one query. Files are
hashed by a pool of threads (hashlib releases the GIL on large updates) with 1 MiB reads.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import sqlite3
import stat as stat_mod
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, NamedTuple

from mlform.kinds.common import format_digest

CHUNK = 1 << 20
# A file modified this recently may change again within the same mtime tick; its hash is not
# cached (git's "racily clean" problem).
RACY_WINDOW_NS = 100_000_000
# Report progress only when hashing reads at least this much.
PROGRESS_MIN_BYTES = 32 << 20

ProgressFn = Callable[[float, float | None, str], None]


class DigestError(Exception):
    """The tree cannot be digested (it vanished, a file cannot be read). `path` is the culprit;
    `relpath` its path inside the tree when the culprit is one entry of it (a link that loops or
    leads nowhere, a file that cannot be read), which the user can fix or exclude."""

    def __init__(self, message: str, path: Path | None = None, relpath: str | None = None):
        super().__init__(message)
        self.path = path
        self.relpath = relpath


class Cancelled(Exception):
    """Hashing was cancelled (the user pressed Ctrl-C)."""


@dataclass(frozen=True)
class FileEntry:
    """One file of a tree: its relative posix path, size and sha256 hex."""

    path: str
    size: int
    sha256: str


@dataclass(frozen=True)
class TreeDigest:
    """A digested tree. `files` sorted by path; `single_file` True when the source was one file."""

    digest: str
    files: tuple[FileEntry, ...]
    bytes: int
    single_file: bool = False
    # How many bytes had to be read (not answered by the stat cache).
    hashed_bytes: int = 0

    @property
    def count(self) -> int:
        return len(self.files)

    def to_manifest(self) -> dict[str, object]:
        """Plain data for storing beside a snapshot."""
        return {
            "digest": self.digest,
            "bytes": self.bytes,
            "single_file": self.single_file,
            "files": [[f.path, f.size, f.sha256] for f in self.files],
        }

    @classmethod
    def from_manifest(cls, data: dict) -> TreeDigest:
        files = tuple(FileEntry(p, int(s), h) for p, s, h in data.get("files", []))
        return cls(
            digest=str(data["digest"]),
            files=files,
            bytes=int(data.get("bytes", sum(f.size for f in files))),
            single_file=bool(data.get("single_file", False)),
        )


def tree_digest_of(entries: Iterable[FileEntry]) -> str:
    """The digest of a set of entries (the format in the module docstring)."""
    h = hashlib.sha256()
    for e in sorted(entries, key=lambda e: e.path):
        h.update(f"{e.path}\0{e.size}\0{e.sha256}\n".encode())
    return format_digest(h.hexdigest())


@dataclass(frozen=True)
class TreeChanges:
    """What changed between two trees, by relative path."""

    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[str, ...]

    def summary(self) -> str:
        """`"1 file changed, 2 added, 0 removed"`."""
        n = len(self.changed)
        return f"{n} file{'s' if n != 1 else ''} changed, {len(self.added)} added, {len(self.removed)} removed"


def tree_changes(old: Sequence[FileEntry], new: Sequence[FileEntry]) -> TreeChanges:
    o = {e.path: e for e in old}
    n = {e.path: e for e in new}
    return TreeChanges(
        added=tuple(sorted(set(n) - set(o))),
        removed=tuple(sorted(set(o) - set(n))),
        changed=tuple(
            sorted(
                p for p in set(o) & set(n) if (o[p].sha256, o[p].size) != (n[p].sha256, n[p].size)
            )
        ),
    )


# -- globs ------------------------------------------------------------------------------------


@lru_cache(maxsize=256)
def _glob_regex(pattern: str) -> re.Pattern[str]:
    """A gitignore-style pattern as a regex over relative posix paths. A pattern without a slash
    (other than a trailing one) matches a name at any depth; a leading slash anchors it; `**`
    spans any number of folders; `*` and `?` stay within one name; `[...]` is a class."""
    pat = pattern.strip()
    dir_only = pat.endswith("/")
    pat = pat.rstrip("/")
    anchored = pat.startswith("/") or "/" in pat
    pat = pat.lstrip("/")
    out: list[str] = []
    i = 0
    while i < len(pat):
        c = pat[i]
        if pat.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
        elif pat.startswith("/**", i) and i + 3 == len(pat):
            out.append("/.*")
            i += 3
        elif pat.startswith("**", i):
            out.append(".*")
            i += 2
        elif c == "*":
            out.append("[^/]*")
            i += 1
        elif c == "?":
            out.append("[^/]")
            i += 1
        elif c == "[":
            j = pat.find("]", i + 1)
            if j == -1:
                out.append(re.escape(c))
                i += 1
            else:
                body = pat[i + 1 : j]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append("[" + body.replace("\\", "\\\\") + "]")
                i = j + 1
        else:
            out.append(re.escape(c))
            i += 1
    body = "".join(out)
    prefix = "" if anchored else "(?:.*/)?"
    # A pattern naming a folder covers everything under it; a folder-only one nothing else.
    suffix = "/.*" if dir_only else "(?:/.*)?"
    return re.compile(f"^{prefix}{body}{suffix}$")


class PathFilter:
    """Decides which relative paths a tree holds: those matching any `include` pattern (all when
    there are none) and no `exclude` pattern."""

    def __init__(self, include: Sequence[str] = (), exclude: Sequence[str] = ()):
        self.include = [_glob_regex(p) for p in include if p.strip()]
        self.exclude = [_glob_regex(p) for p in exclude if p.strip()]

    def __call__(self, relpath: str) -> bool:
        if self.include and not any(r.match(relpath) for r in self.include):
            return False
        return not any(r.match(relpath) for r in self.exclude)

    def excludes_dir(self, reldir: str) -> bool:
        """True when nothing under `reldir` can be included (an exclude pattern covers it), so the
        walk need not enter it."""
        probe = reldir + "/\0"
        return any(r.match(probe) for r in self.exclude)


def validate_glob(pattern: str) -> str | None:
    """An error message for a pattern that cannot be used, else None."""
    if not pattern.strip():
        return "an empty pattern matches nothing"
    try:
        _glob_regex(pattern)
    except re.error as e:
        return f"invalid pattern {pattern!r}: {e}"
    return None


# -- scanning ---------------------------------------------------------------------------------


class _Stat(NamedTuple):
    """One file found by the walk (a tuple: tens of thousands are made per digest)."""

    abspath: str
    relpath: str
    size: int
    mtime_ns: int
    inode: int


def _link_problem(path: str, relpath: str, err: OSError) -> DigestError:
    """A DigestError for an entry that cannot be followed or read: a symbolic link that loops
    (to itself or through others), one whose target is gone, or no permission."""
    if err.errno == errno.ELOOP:
        what = "is a symbolic link that loops (to itself, or through other links)"
    elif isinstance(err, FileNotFoundError):
        try:
            target = os.readlink(path)
        except OSError:
            target = "?"
        what = f"is a symbolic link to {target}, which does not exist"
    elif isinstance(err, PermissionError):
        what = "cannot be read: permission denied"
    else:
        what = f"cannot be read: {err.strerror or err}"
    return DigestError(f"{path} {what}", Path(path), relpath)


def _scan(root: Path, flt: PathFilter, dangling: str = "skip") -> list[_Stat]:
    """Every regular file under `root` that the filter keeps, following symlinks to files (and to
    folders, once each, so a link loop cannot recurse forever). A link that loops or cannot be
    read is a DigestError naming it; a link whose target is gone is skipped (`dangling="skip"`)
    or a DigestError (`"error"`)."""
    out: list[_Stat] = []
    seen_dirs: set[tuple[int, int]] = set()

    def walk(dirpath: str, rel: str) -> None:
        try:
            st = os.stat(dirpath)
        except OSError as e:
            raise DigestError(f"cannot read folder {dirpath}: {e.strerror}", Path(dirpath)) from e
        key = (st.st_dev, st.st_ino)
        if key in seen_dirs:
            return
        seen_dirs.add(key)
        try:
            entries = list(os.scandir(dirpath))
        except OSError as e:
            raise DigestError(f"cannot read folder {dirpath}: {e.strerror}", Path(dirpath)) from e
        for entry in entries:
            relpath = f"{rel}/{entry.name}" if rel else entry.name
            try:
                if entry.is_dir():
                    if not flt.excludes_dir(relpath):
                        walk(entry.path, relpath)
                    continue
                st = entry.stat()
            except FileNotFoundError as e:
                # A dangling link, or an entry removed while walking (not ours to report).
                if dangling == "error" and flt(relpath) and os.path.islink(entry.path):
                    raise _link_problem(entry.path, relpath, e) from e
                continue
            except OSError as e:
                if not flt(relpath):
                    continue  # excluded: what it is does not matter
                raise _link_problem(entry.path, relpath, e) from e
            if not stat_mod.S_ISREG(st.st_mode) or not flt(relpath):
                continue
            out.append(_Stat(entry.path, relpath, st.st_size, st.st_mtime_ns, st.st_ino))

    walk(str(root), "")
    out.sort(key=lambda s: s.relpath)
    return out


# -- the stat cache ---------------------------------------------------------------------------


def _retry_locked(step: Callable[[], Any], attempts: int = 50) -> Any:
    """Run a SQLite step again while another connection holds a lock it cannot wait for."""
    for i in range(attempts):
        try:
            return step()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or i == attempts - 1:
                raise
            time.sleep(0.02 * (i + 1))
    return None


class StatCache:
    """Remembers file hashes by (path, size, mtime_ns, inode) in a sqlite database (WAL mode, so
    several mlform processes can share it). Safe to use from several threads."""

    def __init__(self, path: Path):
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(
            str(path), timeout=30, check_same_thread=False, isolation_level=None
        )
        # Several datasets are planned at once, from threads and from processes, each with a
        # connection of its own: switching to WAL and creating the table can meet another
        # connection doing the same, which SQLite answers with "database is locked" at once
        # rather than through the busy timeout. Those steps are retried.
        _retry_locked(lambda: self._db.execute("PRAGMA journal_mode=WAL"))
        self._db.execute("PRAGMA synchronous=NORMAL")
        _retry_locked(
            lambda: self._db.execute(
                "CREATE TABLE IF NOT EXISTS files (path TEXT PRIMARY KEY, size INTEGER NOT NULL, "
                "mtime_ns INTEGER NOT NULL, inode INTEGER NOT NULL, sha256 TEXT NOT NULL) WITHOUT ROWID"
            )
        )

    def lookup_under(self, root: str) -> dict[str, tuple[int, int, int, str]]:
        """All cached entries under folder `root` (or the file `root`): path → (size, mtime_ns,
        inode, sha256). One range query instead of one per file."""
        with self._lock:
            rows = self._db.execute(
                "SELECT path, size, mtime_ns, inode, sha256 FROM files WHERE path = ? OR "
                "(path >= ? AND path < ?)",
                (root, root + "/", root + "0"),  # "0" sorts right after "/"
            ).fetchall()
        return {r[0]: (r[1], r[2], r[3], r[4]) for r in rows}

    def get(self, abspath: str, size: int, mtime_ns: int, inode: int) -> str | None:
        with self._lock:
            row = self._db.execute(
                "SELECT size, mtime_ns, inode, sha256 FROM files WHERE path = ?", (abspath,)
            ).fetchone()
        if row and (row[0], row[1], row[2]) == (size, mtime_ns, inode):
            return row[3]
        return None

    def put_many(self, rows: Iterable[tuple[str, int, int, int, str]]) -> None:
        """Store (path, size, mtime_ns, inode, sha256) rows."""
        rows = list(rows)
        if not rows:
            return
        with self._lock:
            _retry_locked(lambda: self._db.execute("BEGIN IMMEDIATE"))
            self._db.executemany(
                "INSERT OR REPLACE INTO files (path, size, mtime_ns, inode, sha256) VALUES (?,?,?,?,?)",
                rows,
            )
            self._db.execute("COMMIT")

    def forget(self, paths: Iterable[str]) -> None:
        """Drop the entries of files that are gone, so the cache does not grow without bound."""
        rows = [(p,) for p in paths]
        if not rows:
            return
        with self._lock:
            _retry_locked(lambda: self._db.execute("BEGIN IMMEDIATE"))
            self._db.executemany("DELETE FROM files WHERE path = ?", rows)
            self._db.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> StatCache:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def stat_cache_path(data_dir: Path) -> Path:
    """Where a provider keeps its stat cache: `<data_dir>/cache/stat.db`."""
    return Path(data_dir) / "cache" / "stat.db"


# -- hashing ----------------------------------------------------------------------------------


_buffers = threading.local()


def read_buffer() -> tuple[bytearray, memoryview]:
    """A 1 MiB read buffer per thread (allocating one per file would cost more than small files'
    hashing)."""
    pair = getattr(_buffers, "pair", None)
    if pair is None:
        raw = bytearray(CHUNK)
        pair = _buffers.pair = (raw, memoryview(raw))
    return pair


def hash_file(path: str | Path, on_bytes: Callable[[int], None] | None = None) -> str:
    """The sha256 hex of a file's content: small files in one read, others in 1 MiB chunks."""
    return _hash_open(path, on_bytes)[0]


_O_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)


def _hash_open(
    path: str | Path, on_bytes: Callable[[int], None] | None
) -> tuple[str, os.stat_result]:
    """(sha256 hex, the file's stat after reading) — the stat from the open file, to notice a
    file that changed while it was read. Plain descriptors and the thread's reused buffer: a
    file object, or a fresh bytes object per read (1 MiB, mapped and zeroed by the kernel each
    time), costs more than hashing a small file."""
    fd = os.open(path, _O_FLAGS)
    try:
        buf, view = read_buffer()
        h = hashlib.sha256()
        # A short read is the whole file, except on a pipe or after a signal: read on until
        # the end either way (one more system call for a small file).
        while n := os.readv(fd, [buf]):
            h.update(view[:n])  # releases the GIL: the other hashing threads run meanwhile
            if on_bytes is not None:
                on_bytes(n)
        st = os.fstat(fd)
    finally:
        os.close(fd)
    return h.hexdigest(), st


def default_threads() -> int:
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    return max(1, min(8, cpus))


def digest_tree(
    source: Path,
    *,
    include: Sequence[str] = (),
    exclude: Sequence[str] = (),
    cache: StatCache | None = None,
    progress: ProgressFn | None = None,
    cancelled: Callable[[], bool] | None = None,
    threads: int | None = None,
    dangling: str = "skip",
) -> TreeDigest:
    """Digest a file or a folder (see the module docstring). Files the `cache` knows unchanged are
    not read; the others are hashed by `threads` workers and then remembered. `progress(done,
    total, message)` is called (a few times a second) when much must be read. Raises DigestError
    when `source` does not exist or cannot be read (or holds a link that loops, or with
    `dangling="error"` one that leads nowhere), Cancelled when `cancelled()` turns true."""
    source = Path(source)
    try:
        st = source.stat()
    except FileNotFoundError as e:
        raise DigestError(f"{source} does not exist", source) from e
    except OSError as e:
        raise DigestError(f"cannot read {source}: {e.strerror}", source) from e
    started_ns = time.time_ns()
    if stat_mod.S_ISDIR(st.st_mode):
        single = False
        stats = _scan(source, PathFilter(include, exclude), dangling)
        root_key = str(source.resolve())
    elif stat_mod.S_ISREG(st.st_mode):
        single = True
        resolved = source.resolve()
        stats = [_Stat(str(source), source.name, st.st_size, st.st_mtime_ns, st.st_ino)]
        root_key = str(resolved)
    else:
        raise DigestError(f"{source} is neither a file nor a folder", source)

    # Cache keys are absolute, resolved paths so two spellings of a folder share entries.
    resolved_root = str(source.resolve())

    def key_of(s: _Stat) -> str:
        if single:
            return resolved_root
        return resolved_root + "/" + s.relpath

    known = cache.lookup_under(root_key) if cache is not None else {}
    hashes: dict[str, str] = {}
    todo: list[_Stat] = []
    for s in stats:
        hit = known.get(key_of(s))
        if hit is not None and hit[:3] == (s.size, s.mtime_ns, s.inode):
            hashes[s.relpath] = hit[3]
        else:
            todo.append(s)

    total = sum(s.size for s in todo)
    done = 0
    done_lock = threading.Lock()
    last_report = [0.0]
    report = progress is not None and total >= PROGRESS_MIN_BYTES

    def on_bytes(n: int) -> None:
        nonlocal done
        if cancelled is not None and cancelled():
            raise Cancelled("hashing cancelled")
        if not report:
            return
        with done_lock:
            done += n
            now = time.monotonic()
            if now - last_report[0] >= 0.2:
                last_report[0] = now
                assert progress is not None
                progress(done, total, f"hashing {source.name}")

    def work(s: _Stat) -> tuple[_Stat, str, os.stat_result]:
        try:
            digest, after = _hash_open(s.abspath, on_bytes)
        except FileNotFoundError as e:
            raise DigestError(
                f"{s.abspath} vanished while it was being read", Path(s.abspath)
            ) from e
        except OSError as e:
            raise _link_problem(s.abspath, s.relpath, e) from e
        return s, digest, after

    new_rows: list[tuple[str, int, int, int, str]] = []
    if todo:
        n_threads = threads or default_threads()
        if n_threads <= 1 or len(todo) == 1:
            results = [work(s) for s in todo]
        else:
            # Batches dealt round-robin from biggest to smallest, so each worker gets a similar
            # share of bytes and the pool's per-task cost is paid per batch, not per file.
            ordered = sorted(todo, key=lambda s: -s.size)
            n_batches = min(len(ordered), n_threads * 8)
            batches = [ordered[i::n_batches] for i in range(n_batches)]
            # Imported only when hashing: a no-change plan never needs it.
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=n_threads) as pool:
                results = [
                    r for batch in pool.map(lambda b: [work(s) for s in b], batches) for r in batch
                ]
        for s, digest, after in results:
            if (after.st_size, after.st_mtime_ns) != (s.size, s.mtime_ns):
                raise DigestError(
                    f"{s.abspath} changed while it was being read; try again when it is stable",
                    Path(s.abspath),
                )
            hashes[s.relpath] = digest
            if started_ns - s.mtime_ns > RACY_WINDOW_NS:
                new_rows.append((key_of(s), s.size, s.mtime_ns, s.inode, digest))
        if report:
            assert progress is not None
            progress(total, total, f"hashed {source.name}")
    if cache is not None:
        cache.put_many(new_rows)
        if len(known) > len(stats) - len(todo):
            # Rows not seen may belong to files the filters left out: forget only the gone ones.
            seen = {key_of(s) for s in stats}
            cache.forget(k for k in known if k not in seen and not os.path.lexists(k))

    files = tuple(FileEntry(s.relpath, s.size, hashes[s.relpath]) for s in stats)
    return TreeDigest(
        digest=tree_digest_of(files),
        files=files,
        bytes=sum(f.size for f in files),
        single_file=single,
        hashed_bytes=total,
    )
