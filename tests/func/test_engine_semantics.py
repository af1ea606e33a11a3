"""What the language means to plan and apply: modules with for_each and nested modules with
outputs, data sources, sensitive values, lifecycle rules (prevent_destroy, ignore_changes,
create_before_destroy, replace_triggered_by), depends_on, state edits and import, and what
the user sees when something inside mlform goes wrong."""

from __future__ import annotations

import json
import re
import threading
import time

SECRET = "hunter2-very-secret"


def planned(text: str) -> list[tuple[str, str]]:
    return re.findall(
        r"^  # (\S+) (will be \w+|must be replaced|is tainted|has been deleted|has changed)",
        text,
        re.M,
    )


def test_modules_for_each_nested_outputs_data_sources(
    mlform, case, workdir, store, state, insts, golden
) -> None:
    src = case("modules")
    plan = mlform("plan", "--detailed-exitcode")
    assert plan.code == 2, str(plan)
    golden.check(src / "plan.txt", golden.normalize(plan.out, {}))
    js = mlform.ok("plan", "--json")
    golden.check(src / "plan.json", golden.normalize_json(js.out, {}))

    mlform.ok("apply", "--auto-approve")
    got = insts()
    assert sorted(got) == [
        "data.test_data.cfg",
        "data.test_data.late",
        'module.team["blue"].module.unit[0].test_object.member',
        'module.team["blue"].module.unit[1].test_object.member',
        'module.team["blue"].test_object.lead',
        'module.team["red"].module.unit[0].test_object.member',
        'module.team["red"].test_object.lead',
        "test_object.secretive",
        "test_object.summary",
    ]
    assert store.count() == 7
    blue_lead = got['module.team["blue"].test_object.lead']
    assert blue_lead["attributes"]["value"] == "blue@eu"  # from the data source, read at plan
    member = got['module.team["blue"].module.unit[1].test_object.member']
    assert member["attributes"]["value"] == {"label": "blue-1", "lead": blue_lead["id"]}
    # a nested module's outputs reach the root through its parent's outputs
    summary = got["test_object.summary"]["attributes"]["value"]
    assert summary == {
        "blue": [
            got['module.team["blue"].module.unit[0].test_object.member']["id"],
            member["id"],
        ],
        "red": [got['module.team["red"].module.unit[0].test_object.member']["id"]],
    }
    outputs = state()["outputs"]
    assert outputs["units"]["value"] == {"blue": 2, "red": 1}
    # a data source read during apply, once its input was known
    assert outputs["late"]["value"] == got["test_object.summary"]["id"]
    assert mlform("plan", "--detailed-exitcode").code == 0

    # one for_each key fewer: that module instance's objects are destroyed
    main = workdir / "main.mlf.hcl"
    main.write_text(main.read_text().replace("{ red = 1, blue = 2 }", "{ red = 1 }"))
    plan = mlform.ok("plan")
    assert planned(plan.out) == [
        ('module.team["blue"].module.unit[0].test_object.member', "will be destroyed"),
        ('module.team["blue"].module.unit[1].test_object.member', "will be destroyed"),
        ('module.team["blue"].test_object.lead', "will be destroyed"),
        ("test_object.summary", "will be updated"),
    ]
    assert '  # (because module.team["blue"] is not in configuration)\n' in plan.out
    mlform.ok("apply", "--auto-approve")
    assert store.count() == 4
    assert state()["outputs"]["units"]["value"] == {"red": 1}


def test_sensitive_values_are_never_printed(mlform, case, workdir) -> None:
    case("modules")
    outputs = [mlform.ok("plan").all, mlform.ok("apply", "--auto-approve").all]
    main = workdir / "main.mlf.hcl"
    main.write_text(main.read_text().replace(f'"{SECRET}"', '"another-secret-value"'))
    outputs.append(mlform.ok("plan").all)
    outputs.append(mlform.ok("plan", "--destroy").all)
    outputs.append(mlform.ok("apply", "--auto-approve").all)
    for text in outputs:
        assert SECRET not in text and "another-secret-value" not in text
    update = outputs[2]
    assert "  # test_object.secretive will be updated in-place\n" in update
    assert "      ~ value      = (sensitive value)\n" in update
    assert "      ~ echo       = (sensitive value)\n" in update
    assert "no longer be marked as sensitive" not in update
    # the state keeps the value (it is 0600) and marks every copy of it as sensitive
    st = json.loads((workdir / "mlform.state.json").read_text())
    (secretive,) = [r for r in st["resources"] if r["name"] == "secretive"]
    assert sorted(secretive["instances"][0]["sensitive_paths"]) == [["echo"], ["value"]]
    assert (workdir / "mlform.state.json").stat().st_mode & 0o777 == 0o600


def test_sensitive_values_stay_out_of_resource_changes_in_json(mlform, case) -> None:
    case("modules")
    mlform.ok("apply", "--auto-approve")
    doc = json.loads(mlform.ok("plan", "--json", "--destroy").out)
    assert SECRET not in json.dumps(doc["resource_changes"])
    assert SECRET not in json.dumps(doc.get("prior_state", {}))


def test_sensitive_variable_value_stays_out_of_the_json_plan(mlform, case) -> None:
    case("modules")
    out = mlform.ok("plan", "--json").out
    assert SECRET not in out


def test_prevent_destroy(mlform, write, store) -> None:
    cfg = """
provider "test" { store = "objects.json" }
resource "test_object" "keep" {
  value     = "v"
  immutable = "%s"
  lifecycle { prevent_destroy = true }
}
"""
    write(cfg % "one")
    mlform.ok("apply", "--auto-approve")
    write(cfg % "two")
    res = mlform("plan")
    assert res.code == 1
    assert "Error: Instance cannot be destroyed" in res.err
    assert "test_object.keep has lifecycle.prevent_destroy set" in res.err
    assert mlform("apply", "--auto-approve").code == 1
    write(cfg % "one")
    res = mlform("destroy", "--auto-approve")
    assert res.code == 1 and "Instance cannot be destroyed" in res.err
    assert store.count() == 1
    # with the block removed, its lifecycle goes with it, as in Terraform
    write('provider "test" { store = "objects.json" }\n')
    mlform.ok("apply", "--auto-approve")
    assert store.count() == 0


def test_ignore_changes(mlform, write, store, insts) -> None:
    cfg = """
provider "test" { store = "objects.json" }
resource "test_object" "a" {
  value     = "%s"
  immutable = "%s"
  lifecycle { ignore_changes = [value] }
}
"""
    write(cfg % ("first", "i"))
    mlform.ok("apply", "--auto-approve")
    write(cfg % ("second", "i"))
    assert mlform("plan", "--detailed-exitcode").code == 0
    write(cfg % ("second", "j"))
    plan = mlform.ok("plan")
    assert planned(plan.out) == [("test_object.a", "must be replaced")]
    mlform.ok("apply", "--auto-approve")
    # the replacement is made from the configuration; the ignored value was kept from state
    assert [o["value"] for o in store.objects().values()] == ["first"]
    assert insts()["test_object.a"]["attributes"]["immutable"] == "j"


def watch_store(store, stop: threading.Event, seen: list[int]) -> None:
    while not stop.is_set():
        seen.append(store.count())
        time.sleep(0.01)


def test_create_before_destroy_order(mlform, write, store) -> None:
    cfg = """
provider "test" { store = "objects.json" }
resource "test_object" "a" {
  immutable  = "%s"
  latency_ms = 400
  lifecycle { create_before_destroy = %s }
}
"""
    for cbd, expect_min, expect_max in (("true", 1, 2), ("false", 0, 1)):
        write(cfg % ("one", cbd))
        mlform.ok("apply", "--auto-approve")
        write(cfg % ("two", cbd))
        plan = mlform.ok("plan")
        symbol = "+/-" if cbd == "true" else "-/+"
        assert f'\n{symbol} resource "test_object" "a" {{\n' in plan.out, plan.out
        seen: list[int] = []
        stop = threading.Event()
        watcher = threading.Thread(target=watch_store, args=(store, stop, seen))
        watcher.start()
        try:
            mlform.ok("apply", "--auto-approve")
        finally:
            stop.set()
            watcher.join()
        assert (min(seen), max(seen)) == (expect_min, expect_max), (cbd, sorted(set(seen)))
        assert [o["immutable"] for o in store.objects().values()] == ["two"]
        mlform.ok("destroy", "--auto-approve")


def test_replace_triggered_by(mlform, write, insts) -> None:
    cfg = """
provider "test" { store = "objects.json" }
resource "test_object" "src" { value = "%s" }
resource "test_object" "dst" {
  value = "constant"
  lifecycle { replace_triggered_by = [test_object.src] }
}
resource "test_object" "other" { value = "constant" }
"""
    write(cfg % "one")
    mlform.ok("apply", "--auto-approve")
    before = insts()
    assert mlform("plan", "--detailed-exitcode").code == 0  # no change: no trigger
    write(cfg % "two")
    plan = mlform.ok("plan")
    assert planned(plan.out) == [
        ("test_object.dst", "will be replaced"),
        ("test_object.src", "will be updated"),
    ]
    assert "  # test_object.dst will be replaced due to changes in replace_triggered_by\n" in (
        plan.out
    )
    mlform.ok("apply", "--auto-approve")
    after = insts()
    assert after["test_object.dst"]["id"] != before["test_object.dst"]["id"]
    assert after["test_object.src"]["id"] == before["test_object.src"]["id"]
    assert after["test_object.other"]["id"] == before["test_object.other"]["id"]


def test_depends_on_orders_create_and_destroy(mlform, write, store, insts) -> None:
    write(
        """
provider "test" { store = "objects.json" }
resource "test_object" "first" {
  value      = "first"
  latency_ms = 300
}
resource "test_object" "second" {
  value      = "second"
  depends_on = [test_object.first]
}
"""
    )
    res = mlform.ok("apply", "--auto-approve")
    lines = res.out.splitlines()
    assert lines.index("test_object.second: Creating...") > next(
        i for i, x in enumerate(lines) if x.startswith("test_object.first: Creation complete")
    )
    assert insts()["test_object.second"]["dependencies"] == ["test_object.first"]
    res = mlform.ok("destroy", "--auto-approve")
    lines = res.out.splitlines()
    assert lines.index("test_object.first: Destroying...") > next(
        i for i, x in enumerate(lines) if x.startswith("test_object.second: Destruction complete")
    )
    assert store.count() == 0


def test_state_mv_rm_and_import(mlform, write, store, insts) -> None:
    write(
        """
provider "test" { store = "objects.json" }
resource "test_object" "a" { value = "a" }
resource "test_object" "b" { value = "b" }
"""
    )
    mlform.ok("apply", "--auto-approve")
    ids = {a: i["id"] for a, i in insts().items()}
    assert mlform.ok("state", "list").out.split() == ["test_object.a", "test_object.b"]

    # mv: a rename in state; with the configuration renamed too, nothing to do
    mlform.ok("state", "mv", "test_object.a", "test_object.renamed")
    write(
        """
provider "test" { store = "objects.json" }
resource "test_object" "renamed" { value = "a" }
resource "test_object" "b" { value = "b" }
"""
    )
    assert mlform("plan", "--detailed-exitcode").code == 0
    assert insts()["test_object.renamed"]["id"] == ids["test_object.a"]

    # rm: forgotten by mlform, left in the store; the next plan creates a new one
    mlform.ok("state", "rm", "test_object.b")
    assert "test_object.b" not in insts()
    assert ids["test_object.b"] in store.objects()
    plan = mlform.ok("plan")
    assert planned(plan.out) == [("test_object.b", "will be created")]

    # import: adopt the forgotten object instead
    res = mlform("import", "test_object.b", ids["test_object.b"])
    assert res.code == 0, str(res)
    assert insts()["test_object.b"]["id"] == ids["test_object.b"]
    assert mlform("plan", "--detailed-exitcode").code == 0
    assert store.count() == 2
    bad = mlform("import", "test_object.b", "no-such-id")
    assert bad.code == 1 and "Traceback" not in bad.err


def test_internal_error_has_no_traceback_unless_debug(mlform, write, workdir) -> None:
    write(
        """
provider "test" { store = "objects.json" }
resource "test_object" "a" { value = "a" }
"""
    )
    mlform.ok("apply", "--auto-approve")
    # A provider that breaks in a way it does not report: its journal is a folder.
    journal = workdir / "objects.json.journal"
    if journal.exists():
        journal.unlink()
    journal.mkdir()
    res = mlform("plan")
    assert res.code == 1, str(res)
    assert "test_object.a" in res.err and "IsADirectoryError" in res.err
    assert "MLFORM_LOG=debug" in res.err
    assert "Traceback" not in res.all and "No changes" not in res.out
    debug = mlform("plan", env={"MLFORM_LOG": "debug"})
    assert debug.code == 1
    assert "Traceback (most recent call last)" in debug.err
    assert 'mlform/testing/provider.py", line' in debug.err


def test_adding_or_removing_count_moves_the_instance(mlform, write, store, insts) -> None:
    single = """
provider "test" { store = "objects.json" }
resource "test_object" "a" { value = "a" }
resource "test_object" "b" { value = test_object.a.id }
"""
    counted = """
provider "test" { store = "objects.json" }
resource "test_object" "a" {
  count = 1
  value = "a"
}
resource "test_object" "b" { value = test_object.a[0].id }
"""
    write(single)
    mlform.ok("apply", "--auto-approve")
    first = insts()["test_object.a"]["id"]
    write(counted)
    assert mlform("plan", "--detailed-exitcode").code == 0
    write(counted.replace("count = 1", "count = 2"))
    mlform.ok("apply", "--auto-approve")
    assert insts()["test_object.a[0]"]["id"] == first
    assert "test_object.a" not in insts()
    assert store.count() == 3
    write(single)
    plan = mlform.ok("plan")
    assert planned(plan.out) == [("test_object.a[1]", "will be destroyed")]
    mlform.ok("apply", "--auto-approve")
    assert insts()["test_object.a"]["id"] == first
    assert store.count() == 2
