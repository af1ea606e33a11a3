"""A create that fails after its object exists leaks nothing: the provider reports the object
with its error (`ProviderError(..., partial=...)`), the engine records it tainted with its id
and attributes, and the next apply replaces it."""

from __future__ import annotations

CONFIG = """
provider "test" { store = "objects.json" }
resource "test_object" "a" {
  value     = "v"
  immutable = "%s"
  fail_on   = %s
%s}
"""


def test_a_failed_create_that_made_its_object_is_replaced(mlform, write, store, insts) -> None:
    write(CONFIG % ("one", '["create_after"]', ""))
    res = mlform("apply", "--auto-approve")
    assert res.code == 1, str(res)
    (oid,) = store.objects()
    assert f"create failed after creating object {oid}" in res.err
    assert "recorded as tainted, and the next plan will replace it" in res.err
    a = insts()["test_object.a"]
    assert a["status"] == "tainted"
    assert a["id"] == oid and a["attributes"]["id"] == oid
    assert a["attributes"]["echo"] == "v"

    write(CONFIG % ("one", "[]", ""))
    plan = mlform("plan", "--detailed-exitcode")
    assert plan.code == 2, str(plan)
    assert "# test_object.a is tainted, so must be replaced" in plan.out
    assert "Plan: 1 to add, 0 to change, 1 to destroy." in plan.out
    res = mlform.ok("apply", "--auto-approve")
    assert "Apply complete! Resources: 1 added, 0 changed, 1 destroyed." in res.out
    a = insts()["test_object.a"]
    assert a["status"] == "ready" and a["id"] != oid
    assert set(store.objects()) == {a["id"]}


def test_a_failed_replacement_under_create_before_destroy(mlform, write, store, insts) -> None:
    cbd = "  lifecycle { create_before_destroy = true }\n"
    write(CONFIG % ("one", "[]", cbd))
    mlform.ok("apply", "--auto-approve")
    old = insts()["test_object.a"]["id"]
    write(CONFIG % ("two", '["create_after"]', cbd))
    assert mlform("apply", "--auto-approve").code == 1
    a = insts()["test_object.a"]
    assert a["status"] == "tainted" and a["id"] in store.objects() and a["id"] != old
    assert [d["id"] for d in a["deposed"].values()] == [old]
    assert store.count() == 2

    write(CONFIG % ("two", "[]", cbd))
    mlform.ok("apply", "--auto-approve")
    a = insts()["test_object.a"]
    assert a["status"] == "ready" and not a.get("deposed")
    assert set(store.objects()) == {a["id"]}
