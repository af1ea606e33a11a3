"""Plan and apply options through the CLI: --target, --exclude, --replace, --refresh-only,
--refresh=false, --detailed-exitcode, variables and their precedence, saved plans, workspaces,
drift after editing the test provider's store by hand."""

from __future__ import annotations

import re

CHAIN = """
provider "test" { store = "objects.json" }
resource "test_object" "a" { value = "a" }
resource "test_object" "b" { value = "b-${test_object.a.id}" }
resource "test_object" "c" { value = "c" }
resource "test_object" "d" { value = test_object.c.echo }
"""


def planned(text: str) -> list[str]:
    """The addresses a rendered plan lists, in order, with what happens to each."""
    return re.findall(
        r"^  # (\S+) (will be \w+|must be replaced|is tainted|has been deleted|has changed)",
        text,
        re.M,
    )


def test_target_plans_and_applies_only_the_target_and_its_dependencies(
    mlform, write, store, insts
) -> None:
    write(CHAIN)
    plan = mlform.ok("plan", "--target", "test_object.b")
    assert planned(plan.out) == [
        ("test_object.a", "will be created"),
        ("test_object.b", "will be created"),
    ]
    assert "Plan: 2 to add, 0 to change, 0 to destroy." in plan.out
    mlform.ok("apply", "--auto-approve", "--target", "test_object.d")
    assert sorted(insts()) == ["test_object.c", "test_object.d"]
    assert sorted(o["value"] for o in store.objects().values()) == ["c", "c"]
    # what was left out is still to do
    rest = mlform.ok("plan")
    assert planned(rest.out) == [
        ("test_object.a", "will be created"),
        ("test_object.b", "will be created"),
    ]


def test_exclude_leaves_out_the_resource_and_what_depends_on_it(mlform, write, insts) -> None:
    write(CHAIN)
    plan = mlform.ok("plan", "--exclude", "test_object.c")
    assert planned(plan.out) == [
        ("test_object.a", "will be created"),
        ("test_object.b", "will be created"),
    ]
    mlform.ok("apply", "--auto-approve", "--exclude", "test_object.a")
    assert sorted(insts()) == ["test_object.c", "test_object.d"]


def test_invalid_target_address_is_a_diagnostic(mlform, write) -> None:
    write(CHAIN)
    res = mlform("plan", "--target", "test_object..b")
    assert res.code == 1
    assert "Invalid --target address" in res.err and "Traceback" not in res.err


def test_replace_forces_a_new_object(mlform, write, store, insts) -> None:
    write(CHAIN)
    mlform.ok("apply", "--auto-approve")
    before = insts()
    plan = mlform.ok("plan", "--replace", "test_object.c")
    assert "  # test_object.c will be replaced, as requested\n" in plan.out
    assert ("test_object.a", "will be created") not in planned(plan.out)
    mlform.ok("apply", "--auto-approve", "--replace", "test_object.c")
    after = insts()
    assert after["test_object.c"]["id"] != before["test_object.c"]["id"]
    assert after["test_object.a"]["id"] == before["test_object.a"]["id"]
    assert before["test_object.c"]["id"] not in store.objects()
    assert store.count() == 4


def test_drift_refresh_only_and_refresh_false(mlform, write, workdir, store, insts) -> None:
    write(CHAIN)
    mlform.ok("apply", "--auto-approve")
    ids = {a: i["id"] for a, i in insts().items()}
    store.edit(ids["test_object.c"], value="c-edited", echo="c-edited")
    store.remove(ids["test_object.a"])
    edited = (workdir / "objects.json").read_bytes()

    # --refresh=false: the plan trusts the state and sees nothing
    assert mlform("plan", "--refresh=false", "--detailed-exitcode").code == 0

    # drift is shown in its own section, then the plan that undoes it
    plan = mlform("plan", "--detailed-exitcode")
    assert plan.code == 2
    head, _, actions = plan.out.partition("mlform will perform the following actions:")
    assert "Note: Objects have changed outside of mlform" in head
    assert planned(head) == [
        ("test_object.a", "has been deleted"),
        ("test_object.c", "has changed"),
    ]
    assert '      ~ value      = "c" -> "c-edited"\n' in head
    assert planned(actions) == [
        ("test_object.a", "will be created"),
        ("test_object.b", "will be updated"),
        ("test_object.c", "will be updated"),
        ("test_object.d", "will be updated"),
    ]

    # --refresh-only: shows only the drift
    ro = mlform("plan", "--refresh-only", "--detailed-exitcode")
    assert ro.code == 2
    assert "This is a refresh-only plan" in ro.out
    assert "will be created" not in ro.out and "Plan:" not in ro.out

    # applying it records the drift in state and changes nothing in the store
    serial = mlform.cwd.joinpath("mlform.state.json").read_text()
    mlform.ok("apply", "--refresh-only", "--auto-approve")
    assert (workdir / "objects.json").read_bytes() == edited
    state = insts()
    assert "test_object.a" not in state
    assert state["test_object.c"]["attributes"]["value"] == "c-edited"
    assert mlform.cwd.joinpath("mlform.state.json").read_text() != serial
    assert mlform("plan", "--refresh-only", "--detailed-exitcode").code == 0

    # the normal plan then puts things back
    mlform.ok("apply", "--auto-approve")
    values = sorted(o["value"] for o in store.objects().values())
    new_a = insts()["test_object.a"]["id"]
    assert values == ["a", f"b-{new_a}", "c", "c"]
    assert mlform("plan", "--detailed-exitcode").code == 0


def test_detailed_exitcode(mlform, write) -> None:
    write(CHAIN)
    assert mlform("plan", "--detailed-exitcode").code == 2
    assert mlform("plan").code == 0
    mlform.ok("apply", "--auto-approve")
    assert mlform("plan", "--detailed-exitcode").code == 0
    write(CHAIN + 'resource "test_object" "e" { value = test_object.nope.id }\n')
    bad = mlform("plan", "--detailed-exitcode")
    assert bad.code == 1
    assert "Reference to undeclared resource" in bad.err


VARS = """
provider "test" { store = "objects.json" }
variable "a" { default = "default" }
variable "b" { default = "default" }
variable "c" { default = "default" }
variable "d" { default = "default" }
variable "e" { default = "default" }
variable "n" {
  type    = number
  default = 1
}
resource "test_object" "v" { value = [var.a, var.b, var.c, var.d, var.e, var.n] }
"""


def test_variable_precedence(mlform, write, workdir, insts) -> None:
    write(VARS)
    write('b = "file"\nc = "file"\nd = "file"\ne = "file"\n', "mlform.mlfvars.hcl")
    write('c = "auto1"\nd = "auto1"\ne = "auto1"\n', "a.auto.mlfvars.hcl")
    write('d = "auto2"\ne = "auto2"\n', "b.auto.mlfvars.hcl")
    write('e = "varfile"\nn = 7\n', "extra.mlfvars.hcl")
    env = {"MLFORM_VAR_a": "env", "MLFORM_VAR_b": "env", "MLFORM_VAR_n": "3"}
    mlform.ok("apply", "--auto-approve", "--var-file", "extra.mlfvars.hcl", env=env)
    value = insts()["test_object.v"]["attributes"]["value"]
    assert value == ["env", "file", "auto1", "auto2", "varfile", 7]
    # on the command line, the later of --var and --var-file wins
    mlform.ok(
        "apply", "--auto-approve", "--var", "e=cli", "--var-file", "extra.mlfvars.hcl", env=env
    )
    assert insts()["test_object.v"]["attributes"]["value"][4] == "varfile"
    mlform.ok(
        "apply", "--auto-approve", "--var-file", "extra.mlfvars.hcl", "--var", "e=cli", env=env
    )
    assert insts()["test_object.v"]["attributes"]["value"][4:] == ["cli", 7]
    bad = mlform("plan", "--var", "n=seven")
    assert bad.code == 1 and "Traceback" not in bad.err
    assert "n" in bad.err


def test_saved_plan_applies_without_asking_and_refuses_when_stale(mlform, write, store) -> None:
    write(VARS.replace('variable "n"', 'variable "m" { default = 0 }\nvariable "n"'))
    mlform.ok("plan", "--out", "first.mlplan", "--var", "a=planned")
    fresh = mlform.ok("plan", "--out", "second.mlplan", "--var", "a=second")
    assert "mlform apply second.mlplan" in fresh.out
    # applying a saved plan never asks, even where asking is impossible
    res = mlform.ok("apply", "first.mlplan")
    assert "Do you want to perform these actions" not in res.out
    assert "Apply complete! Resources: 1 added" in res.out
    assert [o["value"][0] for o in store.objects().values()] == ["planned"]
    # the state changed since second.mlplan was made: refused, nothing done
    stale = mlform("apply", "second.mlplan")
    assert stale.code == 1
    assert "Saved plan is stale" in stale.err
    assert "the state changed since the plan was made (serial 0 then, serial 1 now)" in stale.err
    assert [o["value"][0] for o in store.objects().values()] == ["planned"]
    # the same plan file twice: the second time it is stale too
    again = mlform("apply", "first.mlplan")
    assert again.code == 1 and "Saved plan is stale" in again.err
    # a configuration edited since the plan was made
    mlform.ok("plan", "--out", "third.mlplan", "--var", "a=third")
    write(VARS + "# edited\n")
    edited = mlform("apply", "third.mlplan")
    assert edited.code == 1 and "the configuration changed since the plan was made" in edited.err
    assert [o["value"][0] for o in store.objects().values()] == ["planned"]


def test_apply_refuses_to_ask_without_a_terminal(mlform, write, store, workdir) -> None:
    write(CHAIN)
    for env in ({}, {"MLFORM_IN_AUTOMATION": ""}):
        res = mlform("apply", env=env, stdin="yes\n")
        assert res.code == 1, str(res)
        assert "Error: No confirmation" in res.err
        assert "--auto-approve" in res.err
        assert "Traceback" not in res.err
    assert store.count() == 0
    assert not (workdir / "mlform.state.json").exists()
    mlform.ok("apply", "--auto-approve")
    destroy = mlform("destroy", stdin="yes\n")
    assert destroy.code == 1 and "No confirmation" in destroy.err
    assert store.count() == 4


def test_workspaces_keep_separate_states(mlform, write, store, insts) -> None:
    write(VARS.replace("[var.a,", "[terraform.workspace,"))
    mlform.ok("apply", "--auto-approve")
    mlform.ok("workspace", "new", "dev")
    assert mlform.ok("workspace", "show").out.strip() == "dev"
    plan = mlform.ok("plan")
    assert "Plan: 1 to add, 0 to change, 0 to destroy." in plan.out
    mlform.ok("apply", "--auto-approve")
    assert insts("dev")["test_object.v"]["attributes"]["value"][0] == "dev"
    assert insts()["test_object.v"]["attributes"]["value"][0] == "default"
    assert store.count() == 2
    listed = mlform.ok("workspace", "list").out
    assert "* dev" in listed and "default" in listed
    mlform.ok("destroy", "--auto-approve")
    assert store.count() == 1
    mlform.ok("workspace", "select", "default")
    assert mlform("plan", "--detailed-exitcode").code == 0
    # MLFORM_WORKSPACE overrides the selection
    res = mlform("plan", "--detailed-exitcode", env={"MLFORM_WORKSPACE": "dev"})
    assert res.code == 2 and "Plan: 1 to add" in res.out


MODULES = """
provider "test" { store = "objects.json" }
module "team" {
  source   = "./team"
  for_each = toset(["red", "blue"])
  name     = each.key
}
resource "test_object" "top" { value = "top" }
"""
TEAM = """
variable "name" { type = string }
resource "test_object" "lead" { value = var.name }
"""


def test_target_and_exclude_a_module(mlform, write, insts) -> None:
    write(MODULES)
    write(TEAM, "team/main.mlf.hcl")
    plan = mlform.ok("plan", "--target", "module.team")
    assert planned(plan.out) == [
        ('module.team["blue"].test_object.lead', "will be created"),
        ('module.team["red"].test_object.lead', "will be created"),
    ]
    plan = mlform.ok("plan", "--exclude", "module.team")
    assert planned(plan.out) == [("test_object.top", "will be created")]
    mlform.ok("apply", "--auto-approve", "--exclude", "module.team")
    assert sorted(insts()) == ["test_object.top"]


def test_target_one_module_instance(mlform, write) -> None:
    write(MODULES)
    write(TEAM, "team/main.mlf.hcl")
    plan = mlform.ok("plan", "--target", 'module.team["red"]')
    assert planned(plan.out) == [('module.team["red"].test_object.lead', "will be created")]


def run_on_terminal(mlform, *args: str, answer: str | None) -> tuple[int, str]:
    """Run mlform with a terminal as standard input (not in automation), answering a prompt."""
    import os
    import pty
    import subprocess
    import sys

    # Not `from conftest import base_env`: with several conftest.py files in the suite, the
    # name `conftest` may be another folder's module.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFORM_", "TF_"))}
    env.update({"NO_COLOR": "1", "COLUMNS": "200"})
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen(
            [sys.executable, "-m", "mlform.cli.main", *args],
            cwd=mlform.cwd,
            env=env,
            stdin=slave,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        if answer is not None:
            os.write(master, (answer + "\n").encode())
        out, _ = proc.communicate(timeout=60)
    finally:
        os.close(master)
        os.close(slave)
    return proc.returncode, out


def test_apply_asks_on_a_terminal_and_a_saved_plan_does_not(mlform, write, store) -> None:
    write(CHAIN)
    code, out = run_on_terminal(mlform, "apply", answer="no")
    assert code == 1 and "Only 'yes' will be accepted" in out and "Apply cancelled." in out
    assert store.count() == 0
    code, out = run_on_terminal(mlform, "apply", answer="yes")
    assert code == 0 and "Apply complete! Resources: 4 added" in out, out
    write(CHAIN.replace('value = "c"', 'value = "c2"'))
    mlform.ok("plan", "--out", "next.mlplan")
    code, out = run_on_terminal(mlform, "apply", "next.mlplan", answer=None)
    assert code == 0, out
    assert "Do you want to perform these actions" not in out
    assert "Apply complete! Resources: 0 added, 2 changed" in out


def test_target_and_exclude_single_instances(mlform, write, insts, store) -> None:
    write(
        """
provider "test" { store = "objects.json" }
resource "test_object" "o" {
  count = 3
  value = "o-${count.index}"
}
"""
    )
    res = mlform.ok("apply", "--auto-approve", "--target", "test_object.o[1]")
    assert "Apply complete! Resources: 1 added" in res.out
    assert sorted(insts()) == ["test_object.o[1]"]
    plan = mlform.ok("plan", "--exclude", "test_object.o[0]")
    assert planned(plan.out) == [("test_object.o[2]", "will be created")]
    mlform.ok("apply", "--auto-approve")
    assert store.count() == 3
