"""The local backend: state in a JSON file in the working folder, history and lock beside it.

    mlform.state.json                  the default workspace (config `path` moves it)
    mlform.state.json.journal          the operation in progress (see mlform.state.journal)
    mlform.state.json.lock.info        the lock, naming who holds it (see mlform.state.lock)
    mlform.state.json.history/         one file per serial, 00000001.json ..., never rewritten
    mlform.state.d/<workspace>/mlform.state.json   any other workspace, with the same companions

Every file is created with mode 0600 (states hold secrets); writes are atomic (temporary file,
fsync, rename, fsync of the folder), so a crash leaves the old state or the new one, never half.
With encryption configured (`self.encryption`, see mlform.state.encryption), the state, each
history serial, each line of the history index and each line of the journal are sealed; what
was written before (another key, or none) is read through the configured fallback.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from pathlib import Path
from typing import Any

from mlform.state.backends import (
    DEFAULT_WORKSPACE,
    Backend,
    HistoryEntry,
    LockInfo,
    validate_workspace_name,
)
from mlform.state.errors import LockError, StateError
from mlform.state.format import load_file, load_text, state_dumps
from mlform.state.journal import Journal, fsync_dir
from mlform.state.lock import FileLock, force_unlock, read_info
from mlform.state.model import State

DEFAULT_PATH = "mlform.state.json"
DEFAULT_WORKSPACE_DIR = "mlform.state.d"
STATE_FILE = "mlform.state.json"
SERIAL_DIGITS = 8


def atomic_write(path: Path, text: str, exclusive: bool = False) -> None:
    """Write `text` to `path` so that a crash leaves either the old file or the new one.

    With `exclusive`, refuse (FileExistsError) when `path` already exists.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        try:
            view = memoryview(text.encode("utf-8"))
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        if exclusive:
            # link() fails if the target exists: no window where an existing file is replaced.
            try:
                os.link(tmp, path)
            except FileExistsError:
                raise
            except OSError:
                # A filesystem without hard links: check, then rename.
                if path.exists():
                    raise FileExistsError(path) from None
                os.replace(tmp, path)
            else:
                os.unlink(tmp)
        else:
            os.replace(tmp, path)
    except BaseException:
        # A full disk or a failed rename leaves no temporary file behind.
        tmp.unlink(missing_ok=True)
        raise
    fsync_dir(path.parent)


class LocalBackend(Backend):
    """State in files on this machine. Config: `path` (default mlform.state.json) and
    `workspace_dir` (default mlform.state.d), both relative to the working folder."""

    type_name = "local"
    dead_holder_lock_is_released = True

    def __init__(self, config: dict[str, Any] | None = None, workdir: Path | str = "."):
        super().__init__(config, workdir)
        unknown = set(self.config) - {"path", "workspace_dir"}
        if unknown:
            raise StateError(
                f"Unsupported argument {sorted(unknown)[0]!r} in the local backend",
                "The local backend takes `path` and `workspace_dir`.",
            )
        self.path = self.workdir / str(self.config.get("path") or DEFAULT_PATH)
        self.workspace_dir = self.workdir / str(
            self.config.get("workspace_dir") or DEFAULT_WORKSPACE_DIR
        )
        self._locks: dict[str, FileLock] = {}

    # --- where things are -------------------------------------------------------------------

    def state_path(self, workspace: str = DEFAULT_WORKSPACE) -> Path:
        validate_workspace_name(workspace)
        if workspace == DEFAULT_WORKSPACE:
            return self.path
        return self.workspace_dir / workspace / STATE_FILE

    def _companion(self, workspace: str, suffix: str) -> Path:
        p = self.state_path(workspace)
        return p.with_name(p.name + suffix)

    def history_dir(self, workspace: str = DEFAULT_WORKSPACE) -> Path:
        return self._companion(workspace, ".history")

    def _history_file(self, workspace: str, serial: int) -> Path:
        return self.history_dir(workspace) / f"{serial:0{SERIAL_DIGITS}d}.json"

    def describe(self, workspace: str = DEFAULT_WORKSPACE) -> str:
        return str(self.state_path(workspace))

    # --- state ------------------------------------------------------------------------------

    def _load(self, path: Path) -> State:
        """A state file (the latest or a history serial), decrypted when it is sealed."""
        from mlform.state.encryption import is_envelope, open_bytes

        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            raise
        except OSError:
            return load_file(path)  # the error that says how to give access
        if self.encryption is None and not is_envelope(raw):
            return load_file(path)
        plain = open_bytes(raw, self.encryption, "state", str(path))
        try:
            text = plain.decode("utf-8")
        except UnicodeDecodeError:
            raise StateError(
                f"The state file {path} is corrupt",
                "It is not UTF-8 text; mlform will not overwrite it.",
            ) from None
        return load_text(text, str(path))

    def _seal(self, text: str) -> str:
        if self.encryption is None:
            return text
        return self.encryption.seal_text(text, "state") + "\n"

    def read(self, workspace: str = DEFAULT_WORKSPACE) -> State | None:
        path = self.state_path(workspace)
        try:
            state = self._load(path)
        except FileNotFoundError:
            self._refuse_lost_state(workspace)
            return None
        self._refuse_state_behind_history(workspace, state)
        return state

    def latest_serial(self, workspace: str = DEFAULT_WORKSPACE) -> int | None:
        """The highest serial the history holds (None: no history yet)."""
        hist = self.history_dir(workspace)
        try:
            names = [e.name for e in os.scandir(hist)]
        except (FileNotFoundError, NotADirectoryError):
            return None
        except OSError as exc:
            raise StateError(
                f"Cannot read the history folder {hist}: {exc.strerror or exc}",
                "Give the user running mlform read and write access to it.",
            ) from None
        serials = [int(n[:-5]) for n in names if n.endswith(".json") and n[:-5].isdigit()]
        return max(serials) if serials else None

    def _refuse_state_behind_history(self, workspace: str, state: State) -> None:
        """A state restored by hand from an older copy: an apply would carry out its changes
        and then fail to write the next serial, which the history already holds."""
        latest = self.latest_serial(workspace)
        if latest is None or latest <= state.serial:
            return
        path = self.state_path(workspace)
        newest = self._history_file(workspace, latest)
        raise StateError(
            f"The state file {path} has serial {state.serial}, but its history already holds "
            f"serial {latest}",
            "It was probably restored by hand from an older copy. mlform stops before asking "
            f"any provider anything: the next serial it would write ({state.serial + 1}) is "
            "taken. To go on from the latest serial, run\n"
            f"  mlform state push --force {newest}\n"
            "or, to make this file's content the latest state, copy it aside and "
            "`mlform state push --force` that copy.",
        )

    def check_writable(self, workspace: str = DEFAULT_WORKSPACE) -> None:
        """Refuse, before any provider is called, when the state or history folder cannot be
        written (the operation could not record what it did), or the configured encryption
        could not seal it (a missing passphrase or package)."""
        if self.encryption is not None:
            self.encryption.check_ready()
        path = self.state_path(workspace)
        for folder in (path.parent, self.history_dir(workspace)):
            if not folder.is_dir():
                continue
            probe = folder / f".mlform-write-check.{os.getpid()}.tmp"
            try:
                fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except OSError as exc:
                if exc.errno == errno.EEXIST:
                    continue
                what = "history folder" if folder != path.parent else "folder of the state"
                raise StateError(
                    f"Cannot write to the {what} {folder}: {exc.strerror or exc}",
                    "mlform records every operation there (the state, its history, the journal "
                    "and the lock); nothing was changed and no provider was called. Make it "
                    f"writable (for example `chmod u+w {folder}`, or mount it read-write) and "
                    "run again.",
                ) from None
            os.close(fd)
            probe.unlink(missing_ok=True)

    def _refuse_lost_state(self, workspace: str) -> None:
        """A state file deleted by hand while its history is kept: starting afresh would create
        every object again and then fail to write serial 1, which the history already holds."""
        hist = self.history_dir(workspace)
        if not hist.is_dir():
            return
        serials = sorted(int(f.stem) for f in hist.glob("*.json") if f.stem.isdigit())
        if not serials:
            return
        path = self.state_path(workspace)
        latest = self._history_file(workspace, serials[-1])
        raise StateError(
            f"The state file {path} is missing, but its history holds serials "
            f"{serials[0]} to {serials[-1]}",
            "mlform will not start a new state over a kept history: it would plan every object "
            f"again. Restore the latest serial with\n  cp {latest} {path}\nor, to really start "
            f"over, move {hist} away first.",
        )

    def write(self, workspace: str, state: State) -> None:
        path = self.state_path(workspace)
        hist = self.history_dir(workspace)
        target = self._history_file(workspace, state.serial)
        if target.exists():
            raise StateError(
                f"The history of {path} already holds serial {state.serial}",
                "History files are never rewritten. The state was not written; another run "
                "may have written this workspace without its lock.",
            )
        if hist.exists():
            os.chmod(hist, 0o700)
        else:
            hist.mkdir(mode=0o700, parents=True)
        # Sealed before anything is written: a refusal (enforced encryption) changes nothing.
        text = self._seal(state_dumps(state))
        self._backfill_history(workspace)
        atomic_write(path, text)
        # State first, history second: a crash between the two is repaired by the next write's
        # backfill, while the reverse order could leave a history serial the state never had.
        atomic_write(target, text, exclusive=True)
        self._append_index(workspace, HistoryEntry.from_state(state))

    def _backfill_history(self, workspace: str) -> None:
        path = self.state_path(workspace)
        if not path.exists():
            return
        try:
            current = self._load(path)
        except StateError:
            return
        target = self._history_file(workspace, current.serial)
        if not target.exists():
            # The file as it is (sealed with whatever key wrote it).
            atomic_write(target, path.read_text(encoding="utf-8"), exclusive=True)
            self._append_index(workspace, HistoryEntry.from_state(current))

    def _append_index(self, workspace: str, entry: HistoryEntry) -> None:
        # The index only spares `history` reading every serial's file, which it falls back to
        # for a serial the index lacks: a full disk here does not fail a state already written.
        index = self.history_dir(workspace) / "index.jsonl"
        try:
            fd = os.open(index, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        except OSError:
            return
        line = json.dumps(entry.to_json(), default=str)
        try:
            if self.encryption is not None:
                line = self.encryption.seal_text(line, "history-index")
            os.write(fd, (line + "\n").encode("utf-8"))
            os.fsync(fd)
        except OSError:
            pass
        finally:
            os.close(fd)

    def history(self, workspace: str = DEFAULT_WORKSPACE) -> list[HistoryEntry]:
        hist = self.history_dir(workspace)
        if not hist.is_dir():
            return []
        indexed: dict[int, HistoryEntry] = {}
        index = hist / "index.jsonl"
        if index.exists():
            from mlform.state.encryption import is_envelope, open_bytes

            for line in index.read_text(encoding="utf-8").splitlines():
                try:
                    if is_envelope(line) or self.encryption is not None:
                        line = open_bytes(
                            line.encode("utf-8"), self.encryption, "history-index", str(index)
                        ).decode("utf-8")
                    d = json.loads(line)
                    indexed[int(d["serial"])] = HistoryEntry(**d)
                except (ValueError, KeyError, TypeError, StateError):
                    # A torn last line, or one this key cannot open: the file itself is read
                    # below (and says what is wrong, if anything).
                    continue
        out = []
        for f in hist.glob("*.json"):
            if not f.stem.isdigit():
                continue
            serial = int(f.stem)
            entry = indexed.get(serial)
            if entry is None:
                entry = HistoryEntry.from_state(self._load(f))
            out.append(entry)
        return sorted(out, key=lambda e: e.serial)

    def read_serial(self, workspace: str, serial: int) -> State:
        f = self._history_file(workspace, serial)
        if not f.exists():
            kept = [e.serial for e in self.history(workspace)]
            have = f"Serials kept: {kept[0]} to {kept[-1]}." if kept else "No history is kept yet."
            raise StateError(
                f"Serial {serial} is not in the history of workspace {workspace!r}", have
            )
        return self._load(f)

    # --- journal ----------------------------------------------------------------------------

    def journal(self, workspace: str = DEFAULT_WORKSPACE) -> Journal:
        return Journal(self._companion(workspace, ".journal"), self.encryption)

    # --- locking ----------------------------------------------------------------------------

    def lock(self, workspace: str, info: LockInfo, timeout: float = 0.0) -> LockInfo:
        path = self.state_path(workspace)
        info.path = str(path)
        lock = FileLock(self._companion(workspace, ".lock.info"))
        lock.acquire(info, timeout, str(path))
        info.replaced = lock.replaced
        self._locks[info.id] = lock
        return info

    def unlock(self, workspace: str, lock_id: str) -> None:
        lock = self._locks.pop(lock_id, None)
        if lock is not None:
            lock.release()

    def lock_info(self, workspace: str = DEFAULT_WORKSPACE) -> LockInfo | None:
        return read_info(self._companion(workspace, ".lock.info"))

    def force_unlock(self, workspace: str, lock_id: str) -> None:
        force_unlock(self._companion(workspace, ".lock.info"), lock_id)

    # --- workspaces -------------------------------------------------------------------------

    def workspaces(self) -> list[str]:
        names = [DEFAULT_WORKSPACE]
        if self.workspace_dir.is_dir():
            for d in sorted(self.workspace_dir.iterdir()):
                if d.is_dir() and d.name != DEFAULT_WORKSPACE:
                    try:
                        names.append(validate_workspace_name(d.name))
                    except StateError:
                        continue
        return names

    def create_workspace(self, name: str) -> None:
        validate_workspace_name(name)
        if name in self.workspaces():
            raise StateError(
                f"Workspace {name!r} already exists",
                f"Select it with `mlform workspace select {name}`.",
            )
        self.workspace_dir.mkdir(parents=True, exist_ok=True)
        (self.workspace_dir / name).mkdir(mode=0o700)

    def delete_workspace(self, name: str, force: bool = False) -> None:
        validate_workspace_name(name)
        if name == DEFAULT_WORKSPACE:
            raise StateError("The default workspace cannot be deleted")
        if name not in self.workspaces():
            raise StateError(f"Workspace {name!r} does not exist")
        info = self.lock_info(name)
        if info is not None:
            raise LockError(
                f"Workspace {name!r} is locked by {info.who} ({info.operation})",
                info.describe(),
                info=info,
            )
        state = self.read(name)
        if not force:
            if state is not None and len(state) > 0:
                raise StateError(
                    f"Workspace {name!r} is not empty",
                    f"It manages {len(state)} object(s). Destroy them first "
                    "(`mlform destroy` in that workspace), or delete it anyway with `--force`, "
                    "which forgets them without destroying them.",
                )
            if self.journal(name).exists():
                raise StateError(
                    f"Workspace {name!r} has an unfinished operation",
                    "Its journal holds operations not yet folded into its state. Run a plan or "
                    "apply in it first, or delete it anyway with `--force`.",
                )
        shutil.rmtree(self.workspace_dir / name)
        fsync_dir(self.workspace_dir)
