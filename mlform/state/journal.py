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

Group commit: many worker threads record at once during an apply, and one sync makes every
line written before it durable. A line is queued (cheap, under the session's lock) and written
outside it, several threads' lines in one `write`; a thread that must see its line durable and
finds no sync running runs one for everything queued so far, while the others wait each on a
lock of its own and are woken once, by the sync that covers them or to run the next one. A
create's intent record is written at once (a killed process leaves it in the file) and synced
in the background, usually by the next result's sync.

A failed write or sync stops the journal for good: the bytes of a batch that only partly reached
the file are cut off again, every thread whose line was not written (or not yet synced) hears
of it as a `JournalError`, and nothing is written after it. A create is sent only once its
intent line was written, so when the disk fills up no create goes out unrecorded: the applier
stops, and the next run replays what the file holds.
"""

from __future__ import annotations

import errno
import json
import os
import threading
import time
import uuid
from _thread import allocate_lock as _new_lock
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlform.state.errors import JournalError, StateError

if TYPE_CHECKING:
    from mlform.state.encryption import Codec

JOURNAL_VERSION = 1

_sync = getattr(os, "fdatasync", os.fsync)

# Seconds an intent record written before a provider call may wait for its sync (see _syncs).
BACKGROUND_SYNC_DELAY = 0.002


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

    def __init__(self, path: Path, encryption: Codec | None = None):
        self.path = path
        # With encryption configured, each line is sealed on its own (an envelope on one
        # line), so that an fsync'd append stays an append and a torn last line stays torn.
        self.encryption = encryption
        self._fd: int | None = None
        # The file's length when it was opened, bytes written since, and how many of them a
        # sync made durable.
        self._base = 0
        self._written = 0
        self._durable = 0
        self._syncing = False
        # Lines queued and not yet written, and their total length since the file was opened.
        self._pending: list[bytes] = []
        self._queued = 0
        self._wlock = threading.Lock()
        self._mu = threading.Lock()
        self._waiters: list[tuple[int, Any]] = []
        self._syncer: threading.Thread | None = None
        self._syncer_idle = False
        self._syncer_wake = _new_lock()
        self._syncer_wake.acquire()
        self._wanted = 0
        self._generation = 0
        self._failure: OSError | None = None

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
                if "mlform_encrypted" in item or self.encryption is not None:
                    item = self._open_line(line, n)
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

    def _open_line(self, line: bytes, n: int) -> dict[str, Any]:
        """A line's entry, decrypted (EncryptionError for a wrong key or a changed line)."""
        from mlform.state.encryption import open_bytes

        plain = open_bytes(line, self.encryption, "journal", f"{self.path} (line {n})")
        item = json.loads(plain)
        if not isinstance(item, dict):
            raise ValueError("not an object")
        return item

    def start(self, lineage: str, serial: int, **extra: Any) -> dict[str, Any]:
        """Create the file with its header line; the header is durable when this returns."""
        header: dict[str, Any] = {
            "mlform_journal": JOURNAL_VERSION,
            "id": str(uuid.uuid4()),
            "lineage": lineage,
            "serial": serial,
            **extra,
        }
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o600)
        except OSError as exc:
            raise JournalError(exc, self.path) from None
        self._opened(fd, 0)
        try:
            self.append(header)
        except BaseException:
            # Not even the header is on disk (a full disk, a key that cannot seal it): leave
            # no empty journal behind.
            self.close(sync=False)
            self.path.unlink(missing_ok=True)
            raise
        fsync_dir(self.path.parent)
        return header

    def resume(self, valid_length: int) -> None:
        """Reopen an existing journal for appending, dropping a torn last line first."""
        try:
            fd = os.open(self.path, os.O_WRONLY | os.O_APPEND)
        except OSError as exc:
            raise JournalError(exc, self.path) from None
        try:
            if os.fstat(fd).st_size != valid_length:
                os.ftruncate(fd, valid_length)
                _sync(fd)
        except OSError as exc:
            os.close(fd)
            raise JournalError(exc, self.path) from None
        self._opened(fd, valid_length)

    def _opened(self, fd: int, base: int) -> None:
        with self._mu:
            self._fd = fd
            self._base = base
            self._written = self._durable = self._wanted = self._queued = 0
            self._pending = []
            self._failure = None

    @property
    def is_open(self) -> bool:
        return self._fd is not None

    def append(self, entry: dict[str, Any]) -> None:
        """Append an entry and return once it is durable."""
        from mlform.state.format import dumps

        self.make_durable(self.queue(dumps(entry, pretty=False)))

    def queue(self, line: str) -> int:
        """Queue an entry already serialised, without writing it; returns the offset its end
        will have, for `make_durable` or `write_and_sync_soon`. Cheap enough to call holding
        a lock; lines reach the file in the order they were queued."""
        if self._fd is None:
            raise RuntimeError("journal is not open")
        if self.encryption is not None:
            line = self.encryption.seal_text(line, "journal")
        data = (line + "\n").encode("utf-8")
        with self._mu:
            self._pending.append(data)
            self._queued += len(data)
            return self._queued

    @property
    def failure(self) -> OSError | None:
        """The write or sync that failed, after which nothing more is written."""
        return self._failure

    def make_durable(self, end: int) -> None:
        """Return once everything queued up to `end` is written and synced; JournalError if
        that cannot be (then it never will: see the module docstring)."""
        try:
            self._sync_to(end)
        except OSError as exc:
            raise JournalError(exc, self.path) from None

    def write_and_sync_soon(self, end: int) -> None:
        """Write everything queued up to `end` now, and sync it in the background.

        Raises JournalError, having written nothing of it, when the write fails or an earlier
        write or sync did: the caller must not act on a line that is not in the file."""
        try:
            self._flush_to(end)
        except OSError as exc:
            raise JournalError(exc, self.path) from None
        self._sync_in_background(end)

    def _flush_to(self, end: int) -> None:
        """Write the queued lines, at least up to `end`; a thread that finds its lines
        written by another's flush returns without a system call."""
        with self._wlock:
            self._flush_locked(end)

    def _flush_locked(self, end: int) -> None:
        # Holding _wlock: the file is neither written by another thread nor closed meanwhile.
        with self._mu:
            if self._written >= end or self._fd is None:
                return
            if self._failure is not None:
                # The lines up to `end` were in a batch that failed, or queued after it.
                raise OSError(self._failure.errno, self._failure.strerror)
            batch = b"".join(self._pending)
            self._pending.clear()
            fd = self._fd
            good = self._base + self._written
        try:
            n = os.write(fd, batch)
            if n != len(batch):
                # Only a full disk cuts a regular file's write short; the rest would fail too.
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        except OSError as exc:
            # Cut off what part of the batch reached the file (a torn line, or whole lines
            # whose threads will hear that they failed), so that the file holds exactly the
            # lines reported written. Shrinking a file needs no free space.
            try:
                os.ftruncate(fd, good)
            except OSError:
                pass
            self._fail(exc)
            raise
        with self._mu:
            self._written += n

    def _fail(self, exc: OSError) -> None:
        """Record the first failure and wake every waiting thread to hear of it."""
        with self._mu:
            if self._failure is None:
                self._failure = exc
            waiters, self._waiters = self._waiters, []
        for _, gate in waiters:
            gate.release()

    def _sync_in_background(self, upto: int) -> None:
        with self._mu:
            if self._fd is None or self._durable >= upto:
                return
            if any(e >= upto for e, _ in self._waiters):
                # A thread waits for a line written after this one: the sync that covers it
                # covers this one too, and waking the syncer would only add a thread switch.
                return
            self._wanted = max(self._wanted, upto)
            self._wake_syncer()

    def _sync_to(self, end: int) -> None:
        """Wait until the first `end` bytes are durable.

        A thread that finds no sync running runs one itself, for every line queued so far;
        the others wait, each on a lock of its own, and are woken once: by the sync that
        covers them, or to run the next one. (Waking every waiter after each sync would have
        fifty threads compete for the interpreter to find out that most must wait again.)"""
        while True:
            with self._mu:
                if self._durable >= end:
                    return
                if self._failure is not None:
                    raise OSError(self._failure.errno, self._failure.strerror)
                if self._fd is None:
                    # Closed: its lines were synced by `close`, or folded into the state.
                    return
                lead = not self._syncing
                if lead:
                    self._syncing = True
                else:
                    gate = _new_lock()
                    gate.acquire()
                    self._waiters.append((end, gate))
            if lead:
                self._run_sync()
            else:
                gate.acquire()

    def _run_sync(self) -> None:
        # The caller set _syncing. Writes the queued lines, syncs, and wakes the waiters the
        # sync covered plus the first one it did not, who runs the next.
        failure: OSError | None = None
        target = -1
        try:
            with self._wlock:
                self._flush_locked(self._queued)
                with self._mu:
                    fd, target = self._fd, self._written
            if fd is not None:
                _sync(fd)
        except OSError as exc:
            failure = exc
        with self._mu:
            self._syncing = False
            if failure is None:
                self._durable = max(self._durable, target)
                wake = [gate for e, gate in self._waiters if e <= self._durable]
                rest = [(e, gate) for e, gate in self._waiters if e > self._durable]
                if rest:
                    wake.append(rest.pop(0)[1])
            else:
                # Every waiter hears of it; what they wrote cannot be called durable.
                if self._failure is None:
                    self._failure = failure
                wake = [gate for _, gate in self._waiters]
                rest = []
            self._waiters = rest
        for gate in wake:
            gate.release()
        if failure is not None:
            raise failure

    def _wake_syncer(self) -> None:
        # Called holding _mu.
        if self._syncer is None:
            self._syncer = threading.Thread(
                target=self._syncs, args=(self._generation,), name="mlform-journal", daemon=True
            )
            self._syncer.start()
        elif self._syncer_idle:
            # Woken only when it sleeps: a busy syncer sees the new offset by itself.
            self._syncer_idle = False
            self._syncer_wake.release()

    def _syncs(self, generation: int) -> None:
        """The background syncer: makes durable what `write_and_sync_soon` wrote, as often as
        asked, taking part in syncs like any waiting thread; it ends when the file it was
        started for is closed."""
        while True:
            with self._mu:
                if self._fd is None or self._generation != generation:
                    return
                idle = self._wanted <= self._durable or self._failure is not None
                self._syncer_idle = idle
                wanted = self._wanted
            if idle:
                self._syncer_wake.acquire()
                continue
            # An intent record need not be durable this very instant: give a waiting
            # thread's sync the chance to cover it, rather than start one that the next
            # result recorded would have to wait behind.
            time.sleep(BACKGROUND_SYNC_DELAY)
            with self._mu:
                if self._wanted <= self._durable:
                    continue
            try:
                self._sync_to(wanted)
            except OSError:
                pass  # the next synced append reports it

    def close(self, sync: bool = True) -> None:
        """Write and (unless `sync` is false: the journal is about to be removed) sync what
        was recorded, then close the file."""
        with self._mu:
            # Never close the file under a sync in flight; then hold the sync slot, so that
            # no thread starts one on a file being closed.
            while self._syncing:
                self._mu.release()
                time.sleep(0.0005)
                self._mu.acquire()
            self._syncing = True
        try:
            with self._wlock:
                # What was recorded reaches the file, and the disk, before it is closed (after
                # a failure nothing more is written: the waiting threads hear of it).
                try:
                    self._flush_locked(self._queued)
                except OSError:
                    pass
                with self._mu:
                    fd = self._fd
                    unsynced = self._written > self._durable and self._failure is None
            if sync and fd is not None and unsynced:
                try:
                    _sync(fd)
                    with self._mu:
                        self._durable = self._written
                except OSError as exc:
                    with self._mu:
                        self._failure = exc
        finally:
            with self._mu:
                if self._fd is not None:
                    os.close(self._fd)
                    self._fd = None
                self._syncing = False
                waiters, self._waiters = self._waiters, []
                if self._syncer is not None and self._syncer_idle:
                    self._syncer_idle = False
                    self._syncer_wake.release()  # it sees the file closed and ends
                self._syncer = None
                self._generation += 1
            for _, gate in waiters:
                gate.release()

    def remove(self) -> None:
        self.close(sync=False)
        try:
            self.path.unlink()
        except FileNotFoundError:
            return
        fsync_dir(self.path.parent)
