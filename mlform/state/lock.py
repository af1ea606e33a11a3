"""A file lock with holder info, for backends that keep state in files on this machine.

Two layers. An OS lock (`fcntl.flock`) on `<state>.lock` is held for the whole operation: the
kernel drops it when the holder exits, however it exits, so two live runs can never both hold it.
A lock-info record (`<state>.lock.info`, JSON) names the holder so a second run can say who it
waits for. The record is the authority, as Terraform users expect: a record left behind by a run
that died (the OS lock is free, the record is not) still blocks, and the message says the holder's
process is gone and to run `mlform force-unlock ID`.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from mlform.state.backends import LockInfo, lock_error
from mlform.state.errors import LockError, StateError
from mlform.state.journal import fsync_dir

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: the record alone guards the state
    fcntl = None  # type: ignore[assignment]

POLL_SECONDS = 0.1


def read_info(info_path: Path) -> LockInfo | None:
    try:
        text = info_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        return LockInfo.from_json(json.loads(text))
    except (ValueError, TypeError, AttributeError):
        raise StateError(
            f"The lock info file {info_path} is damaged",
            "If no mlform run is using this state, delete that file by hand.",
        ) from None


def _write_info(info_path: Path, info: LockInfo) -> None:
    tmp = info_path.with_name(info_path.name + f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, json.dumps(info.to_json(), indent=2).encode("utf-8"))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, info_path)
    fsync_dir(info_path.parent)


class FileLock:
    """The lock of one state file. `acquire` then `release`; one holder per instance."""

    def __init__(self, lock_path: Path, info_path: Path):
        self.lock_path = lock_path
        self.info_path = info_path
        self._fd: int | None = None
        self._id: str | None = None

    def _try_os_lock(self) -> int | None:
        """An fd holding the OS lock on the current lock file, or None if another holds it."""
        while True:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
            if fcntl is None:
                return fd
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                return None
            # A releasing holder unlinks the file: make sure we locked the file at the path.
            try:
                same = os.stat(self.lock_path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
            if same:
                return fd
            os.close(fd)

    def acquire(self, info: LockInfo, timeout: float, where: str) -> LockInfo:
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        start = time.monotonic()
        deadline = start + max(timeout, 0.0)
        while True:
            fd = self._try_os_lock()
            if fd is not None:
                existing = read_info(self.info_path)
                if existing is None:
                    try:
                        _write_info(self.info_path, info)
                    except BaseException:
                        os.close(fd)
                        raise
                    self._fd, self._id = fd, info.id
                    return info
                # A record with no live OS lock: its holder died without releasing.
                os.close(fd)
                if existing.holder_alive() is False:
                    raise lock_error(existing, time.monotonic() - start, where)
            if time.monotonic() >= deadline:
                raise lock_error(read_info(self.info_path), time.monotonic() - start, where)
            time.sleep(min(POLL_SECONDS, max(deadline - time.monotonic(), 0.0)))

    def release(self) -> None:
        if self._fd is None:
            return
        try:
            current = read_info(self.info_path)
        except StateError:
            current = None
        if current is not None and current.id == self._id:
            self.info_path.unlink(missing_ok=True)
        # Unlink while still holding the OS lock; a waiter that opened the old file notices.
        self.lock_path.unlink(missing_ok=True)
        os.close(self._fd)
        self._fd, self._id = None, None

    @property
    def held(self) -> bool:
        return self._fd is not None


def force_unlock(info_path: Path, lock_id: str) -> None:
    current = read_info(info_path)
    if current is None:
        raise StateError("The state is not locked", f"There is no lock to remove (no {info_path}).")
    if current.id != lock_id:
        raise LockError(
            f"Lock ID {lock_id!r} does not match the lock held",
            f"{current.describe()}\n\nTo remove that lock, run `mlform force-unlock {current.id}`.",
            info=current,
        )
    info_path.unlink(missing_ok=True)
    fsync_dir(info_path.parent)
