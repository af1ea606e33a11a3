"""Providers are configured alike in every operation, and an object is deleted only by the
provider configuration that created it.

Destroy, orphan deletes, refresh and import evaluate a provider block as plan and apply do
(variables, locals, data sources, other resources' attributes); a provider block that refers
to a value known only after apply is configured once it is known; each object records its
provider's identity (for the test provider: its store), and a delete with another identity, or
with the block gone, is refused with a diagnostic naming both.
"""

from __future__ import annotations

import json
from pathlib import Path

from mlform.testing.provider import load_objects

VAR_STORE = """
variable "s" { default = "mystore.json" }
provider "test" { store = var.s }
resource "test_object" "a" { value = "x" }
"""


def objects(workdir: Path, name: str) -> dict[str, dict]:
    path = workdir / name
    if not path.exists() and not path.with_name(name + ".journal").exists():
        return {}
    return load_objects(path)


def test_destroy_deletes_from_the_store_a_variable_names(mlform, write, workdir, insts) -> None:
    write(VAR_STORE)
    mlform.ok("apply", "--auto-approve")
    (oid,) = objects(workdir, "mystore.json")
    assert insts()["test_object.a"]["provider_identity"] == {
        "store": str((workdir / "mystore.json").resolve())
    }
    res = mlform.ok("destroy", "--auto-approve")
    assert "Resources: 1 destroyed." in res.out
    assert objects(workdir, "mystore.json") == {}, "destroy left the object in its store"
    assert insts() == {}


def test_destroy_evaluates_locals_functions_and_data_sources(mlform, write, workdir) -> None:
    write(
        """
locals { base = "store" }
data "test_data" "name" { input = "${local.base}-${upper("b")}.json" }
provider "test" {
  alias = "b"
  store = data.test_data.name.output
}
resource "test_object" "a" {
  provider = test.b
  value    = 1
}
"""
    )
    mlform.ok("apply", "--auto-approve")
    assert len(objects(workdir, "store-B.json")) == 1
    mlform.ok("destroy", "--auto-approve")
    assert objects(workdir, "store-B.json") == {}


def test_orphan_delete_and_refresh_use_the_evaluated_configuration(mlform, write, workdir) -> None:
    write(VAR_STORE + 'resource "test_object" "b" { value = "y" }\n')
    mlform.ok("apply", "--auto-approve")
    store = objects(workdir, "mystore.json")
    assert len(store) == 2
    # Refresh reads the objects where they are: no drift.
    assert mlform("plan", "--refresh-only", "--detailed-exitcode").code == 0
    write(VAR_STORE)
    res = mlform.ok("apply", "--auto-approve")
    assert "0 added, 0 changed, 1 destroyed." in res.out
    assert len(objects(workdir, "mystore.json")) == 1


def test_import_configures_the_provider_as_plan_does(mlform, write, workdir, insts) -> None:
    write(VAR_STORE)
    mlform.ok("apply", "--auto-approve")
    (oid,) = objects(workdir, "mystore.json")
    mlform.ok("state", "rm", "test_object.a")
    mlform.ok("import", "test_object.a", oid)
    inst = insts()["test_object.a"]
    assert inst["id"] == oid
    assert inst["provider_identity"] == {"store": str((workdir / "mystore.json").resolve())}
    mlform.ok("destroy", "--auto-approve")
    assert objects(workdir, "mystore.json") == {}


CLUSTER_THEN_CLIENT = """
resource "test_object" "cluster" { value = "%s" }
provider "test" {
  alias = "inner"
  store = test_object.cluster.echo
}
resource "test_object" "app" {
  provider = test.inner
  value    = "y"
}
"""


def test_a_provider_configured_from_a_value_known_after_apply(mlform, write, workdir) -> None:
    write(CLUSTER_THEN_CLIENT % "inner.json")
    plan = mlform("plan")
    assert plan.code == 0, str(plan)
    assert "Internal error" not in plan.all
    assert "# test_object.app will be created" in plan.out
    assert "Plan: 2 to add, 0 to change, 0 to destroy." in plan.out
    res = mlform.ok("apply", "--auto-approve")
    assert "2 added" in res.out
    assert len(objects(workdir, "inner.json")) == 1
    assert mlform("plan", "--detailed-exitcode").code == 0
    mlform.ok("destroy", "--auto-approve")
    assert objects(workdir, "inner.json") == {}


def test_an_existing_object_whose_provider_config_becomes_unknown(mlform, write) -> None:
    write(CLUSTER_THEN_CLIENT % "inner.json")
    mlform.ok("apply", "--auto-approve")
    write(CLUSTER_THEN_CLIENT % "other.json")
    res = mlform("plan")
    assert res.code == 1, str(res)
    assert "Internal error" not in res.all and "Traceback" not in res.all
    assert "Error: Provider configuration not known until apply" in res.err
    assert "mlform apply --target=test_object.cluster" in res.err


def test_a_delete_with_another_store_is_refused(mlform, write, workdir, insts) -> None:
    write(VAR_STORE)
    mlform.ok("apply", "--auto-approve")
    res = mlform("destroy", "--auto-approve", "--var", "s=other.json")
    assert res.code == 1, str(res)
    assert "destroyed" not in res.out
    assert "Error: Cannot delete test_object.a: its provider configuration has changed" in res.err
    assert str((workdir / "mystore.json").resolve()) in res.err
    assert str((workdir / "other.json").resolve()) in res.err
    assert len(objects(workdir, "mystore.json")) == 1
    assert "test_object.a" in insts()
    # With the configuration that created it, it goes.
    mlform.ok("destroy", "--auto-approve")
    assert objects(workdir, "mystore.json") == {}


def test_a_replace_with_another_store_is_refused(mlform, write, workdir) -> None:
    write(VAR_STORE)
    mlform.ok("apply", "--auto-approve")
    args = ("--var", "s=other.json", "--replace", "test_object.a", "--refresh=false")
    res = mlform("apply", "--auto-approve", *args)
    assert res.code == 1, str(res)
    assert "Cannot replace test_object.a: its provider configuration has changed" in res.err
    assert len(objects(workdir, "mystore.json")) == 1
    assert objects(workdir, "other.json") == {}


def test_an_object_is_not_read_with_another_store(mlform, write, workdir, insts) -> None:
    # Read from the other store it would seem gone and be created there, leaking the first.
    write(VAR_STORE)
    mlform.ok("apply", "--auto-approve")
    res = mlform("apply", "--auto-approve", "--var", "s=other.json")
    assert res.code == 1, str(res)
    assert "Error: Cannot read test_object.a: its provider configuration has changed" in res.err
    assert "mlform state rm 'test_object.a'" in res.err
    assert objects(workdir, "other.json") == {}
    assert len(objects(workdir, "mystore.json")) == 1


def test_a_removed_provider_block_must_be_put_back(mlform, write, workdir, insts) -> None:
    write(VAR_STORE)
    mlform.ok("apply", "--auto-approve")
    write("")
    for cmd in (("apply", "--auto-approve"), ("destroy", "--auto-approve")):
        res = mlform(*cmd)
        assert res.code == 1, str(res)
        assert "Error: Provider configuration not present" in res.err
        assert (
            'To work with test_object.a its original provider configuration at provider["test"] is '
            "required, but it has been removed." in res.err
        )
        assert "Re-add the provider configuration" in res.err
        assert len(objects(workdir, "mystore.json")) == 1
        assert "test_object.a" in insts()


def test_a_removed_aliased_provider_block_must_be_put_back(mlform, write, workdir) -> None:
    aliased = """
provider "test" {
  alias = "b"
  store = "b.json"
}
resource "test_object" "a" {
  provider = test.b
  value    = 1
}
"""
    write(aliased)
    mlform.ok("apply", "--auto-approve")
    write('provider "test" { store = "b.json" }\n')
    res = mlform("apply", "--auto-approve")
    assert res.code == 1, str(res)
    assert 'its original provider configuration at provider["test"].b is required' in res.err
    write(aliased.split("resource")[0])
    mlform.ok("apply", "--auto-approve")
    assert objects(workdir, "b.json") == {}


def test_a_state_without_identities_is_deleted_as_before(mlform, write, workdir) -> None:
    write(VAR_STORE)
    mlform.ok("apply", "--auto-approve")
    path = workdir / "mlform.state.json"
    state = json.loads(path.read_text())
    for res in state["resources"]:
        for inst in res["instances"]:
            inst.pop("provider_identity")
    path.write_text(json.dumps(state))
    res = mlform.ok("destroy", "--auto-approve")
    assert objects(workdir, "mystore.json") == {}
    assert "1 destroyed" in res.out


def test_destroyed_counts_only_objects_the_provider_deleted(mlform, write, insts) -> None:
    write(
        """
provider "test" { store = "objects.json" }
resource "test_object" "ok" { value = 1 }
resource "test_object" "bad" {
  value   = 1
  fail_on = ["create"]
}
"""
    )
    assert mlform("apply", "--auto-approve").code == 1
    assert insts()["test_object.bad"]["id"] is None  # a failed create: no object
    res = mlform.ok("destroy", "--auto-approve")
    assert "Plan: 0 to add, 0 to change, 2 to destroy." in res.out
    assert "Destroy complete! Resources: 1 destroyed." in res.out
    assert insts() == {}


def test_targeting_warns_that_the_plan_is_partial(mlform, write) -> None:
    write(
        'provider "test" { store = "objects.json" }\n'
        'resource "test_object" "a" { value = 1 }\n'
        'resource "test_object" "b" { value = 2 }\n'
    )
    plan = mlform.ok("plan", "--target", "test_object.a")
    assert "Warning: Resource targeting is in effect" in plan.err
    assert "Run a full plan (without --target) afterwards" in plan.err
    res = mlform.ok("apply", "--auto-approve", "--target", "test_object.a")
    assert "Warning: Resource targeting is in effect" in res.err
    assert "Warning: Applied changes may be incomplete" in res.err
    assert "Warning" not in mlform.ok("plan").err
