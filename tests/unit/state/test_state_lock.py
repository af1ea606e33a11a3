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
    assert not info_path.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # no temporary file left


DIE_HOLDING = """
import os, sys
from mlform.state.backends.local import LocalBackend
from mlform.state.session import StateSession
from mlform.state import InstanceRecord
s = StateSession.open(LocalBackend({}, sys.argv[1]), operation="apply", who="erin@box")
s.put_instance("test_object.a", 'provider["test"]', InstanceRecord(id="a"))
print(s.lock_info.id, flush=True)
os._exit(9)   # dies holding the lock, as a killed run does
"""


def _dead_holder(tmp_path: Path) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", DIE_HOLDING, str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 9, proc.stderr
    return proc.stdout.strip()


def test_a_dead_holders_lock_is_replaced_with_a_warning(tmp_path: Path) -> None:
    from mlform.state.errors import set_notice_handler

    lock_id = _dead_holder(tmp_path)
    seen: list[str] = []
    set_notice_handler(lambda d: seen.append(f"{d.summary}\n{d.detail}"))
    try:
        start = time.monotonic()
        with StateSession.open(LocalBackend({}, tmp_path), lock_timeout=30) as sess:
            # No waiting for a process that is gone, and no force-unlock needed.
            assert time.monotonic() - start < 5
            assert sess.lock_info is not None and sess.lock_info.replaced is not None
            assert sess.lock_info.replaced.id == lock_id
            assert len(sess.state) == 1  # its journal was replayed
            held = json.loads((tmp_path / "mlform.state.json.lock.info").read_text())
            assert held["id"] == sess.lock_info.id and "replaced" not in held
    finally:
        set_notice_handler(None)
    assert len(seen) == 1
    assert "erin@box" in seen[0] and lock_id in seen[0] and "(apply)" in seen[0]
    assert "Its journal was replayed: 1 objects recorded" in seen[0]
    assert [str(d.summary) for d in sess.notices] == [seen[0].split("\n")[0]]


def test_a_record_left_without_its_os_lock_is_replaced(tmp_path: Path) -> None:
    """A record no process holds (written by hand, or by an mlform that kept the record as the
    authority) does not block either."""
    info = LockInfo.new("apply", who="erin@box")
    info.pid = 2**22 + 7
    (tmp_path / "mlform.state.json.lock.info").write_text(json.dumps(info.to_json()))
    with StateSession.open(LocalBackend({}, tmp_path), lock_timeout=0) as sess:
        assert sess.lock_info is not None and sess.lock_info.replaced is not None
        assert sess.lock_info.replaced.id == info.id
        assert "It left no unfinished operations" in sess.notices[0].detail


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


def test_force_unlock_refuses_while_the_holder_runs(tmp_path: Path) -> None:
    backend = LocalBackend({}, tmp_path)
    with StateSession.open(backend) as holder:
        assert holder.lock_info is not None
        with pytest.raises(LockError, match="held by a running mlform"):
            backend.force_unlock("default", holder.lock_info.id)
        # The lock is kept, and a second run is told who holds it.
        with pytest.raises(LockError) as err:
            StateSession.open(LocalBackend({}, tmp_path), lock_timeout=0.2)
        assert holder.lock_info.id in str(err.value)


def test_force_unlock_removes_a_dead_holders_record(tmp_path: Path) -> None:
    lock_id = _dead_holder(tmp_path)
    backend = LocalBackend({}, tmp_path)
    backend.force_unlock("default", lock_id)
    assert backend.lock_info() is None


def test_racing_runs_are_always_told_who_holds_the_lock(tmp_path: Path) -> None:
    """The holder's record is in place the moment the lock is taken: a run refused at that
    instant names the holder, never 'has not written its lock info yet'."""
    from concurrent.futures import ThreadPoolExecutor

    backend = LocalBackend({}, tmp_path)
    barrier = threading.Barrier(20)

    def attempt(_: int) -> str:
        barrier.wait()
        try:
            sess = StateSession.open(backend, lock_timeout=0)
        except LockError as exc:
            return "named" if exc.info is not None and exc.info.id in str(exc) else str(exc)
        time.sleep(0.01)
        sess.close()
        return "held"

    outcomes: list[str] = []
    with ThreadPoolExecutor(20) as pool:
        for _ in range(15):
            outcomes += list(pool.map(attempt, range(20)))
    unnamed = [o for o in outcomes if o not in ("named", "held")]
    assert not unnamed, unnamed[0]
    assert "held" in outcomes and "named" in outcomes
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_unlocked_sessions_do_not_wait(tmp_path: Path) -> None:
    backend = LocalBackend({}, tmp_path)
    with StateSession.open(backend), StateSession.open(backend, operation="plan", lock=False) as r:
        assert r.lock_info is None
