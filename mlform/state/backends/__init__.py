"""Where state lives: the `Backend` contract, lock-info and history records, and backend discovery.

A backend stores one state per workspace, keeps every serial it wrote (history), locks a
workspace against a second writer and holds the journal of the operation in progress. Backends
are plugins found by entry point (group `mlform.backends`) through `mlform.sdk.plugins`, the one
registry providers use too; the local one is built in, there even when plugin discovery is off.
Every backend passes `mlform.testing.backend_conformance`.
"""

from __future__ import annotations

import getpass
import os
import re
import socket
import uuid
from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from mlform import __version__
from mlform.diagnostics import suggestion
from mlform.state.errors import LockError, StateError
from mlform.state.journal import Journal
from mlform.state.model import State, now_iso

if TYPE_CHECKING:
    from mlform.state.encryption import Codec

__all__ = [
    "Backend",
    "HistoryEntry",
    "LockInfo",
    "LockError",
    "StateError",
    "load_backend",
    "available_backends",
    "validate_workspace_name",
    "DEFAULT_WORKSPACE",
]

DEFAULT_WORKSPACE = "default"
_WORKSPACE_NAME = re.compile(r"[A-Za-z0-9_-]+")


def validate_workspace_name(name: str) -> str:
    if not isinstance(name, str) or not _WORKSPACE_NAME.fullmatch(name) or len(name) > 90:
        raise StateError(
            f"Invalid workspace name {name!r}",
            "A workspace name uses letters, digits, `-` and `_` only (at most 90 characters).",
        )
    return name


def current_user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no user database (containers): fall back to the uid
        return str(os.getuid()) if hasattr(os, "getuid") else "unknown"


@dataclass
class LockInfo:
    """Who holds a lock: what a second run shows so its user can find the holder."""

    id: str
    operation: str
    who: str
    pid: int
    host: str
    created: str
    version: str = __version__
    path: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    # Set by `Backend.lock` on the record it returns when it replaced the lock of a run that
    # died holding it (local backend only); never stored.
    replaced: LockInfo | None = field(default=None, compare=False, repr=False)

    @classmethod
    def new(cls, operation: str, who: str | None = None, path: str = "") -> LockInfo:
        host = socket.gethostname()
        return cls(
            id=str(uuid.uuid4()),
            operation=operation,
            who=who or f"{current_user()}@{host}",
            pid=os.getpid(),
            host=host,
            created=now_iso(),
            path=path,
        )

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("replaced", None)
        return out

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> LockInfo:
        return cls(
            id=str(d.get("id", "")),
            operation=str(d.get("operation", "")),
            who=str(d.get("who", "")),
            pid=int(d.get("pid", 0) or 0),
            host=str(d.get("host", "")),
            created=str(d.get("created", "")),
            version=str(d.get("version", "")),
            path=str(d.get("path", "")),
            extra=dict(d.get("extra") or {}),
        )

    def holder_alive(self) -> bool | None:
        """Whether the holding process still runs: None when it is on another host."""
        if self.host != socket.gethostname() or self.pid <= 0:
            return None
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True

    def describe(self) -> str:
        lines = [
            "Lock info:",
            f"  ID:        {self.id}",
            f"  Path:      {self.path}",
            f"  Operation: {self.operation}",
            f"  Who:       {self.who}",
            f"  PID:       {self.pid}",
            f"  Version:   {self.version}",
            f"  Created:   {self.created}",
        ]
        return "\n".join(lines)


def _seconds(waited: float) -> str:
    # `1.00035s` or `5.7566e-05s` read as noise; the user set the timeout in whole seconds.
    return f"{waited:.1f}s" if waited >= 0.05 else "0s"


def force_unlock_command(lock_id: str) -> str:
    """The force-unlock command to show a user: one that works where it is shown. Without a
    terminal to confirm on (MLFORM_IN_AUTOMATION, or input that is not a terminal) the command
    refuses unless `--force`, so the hint carries it there."""
    import sys

    try:
        interactive = not os.environ.get("MLFORM_IN_AUTOMATION") and sys.stdin.isatty()
    except (AttributeError, ValueError):  # no stdin at all, or a closed one
        interactive = False
    return f"mlform force-unlock {'' if interactive else '--force '}{lock_id}"


def lock_error(info: LockInfo | None, waited: float, where: str) -> LockError:
    """The error a run gets when it could not take the lock within its timeout."""
    if info is None:
        return LockError(
            f"Error acquiring the state lock on {where}",
            f"Another process holds the lock (it has not written its lock info yet). "
            f"Waited {_seconds(waited)}. Try again, or raise --lock-timeout.",
        )
    stale = info.holder_alive() is False
    summary = f"Error acquiring the state lock: held by {info.who} ({info.operation}) since {info.created}"
    if stale:
        hint = (
            f"The holder's process (PID {info.pid} on this host) is no longer running, so the "
            "lock is probably stale. If no mlform run is using this state, run\n"
            f"  {force_unlock_command(info.id)}"
        )
    else:
        hint = (
            f"Waited {_seconds(waited)} for it. Wait for that run to finish, or raise --lock-timeout. "
            "If the holder is gone (its machine crashed, its run was killed), run\n"
            f"  {force_unlock_command(info.id)}"
        )
    return LockError(summary, f"{info.describe()}\n\n{hint}", info=info)


@dataclass
class HistoryEntry:
    """One serial in a workspace's history: when, who, which operation, what it changed."""

    serial: int
    at: str = ""
    who: Any = None
    operation: str = ""
    ci: dict[str, Any] | None = None
    summary: Any = None
    lineage: str = ""

    @classmethod
    def from_state(cls, state: State) -> HistoryEntry:
        m = state.meta or {}
        return cls(
            serial=state.serial,
            at=str(m.get("at", "")),
            who=m.get("who"),
            operation=str(m.get("operation", "")),
            ci=m.get("ci"),
            summary=m.get("summary"),
            lineage=state.lineage,
        )

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


class Backend(ABC):
    """Storage for states by workspace. Subclasses set `type_name` and implement the methods.

    `config` is the `backend "<type>" { ... }` block as plain data; `workdir` the working folder
    (relative paths in the config are relative to it).
    """

    type_name: ClassVar[str] = ""
    # Whether a lock whose holder died is released with it (an OS lock, as the local
    # backend's), rather than kept until it expires or is force-unlocked (Terraform's rule
    # for remote backends).
    dead_holder_lock_is_released: ClassVar[bool] = False

    def __init__(self, config: dict[str, Any] | None = None, workdir: Path | str = "."):
        self.config = dict(config or {})
        self.workdir = Path(workdir)
        # The state section of the configured encryption (mlform.state.encryption), set by the
        # operation that loads the backend; a backend seals what it writes and opens what it
        # reads with it, the journal each line.
        self.encryption: Codec | None = None

    def describe(self, workspace: str = DEFAULT_WORKSPACE) -> str:
        """Where a workspace's state lives, for messages (a path or a URL)."""
        return f"{self.type_name} backend, workspace {workspace!r}"

    # --- state ------------------------------------------------------------------------------

    @abstractmethod
    def read(self, workspace: str = DEFAULT_WORKSPACE) -> State | None:
        """The latest state of a workspace, or None when it has none yet."""

    @abstractmethod
    def write(self, workspace: str, state: State) -> None:
        """Store `state` atomically as the latest and add it to the history."""

    @abstractmethod
    def history(self, workspace: str = DEFAULT_WORKSPACE) -> list[HistoryEntry]:
        """Every serial kept for a workspace, oldest first."""

    def latest_serial(self, workspace: str = DEFAULT_WORKSPACE) -> int | None:
        """The highest serial the history holds (None: no history yet)."""
        entries = self.history(workspace)
        return entries[-1].serial if entries else None

    def check_writable(self, workspace: str = DEFAULT_WORKSPACE) -> None:
        """Refuse (StateError), before any provider is called, when this workspace's state
        could not be written; a backend that cannot tell cheaply does nothing."""
        return None

    @abstractmethod
    def read_serial(self, workspace: str, serial: int) -> State:
        """One past serial from the history (StateError if it is not kept)."""

    # --- journal ----------------------------------------------------------------------------

    def journal(self, workspace: str = DEFAULT_WORKSPACE) -> Journal:
        """The journal of the operation in progress. By default it is kept on this machine,
        under the working folder, where the next run on this machine finds it; a backend that
        can keep it beside the state (s3: an object per append) overrides this, so that a run
        killed on one machine is recovered from any other."""
        return Journal(
            self.workdir / ".mlform" / "journal" / f"{workspace}.journal", self.encryption
        )

    # --- locking ----------------------------------------------------------------------------

    @abstractmethod
    def lock(self, workspace: str, info: LockInfo, timeout: float = 0.0) -> LockInfo:
        """Take the workspace's lock, waiting up to `timeout` seconds; LockError otherwise."""

    @abstractmethod
    def unlock(self, workspace: str, lock_id: str) -> None:
        """Release a lock this process holds."""

    @abstractmethod
    def lock_info(self, workspace: str = DEFAULT_WORKSPACE) -> LockInfo | None:
        """Who holds the lock now, if anyone."""

    @abstractmethod
    def force_unlock(self, workspace: str, lock_id: str) -> None:
        """Remove a lock whose holder is gone; only when `lock_id` is the holder's ID."""

    # --- workspaces -------------------------------------------------------------------------

    @abstractmethod
    def workspaces(self) -> list[str]:
        """Every workspace, "default" first."""

    @abstractmethod
    def create_workspace(self, name: str) -> None: ...

    @abstractmethod
    def delete_workspace(self, name: str, force: bool = False) -> None: ...

    def require_workspace(self, name: str) -> None:
        validate_workspace_name(name)
        existing = self.workspaces()
        if name != DEFAULT_WORKSPACE and name not in existing:
            raise StateError(
                f"Workspace {name!r} does not exist",
                f"Create it with `mlform workspace new {name}`, or select another one."
                + suggestion(name, existing),
            )


# --- discovery ------------------------------------------------------------------------------
#
# One plugin registry serves providers and backends: `mlform.sdk.plugins` (entry point group
# `mlform.backends`, `register_backend` for tests, `MLFORM_DISABLE_PLUGIN_AUTOLOAD`). The local
# backend is built in, as Terraform's is: it is there even when discovery is off.

BUILTIN_BACKEND = "local"


def available_backends() -> list[str]:
    from mlform.sdk import plugins

    return sorted({BUILTIN_BACKEND, *(i.name for i in plugins.installed_backends())})


def _backend_class(type_name: str) -> type[Any]:
    if type_name == BUILTIN_BACKEND:
        from mlform.state.backends.local import LocalBackend

        return LocalBackend
    from mlform.sdk import plugins

    known = available_backends()
    if type_name not in known:
        raise StateError(
            f"Unknown backend type {type_name!r}",
            f"Installed backends: {', '.join(known)}.{suggestion(type_name, known)} "
            f"A third-party backend is a package declaring an entry point in group "
            f'"{plugins.BACKEND_GROUP}"; install it with pip.',
        )
    try:
        return plugins.load_backend(type_name)
    except plugins.PluginError as exc:
        raise StateError(f"The {type_name!r} backend could not be loaded", str(exc)) from None


def load_backend(type_name: str, config: dict[str, Any] | None, workdir: Path | str) -> Backend:
    """The backend named in a `backend "<type_name>"` block, configured.

    Unknown names and plugins of the wrong shape are StateErrors saying what to install or fix.
    """
    cls = _backend_class(type_name)
    if not issubclass(cls, Backend):
        raise StateError(
            f"The {type_name!r} backend is not an mlform backend",
            f"{cls.__module__}:{cls.__qualname__} must be a subclass of "
            "mlform.state.backends.Backend.",
        )
    return cls(config or {}, Path(workdir))
