"""The local backend against the backend conformance suite, plus what only files can show."""

from __future__ import annotations

from mlform.testing.backend_conformance import BackendConformance


class TestLocalBackend(BackendConformance):
    backend_type = "local"


class TestLocalBackendCustomPath(BackendConformance):
    backend_type = "local"

    def backend_config(self, workdir):
        return {"path": "state/main.json", "workspace_dir": "state/ws"}


def test_layout_and_history_files(tmp_path):
    import json

    from mlform.state import InstanceRecord
    from mlform.state.backends.local import LocalBackend
    from mlform.state.session import StateSession

    backend = LocalBackend({}, tmp_path)
    backend.create_workspace("dev")
    for ws in ["default", "dev"]:
        with StateSession.open(backend, ws) as sess:
            sess.put_instance("test_object.a", "p", InstanceRecord(id=ws))
            sess.commit()
    assert json.loads((tmp_path / "mlform.state.json").read_text())["serial"] == 1
    dev = tmp_path / "mlform.state.d" / "dev"
    assert sorted(p.name for p in dev.iterdir()) == [
        "mlform.state.json",
        "mlform.state.json.history",
    ]
    assert (dev / "mlform.state.json.history" / "00000001.json").read_text() == (
        dev / "mlform.state.json"
    ).read_text()


def test_history_is_backfilled_after_a_crash_between_state_and_history(tmp_path):
    from mlform.state import InstanceRecord
    from mlform.state.backends.local import LocalBackend
    from mlform.state.session import StateSession

    backend = LocalBackend({}, tmp_path)
    for i in range(2):
        with StateSession.open(backend) as sess:
            sess.put_instance(f"test_object.o{i}", "p", InstanceRecord(id=str(i)))
            sess.commit()
    # As if the run died after renaming serial 2 into place, before its history copy.
    (tmp_path / "mlform.state.json.history" / "00000002.json").unlink()
    with StateSession.open(backend) as sess:
        sess.put_instance("test_object.o2", "p", InstanceRecord(id="2"))
        sess.commit()
    assert [h.serial for h in backend.history()] == [1, 2, 3]
    assert len(backend.read_serial("default", 2)) == 2


def test_workspace_deletion_is_refused_while_locked_or_unfinished(tmp_path):
    import pytest

    from mlform.state import InstanceRecord, LockError, StateError
    from mlform.state.backends.local import LocalBackend
    from mlform.state.session import StateSession

    backend = LocalBackend({}, tmp_path)
    backend.create_workspace("dev")
    with StateSession.open(backend, "dev"), pytest.raises(LockError, match="locked"):
        backend.delete_workspace("dev", force=True)
    sess = StateSession.open(backend, "dev")
    sess.put_instance("test_object.a", "p", InstanceRecord(id="1"))
    sess.close()
    with pytest.raises(StateError, match="unfinished operation"):
        backend.delete_workspace("dev")
    backend.delete_workspace("dev", force=True)
    assert backend.workspaces() == ["default"]
