"""The provider contract: what a provider implements and what the engine gives it.

A provider is a class with a `name`, a configuration model and a table of kinds. The engine
makes one instance per `provider` block (alias) and calls `configure`. Each kind is a class with
an `args` model (what the user writes), an `attrs` model (what the provider computes) and the
operations below. Data crosses this boundary as plain Python data (str, int, float, bool, None,
list, dict); a value not known until apply is the `UNKNOWN` sentinel.

Arguments that force replacement are marked on the args model:

    class Args(BaseModel):
        source: str = arg(replace=True)
        include: list[str] = arg(default_factory=list)
        health_check: HealthCheck | None = block()     # a nested block, not an attribute

Calls are idempotent and safe to retry. A provider reports a failure as `ProviderError`; a
create that fails after the object exists (a VM launched that never became healthy) passes that
object as `ProviderError(..., partial=ResourceState(...))`, so that the engine records it
(tainted) and the next plan replaces it instead of leaking it.

Work that takes long (a training run) outlives the CLI: its kind sets `long_running = True` and
implements `submit` (start it and return at once, the object recorded as pending), `poll` (a
`JobStatus`: running, succeeded with the final state, or failed), `cancel` and `logs`. The engine
owns the waiting, the retries (`Provider.retry`, a `RetryPolicy`) and the number of calls in
flight (`Provider.max_concurrency`); see docs/providers.md.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

if TYPE_CHECKING:
    from pydantic.config import JsonDict

    from mlform.kinds.offers import Offer


class _UnknownType:
    """A value the engine will know only after apply ("known after apply")."""

    __slots__ = ()
    _instance: ClassVar[_UnknownType | None] = None

    def __new__(cls) -> _UnknownType:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNKNOWN"

    def __reduce__(self) -> str:
        return "UNKNOWN"

    def __bool__(self) -> bool:
        return False


UNKNOWN: Any = _UnknownType()


def is_unknown(value: Any) -> bool:
    return value is UNKNOWN


def is_wholly_known(value: Any) -> bool:
    if value is UNKNOWN:
        return False
    if isinstance(value, list | tuple):
        return all(is_wholly_known(v) for v in value)
    if isinstance(value, dict):
        return all(is_wholly_known(v) for v in value.values())
    return True


def arg(
    default: Any = ...,
    *,
    replace: bool = False,
    sensitive: bool = False,
    description: str = "",
    default_factory: Callable[[], Any] | None = None,
    alias: str | None = None,
) -> Any:
    """A user-written argument. `replace=True`: a change forces replacement."""
    extra: JsonDict = {"replace": replace, "sensitive": sensitive}
    if default_factory is not None:
        return Field(
            default_factory=default_factory,
            description=description,
            json_schema_extra=extra,
            alias=alias,
        )
    return Field(default, description=description, json_schema_extra=extra, alias=alias)


def block(
    default: Any = None,
    *,
    replace: bool = False,
    description: str = "",
    default_factory: Callable[[], Any] | None = None,
) -> Any:
    """A nested block (`health_check { ... }`). Typed as a model, `Model | None`, or
    `list[Model]` for a block that may repeat."""
    extra: JsonDict = {"replace": replace, "block": True}
    if default_factory is not None:
        return Field(
            default_factory=default_factory, description=description, json_schema_extra=extra
        )
    return Field(default, description=description, json_schema_extra=extra)


def computed(default: Any = None, *, sensitive: bool = False, description: str = "") -> Any:
    """A provider-computed attribute."""
    return Field(default, description=description, json_schema_extra={"sensitive": sensitive})


class Model(BaseModel):
    """Base for args, attrs and provider-config models: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ProviderError(Exception):
    """A provider operation failed. `retryable`: the engine may try again after a backoff.

    `partial`: for a create (or the create of a replacement) that failed after the object came
    to exist, that object as far as the provider knows it (at least its `id`). The engine
    records it as tainted, with its id and attributes, and the next plan replaces it (deletes
    it, then creates it anew); an error with `partial` is never retried.

    `retry_after`: seconds the remote API asked the caller to wait (an HTTP `Retry-After`);
    the engine waits at least that long before the next attempt of a retryable error.
    """

    def __init__(
        self,
        summary: str,
        detail: str = "",
        *,
        retryable: bool = False,
        partial: ResourceState | None = None,
        retry_after: float | None = None,
    ):
        super().__init__(summary)
        self.summary = summary
        self.detail = detail
        self.retryable = retryable
        self.partial = partial
        self.retry_after = retry_after


@dataclass(frozen=True)
class RetryPolicy:
    """How the engine retries a provider call whose error is `retryable`: at most
    `max_attempts` calls in all, waiting `base_delay * 2**n` seconds (at most `max_delay`)
    after the n-th failure, less a random part of up to `jitter` of it (so that many callers
    throttled at once do not retry in step), and never less than the error's `retry_after`.
    A cancelled run stops waiting at once."""

    max_attempts: int = 3
    base_delay: float = 0.2
    max_delay: float = 30.0
    jitter: float = 0.5
    honour_retry_after: bool = True

    def delay(self, failures: int, retry_after: float | None, draw: float) -> float:
        """Seconds to wait after `failures` failed attempts; `draw` is uniform in [0, 1)."""
        wait = min(self.max_delay, self.base_delay * (2 ** max(0, failures - 1)))
        wait *= 1.0 - self.jitter * draw
        if self.honour_retry_after and retry_after is not None and retry_after > wait:
            wait = float(retry_after)
        return max(0.0, wait)


class ConfigError(ProviderError):
    """The user's arguments cannot work (a GPU that is not there). Reported at plan time with the
    block's source range; `attribute` names the argument at fault when there is one."""

    def __init__(self, summary: str, detail: str = "", *, attribute: str | None = None):
        super().__init__(summary, detail, retryable=False)
        self.attribute = attribute


@dataclass
class Context:
    """What the engine gives every provider call."""

    address: str  # the instance address, "training_job.digits" or 'module.m.x["a"]'
    # The folder of the module that declares the resource (for messages: relative paths
    # resolve against `work_dir`, as in Terraform; a module names its own files with
    # `"${path.module}/src"`).
    module_dir: Path
    # The working directory's `.mlform` folder: caches and content stores live under it.
    data_dir: Path
    # A private scratch folder for this call.
    scratch_dir: Path
    # Called with (done, total, message); total None when unknown.
    on_progress: Callable[[float, float | None, str], None] = lambda d, t, m: None
    # Called with one line of output (a job's log line, a build step).
    on_log: Callable[[str], None] = lambda line: None
    # Set when the user pressed Ctrl-C: long calls should stop soon and raise ProviderError.
    cancel_event: threading.Event = field(default_factory=threading.Event)
    # For create: a token stable across retries and crashes; the provider stores it with the
    # object (or passes it to its API) so that `find_by_token` can find an object whose create
    # answer was lost.
    idempotency_token: str | None = None
    # Lineage facts the provider adds for the engine to record (job ARNs, node addresses, ...).
    lineage: dict[str, Any] = field(default_factory=dict)
    # Attributes of the instances this one depends on, by address, for providers that need
    # more than the argument values (rarely).
    extra: dict[str, Any] = field(default_factory=dict)
    # The working directory, the root module's folder: relative paths in arguments (a
    # dataset's `source`, a job's `code`) are relative to it in every module, as in Terraform.
    # None (a context made by hand, in a test or a conformance suite): `module_dir`.
    work_dir: Path | None = None
    # Planning the new object of a replacement the engine forces (taint, -replace,
    # replace_triggered_by): the user asked for a new object, so a provider makes one rather
    # than reuse a kept result (the local training job's run cache).
    forced_replace: bool = False

    @property
    def cancelled(self) -> bool:
        return self.cancel_event.is_set()

    @property
    def base_dir(self) -> Path:
        """The folder relative path arguments resolve against (see `work_dir`)."""
        return Path(self.work_dir if self.work_dir is not None else self.module_dir)

    def path(self, value: str | Path) -> Path:
        """A path argument as the user wrote it, `~` expanded, made absolute: a relative one is
        relative to the working directory (the root module's folder), whichever module wrote
        it."""
        p = Path(value).expanduser()
        return Path(os.path.normpath(p if p.is_absolute() else self.base_dir.absolute() / p))

    def path_hint(self, value: str | Path) -> str:
        """What a message about a path argument that does not exist should add: how relative
        paths are read, and, when the path exists beside the module's files, how to name it."""
        p = Path(value).expanduser()
        if p.is_absolute():
            return ""
        hint = "Relative paths are relative to the working directory (where mlform runs)"
        module = Path(self.module_dir).absolute()
        if Path(os.path.normpath(module)) != Path(os.path.normpath(self.base_dir.absolute())):
            if (module / p).exists():
                clean = os.path.normpath(str(value)).replace(os.sep, "/")
                return (
                    f"{hint}, in every module, as in Terraform. It exists beside this module's "
                    f'files: write "${{path.module}}/{clean}".'
                )
            return (
                f'{hint}, in every module, as in Terraform; "${{path.module}}/NAME" names a '
                "file beside the module's own."
            )
        return hint + "."

    def progress(self, done: float, total: float | None = None, message: str = "") -> None:
        self.on_progress(done, total, message)

    def log(self, line: str) -> None:
        self.on_log(line)


Action = Literal["create", "update", "replace", "delete", "noop", "read"]

JobState = Literal["running", "succeeded", "failed"]


@dataclass
class ResourceState:
    """One instance as the provider knows it: its arguments as applied, its computed attributes,
    and the lineage record for ML kinds. `id` is the provider's identifier."""

    id: str
    args: dict[str, Any]
    attrs: dict[str, Any]
    lineage: dict[str, Any] | None = None
    # Provider-private data the engine stores but never shows (a process' start time, ...).
    private: dict[str, Any] = field(default_factory=dict)


@dataclass
class Planned:
    """A kind's answer to plan: the action, the attributes after it (UNKNOWN where not known
    yet), why, and which argument paths force replacement."""

    action: Action
    attrs: dict[str, Any]
    reasons: list[str] = field(default_factory=list)
    replace_paths: list[str] = field(default_factory=list)
    # Arguments after plan-time normalization (defaults filled); the engine stores these.
    args: dict[str, Any] = field(default_factory=dict)
    # Plan-time facts the provider wants back at apply (a digest computed while planning).
    private: dict[str, Any] = field(default_factory=dict)


@dataclass
class JobStatus:
    """What `Kind.poll` says of a submitted object.

    running: `elapsed_s`, the `last_line` of its log and its `progress` (done, total) where
    known; the engine polls again after `poll_interval` seconds (None: the kind's).
    succeeded: `state` is the final object, its outputs collected (a model's digest, metrics).
    failed: `summary` and `detail` say why; `state` is the object as far as it exists (recorded
    tainted, so that the next plan replaces it)."""

    status: JobState
    state: ResourceState | None = None
    elapsed_s: float | None = None
    last_line: str | None = None
    progress: tuple[float, float | None] | None = None
    summary: str = ""
    detail: str = ""
    poll_interval: float | None = None

    @property
    def running(self) -> bool:
        return self.status == "running"


class Kind:
    """One resource kind. Subclasses set `args` and `attrs` and implement the operations.

    `plan` has a default: create when there is no prior state; otherwise compare the arguments,
    replace when a `replace=True` argument changed, update when another one did, else no-op.
    Computed attributes are kept from the prior state on update and no-op, unknown on create and
    replace.
    """

    args: ClassVar[type[BaseModel]]
    attrs: ClassVar[type[BaseModel]]
    description: ClassVar[str] = ""
    # A data source only implements `read_data`.
    is_data: ClassVar[bool] = False
    # Work that takes long (a training run): the engine calls `submit` instead of `create`,
    # records the object as pending, and polls it (see JobStatus) every `poll_interval`
    # seconds while apply waits; a job keeps running when the CLI stops waiting or dies.
    long_running: ClassVar[bool] = False
    poll_interval: ClassVar[float] = 2.0

    def __init__(self, provider: Provider):
        self.provider = provider

    def plan(self, prior: ResourceState | None, desired: dict[str, Any], ctx: Context) -> Planned:
        from mlform.sdk.planning import default_plan

        return default_plan(self, prior, desired)

    def create(self, planned: Planned, ctx: Context) -> ResourceState:
        raise NotImplementedError

    def read(self, state: ResourceState, ctx: Context) -> ResourceState | None:
        """The object as it is now; None when it is gone."""
        return state

    def update(self, prior: ResourceState, planned: Planned, ctx: Context) -> ResourceState:
        raise NotImplementedError

    def delete(self, state: ResourceState, ctx: Context) -> None:
        raise NotImplementedError

    def import_(self, id: str, ctx: Context) -> ResourceState:
        raise ProviderError(f"{type(self).__name__} does not support import")

    def find_by_token(self, token: str, ctx: Context) -> ResourceState | None:
        """The object created with this idempotency token, if it exists. Used to recover a
        create whose answer was lost in a crash."""
        return None

    def read_data(self, desired: dict[str, Any], ctx: Context) -> dict[str, Any]:
        """For data sources: the attributes read."""
        raise NotImplementedError

    # -- long-running kinds -------------------------------------------------------------------

    def submit(self, planned: Planned, ctx: Context) -> ResourceState:
        """Start the work and return at once: the object with its `id` (and what `poll`
        needs in `private`); its outputs are not known yet. Receives the idempotency token
        as `create` does (`ctx.idempotency_token`), so `find_by_token` finds a job whose
        submit answer was lost, and a retried submit starts nothing new."""
        raise NotImplementedError

    def poll(self, state: ResourceState, ctx: Context) -> JobStatus:
        """Where the submitted work stands; see `JobStatus`. Cheap and read-only: plan calls
        it to refresh a pending object."""
        raise NotImplementedError

    def cancel(self, state: ResourceState, ctx: Context) -> None:
        """Stop the submitted work (`mlform cancel`, a second Ctrl-C); idempotent: a job that
        already ended is left as it is."""
        raise NotImplementedError

    def logs(
        self, state: ResourceState, ctx: Context, follow: bool = False, since: int = 0
    ) -> Iterator[str]:
        """The object's log lines from line number `since` (0: the first). With `follow`,
        keep yielding new lines until the work ends or `ctx.cancel_event` is set."""
        raise ProviderError(f"{type(self).__name__} keeps no log")


@dataclass
class StoredObject:
    """One object an artifact store holds, as `mlform gc` reports it: its `kind` ("snapshot",
    "model", "environment", "run", ...), its `name` (the digest or id a state records), where it
    is, how many bytes removing it frees and where it came from."""

    kind: str
    name: str
    location: str = ""
    bytes: int = 0
    source: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "path": self.location,
            "bytes": self.bytes,
            "source": self.source,
        }


@dataclass
class GcReport:
    """What `ArtifactStore.gc` removed (or, in a dry run, would remove) and how many objects it
    kept. `blobs` and `blob_bytes` count the file contents that only removed trees used, in a
    store that keeps each content once."""

    removals: list[StoredObject] = field(default_factory=list)
    kept: int = 0
    blobs: int = 0
    blob_bytes: int = 0

    @property
    def bytes(self) -> int:
        return sum(r.bytes for r in self.removals) + self.blob_bytes


class ArtifactStore:
    """Where a provider keeps what its kinds made: dataset and code trees and models by digest,
    built environments, the records of runs. `mlform gc` and `mlform reproduce` reach stored
    objects only through this, so they work whichever provider made them (`Provider.artifacts`).
    """

    def describe(self) -> str:
        """Where the store is, in words, for messages ("the content store in /w/.mlform")."""
        return type(self).__name__

    def exists(self, digest: str) -> bool:
        """Whether the tree `digest` (a dataset, code snapshot or model) is stored."""
        raise NotImplementedError

    def uri(self, digest: str) -> str:
        """Where the stored tree `digest` is, as the provider's `dataset` kind accepts it as a
        `source` (a path, `s3://...`)."""
        raise NotImplementedError

    def get_tree(self, digest: str, dest: Path) -> Path:
        """Copy the stored tree `digest` into the new folder `dest` (writable); returns `dest`."""
        raise NotImplementedError

    def environment_lock(self, env_id: str) -> dict[str, str] | None:
        """The package lock of the built environment `env_id` when the store still has it
        (records older than the lock in the lineage); None when it does not."""
        return None

    def gc(self, keep: set[str], *, dry_run: bool) -> GcReport:
        """Remove every object none of the names in `keep` leads to (digests' 64 hex digits,
        environment ids' hex, run and object ids: whatever the kept serials mention), and what
        only those objects used. Objects being written and work still running are never
        touched. With `dry_run`, remove nothing and report what would go."""
        return GcReport()


_SLOTS_LOCK = threading.Lock()


class Provider:
    """One provider configuration (one `provider` block, or the implied default one)."""

    name: ClassVar[str]
    version: ClassVar[str] = "0.0.0"
    config: ClassVar[type[BaseModel]] = Model
    kinds: ClassVar[Mapping[str, type[Kind]]] = {}
    # How the engine retries this provider's retryable errors.
    retry: ClassVar[RetryPolicy] = RetryPolicy()
    # At most this many calls to this provider configuration in flight at once (an API's
    # rate limit); None: only --parallelism limits them.
    max_concurrency: ClassVar[int | None] = None

    def __init__(self) -> None:
        self.settings: BaseModel | None = None
        self._kind_instances: dict[str, Kind] = {}

    def call_slots(self) -> threading.BoundedSemaphore | None:
        """The semaphore that holds calls to `max_concurrency` (None: no limit)."""
        if self.max_concurrency is None:
            return None
        with _SLOTS_LOCK:
            # Made on first use (a subclass' __init__ need not call this class').
            slots: threading.BoundedSemaphore | None = self.__dict__.get("_call_slots")
            if slots is None:
                slots = threading.BoundedSemaphore(max(1, self.max_concurrency))
                self.__dict__["_call_slots"] = slots
            return slots

    def configure(self, config: BaseModel, ctx: Context) -> None:
        self.settings = config

    def identity(self) -> dict[str, str]:
        """Where this configuration's objects live, called after `configure`: the account and
        region of a cloud, the store of the test provider. The engine records it with every
        object created and refuses to delete an object with a configuration whose identity
        differs (the object would be sought, and "deleted", where it is not). Values are
        plain strings a user recognizes. Empty (the default): no check."""
        return {}

    def offers(self) -> list[Offer]:
        """The machines this provider can provision, with their prices (`mlform.kinds.offers`):
        what `mlform offers` lists and what a refused plan suggests. Called on a configured
        instance while planning, and on an unconfigured one by `mlform offers`, so it needs no
        credentials (a catalog shipped with the provider). Empty (the default): none."""
        return []

    def artifacts(
        self, ctx: Context, identity: Mapping[str, str] | None = None
    ) -> ArtifactStore | None:
        """The artifact store of this configuration, for `mlform gc` and `mlform reproduce`.
        They call it on an instance configured with the default settings, passing the
        `identity()` the state recorded with the objects, so that it opens the store those
        objects were made in (another data folder, another account). None (the default): the
        provider keeps nothing mlform can collect or reproduce from."""
        return None

    def kind(self, name: str) -> Kind:
        inst = self._kind_instances.get(name)
        if inst is None:
            inst = self.kinds[name](self)
            self._kind_instances[name] = inst
        return inst

    def close(self) -> None:
        """Release what `configure` opened (clients, pools)."""
