"""The state journal: every resource operation made durable as one fsync'd line, beside the state.

An apply records each create, update and delete the moment the provider answers, so a crash or a
`kill -9` loses nothing that was confirmed. Rewriting the whole state after every object would
make an apply of n objects cost n squared; appending one line costs only the size of the change.
At the end of the operation the session folds the journal into one atomic state write.

The file holds JSON lines. The first is the header, naming the state (lineage and serial) the
entries apply on top of; each following line is one entry:

    {"mlform_journal": 1, "id": "<uuid>", "lineage": "...", "serial": 4, "workspace": "default",
     "operation": "apply", "started": "...", "pid": 123}
    {"op": "begin_create", "addr": "test_object.a", "token": "...", "provider": "...", "at": "..."}
    {"op": "put", "addr": "test_object.a", "provider": "provider[\"test\"]", "instance": {...}}
    {"op": "remove", "addr": "test_object.b"}
    {"op": "resolve", "addr": "test_object.a"}

A last line cut short by a crash (no newline, or not JSON) was never acknowledged, so it is
ignored; a bad line anywhere else means the file was damaged, which is an error.

Group commit: many worker threads record at once during an apply, and one fsync makes every
line written before it durable. Inside `Journal.deferred()` a thread's appends only write;
leaving the block waits until a sync covers them, and whichever waiting thread finds no sync
in flight runs one for everybody. A session enters the block outside its own lock, so the next
thread can append while this one waits: at parallelism 50 one fsync serves many entries
instead of each entry waiting for its own.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlform.state.errors import StateError

JOURNAL_VERSION = 1

_sync = getattr(os, "fdatasync", os.fsync)


def fsync_dir(path: Path) -> None:
    """Make a rename or a new file in `path` durable (no-op where directories cannot be opened)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@dataclass
class JournalContents:
    header: dict[str, Any]
    entries: list[dict[str, Any]] = field(default_factory=list)
    # Bytes up to the end of the last complete line; a torn tail beyond it is dropped on resume.
    valid_length: int = 0
    torn_tail: bool = False


class Journal:
    """One journal file. Appends are serialised by the session; syncing is shared (see the
    module docstring on group commit)."""

    def __init__(self, path: Path):
        self.path = path
        self._fd: int | None = None
        # Bytes written since the file was opened, and how many of them a sync made durable.
        self._written = 0
        self._durable = 0
        self._syncing = False
        self._cond = threading.Condition()
        self._local = threading.local()
        self._syncer: threading.Thread | None = None
        self._wanted = 0

    def exists(self) -> bool:
        return self.path.exists()

    def read(self) -> JournalContents | None:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        lines = raw.split(b"\n")
        # After the last newline: either nothing or a line a crash cut short.
        tail = lines.pop()
        valid_length = len(raw) - len(tail)
        if not lines:
            # Not even the header made it to disk: nothing was recorded.
            return JournalContents(header={}, valid_length=0, torn_tail=bool(tail))
        parsed: list[dict[str, Any]] = []
        for n, line in enumerate(lines, start=1):
            try:
                item = json.loads(line)
                if not isinstance(item, dict):
                    raise ValueError("not an object")
            except ValueError as exc:
                if n == len(lines) and not tail:
                    # The last line was cut short but its newline was not yet written either.
                    valid_length -= len(line) + 1
                    tail = line
                    break
                raise StateError(
                    f"The state journal {self.path} is damaged at line {n}",
                    f"That line is not a journal entry ({exc}). The journal holds operations "
                    "that were done but not yet folded into the state. Inspect it, repair or "
                    "move it away, then run again; objects it recorded may need "
                    "`mlform import`.",
                ) from None
            parsed.append(item)
        if not parsed:
            return JournalContents(header={}, valid_length=0, torn_tail=bool(tail))
        header = parsed[0]
        if header.get("mlform_journal") != JOURNAL_VERSION or "lineage" not in header:
            raise StateError(
                f"{self.path} is not an mlform state journal this version can read",
                f"Its first line is {json.dumps(header)[:200]}. Move it away if it is not "
                "mlform's, or use the mlform that wrote it.",
            )
        return JournalContents(
            header=header, entries=parsed[1:], valid_length=valid_length, torn_tail=bool(tail)
        )

    def start(self, lineage: str, serial: int, **extra: Any) -> dict[str, Any]:
        """Create the file with its header line; the header is durable when this returns."""
        header: dict[str, Any] = {
            "mlform_journal": JOURNAL_VERSION,
            "id": str(uuid.uuid4()),
            "lineage": lineage,
            "serial": serial,
            **extra,
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o600)
        self._opened(fd)
        self._write(header)
        self._sync_all()
        fsync_dir(self.path.parent)
        return header

    def resume(self, valid_length: int) -> None:
        """Reopen an existing journal for appending, dropping a torn last line first."""
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        if os.fstat(fd).st_size != valid_length:
            os.ftruncate(fd, valid_length)
            _sync(fd)
        self._opened(fd)

    def _opened(self, fd: int) -> None:
        with self._cond:
            self._fd = fd
            self._written = self._durable = self._wanted = 0

    @property
    def is_open(self) -> bool:
        return self._fd is not None

    def append(self, entry: dict[str, Any]) -> None:
        from mlform.state.format import dumps

        self._write_line(dumps(entry, pretty=False))

    def append_line(self, line: str) -> None:
        """Append an entry already serialised (one line of JSON, no newline)."""
        self._write_line(line)

    def _write(self, item: dict[str, Any]) -> None:
        from mlform.state.format import dumps

        self._write_line(dumps(item, pretty=False))

    def _write_line(self, line: str) -> None:
        if self._fd is None:
            raise RuntimeError("journal is not open")
        data = (line + "\n").encode("utf-8")
        view = memoryview(data)
        while view:
            n = os.write(self._fd, view)
            view = view[n:]
        with self._cond:
            self._written += len(data)
            end = self._written
        if getattr(self._local, "depth", 0):
            # Inside deferred(): synced when the block ends, together with other threads' lines.
            self._local.upto = max(getattr(self._local, "upto", 0), end)
        else:
            self._sync_to(end)

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        """Appends made by this thread inside the block are durable when it ends."""
        self._local.depth = getattr(self._local, "depth", 0) + 1
        try:
            yield
        finally:
            self._local.depth -= 1
            if self._local.depth == 0:
                upto, self._local.upto = getattr(self._local, "upto", 0), 0
                if upto:
                    self._sync_to(upto)

    @contextlib.contextmanager
    def deferred_background(self) -> Iterator[None]:
        """Like `deferred`, but the block's appends are made durable by a background sync
        instead of the caller waiting for it: for an intent record written just before a
        slow call (a create sent to a provider), whose sync then overlaps the call. The
        entry is in the file, so it survives the process being killed; the next synced
        append from any thread waits for it too."""
        self._local.depth = getattr(self._local, "depth", 0) + 1
        try:
            yield
        finally:
            self._local.depth -= 1
            if self._local.depth == 0:
                upto, self._local.upto = getattr(self._local, "upto", 0), 0
                if upto:
                    self._sync_in_background(upto)

    def _sync_in_background(self, upto: int) -> None:
        with self._cond:
            self._wanted = max(self._wanted, upto)
            if self._syncer is None:
                self._syncer = threading.Thread(
                    target=self._background_syncs, name="mlform-journal", daemon=True
                )
                self._syncer.start()
            self._cond.notify_all()

    def _background_syncs(self) -> None:
        # One thread syncs up to the furthest offset asked for, as often as asked.
        while True:
            with self._cond:
                while self._fd is not None and self._wanted <= self._durable:
                    self._cond.wait()
                if self._fd is None:
                    return
                upto = self._wanted
            self._sync_to(upto)

    def _sync_to(self, end: int) -> None:
        """Wait until the first `end` bytes are durable, running the sync if no thread is."""
        with self._cond:
            while True:
                if self._fd is None or self._durable >= end:
                    # Durable, or closed: a closed journal's entries were folded into the state.
                    return
                if not self._syncing:
                    break
                self._cond.wait()
            self._syncing = True
            fd, target = self._fd, self._written
        try:
            _sync(fd)
        finally:
            with self._cond:
                self._syncing = False
                self._durable = max(self._durable, target)
                self._cond.notify_all()

    def _sync_all(self) -> None:
        with self._cond:
            end = self._written
        self._sync_to(end)

    def close(self) -> None:
        with self._cond:
            # Never close the file under a sync in flight.
            while self._syncing:
                self._cond.wait()
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
            self._syncer = None  # the background syncer sees the file closed and ends
            self._cond.notify_all()

    def remove(self) -> None:
        self.close()
        try:
            self.path.unlink()
        except FileNotFoundError:
            return
        fsync_dir(self.path.parent)
