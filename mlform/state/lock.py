"""A file lock with holder info, for backends that keep state in files on this machine.

The lock is one file, `<state>.lock.info`: a JSON record naming the holder, held open by the
holder under an OS lock (`fcntl.flock`), which the kernel drops when the holder exits, however
it exits. The record is complete before the file appears (it is written to a temporary file,
locked, and then linked into place), so a run that finds the lock taken always reads who holds
it.

The OS lock is the authority, as in Terraform's local backend: a record whose OS lock is free
was left by a run that died (killed, out of memory, its machine rebooted), and the next run
replaces it, telling its user whose lock it replaced. A record whose OS lock is held blocks until
its holder ends, whatever the record says; `force-unlock` refuses to remove it, since its run is
alive and a second run would change the same state.
"""

from __future__ import annotations

import errno
import json
import os
import time
import uuid
from pathlib import Path

from mlform.state.backends import LockInfo, force_unlock_command, lock_error
from mlform.state.errors import LockError, StateError
from mlform.state.journal import fsync_dir

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: the record alone guards the state
    fcntl = None  # type: ignore[assignment]

POLL_SECONDS = 0.1


def _parse_info(text: str, info_path: Path) -> LockInfo:
    try:
        return LockInfo.from_json(json.loads(text))
    except (ValueError, TypeError, AttributeError):
        raise StateError(
            f"The lock info file {info_path} is damaged",
            "If no mlform run is using this state, delete that file by hand.",
        ) from None


def read_info(info_path: Path) -> LockInfo | None:
    try:
        text = info_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise StateError(
            f"Cannot read the lock file {info_path}",
            f"{getattr(exc, 'strerror', None) or exc}. mlform needs to read and write the "
            "files beside the state; give the user running it access to that folder.",
        ) from None
    if not text:
        # A record written by an mlform before 0.2 while it created the file; treat as damaged
        # only if nobody holds it (see FileLock).
        return None
    return _parse_info(text, info_path)


def _try_flock(fd: int) -> bool:
    if fcntl is None:
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def _held_by_another(path: Path) -> bool | None:
    """Whether a live process holds the OS lock on the file at `path` (None: no file)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        if fcntl is None:
            return True
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        return False
    finally:
        os.close(fd)  # closing drops the shared lock taken to probe


def _read_fd(fd: int) -> str:
    chunks = []
    offset = 0
    while True:
        chunk = os.pread(fd, 65536, offset)
        if not chunk:
            return b"".join(chunks).decode("utf-8", errors="replace")
        chunks.append(chunk)
        offset += len(chunk)


class FileLock:
    """The lock of one state file. `acquire` then `release`; one holder per instance."""

    def __init__(self, info_path: Path):
        self.info_path = info_path
        self._fd: int | None = None
        self._id: str | None = None
        # The record of a dead holder that `acquire` replaced, for the caller to report.
        self.replaced: LockInfo | None = None

    def _prepared(self, info: LockInfo) -> tuple[Path, int]:
        """A temporary file holding the complete record, already under our OS lock."""
        tmp = self.info_path.with_name(
            f".{self.info_path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp"
        )
        fd = os.open(tmp, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            data = json.dumps(info.to_json(), indent=2).encode("utf-8")
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
            _try_flock(fd)  # a file nobody else knows yet: always granted
        except BaseException:
            os.close(fd)
            tmp.unlink(missing_ok=True)
            raise
        return tmp, fd

    def _try_take(self, info: LockInfo) -> LockInfo | None:
        """Take the lock (True-ish: returns None) or return the live holder's record.

        Raises _Retry when the lock file changed under us (its holder released it meanwhile)."""
        tmp, fd = self._prepared(info)
        try:
            try:
                os.link(tmp, self.info_path)
            except FileExistsError:
                holder = self._take_over_if_dead(tmp)
                if holder is not None:
                    raise _Held(holder) from None
            except OSError as exc:
                if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP):
                    raise
                # A filesystem without hard links: rename only when no file is there (a
                # narrow window remains, where two runs both see none).
                if self.info_path.exists():
                    holder = self._take_over_if_dead(tmp)
                    if holder is not None:
                        raise _Held(holder) from None
                else:
                    os.replace(tmp, self.info_path)
        except BaseException:
            os.close(fd)
            tmp.unlink(missing_ok=True)
            raise
        tmp.unlink(missing_ok=True)  # linked (the name stays) or renamed (already gone)
        fsync_dir(self.info_path.parent)
        self._fd, self._id = fd, info.id
        return None

    def _take_over_if_dead(self, tmp: Path) -> LockInfo | None:
        """The lock file exists. If its OS lock is free its holder died: replace it with ours
        (`tmp`), remembering whose it was, and return None. Otherwise return the live holder."""
        try:
            old = os.open(self.info_path, os.O_RDWR)
        except FileNotFoundError:
            raise _Retry() from None
        try:
            text = _read_fd(old)
            if not _try_flock(old):
                if not text:
                    # A holder of an older mlform writing its record right now.
                    raise _Retry()
                return _parse_info(text, self.info_path)
            try:
                same = os.stat(self.info_path).st_ino == os.fstat(old).st_ino
            except FileNotFoundError:
                same = False
            if not same:
                raise _Retry()  # released (unlinked) or replaced meanwhile: look again
            # We hold the dead holder's OS lock, so no other run replaces it at the same time;
            # the rename makes our complete record appear in one step.
            try:
                self.replaced = _parse_info(text, self.info_path) if text else None
            except StateError:
                self.replaced = None
            os.replace(tmp, self.info_path)
            return None
        finally:
            os.close(old)

    def acquire(self, info: LockInfo, timeout: float, where: str) -> LockInfo:
        self.info_path.parent.mkdir(parents=True, exist_ok=True)
        start = time.monotonic()
        deadline = start + max(timeout, 0.0)
        self.replaced = None
        while True:
            try:
                self._try_take(info)
                return info
            except _Retry:
                continue
            except _Held as held:
                holder = held.info
            except OSError as exc:
                # A full disk or a read-only folder: the lock cannot be taken, and so nothing
                # was touched. Say which file and why, not an internal error.
                raise LockError(
                    "Cannot lock the state",
                    f"Writing the lock file {self.info_path} failed: {exc.strerror or exc}. "
                    "Nothing was changed. Free space (or fix the folder's permissions) and run "
                    "the command again.",
                ) from exc
            if fcntl is None and holder.holder_alive() is False:
                # Without OS locks the record is all there is: a dead holder is reported.
                raise lock_error(holder, time.monotonic() - start, where)
            if time.monotonic() >= deadline:
                raise lock_error(holder, time.monotonic() - start, where)
            time.sleep(min(POLL_SECONDS, max(deadline - time.monotonic(), 0.0)))

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            same = os.stat(self.info_path).st_ino == os.fstat(self._fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            # Unlink while still holding the OS lock; a waiter that opened this file notices.
            self.info_path.unlink(missing_ok=True)
        os.close(self._fd)
        self._fd, self._id = None, None

    @property
    def held(self) -> bool:
        return self._fd is not None


class _Retry(Exception):
    """The lock file changed while we looked at it."""


class _Held(Exception):
    def __init__(self, info: LockInfo):
        self.info = info
        super().__init__(info.id)


def force_unlock(info_path: Path, lock_id: str) -> None:
    current = read_info(info_path)
    if current is None:
        raise StateError("The state is not locked", f"There is no lock to remove (no {info_path}).")
    if current.id != lock_id:
        raise LockError(
            f"Lock ID {lock_id!r} does not match the lock held",
            f"{current.describe()}\n\nTo remove that lock, run `{force_unlock_command(current.id)}`.",
            info=current,
        )
    if _held_by_another(info_path):
        raise LockError(
            "The lock is held by a running mlform",
            f"{current.describe()}\n\nIts process (PID {current.pid} on {current.host}) still "
            "holds the lock on this machine, and it is released when that run ends, however it "
            "ends. Removing it would let a second run change the same state at once. Wait for "
            "that run, or stop it.",
            info=current,
        )
    info_path.unlink(missing_ok=True)
    fsync_dir(info_path.parent)
