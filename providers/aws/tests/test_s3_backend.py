"""The S3 backend at unit level: compare-and-swap on the ETag read, the object layout (state
versions, journal objects, lock), and the refusals of a bad configuration."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from mlform.state import InstanceRecord, StateError
from mlform.state.backends import load_backend
from mlform.state.session import StateSession

PROVIDER = 'provider["test"]'


@pytest.fixture
def config(bucket: str) -> dict[str, Any]:
    return {"bucket": bucket, "key": "ml/state.json", "region": "us-east-1"}


def commit(backend: Any, addr: str, ws: str = "default") -> int:
    with StateSession.open(backend, ws) as sess:
        sess.put_instance(addr, PROVIDER, InstanceRecord(id=addr))
        return sess.commit().serial


def test_a_write_on_a_stale_read_is_refused_even_at_a_higher_serial(
    config: dict[str, Any], tmp_path: Path
) -> None:
    """The condition is the ETag read, not only the serial: a client that read serial 1 cannot
    write serial 5 over another's serial 2."""
    first = load_backend("s3", config, tmp_path)
    commit(first, "test_object.a")
    mine = first.read("default")
    other = load_backend("s3", config, tmp_path)
    commit(other, "test_object.b")  # serial 2, unknown to `first`
    assert mine is not None
    mine.serial = 5
    with pytest.raises(StateError, match="changed since this run read it") as err:
        first.write("default", mine)
    assert "journal" in str(err.value)
    now = other.read("default")
    assert now is not None and now.serial == 2 and now.instance("test_object.b") is not None


def test_racing_writers_without_the_lock_one_wins(config: dict[str, Any], tmp_path: Path) -> None:
    base = load_backend("s3", config, tmp_path)
    commit(base, "test_object.base")
    clients = [load_backend("s3", config, tmp_path) for _ in range(6)]
    states = [c.read("default") for c in clients]
    go = threading.Barrier(len(clients))
    won: list[int] = []
    lost: list[int] = []

    def write(i: int) -> None:
        st = states[i]
        assert st is not None
        st.serial += 1
        st.set_instance(f"test_object.w{i}", PROVIDER, InstanceRecord(id=str(i)))
        go.wait()
        try:
            clients[i].write("default", st)
            won.append(i)
        except StateError:
            lost.append(i)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(len(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1 and len(lost) == len(clients) - 1
    final = base.read("default")
    assert final is not None and final.serial == 2
    assert final.instance(f"test_object.w{won[0]}") is not None
    assert [h.serial for h in base.history("default")] == [1, 2]


def test_layout_journal_objects_and_no_leftovers(
    config: dict[str, Any], tmp_path: Path, s3: Any, bucket: str
) -> None:
    backend = load_backend("s3", config, tmp_path)
    sess = StateSession.open(backend)
    sess.put_instance("test_object.a", PROVIDER, InstanceRecord(id="a"))
    sess.put_instance("test_object.b", PROVIDER, InstanceRecord(id="b"))
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == [
        "ml/state.json.journal/0000000000",  # the header
        "ml/state.json.journal/0000000001",
        "ml/state.json.journal/0000000002",
        "ml/state.json.lock",
    ]
    lock = s3.get_object(Bucket=bucket, Key="ml/state.json.lock")["Body"].read().decode()
    assert sess.lock_info is not None and sess.lock_info.id in lock
    sess.commit()
    sess.close()
    # Nothing but the state's one version is left: no journal, no lock, no delete markers.
    got = s3.list_object_versions(Bucket=bucket)
    assert [v["Key"] for v in got.get("Versions", [])] == ["ml/state.json"]
    assert not got.get("DeleteMarkers")


def test_workspaces_live_under_the_prefix(bucket: str, tmp_path: Path, s3: Any) -> None:
    backend = load_backend(
        "s3", {"bucket": bucket, "key": "state.json", "workspace_key_prefix": "ws"}, tmp_path
    )
    backend.create_workspace("dev")
    commit(backend, "test_object.a", "dev")
    commit(backend, "test_object.b")
    keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"])
    assert keys == ["state.json", "ws/dev/state.json", "ws/dev/state.json.workspace"]
    assert backend.workspaces() == ["default", "dev"]
    assert backend.describe("dev") == f"s3://{bucket}/ws/dev/state.json"


def test_a_deleted_state_with_kept_versions_is_refused(
    config: dict[str, Any], tmp_path: Path, s3: Any, bucket: str
) -> None:
    backend = load_backend("s3", config, tmp_path)
    commit(backend, "test_object.a")
    s3.delete_object(Bucket=bucket, Key="ml/state.json")  # a delete marker on top
    with pytest.raises(StateError, match="is missing, but the bucket keeps 1 earlier") as err:
        load_backend("s3", config, tmp_path).read("default")
    assert "copy-object" in str(err.value)


@pytest.mark.parametrize(
    ("conf", "message"),
    [
        ({"key": "k"}, "needs `bucket`"),
        ({"bucket": "b"}, "needs `key`"),
        ({"bucket": "b", "key": "/k"}, "must not start or end"),
        ({"bucket": "b", "key": "k", "regoin": "x"}, "Did you mean"),
        ({"bucket": "b", "key": "k", "assume_role": {"session_name": "x"}}, "needs `role_arn`"),
    ],
)
def test_bad_configuration(conf: dict[str, Any], message: str, tmp_path: Path) -> None:
    with pytest.raises(StateError, match=message):
        load_backend("s3", conf, tmp_path)


def test_unknown_argument_names_the_closest(tmp_path: Path) -> None:
    with pytest.raises(StateError) as err:
        load_backend("s3", {"bucket": "b", "key": "k", "regoin": "x"}, tmp_path)
    assert "`region`" in str(err.value)


def test_lock_waits_for_the_holder(config: dict[str, Any], tmp_path: Path) -> None:
    """A run with a lock timeout gets the lock once the holder releases it."""
    holder = load_backend("s3", config, tmp_path)
    sess = StateSession.open(holder, operation="apply")
    threading.Timer(0.5, sess.close).start()
    waiter = load_backend("s3", config, tmp_path)
    with StateSession.open(waiter, operation="apply", lock_timeout=10) as s:
        assert s.lock_info is not None
