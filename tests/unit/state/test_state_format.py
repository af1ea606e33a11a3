"""The state file format: round trip, upgrades from older formats, refusals."""

from __future__ import annotations

import json
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from mlform.state import FORMAT_VERSION, InstanceRecord, State, StateError
from mlform.state.backends.local import LocalBackend
from mlform.state.format import UPGRADES, dumps, load_file, state_dumps

DATA = Path(__file__).resolve().parents[2] / "testdata" / "state"


def test_round_trip_fixture_is_byte_identical() -> None:
    text = (DATA / "v1-roundtrip.json").read_text()
    state = load_file(DATA / "v1-roundtrip.json")
    assert state.serial == 8
    assert state.instance('module.m["k"].test_object.b[1]').tainted
    assert state.instance('data.test_object.c["é"]').id == "c"
    assert state.outputs["secret"].sensitive
    assert state.pending[0].token == "tok-1"
    assert state_dumps(state) == text


def test_version_0_upgrades_through_each_step() -> None:
    state = load_file(DATA / "v0.json")
    assert state.format_version == FORMAT_VERSION
    job = state.instance("training_job.digits")
    assert job.status == "tainted" and job.sensitive_paths == [["params", "c"]]
    assert state.instance("dataset.digits").status == "ready"
    assert state.outputs["endpoint"].type == "dynamic"
    assert state.pending == [] and state.meta == {}
    assert state_dumps(state) == (DATA / "v0-upgraded.json").read_text()
    assert set(UPGRADES) == set(range(FORMAT_VERSION))


def test_an_old_state_is_written_in_the_current_format_by_the_next_commit(tmp_path: Path) -> None:
    from mlform.state.session import StateSession

    shutil.copy(DATA / "v0.json", tmp_path / "mlform.state.json")
    backend = LocalBackend({}, tmp_path)
    with StateSession.open(backend) as sess:
        sess.commit({"summary": "upgrade"}, force=True)
    data = json.loads((tmp_path / "mlform.state.json").read_text())
    assert data["format_version"] == FORMAT_VERSION and data["serial"] == 13
    # The old file itself is kept in history as it was.
    assert (
        json.loads((tmp_path / "mlform.state.json.history" / "00000012.json").read_text())[
            "format_version"
        ]
        == 0
    )


def test_a_newer_format_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "mlform.state.json"
    shutil.copy(DATA / "newer.json", path)
    before = path.read_bytes()
    with pytest.raises(StateError) as err:
        LocalBackend({}, tmp_path).read()
    msg = str(err.value)
    assert str(path) in msg and "newer mlform" in msg and "Upgrade mlform" in msg
    assert path.read_bytes() == before


def test_a_corrupt_state_names_the_file_and_is_not_replaced(tmp_path: Path) -> None:
    from mlform.state.session import StateSession

    path = tmp_path / "mlform.state.json"
    shutil.copy(DATA / "corrupt.json", path)
    before = path.read_bytes()
    with pytest.raises(StateError) as err:
        StateSession.open(LocalBackend({}, tmp_path))
    assert f"The state file {path} is corrupt" in str(err.value)
    assert "line 2" in str(err.value)
    assert path.read_bytes() == before
    assert not (tmp_path / "mlform.state.json.lock.info").exists()


@pytest.mark.parametrize(
    ("data", "expect"),
    [
        ({"serial": 1}, "no `format_version`"),
        ([1, 2], "no `format_version`"),
        ({"format_version": 1, "lineage": "x"}, "not a valid mlform state"),
        (
            {"format_version": 1, "serial": 1, "lineage": "x", "resources": [{"mode": "managed"}]},
            "not a valid mlform state",
        ),
        ({"format_version": "1"}, "invalid format_version"),
    ],
)
def test_malformed_states(data: object, expect: str) -> None:
    with pytest.raises(StateError, match=expect):
        State.from_json(data, "some.json")


def test_a_terraform_state_is_named_as_such() -> None:
    with pytest.raises(StateError) as err:
        load_file(DATA / "terraform-v4.json")
    assert "Terraform state" in str(err.value)


def test_numbers_from_the_language_are_written_as_json_numbers() -> None:
    s = State.empty()
    s.set_instance("a.b", "p", InstanceRecord(attributes={"n": Decimal("3"), "f": Decimal("0.5")}))
    assert '"n":3' in dumps(s.to_json(), pretty=False)
    assert '"f":0.5' in dumps(s.to_json(), pretty=False)
    with pytest.raises(TypeError):
        dumps({"x": object()})
