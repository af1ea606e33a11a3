"""The conformance suite every state backend passes before it is called done.

Use it from a test module of the backend's package:

    from mlform.testing.backend_conformance import BackendConformance

    class TestMyBackend(BackendConformance):
        backend_type = "mybackend"                  # its entry point name in "mlform.backends"
        def backend_config(self, workdir):          # a fresh, empty store for each test
            return {"bucket": ..., "prefix": str(workdir.name)}

Each test gets a fresh backend from `make_backend(workdir)` (override it for a factory that is not
an entry point). Tests that need a second process (a lock held elsewhere, a holder that dies)
rebuild the backend there with `load_backend(backend_type, backend_config(workdir), workdir)`.
What it checks: an empty read, a write/read round trip, serial growth, history, lock exclusion
(in this process and from another), two processes racing for the lock through many commits
(no serial skipped or written twice, no update lost), compare-and-swap (a write made on a stale
read is refused), force-unlock of a dead holder's lock, a stale lock of another machine (blocks
until force-unlocked, and its holder's late release frees nothing of the next holder's),
workspaces, mode 0600 of files where the backend has files, and journal replay after a session
that never committed.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

from mlform.state import InstanceRecord, LockError, OutputRecord, State, StateError
from mlform.state.backends import Backend, LockInfo, load_backend
from mlform.state.model import PendingCreate
from mlform.state.session import StateSession

PROVIDER = 'provider["test"]'


def sample_state(serial: int = 3) -> State:
    """A state using every field of the format."""
    s = State.empty()
    s.serial = serial
    s.set_instance(
        "test_object.a",
        PROVIDER,
        InstanceRecord(
            id="a-1",
            attributes={"value": "x", "nested": {"list": [1, 2.5, None, True]}},
            sensitive_paths=[["nested", "list", 0]],
            created_at="2026-01-01T00:00:00.000000Z",
            updated_at="2026-01-01T00:00:00.000000Z",
        ),
    )
    s.set_instance(
        'module.m["k"].test_object.b[1]',
        PROVIDER,
        InstanceRecord(
            status="tainted",
            id="b-1",
            dependencies=["test_object.a"],
            create_before_destroy=True,
            private={"etag": "e"},
            lineage={"inputs": {"data": "sha256:00"}},
        ),
    )
    s.set_instance('data.test_object.c["é"]', PROVIDER, InstanceRecord(id="c"))
    s.outputs = {
        "plain": OutputRecord(value=[1, "two"], type=["tuple", ["number", "string"]]),
        "secret": OutputRecord(value="s3cret", type="string", sensitive=True),
    }
    s.pending = [PendingCreate("test_object.d", "tok-1", PROVIDER, "2026-01-01T00:00:00Z")]
    s.meta = {"operation": "apply", "who": {"user": "u", "host": "h"}, "ci": None, "at": "t"}
    return s


def _python(code: str, cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=cwd,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


class BackendConformance:
    """Subclass it (named Test...) and set `backend_type` / override `backend_config`."""

    backend_type: str = "local"

    def backend_config(self, workdir: Path) -> dict[str, Any]:
        return {}

    def make_backend(self, workdir: Path) -> Backend:
        return load_backend(self.backend_type, self.backend_config(workdir), workdir)

    def files_of(self, backend: Backend, workspace: str) -> list[Path]:
        """Files holding a workspace's state, for the mode check; none for remote stores."""
        fn = getattr(backend, "state_path", None)
        if fn is None:
            return []
        p = Path(fn(workspace))
        return [p, *sorted((p.with_name(p.name + ".history")).glob("*.json"))]

    @pytest.fixture
    def workdir(self, tmp_path: Path) -> Path:
        return tmp_path

    @pytest.fixture
    def backend(self, workdir: Path) -> Backend:
        return self.make_backend(workdir)

    def _spawn(self, workdir: Path, body: str) -> subprocess.Popen[str]:
        """Run `body` in another process with `backend` rebuilt there."""
        spec = json.dumps(
            [self.backend_type, self.backend_config(workdir), str(workdir)], default=str
        )
        code = (
            "import json, os, sys, time\n"
            "from mlform.state.backends import load_backend\n"
            "from mlform.state.session import StateSession\n"
            f"t, c, w = json.loads({spec!r})\n"
            "backend = load_backend(t, c, w)\n" + textwrap.dedent(body)
        )
        return _python(code, workdir)

    # --- reading and writing ----------------------------------------------------------------

    def test_empty_read(self, backend: Backend) -> None:
        assert backend.read("default") is None
        assert backend.history("default") == []
        assert backend.lock_info("default") is None
        assert backend.workspaces()[0] == "default"

    def test_write_read_round_trip(self, backend: Backend) -> None:
        s = sample_state()
        backend.write("default", s)
        back = backend.read("default")
        assert back is not None
        assert back.to_json() == s.to_json()
        assert back.instance('module.m["k"].test_object.b[1]').private == {"etag": "e"}  # type: ignore[union-attr]  # a backend that lost it fails here

    def test_serial_grows_by_one_per_commit(self, backend: Backend) -> None:
        serials = []
        for i in range(3):
            with StateSession.open(backend, operation="apply") as sess:
                sess.put_instance(f"test_object.o{i}", PROVIDER, InstanceRecord(id=str(i)))
                serials.append(sess.commit().serial)
        assert serials == [1, 2, 3]
        # A session that changes nothing writes nothing.
        with StateSession.open(backend, operation="apply") as sess:
            assert sess.commit().serial == 3
        with StateSession.open(backend, operation="refresh") as sess:
            assert sess.commit(force=True).serial == 4
        state = backend.read("default")
        assert state is not None and state.serial == 4 and len(state) == 3

    def test_history_keeps_every_serial(self, backend: Backend) -> None:
        for i, op in enumerate(["apply", "state mv", "destroy"]):
            with StateSession.open(backend, operation=op, who="alice@box") as sess:
                sess.put_instance(f"test_object.o{i}", PROVIDER, InstanceRecord(id=str(i)))
                sess.commit({"summary": {"add": 1}})
        hist = backend.history("default")
        assert [h.serial for h in hist] == [1, 2, 3]
        assert [h.operation for h in hist] == ["apply", "state mv", "destroy"]
        assert hist[0].who["user"] == "alice" and hist[0].summary == {"add": 1}
        old = backend.read_serial("default", 2)
        assert old.serial == 2 and len(old) == 2
        with pytest.raises(StateError, match="not in the history"):
            backend.read_serial("default", 9)

    # --- locking ----------------------------------------------------------------------------

    def test_lock_excludes_a_second_session(self, backend: Backend) -> None:
        with StateSession.open(backend, operation="apply", who="alice@box") as holder:
            held = backend.lock_info("default")
            assert holder.lock_info is not None  # open() with lock=True sets it
            assert held is not None and held.id == holder.lock_info.id
            start = time.monotonic()
            with pytest.raises(LockError) as err:
                StateSession.open(backend, operation="plan", lock_timeout=0.3)
            assert time.monotonic() - start >= 0.3
            msg = str(err.value)
            assert held.id in msg and "alice@box" in msg and "apply" in msg
            assert f"mlform force-unlock {held.id}" in msg or (
                f"mlform force-unlock --force {held.id}" in msg  # no terminal to confirm on
            )
            assert err.value.info is not None and err.value.info.id == held.id
        # Released on exit: the next one gets it at once.
        with StateSession.open(backend, lock_timeout=0):
            pass
        assert backend.lock_info("default") is None

    def test_lock_excludes_another_process(self, backend: Backend, workdir: Path) -> None:
        proc = self._spawn(
            workdir,
            """
            with StateSession.open(backend, operation="apply", who="bob@elsewhere") as s:
                print(s.lock_info.id, flush=True)
                sys.stdin.readline()
            """,
        )
        # _python opens all three as pipes.
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        try:
            lock_id = proc.stdout.readline().strip()
            assert lock_id, proc.stderr.read()
            with pytest.raises(LockError) as err:
                StateSession.open(backend, operation="apply", lock_timeout=0.5)
            assert lock_id in str(err.value) and "bob@elsewhere" in str(err.value)
            # The holder finishes while a second run waits: the waiter then gets the lock.
            proc.stdin.write("\n")
            proc.stdin.flush()
            with StateSession.open(backend, operation="apply", lock_timeout=20) as s:
                assert s.lock_info is not None
        finally:
            proc.kill()
            proc.wait()

    def test_force_unlock_of_a_dead_holder(self, backend: Backend, workdir: Path) -> None:
        proc = self._spawn(
            workdir,
            """
            s = StateSession.open(backend, operation="apply")
            print(s.lock_info.id, flush=True)
            os._exit(9)   # dies holding the lock, as a killed run does
            """,
        )
        # _python opens all three as pipes.
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        lock_id = proc.stdout.readline().strip()
        proc.wait()
        assert lock_id, proc.stderr.read()
        info = backend.lock_info("default")
        assert info is not None and info.id == lock_id
        if backend.dead_holder_lock_is_released:
            # The OS lock is the authority: the next run replaces the dead holder's record
            # and is told whose it was.
            with StateSession.open(backend, lock_timeout=0) as s:
                assert s.lock_info is not None and s.lock_info.replaced is not None
                assert s.lock_info.replaced.id == lock_id
            assert backend.lock_info("default") is None
            return
        with pytest.raises(LockError) as err:
            StateSession.open(backend, lock_timeout=0.2)
        assert f"mlform force-unlock {lock_id}" in str(err.value) or (
            f"mlform force-unlock --force {lock_id}" in str(err.value)
        )
        with pytest.raises(StateError, match="does not match"):
            backend.force_unlock("default", "not-" + lock_id)
        assert backend.lock_info("default") is not None
        backend.force_unlock("default", lock_id)
        assert backend.lock_info("default") is None
        with StateSession.open(backend, lock_timeout=0):
            pass
        with pytest.raises(StateError, match="not locked"):
            backend.force_unlock("default", lock_id)

    def test_two_racing_clients(self, backend: Backend, workdir: Path) -> None:
        """Two processes commit through the same workspace as fast as they can: each commit is
        one serial, none is lost or written twice, and every instance is there."""
        rounds = 5
        procs = [
            self._spawn(
                workdir,
                f"""
                from mlform.state import InstanceRecord
                sys.stdin.readline()   # both start at once
                for i in range({rounds}):
                    with StateSession.open(backend, operation="apply", who="{name}@race",
                                           lock_timeout=60) as s:
                        s.put_instance(f"test_object.{name}[{{i}}]", 'provider["test"]',
                                       InstanceRecord(id=f"{name}-{{i}}"))
                        s.commit()
                print("done", flush=True)
                """,
            )
            for name in ("a", "b")
        ]
        try:
            for p in procs:
                assert p.stdin is not None
                p.stdin.write("\n")
                p.stdin.flush()
            for p in procs:
                out, err = p.communicate(timeout=120)
                assert p.returncode == 0 and "done" in out, err
        finally:
            for p in procs:
                p.kill()
                p.wait()
        state = backend.read("default")
        assert state is not None and state.serial == 2 * rounds
        ids = sorted(str(i.id) for _, _, i in state.all_instances())
        assert ids == sorted(f"{n}-{i}" for n in "ab" for i in range(rounds))
        assert [h.serial for h in backend.history("default")] == list(range(1, 2 * rounds + 1))
        assert backend.lock_info("default") is None

    def test_compare_and_swap_refuses_a_lost_update(self, backend: Backend, workdir: Path) -> None:
        """Two clients read the same serial without the lock and both write the next one: the
        second write is refused, and the first one's update stays."""
        with StateSession.open(backend) as sess:
            sess.put_instance("test_object.base", PROVIDER, InstanceRecord(id="base"))
            sess.commit()
        first, second = self.make_backend(workdir), self.make_backend(workdir)
        mine, theirs = first.read("default"), second.read("default")
        assert mine is not None and theirs is not None and mine.serial == theirs.serial == 1
        for st, who in ((mine, "first"), (theirs, "second")):
            st.serial += 1
            st.set_instance(f"test_object.{who}", PROVIDER, InstanceRecord(id=who))
        first.write("default", mine)
        with pytest.raises(StateError):
            second.write("default", theirs)
        final = backend.read("default")
        assert final is not None and final.serial == 2
        assert final.instance("test_object.first") is not None
        assert final.instance("test_object.second") is None
        assert [h.serial for h in backend.history("default")] == [1, 2]
        # Read again, the second client's change goes on top.
        again = second.read("default")
        assert again is not None and again.serial == 2
        again.serial += 1
        again.set_instance("test_object.second", PROVIDER, InstanceRecord(id="second"))
        second.write("default", again)
        assert len(backend.read("default")) == 3  # type: ignore[arg-type]

    def test_stale_lock_of_another_machine(self, backend: Backend, workdir: Path) -> None:
        """A lock left by a run on a machine that is gone blocks every run, naming its holder,
        until it is force-unlocked; when that holder comes back and releases its lock late, the
        lock a new run took meanwhile stays."""
        if backend.dead_holder_lock_is_released:
            pytest.skip("the operating system releases a dead holder's lock (see above)")
        ghost = LockInfo.new("apply", who="ci@runner-7")
        ghost.host, ghost.pid = "runner-7.ci.invalid", 4242
        backend.lock("default", ghost, timeout=0)
        other = self.make_backend(workdir)
        with pytest.raises(LockError) as err:
            StateSession.open(other, operation="apply", lock_timeout=0.3)
        msg = str(err.value)
        assert "ci@runner-7" in msg and ghost.id in msg and "force-unlock" in msg
        with pytest.raises(StateError, match="does not match"):
            other.force_unlock("default", "not-" + ghost.id)
        other.force_unlock("default", ghost.id)
        with StateSession.open(other, operation="apply", who="dev@laptop") as sess:
            assert sess.lock_info is not None
            backend.unlock("default", ghost.id)  # the old holder finishes after all
            now = other.lock_info("default")
            assert now is not None and now.id == sess.lock_info.id
        assert other.lock_info("default") is None

    def test_lock_info_record(self, backend: Backend) -> None:
        info = LockInfo.new("apply", who="carol@ci")
        got = backend.lock("default", info, timeout=0)
        try:
            seen = backend.lock_info("default")
            assert seen is not None
            assert (seen.id, seen.who, seen.operation, seen.pid) == (
                got.id,
                "carol@ci",
                "apply",
                os.getpid(),
            )
            assert seen.created and seen.version
        finally:
            backend.unlock("default", got.id)
        assert backend.lock_info("default") is None

    # --- workspaces -------------------------------------------------------------------------

    def test_workspaces(self, backend: Backend) -> None:
        assert backend.workspaces() == ["default"]
        backend.create_workspace("dev")
        backend.create_workspace("prod-2")
        assert backend.workspaces() == ["default", "dev", "prod-2"]
        with pytest.raises(StateError, match="already exists"):
            backend.create_workspace("dev")
        for bad in ["", "a b", "x/y", "../up", "ü"]:
            with pytest.raises(StateError, match="Invalid workspace name"):
                backend.create_workspace(bad)
        with pytest.raises(StateError, match="does not exist"):
            StateSession.open(backend, "staging")

        with StateSession.open(backend, "dev") as sess:
            sess.put_instance("test_object.a", PROVIDER, InstanceRecord(id="dev-a"))
            sess.commit()
        assert backend.read("default") is None
        dev = backend.read("dev")
        assert dev is not None and dev.instance("test_object.a").id == "dev-a"  # type: ignore[union-attr]

        with pytest.raises(StateError, match="not empty"):
            backend.delete_workspace("dev")
        backend.delete_workspace("prod-2")
        backend.delete_workspace("dev", force=True)
        assert backend.workspaces() == ["default"]
        with pytest.raises(StateError, match="cannot be deleted"):
            backend.delete_workspace("default", force=True)
        with pytest.raises(StateError, match="does not exist"):
            backend.delete_workspace("nope")

    def test_files_are_private(self, backend: Backend) -> None:
        backend.create_workspace("dev")
        for ws in ["default", "dev"]:
            with StateSession.open(backend, ws) as sess:
                sess.put_instance("test_object.a", PROVIDER, InstanceRecord(id="1"))
                if isinstance(sess.journal.path, Path):  # a remote journal has no file
                    assert stat.S_IMODE(os.stat(sess.journal.path).st_mode) == 0o600
                sess.commit()
            for f in self.files_of(backend, ws):
                assert stat.S_IMODE(os.stat(f).st_mode) == 0o600, f

    # --- journal ----------------------------------------------------------------------------

    def test_journal_replay_after_a_crash(self, backend: Backend) -> None:
        with StateSession.open(backend) as sess:
            sess.put_instance("test_object.keep", PROVIDER, InstanceRecord(id="k"))
            sess.put_instance("test_object.gone", PROVIDER, InstanceRecord(id="g"))
            sess.commit()
        with pytest.raises(RuntimeError), StateSession.open(backend) as sess:
            for i in range(20):
                sess.put_instance(f"test_object.n[{i}]", PROVIDER, InstanceRecord(id=f"n{i}"))
            sess.remove_instance("test_object.gone")
            sess.begin_create("test_object.late", "tok-late", PROVIDER)
            sess.begin_create("test_object.done", "tok-done", PROVIDER)
            sess.resolve_pending("test_object.done")
            raise RuntimeError("crash")
        # Nothing was written to the state itself...
        assert backend.read("default").serial == 1  # type: ignore[union-attr]  # a lost state fails here
        # ...but the next session sees every recorded operation.
        with StateSession.open(backend) as sess:
            assert len(sess.recovered) == 24
            s = sess.state
            assert s.serial == 1
            assert {s.instance(f"test_object.n[{i}]").id for i in range(20)} == {  # type: ignore[union-attr]
                f"n{i}" for i in range(20)
            }
            assert s.instance("test_object.gone") is None
            assert s.instance("test_object.keep").id == "k"  # type: ignore[union-attr]  # a lost instance fails here
            assert [(p.addr, p.token) for p in s.pending] == [("test_object.late", "tok-late")]
            # A replayed session can keep recording on top, then fold everything at once.
            sess.put_instance("test_object.late", PROVIDER, InstanceRecord(id="adopted"))
            assert sess.state.pending == []
            written = sess.commit({"operation": "apply"})
        assert written.serial == 2 and not sess.journal.exists()
        final = backend.read("default")
        assert final is not None and len(final) == 22 and final.pending == []

    def test_sigkill_during_puts_loses_no_acknowledged_put(
        self, backend: Backend, workdir: Path
    ) -> None:
        proc = self._spawn(
            workdir,
            """
            from mlform.state import InstanceRecord
            with StateSession.open(backend, operation="apply") as s:
                i = 0
                while True:
                    s.put_instance(f"test_object.o[{i}]", 'provider["test"]',
                                   InstanceRecord(id=str(i), attributes={"i": i}))
                    print(i, flush=True)
                    i += 1
            """,
        )
        # _python opens all three as pipes.
        assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
        seen = -1
        try:
            while seen < 40:
                line = proc.stdout.readline()
                assert line, proc.stderr.read()
                seen = int(line)
        finally:
            proc.send_signal(9)
            proc.wait()
        info = backend.lock_info("default")
        assert info is not None
        backend.force_unlock("default", info.id)
        with StateSession.open(backend) as sess:
            got = sorted(int(i.id) for _, _, i in sess.state.all_instances())  # type: ignore[arg-type]  # ids were written
            assert got == list(range(len(got))) and len(got) > seen
            sess.commit()
        assert len(backend.read("default")) == len(got)  # type: ignore[arg-type]  # a lost state fails here

    def test_uncommitted_session_twice(self, backend: Backend) -> None:
        for i in range(2):
            sess = StateSession.open(backend)
            sess.put_instance(f"test_object.x{i}", PROVIDER, InstanceRecord(id=str(i)))
            sess.close()  # never committed
        with StateSession.open(backend) as sess:
            assert [str(r) for r in sess.recovered] == [
                "test_object.x0: recorded",
                "test_object.x1: recorded",
            ]
            assert sess.commit().serial == 1

    def test_journal_on_a_replaced_state_is_refused(self, backend: Backend) -> None:
        with StateSession.open(backend) as sess:
            sess.put_instance("test_object.a", PROVIDER, InstanceRecord(id="1"))
            sess.commit()
        sess = StateSession.open(backend)
        sess.put_instance("test_object.b", PROVIDER, InstanceRecord(id="2"))
        sess.close()
        other = backend.read("default")
        assert other is not None
        other.serial = 7
        backend.write("default", other)
        with pytest.raises(StateError, match="does not apply to the current state") as err:
            StateSession.open(backend)
        assert str(sess.journal.path) in str(err.value)
        assert backend.lock_info("default") is None
