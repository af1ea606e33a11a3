"""The journal file: torn tails, damage, a crash after the commit that folded it."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from mlform.state import InstanceRecord, StateError
from mlform.state.backends.local import LocalBackend
from mlform.state.errors import JournalError
from mlform.state.journal import Journal
from mlform.state.session import StateSession

P = 'provider["test"]'


def _crashed_run(tmp_path: Path, n: int) -> tuple[LocalBackend, Path]:
    backend = LocalBackend({}, tmp_path)
    sess = StateSession.open(backend)
    for i in range(n):
        sess.put_instance(f"test_object.o[{i}]", P, InstanceRecord(id=str(i)))
    sess.close()
    return backend, tmp_path / "mlform.state.json.journal"


def test_journal_lines(tmp_path: Path) -> None:
    _, path = _crashed_run(tmp_path, 2)
    lines = [json.loads(x) for x in path.read_text().splitlines()]
    assert lines[0]["mlform_journal"] == 1 and lines[0]["serial"] == 0
    assert [x["op"] for x in lines[1:]] == ["put", "put"]
    assert lines[2]["addr"] == "test_object.o[1]" and lines[2]["instance"]["id"] == "1"


@pytest.mark.parametrize("tail", ['{"op": "put", "addr": "test_obj', '{"op": "put"}garbage\n'])
def test_a_torn_last_line_is_dropped_and_appending_continues(tmp_path: Path, tail: str) -> None:
    backend, path = _crashed_run(tmp_path, 3)
    with path.open("a") as f:
        f.write(tail)
    with StateSession.open(backend) as sess:
        assert len(sess.recovered) == 3
        sess.put_instance("test_object.more", P, InstanceRecord(id="m"))
        sess.close()
    # The torn bytes are gone, the new entry is a clean line after the old ones.
    contents = Journal(path).read()
    assert contents is not None and not contents.torn_tail
    assert [e["addr"] for e in contents.entries][-1] == "test_object.more"
    with StateSession.open(backend) as sess:
        assert len(sess.state) == 4


def test_a_damaged_line_inside_is_an_error_naming_the_file(tmp_path: Path) -> None:
    backend, path = _crashed_run(tmp_path, 3)
    lines = path.read_text().splitlines(keepends=True)
    lines[2] = "{not json\n"
    path.write_text("".join(lines))
    with pytest.raises(StateError) as err:
        StateSession.open(backend)
    assert f"{path} is damaged at line 3" in str(err.value)
    assert backend.lock_info() is None


def test_a_torn_header_means_nothing_was_recorded(tmp_path: Path) -> None:
    backend = LocalBackend({}, tmp_path)
    path = tmp_path / "mlform.state.json.journal"
    path.write_text('{"mlform_journal": 1, "id"')
    with StateSession.open(backend) as sess:
        assert sess.recovered == [] and len(sess.state) == 0
    assert not path.exists()


def test_a_foreign_file_is_not_replayed(tmp_path: Path) -> None:
    backend = LocalBackend({}, tmp_path)
    (tmp_path / "mlform.state.json.journal").write_text('{"hello": 1}\n')
    with pytest.raises(StateError, match="not an mlform state journal"):
        StateSession.open(backend)


def test_crash_after_the_commit_that_folded_the_journal(tmp_path: Path) -> None:
    backend, path = _crashed_run(tmp_path, 2)
    saved = path.read_bytes()
    with StateSession.open(backend) as sess:
        sess.commit()
    # As if the run died between the state's rename and the journal's removal.
    path.write_bytes(saved)
    with StateSession.open(backend) as sess:
        assert sess.recovered == [] and sess.state.serial == 1 and len(sess.state) == 2
    assert not path.exists()


def test_a_session_that_only_reads_never_touches_the_journal(tmp_path: Path) -> None:
    backend, path = _crashed_run(tmp_path, 2)
    before = path.read_bytes()
    with StateSession.open(backend, operation="plan", lock=False) as sess:
        assert len(sess.state) == 2
    assert path.read_bytes() == before


def test_commit_skips_when_nothing_changed_but_outputs_count(tmp_path: Path) -> None:
    from mlform.state import OutputRecord

    backend = LocalBackend({}, tmp_path)
    with StateSession.open(backend) as sess:
        assert sess.commit().serial == 0
        assert not (tmp_path / "mlform.state.json").exists()
        sess.set_outputs({"x": OutputRecord(1, "number")})
        assert sess.commit().serial == 1
        sess.set_outputs({"x": OutputRecord(1, "number")})
        assert sess.commit().serial == 1
        sess.set_outputs({"x": OutputRecord(2, "number")})
        assert sess.commit().serial == 2
    assert backend.read().outputs["x"].value == 2


def test_put_keeps_its_own_copy_and_the_creation_time(tmp_path: Path) -> None:
    backend = LocalBackend({}, tmp_path)
    with StateSession.open(backend) as sess:
        rec = InstanceRecord(id="1", attributes={"v": [1]})
        stored = sess.put_instance("test_object.a", P, rec)
        rec.attributes["v"].append(2)
        assert sess.state.instance("test_object.a").attributes == {"v": [1]}
        created = stored.created_at
        again = sess.put_instance("test_object.a", P, InstanceRecord(id="1"))
        assert again.created_at == created and again.updated_at >= created
        sess.commit()
    with pytest.raises(StateError, match="closed"):
        sess.put_instance("test_object.b", P, InstanceRecord())


def test_puts_from_many_threads(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    backend = LocalBackend({}, tmp_path)
    sess = StateSession.open(backend)

    def work(t: int) -> None:
        for i in range(50):
            addr = f'test_object.t{t}["{i}"]'
            sess.begin_create(addr, f"{t}-{i}", P)
            sess.put_instance(addr, P, InstanceRecord(id=f"{t}-{i}"))

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(work, range(8)))
    assert len(sess.state) == 400 and sess.state.pending == []
    sess.close()
    lines = (tmp_path / "mlform.state.json.journal").read_text().splitlines()
    assert len(lines) == 1 + 800
    with StateSession.open(backend) as again:
        assert len(again.state) == 400 and again.state.pending == []
        assert again.state.instance('test_object.t7["49"]').id == "7-49"


def test_a_reader_without_the_lock_leaves_a_header_being_written(tmp_path: Path) -> None:
    backend = LocalBackend({}, tmp_path)
    path = tmp_path / "mlform.state.json.journal"
    path.write_text('{"mlform_journal": 1, "id"')
    with StateSession.open(backend, operation="plan", lock=False) as sess:
        assert len(sess.state) == 0
    assert path.exists()


def test_read_state_includes_a_crashed_run(tmp_path: Path) -> None:
    from mlform.state.session import read_state

    backend, path = _crashed_run(tmp_path, 3)
    state = read_state(backend)
    assert len(state) == 3 and bool(state) and state.serial == 0
    assert path.exists() and backend.read() is None


def test_one_sync_serves_the_records_written_while_another_ran(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Group commit: threads that record while a sync runs share the next one, and each put
    returns only once a sync that started after its line was written has finished."""
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    import mlform.state.journal as journal_module

    syncs: list[int] = []
    real_sync = journal_module._sync

    def slow_sync(fd: int) -> None:
        time.sleep(0.005)  # a slow disk: records pile up behind each sync
        real_sync(fd)
        syncs.append(os.fstat(fd).st_size)

    monkeypatch.setattr(journal_module, "_sync", slow_sync)
    backend = LocalBackend({}, tmp_path)
    sess = StateSession.open(backend)
    path = tmp_path / "mlform.state.json.journal"
    durable_at_return: list[tuple[int, int]] = []
    lock = threading.Lock()

    def work(i: int) -> None:
        sess.put_instance(f"test_object.o[{i}]", P, InstanceRecord(id=str(i)))
        text = path.read_bytes()
        end = text.index(f'"id":"{i}"'.encode()) if f'"id":"{i}"'.encode() in text else -1
        with lock:
            durable_at_return.append((end, max(syncs)))

    with ThreadPoolExecutor(20) as pool:
        list(pool.map(work, range(200)))
    sess.close()
    assert len(path.read_text().splitlines()) == 201
    # Far fewer syncs than records, and every put's line was inside a finished sync.
    assert len(syncs) < 100
    assert all(0 <= end < synced for end, synced in durable_at_return)


def test_a_failed_sync_is_reported_to_the_thread_that_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import mlform.state.journal as journal_module

    backend = LocalBackend({}, tmp_path)
    sess = StateSession.open(backend)
    sess.put_instance("test_object.a", P, InstanceRecord(id="a"))

    def failing_sync(fd: int) -> None:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(journal_module, "_sync", failing_sync)
    with pytest.raises(JournalError, match="Input/output error while writing the journal"):
        sess.put_instance("test_object.b", P, InstanceRecord(id="b"))
    # Nothing recorded afterwards can be called durable either, and no create is sent.
    with pytest.raises(JournalError):
        sess.put_instance("test_object.c", P, InstanceRecord(id="c"))
    with pytest.raises(JournalError):
        sess.begin_create("test_object.d", "tok-d", P)
    assert not sess.state.pending
    sess.close()


def test_an_intent_record_is_in_the_file_when_begin_create_returns(tmp_path: Path) -> None:
    """A create's intent must survive the process being killed during the provider call, so
    it is written before begin_create returns (its sync runs in the background)."""
    backend = LocalBackend({}, tmp_path)
    sess = StateSession.open(backend)
    sess.begin_create("test_object.a", "tok-1", P)
    text = (tmp_path / "mlform.state.json.journal").read_text()
    assert '"token":"tok-1"' in text.replace(" ", "")
    sess.close()


def test_deposed_objects_are_kept_cleared_and_replayed(tmp_path: Path) -> None:
    """A put that says nothing of deposed objects keeps the ones state has; an empty set
    clears them; an instance whose object is gone keeps them under a shell record; a crashed
    run's journal replays to the same state."""
    backend = LocalBackend({}, tmp_path)
    sess = StateSession.open(backend)
    old = InstanceRecord(id="old", attributes={"v": 1})
    sess.put_instance("test_object.a", P, InstanceRecord(id="new", deposed={"k1": old}))
    sess.put_instance("test_object.a", P, InstanceRecord(id="newer"))
    assert sess.state.instance("test_object.a").deposed["k1"].id == "old"
    current = sess.state.instance("test_object.a")
    sess.put_instance("test_object.a", P, current.shell())
    shell = sess.state.instance("test_object.a")
    assert shell is not None and shell.is_shell and list(shell.deposed) == ["k1"]
    sess.put_instance("test_object.b", P, InstanceRecord(id="b", deposed={"k2": old}))
    sess.put_instance("test_object.b", P, InstanceRecord(id="b", deposed={}))
    assert sess.state.instance("test_object.b").deposed == {}
    sess.close()  # no commit: the next session replays the journal
    with StateSession.open(backend) as again:
        a = again.state.instance("test_object.a")
        assert a is not None and a.is_shell and a.deposed["k1"].attributes == {"v": 1}
        assert not again.state.instance("test_object.b").deposed
        again.commit()
    text = (tmp_path / "mlform.state.json").read_text()
    assert text.count('"deposed"') == 1  # written only where there are some


def _fill_after(monkeypatch: pytest.MonkeyPatch, path: Path, room: int) -> None:
    """The disk fills up once `room` more bytes reach the journal at `path`: a write that
    does not fit is cut short, and any after it fails with ENOSPC, as on a full tmpfs."""
    import errno

    real_write = os.write
    left = [room]

    def write(fd: int, data: bytes) -> int:
        try:
            is_journal = os.path.samefile(f"/proc/self/fd/{fd}", path)
        except OSError:
            is_journal = False
        if not is_journal:
            return real_write(fd, data)
        if left[0] <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        n = real_write(fd, bytes(data)[: left[0]])
        left[0] -= n
        return n

    monkeypatch.setattr(os, "write", write)


@pytest.mark.parametrize("room", [600, 2500, 9000])
def test_a_full_disk_stops_every_create_whose_intent_is_not_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, room: int
) -> None:
    """Threads record intents and results side by side while the disk fills up. A create is
    "sent" only when begin_create returned; every one sent must have its intent in the file,
    and the file must stay a clean journal that the next run replays."""
    from concurrent.futures import ThreadPoolExecutor

    backend = LocalBackend({}, tmp_path)
    sess = StateSession.open(backend)
    path = tmp_path / "mlform.state.json.journal"
    sess.put_instance("test_object.first", P, InstanceRecord(id="first"))
    _fill_after(monkeypatch, path, room)
    sent: list[str] = []
    errors: list[JournalError] = []

    def create(i: int) -> None:
        token = f"tok-{i}"
        try:
            sess.begin_create(f"test_object.o[{i}]", token, P)
            sent.append(token)  # the provider is called now
            sess.put_instance(f"test_object.o[{i}]", P, InstanceRecord(id=str(i)))
        except JournalError as exc:
            errors.append(exc)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(create, range(200)))
    sess.close()
    monkeypatch.undo()
    assert errors, "the disk never filled up"
    assert "No space left on device while writing the journal" in str(errors[0])
    assert len(sent) < 200
    contents = Journal(path).read()  # no damaged line: a torn batch was cut off again
    assert contents is not None and not contents.torn_tail
    intents = {e["token"] for e in contents.entries if e["op"] == "begin_create"}
    assert set(sent) <= intents
    # The next run finds every create that was sent, as done or to look up by its token.
    with StateSession.open(backend) as nxt:
        known = {p.token for p in nxt.state.pending} | {
            f"tok-{inst.id}" for _, _, inst in nxt.state.all_instances()
        }
        assert set(sent) <= known
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")) == []


def test_a_failed_background_sync_stops_the_next_create(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno
    import time

    import mlform.state.journal as journal_module

    backend = LocalBackend({}, tmp_path)
    sess = StateSession.open(backend)
    sess.put_instance("test_object.a", P, InstanceRecord(id="a"))

    def failing_sync(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(journal_module, "_sync", failing_sync)
    sess.begin_create("test_object.b", "tok-b", P)  # written; its sync fails in the background
    deadline = time.monotonic() + 5
    while sess.journal.failure is None and time.monotonic() < deadline:
        time.sleep(0.01)
    with pytest.raises(JournalError, match="No space left on device"):
        sess.begin_create("test_object.c", "tok-c", P)
    assert [p.token for p in sess.state.pending] == ["tok-b"]
    sess.close()


def test_a_commit_on_a_full_disk_keeps_the_journal_and_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno

    backend = LocalBackend({}, tmp_path)
    sess = StateSession.open(backend)
    sess.put_instance("test_object.a", P, InstanceRecord(id="a"))
    real_write = os.write

    def full(fd: int, data: bytes) -> int:
        if os.readlink(f"/proc/self/fd/{fd}").endswith(".tmp"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", full)
    with pytest.raises(StateError, match="No space left on device while writing the state"):
        sess.commit()
    sess.close()
    monkeypatch.undo()
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == ["mlform.state.json.history", "mlform.state.json.journal"]
    assert list((tmp_path / "mlform.state.json.history").iterdir()) == []
    with StateSession.open(backend) as nxt:
        assert len(nxt.state) == 1 and nxt.commit().serial == 1
