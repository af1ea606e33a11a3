"""mlform's state: the record of what exists, its format, journal, history, locks and backends.

The engine uses `StateSession` (mlform.state.session) to read and change a workspace's state and
the records below to describe it; backends (mlform.state.backends) say where it is stored.
"""

from __future__ import annotations

from mlform.state.errors import LockError, StateError
from mlform.state.model import (
    FORMAT_VERSION,
    PENDING,
    READY,
    TAINTED,
    InstanceRecord,
    OutputRecord,
    PendingCreate,
    ResourceRecord,
    State,
    now_iso,
)

__all__ = [
    "FORMAT_VERSION",
    "PENDING",
    "READY",
    "TAINTED",
    "InstanceRecord",
    "LockError",
    "OutputRecord",
    "PendingCreate",
    "ResourceRecord",
    "State",
    "StateError",
    "now_iso",
]
