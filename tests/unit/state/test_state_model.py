"""The in-memory state: lookups by address stay right through puts, removals and outside edits."""

from __future__ import annotations

import random

from mlform.addrs import parse_instance
from mlform.state import InstanceRecord, ResourceRecord, State

P = 'provider["test"]'


def test_index_agrees_with_a_plain_dict_through_random_changes() -> None:
    rng = random.Random(7)
    state = State.empty()
    truth: dict[str, str] = {}
    addrs = (
        [f"test_object.a[{i}]" for i in range(30)]
        + [f'module.m["{k}"].test_object.b["{j}"]' for k in "xy" for j in "pqr"]
        + ["data.test_object.d", "test_object.single"]
    )
    for step in range(2000):
        a = rng.choice(addrs)
        if rng.random() < 0.6:
            state.set_instance(a, P, InstanceRecord(id=f"{a}#{step}"))
            truth[a] = f"{a}#{step}"
        else:
            removed = state.remove_instance(a)
            assert (removed is not None) == (a in truth)
            truth.pop(a, None)
        probe = rng.choice(addrs)
        got = state.instance(probe)
        assert (got.id if got else None) == truth.get(probe)
    assert {str(a): i.id for a, _, i in state.all_instances()} == truth
    assert len(state) == len(truth)


def test_edits_behind_the_index_are_seen() -> None:
    state = State.empty()
    state.set_instance("test_object.a[0]", P, InstanceRecord(id="0"))
    res = state.resources[0]
    res.instances.append(InstanceRecord(index_key=1, id="1"))
    assert state.instance("test_object.a[1]").id == "1"
    res.instances[0] = InstanceRecord(index_key=5, id="5")
    # A replaced element is caught when its old key is asked for...
    assert state.instance("test_object.a[0]") is None
    assert state.instance("test_object.a[5]").id == "5"
    # ...and `reindex()` resynchronises after any other edit of the lists.
    res.instances[0] = InstanceRecord(index_key=6, id="6")
    state.reindex()
    assert state.instance("test_object.a[6]").id == "6"
    state.resources.append(
        ResourceRecord("managed", "test_object", "z", instances=[InstanceRecord(id="z")])
    )
    assert state.instance("test_object.z").id == "z"


def test_all_instances_in_address_order_and_addr() -> None:
    state = State.empty()
    for a in [
        "module.m.test_object.x",
        'test_object.b["k"]',
        "test_object.b[2]",
        "test_object.b[10]",
        "test_object.b",
        "data.test_object.a",
        "test_object.a",
    ]:
        state.set_instance(a, P, InstanceRecord())
    order = [str(a) for a, _, _ in state.all_instances()]
    assert order == [
        "data.test_object.a",
        "test_object.a",
        "test_object.b",
        "test_object.b[2]",
        "test_object.b[10]",
        'test_object.b["k"]',
        "module.m.test_object.x",
    ]
    res = state.resource(parse_instance("module.m.test_object.x").abs_resource)
    assert str(res.addr()) == "module.m.test_object.x"


def test_copy_is_deep() -> None:
    state = State.empty()
    state.set_instance("test_object.a", P, InstanceRecord(attributes={"l": [1]}))
    other = state.copy()
    other.instance("test_object.a").attributes["l"].append(2)
    assert state.instance("test_object.a").attributes == {"l": [1]}
    assert other.lineage == state.lineage


def test_lookups_never_miss_an_instance_while_others_are_removed() -> None:
    """Deletes run side by side: while one thread removes instances, another looking up an
    instance that stays must always find it."""
    import sys

    # Switch threads as often as the interpreter can, so that a lookup lands in the middle
    # of a removal.
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        _lookups_during_removals()
    finally:
        sys.setswitchinterval(interval)


def _lookups_during_removals() -> None:
    import threading

    for _ in range(20):
        s = State.empty()
        for i in range(300):
            s.set_instance(f"test_object.o[{i}]", 'provider["test"]', InstanceRecord(id=str(i)))
        missed: list[int] = []
        stop = threading.Event()

        def look(s: State = s, missed: list[int] = missed, stop: threading.Event = stop) -> None:
            while not stop.is_set():
                for i in range(150, 300):
                    if s.instance(f"test_object.o[{i}]") is None:
                        missed.append(i)

        reader = threading.Thread(target=look)
        reader.start()
        for i in range(150):
            s.remove_instance(f"test_object.o[{i}]")
        stop.set()
        reader.join()
        assert missed == []
        assert sorted(int(r.id) for _, _, r in s.all_instances()) == list(range(150, 300))
