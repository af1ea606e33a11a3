"""The built-in test provider, driven through the provider contract."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from mlform.sdk import UNKNOWN, ProviderError
from mlform.testing.conformance import make_context
from mlform.testing.provider import ObjectStore, TestProvider, load_objects


def configured(workdir: Path, store: str | None = None) -> TestProvider:
    p = TestProvider()
    p.configure(TestProvider.config.model_validate({"store": store}), make_context(workdir))
    return p


def create(p: TestProvider, workdir: Path, token: str | None = None, **args: object):
    kind = p.kind("test_object")
    ctx = make_context(workdir, idempotency_token=token)
    planned = kind.plan(None, dict(args), ctx)
    assert planned.action == "create"
    return kind.create(planned, ctx)


def test_create_read_update_delete(tmp_path: Path) -> None:
    p = configured(tmp_path, "objects.json")
    kind = p.kind("test_object")
    ctx = make_context(tmp_path)
    s = create(p, tmp_path, value={"a": [1, 2]}, immutable="x")
    assert s.attrs["echo"] == {"a": [1, 2]} and s.attrs["id"] == s.id
    assert s.attrs["created_at"].endswith("Z")
    assert s.args == {"value": {"a": [1, 2]}, "immutable": "x", "latency_ms": 0, "fail_on": []}
    assert kind.read(s, ctx) == s

    planned = kind.plan(s, {"value": "b", "immutable": "x"}, ctx)
    assert planned.action == "update"
    assert planned.attrs["echo"] is UNKNOWN and planned.attrs["id"] == s.id
    s2 = kind.update(s, planned, ctx)
    assert s2.id == s.id and s2.attrs["echo"] == "b"
    assert s2.attrs["created_at"] == s.attrs["created_at"]

    kind.delete(s2, ctx)
    assert kind.read(s2, ctx) is None
    kind.delete(s2, ctx)  # deleting twice is harmless
    p.close()
    assert json.loads((tmp_path / "objects.json").read_text()) == {"objects": {}}


def test_ids_are_unique_per_create(tmp_path: Path) -> None:
    p = configured(tmp_path)
    ids = {create(p, tmp_path, value=1).id for _ in range(20)}
    assert len(ids) == 20


def test_default_store_location(tmp_path: Path) -> None:
    p = configured(tmp_path)
    s = create(p, tmp_path, value=1)
    p.close()
    data = json.loads((tmp_path / ".mlform" / "test-objects.json").read_text())
    assert list(data["objects"]) == [s.id]
    assert data["objects"][s.id]["value"] == 1


def test_plan_actions_and_echo(tmp_path: Path) -> None:
    p = configured(tmp_path)
    kind = p.kind("test_object")
    ctx = make_context(tmp_path)
    s = create(p, tmp_path, value="v", immutable=1)
    assert kind.plan(s, {"value": "v", "immutable": 1}, ctx).action == "noop"
    only_latency = kind.plan(s, {"value": "v", "immutable": 1, "latency_ms": 5}, ctx)
    assert only_latency.action == "update" and only_latency.attrs["echo"] == "v"
    replace = kind.plan(s, {"value": "v", "immutable": 2}, ctx)
    assert replace.action == "replace" and replace.replace_paths == ["immutable"]


def test_hand_edits_are_drift_and_removals_are_gone(tmp_path: Path) -> None:
    p = configured(tmp_path, "objects.json")
    kind = p.kind("test_object")
    ctx = make_context(tmp_path)
    a = create(p, tmp_path, value="a")
    b = create(p, tmp_path, value="b")
    p.close()
    path = tmp_path / "objects.json"
    doc = json.loads(path.read_text())
    doc["objects"][a.id]["value"] = "edited by hand"
    del doc["objects"][b.id]
    path.write_text(json.dumps(doc))
    # The same provider instance notices the edit (its cache is keyed on the file's identity).
    now = kind.read(a, ctx)
    assert now is not None and now.args["value"] == "edited by hand"
    assert kind.read(b, ctx) is None


def test_latency_and_failures(tmp_path: Path) -> None:
    p = configured(tmp_path)
    t0 = time.perf_counter()
    s = create(p, tmp_path, value=1, latency_ms=60)
    assert time.perf_counter() - t0 >= 0.06
    kind = p.kind("test_object")
    ctx = make_context(tmp_path)
    with pytest.raises(ProviderError) as err:
        create(p, tmp_path, value=1, fail_on=["create"])
    assert "create failed" in err.value.summary and not err.value.retryable
    assert len(p.store(ctx).all()) == 1  # the failed create left nothing behind
    bad = kind.plan(s, {"value": 2, "fail_on": ["update", "read", "delete"]}, ctx)
    with pytest.raises(ProviderError):
        kind.update(s, bad, ctx)
    s_failing = type(s)(s.id, {**s.args, "fail_on": ["read", "delete"]}, s.attrs)
    with pytest.raises(ProviderError):
        kind.read(s_failing, ctx)
    with pytest.raises(ProviderError):
        kind.delete(s_failing, ctx)


def test_fail_on_accepts_only_operations(tmp_path: Path) -> None:
    from mlform.sdk.schema import validate_args
    from mlform.testing.provider import TestObject

    problems = validate_args(TestObject, {"fail_on": ["crate"]})
    assert [p.summary for p in problems] == ["Invalid argument value"]


def test_idempotency_token(tmp_path: Path) -> None:
    p = configured(tmp_path)
    kind = p.kind("test_object")
    ctx = make_context(tmp_path)
    first = create(p, tmp_path, token="tok-1", value=1)
    again = create(p, tmp_path, token="tok-1", value=1)
    assert again.id == first.id
    assert len(p.store(ctx).all()) == 1
    found = kind.find_by_token("tok-1", ctx)
    assert found is not None and found.id == first.id
    assert kind.find_by_token("other", ctx) is None


def test_import(tmp_path: Path) -> None:
    p = configured(tmp_path)
    kind = p.kind("test_object")
    ctx = make_context(tmp_path)
    s = create(p, tmp_path, value=[1])
    assert kind.import_(s.id, ctx) == s
    with pytest.raises(ProviderError, match="no such object"):
        kind.import_("nope", ctx)


def test_data_source_echoes_input(tmp_path: Path) -> None:
    p = configured(tmp_path)
    data = p.kind("test_data")
    assert data.is_data
    assert data.read_data({"input": {"k": [1]}}, make_context(tmp_path)) == {"output": {"k": [1]}}


def test_many_threads_share_a_store(tmp_path: Path) -> None:
    p = configured(tmp_path)

    def work() -> None:
        for _ in range(50):
            create(p, tmp_path, value="t")

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(load_objects(tmp_path / ".mlform" / "test-objects.json")) == 400


WRITER = """
import sys
from pathlib import Path
from mlform.testing.conformance import make_context
from mlform.testing.provider import TestProvider
wd = Path(sys.argv[1])
p = TestProvider()
p.configure(TestProvider.config(store="shared.json"), make_context(wd))
k = p.kind("test_object")
for i in range(60):
    ctx = make_context(wd, idempotency_token=f"{sys.argv[2]}-{i}")
    k.create(k.plan(None, {"value": i}, ctx), ctx)
if sys.argv[2] == "p0":
    p.close()
"""


def test_several_processes_share_a_store(tmp_path: Path) -> None:
    procs = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), f"p{i}"]) for i in range(4)
    ]
    assert [pr.wait(timeout=60) for pr in procs] == [0, 0, 0, 0]
    objects = load_objects(tmp_path / "shared.json")
    assert len(objects) == 240
    assert len({o["token"] for o in objects.values()}) == 240


def test_journal_left_by_a_crash_is_replayed(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    st = ObjectStore(path)
    made = [st.create({"value": i}, f"t{i}")["id"] for i in range(3)]
    # No compaction: as if the process had been killed. Add a torn last line too.
    with open(st.journal_path, "ab") as f:
        f.write(b'{"op": "put", "id": "x", "obj')
    fresh = ObjectStore(path)
    assert sorted(fresh.all()) == sorted(made)
    new = fresh.create({"value": 9}, None)  # appending cuts the torn line off first
    assert sorted(ObjectStore(path).all()) == sorted([*made, new["id"]])
    fresh.compact()
    assert not st.journal_path.exists()
    assert sorted(json.loads(path.read_text())["objects"]) == sorted([*made, new["id"]])


def test_store_cost_does_not_grow_with_its_size(tmp_path: Path) -> None:
    st = ObjectStore(tmp_path / "big.json")
    t0 = time.perf_counter()
    for i in range(1000):
        st.create({"value": i}, None)
    first = time.perf_counter() - t0
    for i in range(4000):
        st.create({"value": i}, None)
    t0 = time.perf_counter()
    for i in range(1000):
        st.create({"value": i}, None)
    last = time.perf_counter() - t0
    assert last < first * 2.5 + 0.05, (first, last)
    assert len(st.all()) == 6000
