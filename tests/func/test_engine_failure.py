"""Failure injection: a create that fails taints its instance, skips what depends on it, lets
independent work finish, reports every error with exit code 1; the next plan retries."""

from __future__ import annotations

FREE = {"test_object.root", "test_object.after_root"} | {f"test_object.free[{i}]" for i in range(3)}
FAILED = {"test_object.bad", "test_object.also_bad"}
SKIPPED = {"test_object.child[0]", "test_object.child[1]", "test_object.grandchild"}


def test_failed_create_taints_skips_dependents_and_is_retried(
    mlform, case, workdir, store, insts
) -> None:
    case("failure")
    res = mlform("apply", "--auto-approve")
    assert res.code == 1, str(res)
    # every error is reported, each naming its instance once
    assert res.err.count("Error: ") == 2, res.err
    assert "Error: test_object test_object.bad: create failed" in res.err
    assert "Error: test_object test_object.also_bad: create failed" in res.err
    assert "test_object.bad is recorded as tainted: the next plan will create it again." in res.err
    assert "Apply complete" not in res.out
    # dependents of the failure were never started
    for addr in SKIPPED:
        assert f"{addr}: Creating..." not in res.out

    # independent work was done and the state records all of it
    state = insts()
    assert set(state) == FREE | FAILED
    for addr in FREE:
        assert state[addr]["status"] == "ready", addr
    for addr in FAILED:
        assert state[addr]["status"] == "tainted" and state[addr]["id"] is None, addr
    assert store.count() == len(FREE)
    assert {state[a]["id"] for a in FREE} == set(store.objects())

    # The failure removed: the next plan creates the failed and the skipped ones.
    main = workdir / "main.mlf.hcl"
    main.write_text("\n".join(x for x in main.read_text().splitlines() if "fail_on" not in x))
    plan = mlform("plan", "--detailed-exitcode")
    assert plan.code == 2, str(plan)
    assert "Plan: 5 to add, 0 to change, 0 to destroy." in plan.out
    for addr in FAILED:
        assert (
            f"  # {addr} will be created\n  # (because the last attempt to create it failed)\n"
            in plan.out
        )
    for addr in SKIPPED:
        assert f"  # {addr} will be created\n" in plan.out
    for addr in FREE:
        assert f"# {addr} " not in plan.out

    res = mlform.ok("apply", "--auto-approve")
    assert "Apply complete! Resources: 5 added, 0 changed, 0 destroyed." in res.out
    state = insts()
    assert set(state) == FREE | FAILED | SKIPPED
    assert all(i["status"] == "ready" for i in state.values())
    assert store.count() == 10
    assert state["test_object.grandchild"]["attributes"]["value"] == (
        "child of " + state["test_object.bad"]["id"]
    )
    assert mlform("plan", "--detailed-exitcode").code == 0


def test_tainted_object_that_exists_is_replaced(mlform, write, store, insts) -> None:
    # A postcondition that fails after the create leaves a real object, tainted.
    write(
        """
provider "test" { store = "objects.json" }
variable "ok" { default = false }
resource "test_object" "a" {
  value = "a"
  lifecycle {
    postcondition {
      condition     = var.ok
      error_message = "not ok yet"
    }
  }
}
resource "test_object" "b" { value = test_object.a.id }
"""
    )
    res = mlform("apply", "--auto-approve")
    assert res.code == 1 and "not ok yet" in res.err, str(res)
    a = insts()["test_object.a"]
    assert a["status"] == "tainted" and a["id"] in store.objects()
    assert "test_object.b" not in insts()
    plan = mlform("plan", "--var", "ok=true")
    assert "  # test_object.a is tainted, so must be replaced\n-/+ resource" in plan.out, plan.out
    assert "Plan: 2 to add, 0 to change, 1 to destroy." in plan.out
    mlform.ok("apply", "--auto-approve", "--var", "ok=true")
    after = insts()
    assert after["test_object.a"]["status"] == "ready" and after["test_object.a"]["id"] != a["id"]
    assert set(store.objects()) == {after["test_object.a"]["id"], after["test_object.b"]["id"]}
