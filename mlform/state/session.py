"""A state session: the one way an operation reads, changes and writes a workspace's state.

    with StateSession.open(backend, "default", operation="apply") as sess:
        sess.begin_create(addr, token, provider)   # journaled before the provider is called
        sess.put_instance(addr, provider, record)  # journaled (fsync'd) as soon as it is known
        sess.commit({"summary": {...}})            # one atomic rewrite as serial + 1

Opening locks the workspace, reads the latest state and replays any journal a crashed run left,
so `sess.state` is everything known to exist. Each change is one appended, fsync'd journal line,
so its cost is the size of the change; `commit` folds the journal into a single state write that
joins the history. Leaving the `with` without committing keeps the journal for the next run and
releases the lock.
"""

from __future__ import annotations

import errno
import functools
import json
import os
import socket
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TypeVar

from mlform import __version__
from mlform.addrs import AbsResourceInstance
from mlform.diagnostics import Diagnostic, warning
from mlform.state.backends import DEFAULT_WORKSPACE, Backend, LockInfo
from mlform.state.errors import JournalError, StateError, notify
from mlform.state.format import dumps, instance_from_json, instance_to_json
from mlform.state.journal import Journal
from mlform.state.model import (
    InstanceRecord,
    OutputRecord,
    PendingCreate,
    State,
    as_instance,
    now_iso,
)


def detect_ci() -> dict[str, Any] | None:
    """The CI run this process belongs to, as recorded in each serial's meta; None outside CI
    (one detector for state and lineage: `mlform.lineage.capture.ci_run`)."""
    from mlform.ci import ci_run

    return ci_run()


F = TypeVar("F", bound=Callable[..., Any])


def _serialized(method: F) -> F:
    """One change at a time: an apply records from many worker threads."""

    @functools.wraps(method)
    def wrapper(self: StateSession, *args: Any, **kwargs: Any) -> Any:
        with self._mutex:
            return method(self, *args, **kwargs)

    return wrapper  # type: ignore[return-value]


def _who(who: str | None) -> dict[str, str]:
    if who is None:
        from mlform.ci import applied_by

        return applied_by()  # in CI, the run's actor
    user, _, host = who.partition("@")
    return {"user": user, "host": host or socket.gethostname()}


@dataclass(frozen=True)
class Recovered:
    """One journal entry replayed into state when a session opened after a crash."""

    op: str  # put | remove | begin_create | resolve
    addr: str

    def __str__(self) -> str:
        verb = {
            "put": "recorded",
            "remove": "removed",
            "begin_create": "create in progress (to be looked up by its token)",
            "resolve": "pending create resolved",
        }.get(self.op, self.op)
        return f"{self.addr}: {verb}"


class StateSession:
    """One operation's hold on a workspace's state. Create with `StateSession.open`."""

    def __init__(
        self,
        backend: Backend,
        workspace: str,
        operation: str,
        who: str | None,
    ):
        self.backend = backend
        self.workspace = workspace
        self.operation = operation
        self.who = who
        self.lock_info: LockInfo | None = None
        self.journal: Journal = backend.journal(workspace)
        self.state: State = State.empty()
        self.recovered: list[Recovered] = []
        # Warnings for the user (a dead run's lock replaced), also sent to `notify`.
        self.notices: list[Diagnostic] = []
        self.existed = False
        # Why the stored state could not be used, when it was opened with `recover`.
        self.unreadable: StateError | None = None
        self._keep_journal = False
        self._dirty = False
        self._base_outputs: Any = {}
        self._journal_header: dict[str, Any] | None = None
        self._closed = False
        self._mutex = threading.RLock()
        self._resume_length: int | None = None

    # --- opening ----------------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        backend: Backend,
        workspace: str = DEFAULT_WORKSPACE,
        operation: str = "apply",
        lock: bool = True,
        lock_timeout: float = 0.0,
        who: str | None = None,
        recover: bool = False,
    ) -> StateSession:
        """Lock (unless `lock` is false) and read the workspace's state.

        An operation that writes (any but "plan" and "read") is refused at once when the state
        could not be written, before any provider is called. With `recover` (a forced `state
        push`), a state that cannot be read or trusted does not stop the session: it starts
        empty, with the reason in `unreadable`, so that a good state can replace it."""
        backend.require_workspace(workspace)
        sess = cls(backend, workspace, operation, who)
        if lock:
            info = LockInfo.new(operation, who)
            sess.lock_info = backend.lock(workspace, info, lock_timeout)
        try:
            if lock and operation not in ("plan", "read"):
                backend.check_writable(workspace)
            sess._load(recover)
        except BaseException:
            sess.close()
            raise
        if sess.lock_info is not None and sess.lock_info.replaced is not None:
            sess._say_lock_replaced(sess.lock_info.replaced)
        return sess

    def _say_lock_replaced(self, dead: LockInfo) -> None:
        """A warning naming the run that died holding the lock, and what its journal gave."""
        ops = [r.op for r in self.recovered]
        if ops:
            parts = [f"{ops.count('put')} objects recorded"]
            if ops.count("remove"):
                parts.append(f"{ops.count('remove')} removed")
            if self.state.pending:
                parts.append(
                    f"{len(self.state.pending)} creates whose answer was lost, to be looked up "
                    "by their tokens"
                )
            replayed = "Its journal was replayed: " + ", ".join(parts) + "."
        else:
            replayed = "It left no unfinished operations to replay."
        diag = warning(
            f"Replaced the lock of a run that ended without releasing it: {dead.who} "
            f"({dead.operation}), PID {dead.pid} on {dead.host or 'this host'}, "
            f"since {dead.created}",
            f"Lock ID {dead.id}. Its process no longer holds the lock (it was killed, or its "
            f"machine restarted), so this run took it over. {replayed}",
        )
        self.notices.append(diag)
        notify(diag)

    def _load(self, recover: bool = False) -> None:
        try:
            prior = self.backend.read(self.workspace)
        except StateError as exc:
            if not recover:
                raise
            # Replaced as a whole by the caller; a journal left on it cannot be replayed, and
            # is left for the user (the next run says it does not apply to the new state).
            self.unreadable = exc
            self.state = State.empty()
            self._base_outputs = self._outputs_json()
            self._keep_journal = True
            return
        self.existed = prior is not None
        contents = self.journal.read()
        if contents is not None and not contents.header:
            # Only a torn header: nothing was recorded before the crash (or, seen without the
            # lock, a run is writing its header right now: leave its file alone).
            if self.lock_info is not None:
                self.journal.remove()
            contents = None
        if contents is not None:
            header = contents.header
            folded = prior is not None and prior.meta.get("folded_journal") == header.get("id")
            if folded:
                # The crash came after the commit that folded it and before its removal.
                if self.lock_info is not None:
                    self.journal.remove()
                contents = None
            elif prior is None and header.get("serial") == 0:
                prior = State.empty(lineage=header["lineage"])
            elif prior is None or (
                header.get("lineage") != prior.lineage or header.get("serial") != prior.serial
            ):
                have = (
                    "no state"
                    if prior is None
                    else f"serial {prior.serial} of lineage {prior.lineage}"
                )
                raise StateError(
                    f"The state journal {self.journal.path} does not apply to the current state",
                    f"It records operations on serial {header.get('serial')} of lineage "
                    f"{header.get('lineage')}, but {self.backend.describe(self.workspace)} holds "
                    f"{have}. The state was replaced while operations were unfinished. Inspect "
                    "the journal (one JSON line per operation), `mlform import` what it records "
                    "that the state lacks, then move the journal away.",
                )
        self.state = prior if prior is not None else State.empty()
        self._base_outputs = self._outputs_json()
        if contents is not None:
            for entry in contents.entries:
                self._apply_entry(entry)
                self.recovered.append(Recovered(entry.get("op", "?"), entry.get("addr", "")))
            self._resume_length = contents.valid_length
            self._journal_header = contents.header
            self._dirty = True

    def _apply_entry(self, entry: dict[str, Any]) -> None:
        op = entry.get("op")
        addr = entry.get("addr", "")
        if op == "put":
            self.state.set_instance(
                addr, entry.get("provider", ""), instance_from_json(entry["instance"])
            )
            self.state.drop_pending(addr)
        elif op == "remove":
            self.state.remove_instance(addr)
        elif op == "begin_create":
            self.state.add_pending(
                PendingCreate(
                    addr=addr,
                    token=entry["token"],
                    provider=entry.get("provider", ""),
                    at=entry.get("at", ""),
                )
            )
        elif op == "resolve":
            self.state.drop_pending(addr)
        else:
            raise StateError(
                f"The state journal {self.journal.path} holds an unknown operation {op!r}",
                "It was probably written by a newer mlform; use that version to finish it.",
            )

    # --- recording --------------------------------------------------------------------------

    def begin_create(self, addr: AbsResourceInstance | str, token: str, provider: str) -> None:
        """Record that a create is about to be sent with this idempotency token. The entry is
        in the journal file when this returns, so a killed process leaves it behind; its sync
        to disk runs while the call is in flight, and the `put_instance` of the result waits
        for it, so the create is durable once its result is.

        Raises JournalError when the entry could not be written (a full disk): the create
        must then not be sent."""
        key = str(as_instance(addr))
        p = PendingCreate(addr=key, token=token, provider=provider, at=now_iso())
        line = dumps(
            {"op": "begin_create", "addr": key, "token": token, "provider": provider, "at": p.at},
            pretty=False,
        )
        with self._mutex:
            end = self._queue(line)
            self.state.add_pending(p)
        try:
            self.journal.write_and_sync_soon(end)
        except JournalError:
            with self._mutex:
                self.state.drop_pending(key)  # never sent: there is nothing to look up
            raise

    def put_instance(
        self, addr: AbsResourceInstance | str, provider: str, record: InstanceRecord
    ) -> InstanceRecord:
        """Record an instance as it now exists (durably), replacing what state had for `addr`.

        `created_at` is kept from the prior record (or set now); `updated_at` is set now. State
        keeps its own copy, exactly what the journal holds, so later changes to `record` by the
        caller do not reach state. Returns that copy.
        """
        inst = as_instance(addr)
        key = str(inst)
        now = now_iso()
        if not record.created_at:
            with self._mutex:
                prior = self.state.instance(inst)
            record.created_at = prior.created_at if prior and prior.created_at else now
        record.updated_at = now
        record.index_key = inst.key
        # Serialised and copied outside the lock: many threads record at once.
        line = dumps(
            {
                "op": "put",
                "addr": key,
                "provider": provider,
                "instance": instance_to_json(record, as_change=True),
            },
            pretty=False,
        )
        stored = instance_from_json(json.loads(line)["instance"])
        with self._mutex:
            end = self._queue(line)
            self.state.set_instance(inst, provider, stored)
            self.state.drop_pending(key)
        # The sync waits outside the lock, so other threads queue meanwhile and one sync
        # covers them all (group commit); the change is durable when this returns.
        self.journal.make_durable(end)
        return stored

    def _queue(self, line: str) -> int:
        # Holding _mutex: journal order is the order changes reach `self.state`.
        self._check_open()
        if not self.journal.is_open:
            self._record_header()
        self._dirty = True
        return self.journal.queue(line)

    def _record_header(self) -> None:
        if self._resume_length is not None:
            # Continue the journal a crashed run left (dropping a torn last line first); opened
            # only now, so that a session that never writes never touches another's journal.
            self.journal.resume(self._resume_length)
            self._resume_length = None
            return
        self._journal_header = self.journal.start(
            self.state.lineage,
            self.state.serial,
            workspace=self.workspace,
            operation=self.operation,
            started=now_iso(),
            pid=os.getpid(),
        )

    def remove_instance(self, addr: AbsResourceInstance | str) -> None:
        """Record (durably) that an instance no longer exists."""
        key = str(as_instance(addr))
        line = dumps({"op": "remove", "addr": key}, pretty=False)
        with self._mutex:
            end = self._queue(line)
            self.state.remove_instance(key)
        self.journal.make_durable(end)

    def forget_object(self, addr: AbsResourceInstance | str, provider: str) -> None:
        """Record (durably) that the object at `addr` is gone. Deposed objects the instance
        still has stay, under a record with no object, until they are deleted too."""
        with self._mutex:
            rec = self.state.instance(addr)
        if rec is not None and rec.deposed:
            self.put_instance(addr, provider, rec.shell())
        elif rec is not None:
            self.remove_instance(addr)

    def resolve_pending(self, addr: AbsResourceInstance | str) -> None:
        """The pending create of `addr` was adopted (put) or found absent: forget it."""
        key = str(as_instance(addr))
        line = dumps({"op": "resolve", "addr": key}, pretty=False)
        with self._mutex:
            end = self._queue(line)
            self.state.drop_pending(key)
        self.journal.make_durable(end)

    @_serialized
    def set_outputs(self, outputs: dict[str, OutputRecord]) -> None:
        """Replace the root outputs; kept in memory and written by `commit`."""
        self._check_open()
        self.state.outputs = dict(outputs)

    @_serialized
    def replace_state(self, new_state: State) -> None:
        """Swap in a whole new state (a `state mv`, `rm` or `push`), written by `commit`."""
        self._check_open()
        new_state = new_state.copy()
        new_state.serial = self.state.serial
        self.state = new_state
        self._dirty = True

    # --- writing ----------------------------------------------------------------------------

    def _outputs_json(self) -> Any:
        return json.loads(
            dumps(
                {n: [o.value, o.type, o.sensitive] for n, o in self.state.outputs.items()},
                pretty=False,
            )
        )

    @property
    def changed(self) -> bool:
        return self._dirty or self._outputs_json() != self._base_outputs

    def default_meta(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "who": _who(self.who),
            "ci": detect_ci(),
            "at": now_iso(),
            "summary": None,
        }

    @_serialized
    def commit(self, meta: dict[str, Any] | None = None, force: bool = False) -> State:
        """Write the state as the next serial (atomically) and drop the journal.

        Nothing is written when nothing changed, unless `force`. Returns the session's state.
        """
        self._check_open()
        if not force and not self.changed:
            return self.state
        full = self.default_meta()
        full.update(meta or {})
        if self._journal_header is not None:
            full["folded_journal"] = self._journal_header.get("id")
        previous = (self.state.serial, self.state.meta, self.state.mlform_version)
        self.state.serial += 1
        self.state.meta = full
        self.state.mlform_version = __version__
        try:
            self.backend.write(self.workspace, self.state)
        except BaseException as exc:
            self.state.serial, self.state.meta, self.state.mlform_version = previous
            if isinstance(exc, OSError):
                raise self._write_failed(exc) from None
            raise
        if not self._keep_journal:
            self.journal.remove()
        self._journal_header = None
        self._resume_length = None
        self._dirty = False
        self.existed = True
        self._base_outputs = self._outputs_json()
        return self.state

    def _write_failed(self, exc: OSError) -> StateError:
        """The error a commit that could not write the state raises: what was done is not lost,
        and the message says where it is kept."""
        if self.journal.failure is not None:
            # The journal failed first (a full disk): its message says it all.
            return JournalError(self.journal.failure, self.journal.path)
        where = self.backend.describe(self.workspace)
        what = exc.strerror or str(exc)
        if self.journal.exists():
            kept = (
                f"Nothing is lost: the journal {self.journal.path} records what this run did, "
                "and the next run replays it."
            )
        else:
            kept = "The state was not changed."
        todo = (
            "Free space and run the command again."
            if exc.errno == errno.ENOSPC
            else "Fix the cause (permissions, a read-only folder) and run the command again."
        )
        name = f" ({exc.filename})" if exc.filename else ""
        return StateError(f"{what} while writing the state {where}{name}", f"{kept} {todo}")

    # --- closing ----------------------------------------------------------------------------

    def _check_open(self) -> None:
        if self._closed:
            raise StateError("This state session is closed", "Open a new one to change state.")

    @_serialized
    def close(self) -> None:
        """Release the lock and the journal file; an uncommitted journal stays for the next run."""
        if self._closed:
            return
        self._closed = True
        self.journal.close()
        if self.lock_info is not None:
            self.backend.unlock(self.workspace, self.lock_info.id)
            self.lock_info = None

    def __enter__(self) -> StateSession:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def read_state(backend: Backend, workspace: str = DEFAULT_WORKSPACE) -> State:
    """The latest state of a workspace for reading (`show`, `output`, `state list`): no lock,
    and any journal a crashed run left replayed into it (in memory only)."""
    with StateSession.open(backend, workspace, operation="read", lock=False) as sess:
        return sess.state
