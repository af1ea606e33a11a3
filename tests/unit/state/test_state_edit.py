"""State edits: mv, rm, taint, untaint and push, each its own serial."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mlform.state import InstanceRecord, State, StateError
from mlform.state.backends.local import LocalBackend
from mlform.state.edit import commit_edit, move, push, remove, taint, untaint

P = 'provider["test"]'


def _state() -> State:
    s = State.empty()
    s.set_instance("test_object.a[0]", P, InstanceRecord(id="a0"))
    s.set_instance("test_object.a[1]", P, InstanceRecord(id="a1"))
    s.set_instance("test_object.one", P, InstanceRecord(id="one"))
    s.set_instance("other_kind.x", P, InstanceRecord(id="x", dependencies=["test_object.a"]))
    s.set_instance("data.test_object.d", P, InstanceRecord(id="d"))
    s.set_instance('module.m["k"].test_object.in', P, InstanceRecord(id="in"))
    s.set_instance('module.m["k"].module.sub.test_object.deep', P, InstanceRecord(id="deep"))
    return s


def _ids(s: State) -> dict[str, str | None]:
    return {str(a): i.id for a, _, i in s.all_instances()}


def test_move_a_resource_with_all_its_instances() -> None:
    s = _state()
    new = move(s, "test_object.a", "test_object.b")
    assert new.instance("test_object.b[1]").id == "a1" and new.instance("test_object.a[0]") is None
    assert new.instance("other_kind.x").dependencies == ["test_object.b"]
    assert s.instance("test_object.a[0]").id == "a0"  # the input is untouched


def test_move_a_resource_into_a_module() -> None:
    new = move(_state(), "test_object.a", "module.n")
    assert new.instance("module.n.test_object.a[0]").id == "a0"


def test_move_instances() -> None:
    s = _state()
    assert move(s, "test_object.a[0]", "test_object.a[5]").instance("test_object.a[5]").id == "a0"
    new = move(s, "test_object.a[1]", 'test_object.c["x"]')
    assert new.instance('test_object.c["x"]').id == "a1"
    assert new.instance("test_object.a[0]").id == "a0"
    assert (
        move(s, "test_object.one", "test_object.two[0]").instance("test_object.two[0]").id == "one"
    )
    assert move(s, "test_object.a[0]", "test_object.z").instance("test_object.z").id == "a0"


def test_move_a_module_with_its_children() -> None:
    new = move(_state(), 'module.m["k"]', "module.renamed")
    assert _ids(new)["module.renamed.test_object.in"] == "in"
    assert _ids(new)["module.renamed.module.sub.test_object.deep"] == "deep"
    assert not any(a.startswith("module.m[") for a in _ids(new))


@pytest.mark.parametrize(
    ("src", "dst", "expect"),
    [
        ("test_object.a", "test_object.one", "already exists"),
        ("test_object.a[0]", "test_object.a[1]", "already exists"),
        ('module.m["k"]', 'module.m["k"].module.sub', "into itself"),
        ("test_object.a", "other_kind.a", "resource types do not match"),
        ("test_object.one", "data.test_object.one", "data resource"),
        ("test_object.nope", "test_object.b", "No resource test_object.nope"),
        ("test_object.a[7]", "test_object.a[8]", "No instance test_object.a[7]"),
        ('module.m["k"]', "test_object.q", "moves to a module"),
        ("module.none", "module.other", "No objects in state under module.none"),
        ("test_object.a", "test_object.b[0]", "move it to a resource address"),
    ],
)
def test_refused_moves(src: str, dst: str, expect: str) -> None:
    with pytest.raises(StateError, match=re.escape(expect)):
        move(_state(), src, dst)


def test_remove() -> None:
    s = _state()
    new, removed = remove(s, ["test_object.a", 'module.m["k"]', "data.test_object.d"])
    assert removed == [
        "test_object.a[0]",
        "test_object.a[1]",
        'module.m["k"].test_object.in',
        'module.m["k"].module.sub.test_object.deep',
        "data.test_object.d",
    ]
    assert sorted(_ids(new)) == ["other_kind.x", "test_object.one"]
    with pytest.raises(StateError, match="No matching objects in state for test_object.zz"):
        remove(s, ["test_object.one", "test_object.zz"])


def test_taint_and_untaint() -> None:
    s = taint(_state(), "test_object.a[1]")
    assert s.instance("test_object.a[1]").status == "tainted"
    assert untaint(s, "test_object.a[1]").instance("test_object.a[1]").status == "ready"
    with pytest.raises(StateError, match="Data resources"):
        taint(s, "data.test_object.d")
    with pytest.raises(StateError) as err:
        taint(s, "test_object.a")
    assert "test_object.a[0]" in err.value.detail
    with pytest.raises(StateError, match="No instance test_object.q"):
        taint(s, "test_object.q")


def test_each_edit_is_a_serial_in_history(tmp_path: Path) -> None:
    backend = LocalBackend({}, tmp_path)
    commit_edit(backend, "default", "import", lambda s: _state())
    commit_edit(backend, "default", "state mv", lambda s: move(s, "test_object.a", "test_object.b"))
    commit_edit(backend, "default", "taint", lambda s: taint(s, "test_object.one"))
    commit_edit(backend, "default", "state rm", lambda s: remove(s, ["test_object.b"])[0])
    hist = backend.history()
    assert [(h.serial, h.operation) for h in hist] == [
        (1, "import"),
        (2, "state mv"),
        (3, "taint"),
        (4, "state rm"),
    ]
    assert backend.read_serial("default", 2).instance("test_object.b[0]").id == "a0"
    assert backend.read().instance("test_object.b[0]") is None


def test_push(tmp_path: Path) -> None:
    backend = LocalBackend({}, tmp_path)
    commit_edit(backend, "default", "import", lambda s: _state())
    commit_edit(backend, "default", "taint", lambda s: taint(s, "test_object.one"))
    current = backend.read()
    assert current is not None and current.serial == 2

    old = backend.read_serial("default", 1)
    with pytest.raises(StateError, match="Cannot push serial 1 over serial 2"):
        push(backend, "default", old)
    stranger = State.empty()
    stranger.serial = 9
    with pytest.raises(StateError, match="different lineage"):
        push(backend, "default", stranger)

    ahead = current.copy()
    ahead.serial = 10
    assert push(backend, "default", ahead).serial == 10
    assert push(backend, "default", old, force=True).serial == 11
    forced = push(backend, "default", stranger, force=True)
    assert forced.serial == 12 and forced.lineage == stranger.lineage
    assert [h.operation for h in backend.history()][-3:] == ["state push"] * 3


def test_deposed_objects_move_with_their_instance_and_go_with_rm() -> None:
    s = _state()
    s.set_instance(
        "test_object.one", P, InstanceRecord(id="one", deposed={"k": InstanceRecord(id="old")})
    )
    moved = move(s, "test_object.one", "test_object.two")
    assert moved.instance("test_object.one") is None
    assert moved.instance("test_object.two").deposed["k"].id == "old"
    gone = remove(moved, ["test_object.two"])[0]
    assert gone.instance("test_object.two") is None
