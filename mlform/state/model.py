"""The state model: what mlform knows about the objects it manages, as plain dataclasses.

A `State` holds resources (each with its instances), outputs, creates that were journaled but not
yet confirmed (`pending`) and `meta`, the operation that produced this serial. Lookups by address
go through an index kept beside the lists, so that recording one instance costs the same whether
the state holds ten objects or a hundred thousand. The JSON form (`to_json`/`from_json`) lives in
`mlform.state.format`; these methods delegate to it.
"""

from __future__ import annotations

import copy
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from mlform import __version__
from mlform.addrs import (
    AbsResource,
    AbsResourceInstance,
    Key,
    ModuleInstance,
    Resource,
    parse_instance,
    parse_module_instance,
)

FORMAT_VERSION = 1

READY = "ready"
TAINTED = "tainted"
# Submitted to a provider and not finished (a training job running): the object exists (it has
# an id), its outputs are not known yet; the next plan polls it.
PENDING = "pending"


_second: tuple[int, str] = (-1, "")


def now_iso() -> str:
    """The current time in UTC, ISO 8601 with a `Z`, as every timestamp in state is written."""
    global _second
    # An apply stamps thousands of records a second: format the date and time once a second.
    t = time.time()
    whole = int(t)
    sec, text = _second
    if sec != whole:
        text = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole))
        _second = (whole, text)
    return f"{text}.{int((t - whole) * 1_000_000):06d}Z"


@dataclass
class InstanceRecord:
    """One object that exists: its key, id, attributes and what it depends on."""

    index_key: Key = None
    status: str = READY
    id: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    sensitive_paths: list[list[str | int]] = field(default_factory=list)
    dependencies: list[str] = field(default_factory=list)
    create_before_destroy: bool = False
    private: dict[str, Any] = field(default_factory=dict)
    lineage: dict[str, Any] | None = None
    created_at: str = ""
    updated_at: str = ""
    # Objects this instance replaced under create_before_destroy that could not be deleted
    # yet, by deposed key; the next apply deletes them. None in a record being put means
    # "keep the ones state has" (most records are written knowing nothing of them).
    deposed: dict[str, InstanceRecord] | None = None
    # Where the object lives, as the provider configuration that created it declared it
    # (`Provider.identity()`: a cloud's account and region, the test provider's store). None:
    # not recorded (a state written before mlform recorded it, or a provider that declares
    # none); deletes then go ahead unchecked.
    provider_identity: dict[str, str] | None = None

    @property
    def tainted(self) -> bool:
        return self.status == TAINTED

    @property
    def pending(self) -> bool:
        return self.status == PENDING

    @property
    def is_shell(self) -> bool:
        """Kept only to hold deposed objects: the instance itself has no object."""
        return self.id is None and bool(self.deposed)

    def shell(self) -> InstanceRecord:
        """What is left when this instance's object is deleted but its deposed objects are
        not: a record with no object, holding them."""
        return InstanceRecord(
            index_key=self.index_key,
            status=TAINTED,
            dependencies=list(self.dependencies),
            create_before_destroy=self.create_before_destroy,
            deposed=dict(self.deposed or {}),
            created_at=self.created_at,
        )


@dataclass
class ResourceRecord:
    """A resource in one module instance and the instances it has in state."""

    mode: str
    type: str
    name: str
    module: str = ""
    provider: str = ""
    instances: list[InstanceRecord] = field(default_factory=list)
    # index_key -> position in `instances`; rebuilt when it no longer matches the list.
    _by_key: dict[Key, int] = field(default_factory=dict, repr=False, compare=False)

    def addr(self) -> AbsResource:
        return AbsResource(
            parse_module_instance(self.module),
            Resource(self.mode, self.type, self.name),  # type: ignore[arg-type]
        )

    def _reindex(self) -> None:
        self._by_key = {inst.index_key: i for i, inst in enumerate(self.instances)}

    def find(self, key: Key) -> InstanceRecord | None:
        # Without the lock: an index entry is trusted once the list confirms it, so a lookup
        # racing a change elsewhere in the list either finds its instance or takes the lock.
        pos = self._by_key.get(key)
        if pos is not None:
            instances = self.instances
            if pos < len(instances):
                inst = instances[pos]
                if inst.index_key == key:
                    return inst
        with _INDEX_LOCK:
            return self._find_locked(key)

    def _find_locked(self, key: Key) -> InstanceRecord | None:
        if len(self._by_key) != len(self.instances):
            self._reindex()  # the list was appended to or cut behind the index's back
        pos = self._by_key.get(key)
        if pos is None:
            return None
        if pos >= len(self.instances) or self.instances[pos].index_key != key:
            self._reindex()  # or edited in place
            pos = self._by_key.get(key)
        return None if pos is None else self.instances[pos]

    def put(self, rec: InstanceRecord) -> None:
        with _INDEX_LOCK:
            if self._find_locked(rec.index_key) is not None:
                self.instances[self._by_key[rec.index_key]] = rec
                return
            self._by_key[rec.index_key] = len(self.instances)
            self.instances.append(rec)

    def drop(self, key: Key) -> InstanceRecord | None:
        """Remove an instance in O(1): the last one takes its place (JSON output is sorted)."""
        with _INDEX_LOCK:
            if self._find_locked(key) is None:
                return None
            pos = self._by_key.pop(key)
            removed = self.instances[pos]
            last = self.instances.pop()
            if pos < len(self.instances):
                self.instances[pos] = last
                self._by_key[last.index_key] = pos
            return removed


@dataclass
class OutputRecord:
    value: Any
    type: Any = "dynamic"
    sensitive: bool = False


@dataclass
class PendingCreate:
    """A create sent (or about to be sent) to a provider whose answer is not yet in state."""

    addr: str
    token: str
    provider: str
    at: str = ""


ResourceKey = tuple[str, str, str, str]  # module, mode, type, name

# Changes to any state's address indexes take this lock, and so do lookups that miss on the
# fast path: an apply changes state from many threads while others look instances up.
_INDEX_LOCK = threading.RLock()


def _rkey(addr: AbsResource | AbsResourceInstance) -> ResourceKey:
    return (str(addr.module), addr.resource.mode, addr.resource.type, addr.resource.name)


def as_instance(addr: AbsResourceInstance | str) -> AbsResourceInstance:
    return parse_instance(addr) if isinstance(addr, str) else addr


@dataclass
class State:
    """A snapshot of state. `serial` grows with every change written; `lineage` names its history."""

    format_version: int = FORMAT_VERSION
    serial: int = 0
    lineage: str = ""
    mlform_version: str = __version__
    outputs: dict[str, OutputRecord] = field(default_factory=dict)
    resources: list[ResourceRecord] = field(default_factory=list)
    pending: list[PendingCreate] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)
    _index: dict[ResourceKey, int] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def empty(cls, lineage: str | None = None) -> State:
        return cls(lineage=lineage or str(uuid.uuid4()))

    # --- lookups ----------------------------------------------------------------------------

    def _reindex(self) -> None:
        self._index = {(r.module, r.mode, r.type, r.name): i for i, r in enumerate(self.resources)}

    def reindex(self) -> None:
        """Rebuild the address indexes after editing `resources` or `instances` lists directly
        (appends and removals are noticed without it; in-place replacements may not be)."""
        with _INDEX_LOCK:
            self._reindex()
            for r in self.resources:
                r._reindex()

    def resource(self, addr: AbsResource) -> ResourceRecord | None:
        key = _rkey(addr)
        # As ResourceRecord.find: the index is trusted without the lock once the list agrees.
        pos = self._index.get(key)
        if pos is not None:
            resources = self.resources
            if pos < len(resources):
                r = resources[pos]
                if (r.module, r.mode, r.type, r.name) == key:
                    return r
        with _INDEX_LOCK:
            return self._resource_locked(key)

    def _resource_locked(self, key: ResourceKey) -> ResourceRecord | None:
        if len(self._index) != len(self.resources):
            self._reindex()
        pos = self._index.get(key)
        if pos is None:
            return None
        r = self.resources[pos] if pos < len(self.resources) else None
        if r is None or (r.module, r.mode, r.type, r.name) != key:
            self._reindex()
            pos = self._index.get(key)
        return None if pos is None else self.resources[pos]

    def instance(self, addr: AbsResourceInstance | str) -> InstanceRecord | None:
        addr = as_instance(addr)
        res = self.resource(addr.abs_resource)
        return None if res is None else res.find(addr.key)

    def all_instances(
        self,
    ) -> Iterator[tuple[AbsResourceInstance, ResourceRecord, InstanceRecord]]:
        """Every instance, resources in address order and instances by key."""
        from mlform.addrs import _key_sort

        for res in sorted(self.resources, key=_resource_sort_key):
            base = res.addr()
            for inst in sorted(res.instances, key=lambda i: _key_sort(i.index_key)):
                yield base.instance(inst.index_key), res, inst

    def __len__(self) -> int:
        """The number of instances."""
        return sum(len(r.instances) for r in self.resources)

    def __bool__(self) -> bool:
        # A State is a value even when it holds nothing; `if state:` must not mean "not empty".
        return True

    # --- changes ----------------------------------------------------------------------------

    def set_instance(
        self, addr: AbsResourceInstance | str, provider: str, rec: InstanceRecord
    ) -> None:
        addr = as_instance(addr)
        rec.index_key = addr.key
        with _INDEX_LOCK:
            res = self.resource(addr.abs_resource)
            if res is None:
                res = ResourceRecord(
                    mode=addr.resource.mode,
                    type=addr.resource.type,
                    name=addr.resource.name,
                    module=str(addr.module),
                    provider=provider,
                )
                self._index[_rkey(addr)] = len(self.resources)
                self.resources.append(res)
            elif provider:
                res.provider = provider
            if rec.deposed is None:
                prior = res.find(addr.key)
                rec.deposed = dict(prior.deposed or {}) if prior is not None else {}
            res.put(rec)

    def remove_instance(self, addr: AbsResourceInstance | str) -> InstanceRecord | None:
        addr = as_instance(addr)
        with _INDEX_LOCK:
            res = self.resource(addr.abs_resource)
            if res is None:
                return None
            removed = res.drop(addr.key)
            if not res.instances:
                self._drop_resource(_rkey(addr))
            return removed

    def _drop_resource(self, key: ResourceKey) -> None:
        # Holding _INDEX_LOCK.
        if self._resource_locked(key) is None:
            return
        pos = self._index.pop(key)
        last = self.resources.pop()
        if pos < len(self.resources):
            self.resources[pos] = last
            self._index[(last.module, last.mode, last.type, last.name)] = pos

    def add_pending(self, p: PendingCreate) -> None:
        self.drop_pending(p.addr)
        self.pending.append(p)

    def drop_pending(self, addr: str) -> bool:
        # Creates finish roughly in the order they started: the entry is usually near the
        # front of the list, and there is at most one per address.
        for i, x in enumerate(self.pending):
            if x.addr == addr:
                del self.pending[i]
                return True
        return False

    # --- copies and JSON --------------------------------------------------------------------

    def copy(self) -> State:
        return copy.deepcopy(self)

    def __deepcopy__(self, memo: dict[int, Any]) -> State:
        # Through JSON: faster than the generic deepcopy, and the copy is exactly what a
        # write then a read would give.
        import json

        from mlform.state.format import dumps

        return State.from_json(json.loads(dumps(self.to_json(), pretty=False)))

    def to_json(self) -> dict[str, Any]:
        from mlform.state.format import state_to_json

        return state_to_json(self)

    @classmethod
    def from_json(cls, data: dict[str, Any], source: str = "state") -> State:
        from mlform.state.format import state_from_json

        return state_from_json(data, source)


def _resource_sort_key(r: ResourceRecord) -> tuple[object, ...]:
    return (
        ModuleInstance.sort_key(parse_module_instance(r.module)) if r.module else (),
        r.mode,
        r.type,
        r.name,
    )
