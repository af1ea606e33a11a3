"""A configuration of test objects taken through every action, through the real CLI.

create → no-op → update in place → replace → orphan deletes (block removed, count shrunk,
for_each key removed) → destroy; each plan compared with its golden text and JSON in
tests/testdata/engine/lifecycle/, and the provider's store counted after every apply.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

CASE = "lifecycle"


def plan_step(mlform, golden, state, src: Path, step: str, *extra: str) -> None:
    """`mlform plan` as text and as JSON, compared with <step>.plan.txt / <step>.plan.json."""
    prior = state() if (mlform.cwd / "mlform.state.json").exists() else None
    ids = golden.id_names(prior)
    text = mlform("plan", "--detailed-exitcode", *extra)
    expected_code = 0 if step == "noop" else 2
    assert text.code == expected_code, str(text)
    golden.check(src / f"{step}.plan.txt", golden.normalize(text.out, ids))
    js = mlform.ok("plan", "--json", *extra)
    golden.check(src / f"{step}.plan.json", golden.normalize_json(js.out, ids))


def use(src: Path, workdir: Path, name: str) -> None:
    shutil.copy(src / f"{name}.mlf.hcl.txt", workdir / "main.mlf.hcl")


def test_create_noop_update_replace_orphans_destroy(
    mlform, case, workdir, store, state, insts, golden
) -> None:
    src = case(CASE)

    # 1. create
    plan_step(mlform, golden, state, src, "create")
    assert store.count() == 0, "plan must not create anything"
    res = mlform.ok("apply", "--auto-approve")
    assert "Apply complete! Resources: 8 added, 0 changed, 0 destroyed." in res.out
    assert store.count() == 8
    created = insts()
    assert sorted(created) == [
        "test_object.base",
        "test_object.counted[0]",
        "test_object.counted[1]",
        "test_object.counted[2]",
        'test_object.keyed["x"]',
        'test_object.keyed["y"]',
        'test_object.keyed["z"]',
        "test_object.loner",
    ]
    assert {i["id"] for i in created.values()} == set(store.objects())
    assert created["test_object.counted[1]"]["attributes"]["echo"] == "v1-1"
    assert created["test_object.counted[2]"]["dependencies"] == ["test_object.base"]
    assert state()["outputs"]["base_id"]["value"] == created["test_object.base"]["id"]
    assert state()["serial"] == 1

    # 2. no-op: nothing to do, nothing written
    plan_step(mlform, golden, state, src, "noop")
    res = mlform.ok("apply", "--auto-approve")
    assert "No changes." in res.out
    assert store.count() == 8
    assert state()["serial"] == 1

    # 3. update in place: same ids, new values
    use(src, workdir, "update")
    plan_step(mlform, golden, state, src, "update")
    res = mlform.ok("apply", "--auto-approve")
    assert "Apply complete! Resources: 0 added, 5 changed, 0 destroyed." in res.out
    assert store.count() == 8
    updated = insts()
    for addr, inst in created.items():
        assert updated[addr]["id"] == inst["id"], addr
    assert store.objects()[updated["test_object.base"]["id"]]["value"] == "v2"
    assert updated['test_object.keyed["x"]']["attributes"]["echo"] == {"name": "x", "size": 2}
    assert state()["serial"] == 2

    # 4. replace: base gets a new object, the old one is gone from the store
    use(src, workdir, "replace")
    plan_step(mlform, golden, state, src, "replace")
    res = mlform.ok("apply", "--auto-approve")
    assert "Apply complete! Resources: 1 added, 0 changed, 1 destroyed." in res.out
    assert store.count() == 8
    replaced = insts()
    old_id, new_id = updated["test_object.base"]["id"], replaced["test_object.base"]["id"]
    assert new_id != old_id
    assert old_id not in store.objects() and store.objects()[new_id]["immutable"] == "i2"
    assert state()["outputs"]["base_id"]["value"] == new_id

    # 5. orphans: a removed block, a shrunk count, a removed for_each key
    use(src, workdir, "orphans")
    plan_step(mlform, golden, state, src, "orphans")
    res = mlform.ok("apply", "--auto-approve")
    assert "Apply complete! Resources: 0 added, 0 changed, 4 destroyed." in res.out
    assert store.count() == 4
    assert sorted(insts()) == [
        "test_object.base",
        "test_object.counted[0]",
        'test_object.keyed["x"]',
        'test_object.keyed["z"]',
    ]
    assert {i["id"] for i in insts().values()} == set(store.objects())

    # 6. destroy
    plan_step(mlform, golden, state, src, "destroy", "--destroy")
    res = mlform.ok("destroy", "--auto-approve")
    assert "Destroy complete! Resources: 4 destroyed." in res.out
    assert store.count() == 0
    final = state()
    assert final["resources"] == [] and final["outputs"] == {}
    # every serial is kept in the history beside the state
    history = workdir / "mlform.state.json.history"
    kept = sorted(p.name for p in history.glob("*.json"))
    assert len(kept) == final["serial"]
    assert json.loads((history / kept[0]).read_text())["serial"] == 1
