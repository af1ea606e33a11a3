"""File locks: the records beside the state, a stale holder, and waiting for a holder to finish."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from mlform.state import LockError
from mlform.state.backends import LockInfo
from mlform.state.backends.local import LocalBackend
from mlform.state.session import StateSession


def test_lock_files_beside_the_state(tmp_path: Path) -> None:
    backend = LocalBackend({}, tmp_path)
    with StateSession.open(backend, operation="apply", who="dana@laptop") as sess:
        info_path = tmp_path / "mlform.state.json.lock.info"
        data = json.loads(info_path.read_text())
        assert data["id"] == sess.lock_info.id and data["who"] == "dana@laptop"
        assert data["path"] == str(tmp_path / "mlform.state.json")
        assert stat.S_IMODE(os.stat(info_path).st_mode) == 0o600
        assert (tmp_path / "mlform.state.json.lock").exists()
    assert not info_path.exists() and not (tmp_path / "mlform.state.json.lock").exists()


def test_a_dead_holder_is_reported_as_stale_at_once(tmp_path: Path) -> None:
    backend = LocalBackend({}, tmp_path)
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    info = LockInfo.new("apply", who="erin@box")
    info.pid = int(dead.stdout)
    info.path = str(tmp_path / "mlform.state.json")
    (tmp_path / "mlform.state.json.lock.info").write_text(json.dumps(info.to_json()))
    start = time.monotonic()
    with pytest.raises(LockError) as err:
        StateSession.open(backend, lock_timeout=30)
    # No point waiting 30 s for a process that is gone.
    assert time.monotonic() - start < 5
    msg = str(err.value)
    assert "no longer running" in msg and f"mlform force-unlock {info.id}" in msg
    assert "erin@box" in msg and info.created in msg


def test_a_waiter_gets_the_lock_when_the_holder_finishes(tmp_path: Path) -> None:
    backend = LocalBackend({}, tmp_path)
    holder = StateSession.open(backend, operation="apply")
    timer = threading.Timer(0.4, holder.close)
    timer.start()
    start = time.monotonic()
    with StateSession.open(LocalBackend({}, tmp_path), lock_timeout=10) as sess:
        waited = time.monotonic() - start
        assert sess.lock_info is not None
    timer.join()
    assert 0.3 <= waited < 5


def test_force_unlock_while_a_live_holder_runs_keeps_the_os_lock(tmp_path: Path) -> None:
    backend = LocalBackend({}, tmp_path)
    with StateSession.open(backend) as holder:
        backend.force_unlock("default", holder.lock_info.id)
        # The record is gone but the holder is alive: a second run still cannot write.
        with pytest.raises(LockError, match="has not written its lock info"):
            StateSession.open(LocalBackend({}, tmp_path), lock_timeout=0.2)


def test_unlocked_sessions_do_not_wait(tmp_path: Path) -> None:
    backend = LocalBackend({}, tmp_path)
    with StateSession.open(backend), StateSession.open(backend, operation="plan", lock=False) as r:
        assert r.lock_info is None
