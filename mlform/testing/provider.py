"""The built-in `test` provider: objects kept in a JSON file, with latency and fault injection.

    provider "test" { store = "objects.json" }   # default .mlform/test-objects.json
    resource "test_object" "a" {
      value      = "anything"   # any type; a change updates in place
      immutable  = "x"          # a change forces replacement
      latency_ms = 20           # create, read, update, delete and import sleep this long
      fail_on    = ["create"]   # operations that fail with a ProviderError; "create_after"
    }                           # creates the object, then fails (reporting it as partial)
    # computed: id (unique per create), echo (= value, known after apply), created_at
    data "test_data" "x" { input = ... }         # output = input; fail = true: the read fails
    resource "test_job" "j" {                     # a long-running job (see TestJob)
      duration_s = 3        # it logs a line every 0.2 s for this long, then ends
      fail       = false    # true: it ends failed
      output     = "model"  # any value: `result` once it succeeded
      price_per_hour = 2.5  # optional, for cost tests: priced like a job on machines of its
      timeout    = "2h"     # own; max_price_per_hour refuses a dearer plan (offers: TEST_OFFERS)
    }

The engine's tests and benchmarks drive mlform through this provider, so it behaves like a real
remote API: its identity is its store's resolved path, `read` reports what the store says (an entry edited by hand is drift, a removed one
is gone), creates are idempotent by token, and many threads and several processes may use one
store at once.

The store is `objects.json` (objects by id: their arguments, computed attributes and the
idempotency token of their create) plus, while an operation runs, `objects.json.journal`: one
JSON line appended per change, so that a change costs in proportion to itself and not to the
number of objects. Each process keeps the store in memory and catches up with what other
processes appended; a hand edit of the JSON file is noticed by its changed size, time or inode.
The journal is folded into the JSON file when the provider is closed (the end of every mlform
operation) or when it grows large; a journal left by a killed process is replayed on the next
load. Every read-modify-write holds a lock file (`objects.json.lock`). `load_objects(path)`
returns what the store holds, journal included, for tests that count objects.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel

from mlform.sdk.contract import (
    Context,
    JobStatus,
    Kind,
    Model,
    Planned,
    Provider,
    ProviderError,
    ResourceState,
    arg,
    computed,
)
from mlform.sdk.planning import default_plan, values_equal
from mlform.state.model import now_iso

if TYPE_CHECKING:
    from mlform.kinds.offers import Offer

try:  # POSIX; elsewhere only threads of one process are kept apart
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]

__all__ = [
    "DEFAULT_STORE",
    "ObjectStore",
    "TestData",
    "TestJob",
    "TestObject",
    "TestProvider",
    "job_runs",
    "load_objects",
]

DEFAULT_STORE = "test-objects.json"  # under the working directory's .mlform folder
Operation = Literal["create", "read", "update", "delete", "create_after"]
ARG_NAMES = ("value", "immutable", "latency_ms", "fail_on")


def _json_default(obj: Any) -> Any:
    if isinstance(obj, Decimal):
        return int(obj) if obj == obj.to_integral_value() else float(obj)
    if isinstance(obj, set | frozenset | tuple):
        return list(obj)
    raise TypeError(f"cannot store {type(obj).__name__} in the test store")


def _dumps(obj: Any, indent: int | None = None) -> str:
    return json.dumps(obj, default=_json_default, ensure_ascii=False, indent=indent, sort_keys=True)


# -- the store ------------------------------------------------------------------------------------


class ObjectStore:
    """Objects by id in a JSON file plus an append-only journal; see the module docstring.
    One instance per provider configuration; safe to share among threads."""

    # Fold the journal into the JSON file once it holds this many more lines than objects.
    COMPACT_SLACK = 2000

    def __init__(self, path: Path):
        self.path = Path(path)
        self.journal_path = self.path.with_name(self.path.name + ".journal")
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self._path_text = str(self.path)
        self._tlock = threading.Lock()
        self._objects: dict[str, dict[str, Any]] = {}
        self._by_token: dict[str, str] = {}
        self._snap_sig: tuple[int, int, int] | None = None
        self._journal_ino: int | None = None
        self._journal_offset = 0
        self._journal_lines = 0
        self._loaded = False
        self._lock_fd: int | None = None
        self._flocked = False
        self._queue_lock = threading.Lock()
        self._queued = 0  # threads waiting for the thread lock
        # The journal stays open between operations (O_APPEND, read with pread): opening,
        # seeking and closing it for every change cost more than the change itself.
        self._jfd: int | None = None
        self._journal_size = 0
        # Object ids come from a buffer of random bytes, refilled now and then.
        self._random = b""
        self._random_at = 0

    # -- locking and catching up ---------------------------------------------------------------

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        # Threads of this process take turns on the thread lock; the file lock (flock) keeps
        # other processes out. While threads are queued for the store, the file lock passes
        # from one to the next without being let go, and nobody else can have changed the
        # files in between, so the next one neither locks nor catches up again.
        if not self._tlock.acquire(blocking=False):
            with self._queue_lock:
                self._queued += 1
            self._tlock.acquire()
            with self._queue_lock:
                self._queued -= 1
        try:
            if not self._flocked:
                if self._lock_fd is None:
                    # Opened once and kept: every operation locks the same file.
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    self._lock_fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
                if fcntl is not None:
                    fcntl.flock(self._lock_fd, fcntl.LOCK_EX)
                self._flocked = True
                try:
                    self._catch_up()
                except BaseException:
                    self._unflock()  # the next thread must lock and catch up itself
                    raise
            yield
        finally:
            if self._queued == 0 or self._lock_fd is None:
                self._unflock()
            self._tlock.release()

    def _unflock(self) -> None:
        if self._flocked and self._lock_fd is not None and fcntl is not None:
            fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
        self._flocked = False

    def release(self) -> None:
        """Close the lock file and the journal (the store stays usable: the next operation
        opens them again)."""
        with self._tlock:
            self._unflock()
            if self._lock_fd is not None:
                os.close(self._lock_fd)
                self._lock_fd = None
            self._close_journal()

    def _close_journal(self) -> None:
        if self._jfd is not None:
            os.close(self._jfd)
            self._jfd = None

    @staticmethod
    def _sig(path: Path | str) -> tuple[int, int, int] | None:
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return None
        return (st.st_ino, st.st_size, st.st_mtime_ns)

    def _journal_sig(self) -> tuple[int, int] | None:
        """The journal's inode and size, through the open file while it is still the one
        at the journal's path (another process folding the journal unlinks it)."""
        if self._jfd is not None:
            st = os.fstat(self._jfd)
            if st.st_nlink > 0:
                return (st.st_ino, st.st_size)
            self._close_journal()
        try:
            self._jfd = os.open(self.journal_path, os.O_RDWR | os.O_APPEND)
        except FileNotFoundError:
            return None
        st = os.fstat(self._jfd)
        return (st.st_ino, st.st_size)

    def _catch_up(self) -> None:
        snap = self._sig(self._path_text)
        jsig = self._journal_sig()
        j_ino = jsig[0] if jsig else None
        j_size = jsig[1] if jsig else 0
        if (
            not self._loaded
            or snap != self._snap_sig
            or j_ino != self._journal_ino
            or j_size < self._journal_offset
        ):
            self._reload(snap)
        if jsig is not None and j_size > self._journal_offset:
            self._replay(j_size)
        self._journal_ino = j_ino
        self._journal_size = j_size

    def _reload(self, snap: tuple[int, int, int] | None) -> None:
        self._objects = {}
        self._by_token = {}
        if snap is not None:
            text = self.path.read_text(encoding="utf-8", errors="replace")
            try:
                data = json.loads(text) if text.strip() else {}
            except ValueError as exc:
                # A store edited by hand: the user's mistake, named, not a crash.
                raise ProviderError(
                    f"The test provider's store {self.path} is not valid JSON",
                    f"{exc}. Fix the file by hand, or delete it to start with no objects.",
                ) from None
            objects = data.get("objects", {}) if isinstance(data, dict) else {}
            for oid, obj in objects.items():
                if isinstance(obj, dict):
                    self._set(oid, obj)
        self._snap_sig = snap
        self._journal_offset = 0
        self._journal_lines = 0
        self._loaded = True

    def _replay(self, size: int) -> None:
        assert self._jfd is not None
        chunk = os.pread(self._jfd, size - self._journal_offset, self._journal_offset)
        end = chunk.rfind(b"\n")
        if end < 0:
            return  # only a partial line, written by a process killed mid-write
        for line in chunk[: end + 1].splitlines():
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:
                continue
            if rec.get("op") == "put":
                self._set(rec["id"], rec["object"])
            elif rec.get("op") == "delete":
                self._drop(rec["id"])
            self._journal_lines += 1
        self._journal_offset += end + 1

    def _set(self, oid: str, obj: dict[str, Any]) -> None:
        old = self._objects.get(oid)
        if old is not None and old.get("token"):
            self._by_token.pop(old["token"], None)
        self._objects[oid] = obj
        if obj.get("token"):
            self._by_token[obj["token"]] = oid

    def _drop(self, oid: str) -> None:
        old = self._objects.pop(oid, None)
        if old is not None and old.get("token"):
            self._by_token.pop(old["token"], None)

    def _append(self, rec: dict[str, Any]) -> None:
        self._append_line(_dumps(rec))

    def _append_line(self, text: str) -> None:
        # Called under the lock, right after catching up: `_journal_size` is the file's size.
        data = (text + "\n").encode()
        line = memoryview(data)
        if self._jfd is None:
            self._jfd = os.open(self.journal_path, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o600)
            st = os.fstat(self._jfd)
            self._journal_ino, self._journal_size = st.st_ino, st.st_size
        if self._journal_size > self._journal_offset:
            # A partial line left by a killed writer: cut it off before appending.
            os.ftruncate(self._jfd, self._journal_offset)
        while line:
            line = line[os.write(self._jfd, line) :]
        self._journal_offset += len(data)
        self._journal_size = self._journal_offset
        self._journal_lines += 1
        if self._journal_lines > len(self._objects) + self.COMPACT_SLACK:
            self._compact()

    def _compact(self) -> None:
        """Write every object to the JSON file (temporary file, fsync, rename), then drop the
        journal. Replaying a journal over a file that already holds its changes is harmless,
        so a crash between the two steps loses nothing."""
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        # One object per line: readable and editable by hand, and written by the C encoder
        # (an indented document goes through json's much slower pure-Python path).
        body = ",\n".join(
            f"  {json.dumps(oid)}: {_dumps(obj)}" for oid, obj in sorted(self._objects.items())
        )
        with open(tmp, "w", encoding="utf-8") as f:
            f.write('{"objects": {\n' + body + ("\n" if body else "") + "}}\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        self._close_journal()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self.journal_path)
        self._snap_sig = self._sig(self.path)
        self._journal_ino = None
        self._journal_offset = 0
        self._journal_lines = 0

    def _new_id(self) -> str:
        """16 random hex digits (under the lock); one system call per 512 ids."""
        if self._random_at >= len(self._random):
            self._random, self._random_at = os.urandom(4096), 0
        self._random_at += 8
        return self._random[self._random_at - 8 : self._random_at].hex()

    # -- operations ---------------------------------------------------------------------------

    def get(self, oid: str) -> dict[str, Any] | None:
        with self._locked():
            obj = self._objects.get(oid)
            return json.loads(_dumps(obj)) if obj is not None else None

    def find_by_token(self, token: str) -> dict[str, Any] | None:
        with self._locked():
            oid = self._by_token.get(token)
            return json.loads(_dumps(self._objects[oid])) if oid is not None else None

    def create(self, obj: dict[str, Any], token: str | None) -> dict[str, Any]:
        """Store a new object under a fresh id; with a token already used, return the object
        made then instead (a retried create makes nothing new)."""
        with self._locked():
            if token and token in self._by_token:
                return json.loads(_dumps(self._objects[self._by_token[token]]))
            oid = self._new_id()
            line = _dumps({"op": "put", "id": oid, "object": {**obj, "id": oid, "token": token}})
            # The stored object is what the journal line holds (JSON's types), and the caller
            # gets a copy of its own.
            stored = json.loads(line)["object"]
            self._set(oid, stored)
            self._append_line(line)
            return json.loads(line)["object"]

    def put(self, oid: str, obj: dict[str, Any]) -> dict[str, Any] | None:
        """Replace an existing object's fields; None when there is no such object."""
        with self._locked():
            old = self._objects.get(oid)
            if old is None:
                return None
            stored = json.loads(_dumps({**old, **obj, "id": oid, "token": old.get("token")}))
            self._set(oid, stored)
            self._append({"op": "put", "id": oid, "object": stored})
            return json.loads(_dumps(stored))

    def delete(self, oid: str) -> bool:
        with self._locked():
            if oid not in self._objects:
                return False
            self._drop(oid)
            self._append({"op": "delete", "id": oid})
            return True

    def all(self) -> dict[str, dict[str, Any]]:
        with self._locked():
            return json.loads(_dumps(self._objects))

    def compact(self) -> None:
        """Fold the journal into the JSON file (if there is a journal)."""
        with self._locked():
            if self.journal_path.exists() or not self.path.exists():
                self._compact()


def load_objects(path: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """Every object in the store at `path`, by id, journal included."""
    return ObjectStore(Path(path)).all()


# -- the provider -----------------------------------------------------------------------------------


class TestProviderConfig(Model):
    store: str | None = arg(
        None,
        description="The JSON file holding the objects, relative to the working directory. "
        "Default: .mlform/test-objects.json.",
    )


class ObjectArgs(Model):
    value: Any = arg(None, description="Any value; a change updates the object in place.")
    immutable: Any = arg(None, replace=True, description="Any value; a change forces replacement.")
    latency_ms: int = arg(0, description="Every call for this object sleeps this long.")
    fail_on: list[Literal["create", "read", "update", "delete", "create_after"]] = arg(
        default_factory=list,
        description="Operations that fail with an error: create, read, update, delete; "
        "create_after creates the object, then fails, reporting the object it made.",
    )


class ObjectAttrs(Model):
    id: str | None = computed(description="Unique per create.")
    echo: Any = computed(description="The value, as stored.")
    created_at: str | None = computed(description="When the object was created (UTC).")


class TestObject(Kind):
    """An object in the test store."""

    __test__ = False
    args: ClassVar[type[BaseModel]] = ObjectArgs
    attrs: ClassVar[type[BaseModel]] = ObjectAttrs
    description = "An object in the test provider's JSON store; for tests and benchmarks."
    recomputed_on_update: ClassVar[frozenset[str]] = frozenset({"echo"})
    provider: TestProvider

    def plan(self, prior: ResourceState | None, desired: dict[str, Any], ctx: Context) -> Planned:
        planned = default_plan(self, prior, desired)
        # `echo` only changes with `value`: an update of latency or faults keeps it.
        if (
            planned.action == "update"
            and prior is not None
            and values_equal(prior.args.get("value"), planned.args.get("value"))
        ):
            planned.attrs["echo"] = prior.attrs.get("echo")
        return planned

    # -- helpers ---------------------------------------------------------------------------------

    @staticmethod
    def _behave(args: dict[str, Any], op: Operation, ctx: Context) -> None:
        latency = args.get("latency_ms") or 0
        if latency:
            # Sleep in slices so that a cancelled run is not held up by a long latency.
            deadline = time.monotonic() + float(latency) / 1000
            while (left := deadline - time.monotonic()) > 0:
                if ctx.cancel_event.wait(min(left, 0.5)):
                    break
        if op in (args.get("fail_on") or []):
            raise ProviderError(
                f"test_object {ctx.address}: {op} failed",
                f'The object is configured with fail_on = ["{op}"].',
            )

    @staticmethod
    def _state(obj: dict[str, Any]) -> ResourceState:
        return ResourceState(
            id=obj["id"],
            args={k: obj.get(k) for k in ARG_NAMES},
            attrs={"id": obj["id"], "echo": obj.get("echo"), "created_at": obj.get("created_at")},
            private={"token": obj["token"]} if obj.get("token") else {},
        )

    # -- operations ------------------------------------------------------------------------------

    def create(self, planned: Planned, ctx: Context) -> ResourceState:
        args = ObjectArgs.model_validate(planned.args).model_dump()
        self._behave(args, "create", ctx)
        now = now_iso()
        obj = self.provider.store(ctx).create(
            {**args, "echo": args["value"], "created_at": now}, ctx.idempotency_token
        )
        ctx.log(f"created test object {obj['id']}")
        if "create_after" in (args.get("fail_on") or []):
            # The object exists, yet the create failed (a VM that never became healthy).
            raise ProviderError(
                f"test_object {ctx.address}: create failed after creating object {obj['id']}",
                'The object is configured with fail_on = ["create_after"].',
                partial=self._state(obj),
            )
        return self._state(obj)

    def read(self, state: ResourceState, ctx: Context) -> ResourceState | None:
        self._behave(state.args, "read", ctx)
        obj = self.provider.store(ctx).get(state.id)
        return self._state(obj) if obj is not None else None

    def update(self, prior: ResourceState, planned: Planned, ctx: Context) -> ResourceState:
        args = ObjectArgs.model_validate(planned.args).model_dump()
        self._behave(args, "update", ctx)
        obj = self.provider.store(ctx).put(prior.id, {**args, "echo": args["value"]})
        if obj is None:
            raise ProviderError(
                f"test_object {ctx.address}: object {prior.id} does not exist",
                "It was removed from the store outside of mlform. Run `mlform plan` again to "
                "see it as gone and create it anew.",
            )
        return self._state(obj)

    def delete(self, state: ResourceState, ctx: Context) -> None:
        self._behave(state.args, "delete", ctx)
        self.provider.store(ctx).delete(state.id)

    def import_(self, id: str, ctx: Context) -> ResourceState:
        obj = self.provider.store(ctx).get(id)
        if obj is None:
            raise ProviderError(
                f"Cannot import test_object {id}: no such object",
                f"The store {self.provider.store(ctx).path} holds no object with this id.",
            )
        self._behave(obj, "read", ctx)
        return self._state(obj)

    def find_by_token(self, token: str, ctx: Context) -> ResourceState | None:
        obj = self.provider.store(ctx).find_by_token(token)
        return self._state(obj) if obj is not None else None


class DataArgs(Model):
    input: Any = arg(None, description="Any value; read back as `output`.")
    fail: bool = arg(False, description="Whether reading fails with an error.")


class DataAttrs(Model):
    output: Any = computed(description="The input.")


class TestData(Kind):
    """A data source that returns its input."""

    __test__ = False
    args: ClassVar[type[BaseModel]] = DataArgs
    attrs: ClassVar[type[BaseModel]] = DataAttrs
    description = "Reads back its input as `output`; for data-source tests."
    is_data = True

    def read_data(self, desired: dict[str, Any], ctx: Context) -> dict[str, Any]:
        if desired.get("fail"):
            raise ProviderError(
                f"test_data {ctx.address}: read failed",
                "The data source is configured with fail = true.",
            )
        return {"output": desired.get("input")}


# -- a long-running job ---------------------------------------------------------------------------

# The job's own program, run detached (its own session) by `TestJob.submit`: argv is the job's
# folder, its duration in seconds, "1" to fail, and its output as JSON. It appends one line to
# runs.log when it starts (so that tests count real runs), logs a line every 0.2 s, and writes
# result.json (atomically) at the end.
_JOB_SCRIPT = r"""
import json, os, sys, time
folder, duration, fail, output = sys.argv[1], float(sys.argv[2]), sys.argv[3] == "1", sys.argv[4]
def put(name, text):
    tmp = os.path.join(folder, name + ".tmp")
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, os.path.join(folder, name))
put("pid", str(os.getpid()))
with open(os.path.join(os.path.dirname(folder), "runs.log"), "a") as f:
    f.write(os.path.basename(folder) + " " + str(os.getpid()) + "\n")
steps = max(1, int(round(duration / 0.2)))
with open(os.path.join(folder, "log"), "a", buffering=1) as log:
    log.write("job started\n")
    for i in range(1, steps + 1):
        time.sleep(duration / steps)
        log.write("step %d/%d\n" % (i, steps))
    log.write("job failed\n" if fail else "job done\n")
put("result.json", json.dumps({"status": "failed" if fail else "succeeded",
                               "output": json.loads(output), "finished_at": time.time()}))
sys.exit(1 if fail else 0)
"""

# Keeps the Popen objects of jobs this process started, so that their exit is collected.
_CHILDREN: list[Any] = []


class JobArgs(Model):
    duration_s: float = arg(1.0, replace=True, description="How long the job runs, in seconds.")
    fail: bool = arg(False, replace=True, description="Whether the job ends failed.")
    output: Any = arg(None, replace=True, description="The job's result once it succeeded.")
    # For tests of cost in plans (mlform.engine.cost): what the job's machines cost, its
    # budget and its expected length.
    price_per_hour: float | None = arg(
        None, description="What the job's machines cost per hour (USD), for cost tests."
    )
    max_price_per_hour: float | None = arg(
        None, description="Refuse a plan whose price_per_hour is above this."
    )
    timeout: str | int | None = arg(None, description='How long the job may run ("2h").')
    gpu: str | None = arg(
        None, description='The GPUs its machines have ("A100:8"): the offers a refusal lists.'
    )


class JobAttrs(Model):
    id: str | None = computed(description="Unique per submit.")
    status: str | None = computed(description="succeeded or failed, once it ended.")
    result: Any = computed(description="The `output`, once the job succeeded.")
    log_path: str | None = computed(description="The job's log file.")
    started_at: str | None = computed(description="When the job started (UTC).")
    finished_at: str | None = computed(description="When the job ended (UTC).")
    estimated_cost: float | None = computed(
        description="What a run is expected to cost (USD), planned by mlform."
    )


def _alive(pid: int) -> bool:
    """Whether the process runs (a zombie, ended but not yet collected, does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _utc(seconds: Any) -> str | None:
    import datetime as dt

    if not isinstance(seconds, int | float):
        return None
    return dt.datetime.fromtimestamp(seconds, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _stamp(path: Path) -> str | None:
    try:
        return _utc(path.stat().st_mtime)
    except OSError:
        return None


# The test provider's offers (`mlform offers --provider test`): made-up machines and prices for
# tests of offers and cost in plans, nothing real.
# instance type, GPU model, GPUs, GiB per GPU, vCPUs, memory GiB, on-demand and spot $/hour.
TEST_OFFERS: tuple[tuple[Any, ...], ...] = (
    ("test.cpu", None, 0, None, 4, 16, 0.2, 0.06),
    ("test.t4", "T4", 1, 16, 8, 32, 0.5, 0.16),
    ("test.a100x8", "A100", 8, 40, 96, 1152, 32.0, 12.0),
    ("test.l40sx8", "L40S", 8, 48, 192, 1536, 30.0, 9.0),
    ("test.h100x8", "H100", 8, 80, 192, 2048, 98.0, 40.0),
)


def job_runs(store_path: str | os.PathLike[str]) -> list[str]:
    """One line per run that a test_job of the store at `store_path` really started."""
    runs = Path(store_path).parent / "jobs" / "runs.log"
    return runs.read_text().splitlines() if runs.exists() else []


class TestJob(Kind):
    """A long-running job: a detached process that outlives the CLI; see the module docstring.
    Its folder (beside the store, jobs/<id>/) holds its pid, log and result.json."""

    __test__ = False
    args: ClassVar[type[BaseModel]] = JobArgs
    attrs: ClassVar[type[BaseModel]] = JobAttrs
    description = "A job that runs for `duration_s` seconds as a detached process; for tests."
    long_running = True
    poll_interval = 0.2
    provider: TestProvider

    def _folder(self, ctx: Context, oid: str) -> Path:
        return self.provider.store(ctx).path.parent / "jobs" / oid

    def _state(self, obj: dict[str, Any], ctx: Context) -> ResourceState:
        """The job as the store and its folder say: `status` and `result` once it ended."""
        folder = self._folder(ctx, obj["id"])
        result = self._result(folder)
        status = result.get("status") if result else None
        if status is None and (folder / "cancelled").exists():
            status = "cancelled"
        return ResourceState(
            id=obj["id"],
            args={k: obj.get(k) for k in JobArgs.model_fields},
            attrs={
                "id": obj["id"],
                "status": status,
                "result": result.get("output") if status == "succeeded" else None,
                "log_path": str(folder / "log"),
                "started_at": _stamp(folder / "started"),
                "finished_at": _utc(result.get("finished_at")) if result else None,
                "estimated_cost": None,
            },
            private={"token": obj["token"]} if obj.get("token") else {},
        )

    @staticmethod
    def _result(folder: Path) -> dict[str, Any] | None:
        try:
            data = json.loads((folder / "result.json").read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def submit(self, planned: Planned, ctx: Context) -> ResourceState:
        import subprocess
        import sys

        args = JobArgs.model_validate(planned.args).model_dump()
        obj = self.provider.store(ctx).create(
            {**args, "kind": "test_job", "submitted_at": now_iso()}, ctx.idempotency_token
        )
        folder = self._folder(ctx, obj["id"])
        folder.mkdir(parents=True, exist_ok=True)
        started = folder / "started"
        try:
            # Once per job, whatever the retries: a resubmit with the same token starts nothing.
            fd = os.open(started, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return self._state(obj, ctx)
        os.close(fd)
        proc = subprocess.Popen(
            [
                sys.executable,
                "-c",
                _JOB_SCRIPT,
                str(folder),
                str(args["duration_s"]),
                "1" if args["fail"] else "0",
                _dumps(args["output"]),
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
            close_fds=True,
        )
        _CHILDREN.append(proc)
        (folder / "launcher_pid").write_text(str(proc.pid))
        ctx.log(f"submitted job {obj['id']} (pid {proc.pid})")
        return self._state(obj, ctx)

    def _pid(self, folder: Path) -> int | None:
        for name in ("pid", "launcher_pid"):
            try:
                return int((folder / name).read_text())
            except (OSError, ValueError):
                continue
        return None

    def poll(self, state: ResourceState, ctx: Context) -> JobStatus:
        folder = self._folder(ctx, state.id)
        obj = self.provider.store(ctx).get(state.id)
        if obj is None:
            return JobStatus("failed", summary=f"job {state.id} no longer exists")
        lines = self._lines(folder)
        last = lines[-1] if lines else None
        started = folder / "started"
        elapsed = time.time() - started.stat().st_mtime if started.exists() else None
        result = self._result(folder)
        if result is not None:
            if result.get("status") == "succeeded":
                return JobStatus(
                    "succeeded", state=self._state(obj, ctx), elapsed_s=elapsed, last_line=last
                )
            return JobStatus(
                "failed",
                state=self._state(obj, ctx),
                summary=f"test_job {ctx.address}: the job failed",
                detail=f"Its last log line: {last!r}. The job is configured with fail = true.",
                last_line=last,
            )
        pid = self._pid(folder)
        if (folder / "cancelled").exists() or pid is None or not _alive(pid):
            why = (
                "it was cancelled"
                if (folder / "cancelled").exists()
                else "its process ended without a result"
            )
            return JobStatus(
                "failed",
                state=self._state(obj, ctx),
                summary=f"test_job {ctx.address}: the job did not finish: {why}",
                last_line=last,
            )
        duration = float(state.args.get("duration_s") or obj.get("duration_s") or 0)
        return JobStatus(
            "running",
            state=self._state(obj, ctx),
            elapsed_s=elapsed,
            last_line=last,
            progress=(min(elapsed or 0.0, duration), duration) if duration else None,
        )

    def cancel(self, state: ResourceState, ctx: Context) -> None:
        import signal

        folder = self._folder(ctx, state.id)
        if (folder / "result.json").exists():
            return  # ended already
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "cancelled").write_text(now_iso())
        pid = self._pid(folder)
        if pid is not None and _alive(pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signal.SIGKILL)  # its own session: pid is the group's id
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 5
            while _alive(pid) and time.monotonic() < deadline:
                time.sleep(0.02)
        for proc in list(_CHILDREN):
            if proc.poll() is not None:
                _CHILDREN.remove(proc)

    @staticmethod
    def _lines(folder: Path) -> list[str]:
        try:
            return (folder / "log").read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return []

    def logs(
        self, state: ResourceState, ctx: Context, follow: bool = False, since: int = 0
    ) -> Iterator[str]:
        folder = self._folder(ctx, state.id)
        n = since
        while True:
            lines = self._lines(folder)
            # A line being written has no newline yet: only whole lines are given.
            yield from lines[n:]
            n = max(n, len(lines))
            if not follow or ctx.cancel_event.is_set():
                return
            status = self.poll(state, ctx)
            if not status.running:
                rest = self._lines(folder)
                yield from rest[n:]
                return
            ctx.cancel_event.wait(0.2)

    def read(self, state: ResourceState, ctx: Context) -> ResourceState | None:
        obj = self.provider.store(ctx).get(state.id)
        return self._state(obj, ctx) if obj is not None else None

    def delete(self, state: ResourceState, ctx: Context) -> None:
        self.cancel(state, ctx)
        self.provider.store(ctx).delete(state.id)

    def find_by_token(self, token: str, ctx: Context) -> ResourceState | None:
        obj = self.provider.store(ctx).find_by_token(token)
        return self._state(obj, ctx) if obj is not None else None


class TestProvider(Provider):
    """The `test` provider; see the module docstring."""

    # pytest would otherwise try to collect classes named Test* from modules that import them.
    __test__ = False

    name = "test"
    version = "0.1.0"
    config = TestProviderConfig
    kinds: ClassVar = {"test_object": TestObject, "test_data": TestData, "test_job": TestJob}

    def __init__(self) -> None:
        super().__init__()
        self._store: ObjectStore | None = None
        self._store_lock = threading.Lock()
        self._workdir: Path | None = None
        self._data_dir: Path | None = None

    def configure(self, config: BaseModel, ctx: Context) -> None:
        super().configure(config, ctx)
        self._workdir = ctx.data_dir.parent
        self._data_dir = ctx.data_dir
        with self._store_lock:
            self._store = None

    def offers(self) -> list[Offer]:
        """`TEST_OFFERS` in regions test-1 and test-2 (prices 10% higher there)."""
        from mlform.kinds.offers import Offer

        out = []
        for region, factor in (("test-1", 1.0), ("test-2", 1.1)):
            for itype, model, count, gpu_mem, vcpus, mem, on_demand, spot in TEST_OFFERS:
                out.append(
                    Offer(
                        self.name,
                        itype,
                        region,
                        model,
                        count,
                        gpu_mem,
                        vcpus,
                        mem,
                        round(on_demand * factor, 4),
                        round(spot * factor, 4),
                        "2025-01-01",
                    )
                )
        return out

    def identity(self) -> dict[str, str]:
        """The store's resolved path: objects live there and nowhere else."""
        if self._data_dir is None:
            return {}
        return {"store": str(self.store_path_for(self._data_dir).resolve())}

    def store_path(self, ctx: Context) -> Path:
        return self.store_path_for(ctx.data_dir)

    def store_path_for(self, data_dir: Path) -> Path:
        settings = self.settings
        chosen = getattr(settings, "store", None) if settings is not None else None
        workdir = self._workdir if self._workdir is not None else data_dir.parent
        if chosen:
            p = Path(chosen)
            return p if p.is_absolute() else workdir / p
        return data_dir / DEFAULT_STORE

    def store(self, ctx: Context) -> ObjectStore:
        with self._store_lock:
            if self._store is None:
                self._store = ObjectStore(self.store_path(ctx))
            return self._store

    def close(self) -> None:
        with self._store_lock:
            store = self._store
        if store is not None:
            store.compact()
            store.release()
