"""A new user's mistakes with providers: an installed provider outside the configuration's
`required_providers` constraint stops plan and apply (not only init), with the line of the
constraint, before anything is created."""

from __future__ import annotations

CONFIG = """
mlform {
  required_providers {
    test = { version = "%s" }
  }
}
provider "test" { store = "objects.json" }
resource "test_object" "a" { value = 1 }
"""


def test_plan_and_apply_refuse_a_provider_outside_the_constraint(mlform, write, store) -> None:
    write(CONFIG % ">= 99.0")
    for args in (("plan",), ("apply", "--auto-approve")):
        res = mlform(*args)
        assert res.code == 1, str(res)
        assert "Error: Provider version does not match" in res.err
        assert "on main.mlf.hcl line 4, column 5:" in res.err
        assert "the configuration requires >= 99.0" in res.err
    assert store.count() == 0


def test_a_constraint_tightened_after_init_is_refused(mlform, write, store) -> None:
    write(CONFIG % ">= 0.1")
    mlform.ok("init")
    write(CONFIG % ">= 99.0")
    res = mlform("apply", "--auto-approve")
    assert res.code == 1, str(res)
    assert res.err.count("Error:") == 1, str(res)
    assert "Provider version does not match" in res.err
    assert store.count() == 0


def test_a_matching_constraint_plans(mlform, write) -> None:
    write(CONFIG % ">= 0.1")
    assert "Plan: 1 to add" in mlform.ok("plan").out


def test_a_provider_that_is_not_installed_points_at_the_resource_using_it(mlform, write) -> None:
    write('variable "x" { default = 1 }\n\nresource "nope_kind" "a" {\n  value = 1\n}\n')
    for args in (("plan",), ("apply", "--auto-approve")):
        res = mlform(*args)
        assert res.code == 1, str(res)
        assert "Error: Provider not available" in res.err
        assert "on main.mlf.hcl line 3, column 1:" in res.err, str(res)
        assert "pip install mlform-provider-nope" in res.err


LOCKED = """
provider "test" { store = "objects.json" }
resource "test_object" "a" { value = 1 }
"""


def test_a_broken_lock_file_stops_plan_and_init_rewrites_it(mlform, write, workdir, store) -> None:
    write(LOCKED)
    mlform.ok("init")
    lock = workdir / ".mlform.lock.hcl"
    for broken in (b'provider "test" {\n', b"\xff"):
        lock.write_bytes(broken)
        for args in (("plan",), ("apply", "--auto-approve")):
            res = mlform(*args)
            assert res.code == 1, str(res)
            assert "Error: The lock file .mlform.lock.hcl cannot be read" in res.err
            assert "on .mlform.lock.hcl line 1" in res.err
    assert store.count() == 0
    mlform.ok("init")
    assert "Plan: 1 to add" in mlform.ok("plan").out


def test_a_corrupt_test_provider_store_is_a_provider_error(mlform, write, workdir) -> None:
    write(LOCKED)
    mlform.ok("apply", "--auto-approve")
    (workdir / "objects.json").write_text("{\n")
    res = mlform("plan")
    assert res.code == 1, str(res)
    assert "Internal error" not in res.err, str(res)
    assert "objects.json" in res.err


LOCAL = 'provider "local" {}\nresource "cluster" "c" {}\n'


def test_init_without_upgrade_refuses_a_provider_that_changed_since_the_lock(
    mlform, write, workdir
) -> None:
    """`init` refuses, as plan does, a provider whose version or files no longer match the lock;
    `init --upgrade` is how the change is recorded."""
    write(LOCAL)
    mlform.ok("init", "--backend=false")
    lock = workdir / ".mlform.lock.hcl"
    good = lock.read_text()
    edits = {
        "Provider does not match the lock file": good.replace('"0.1.0"', '"0.0.9"'),
        "Provider files changed since init": good.replace('"sha256:', '"sha256:0'),
    }
    for summary, text in edits.items():
        assert text != good
        lock.write_text(text)
        res = mlform("init", "--backend=false")
        assert res.code == 1, str(res)
        assert f"Error: {summary}" in res.err, str(res)
        assert "mlform init --upgrade" in res.err
        assert lock.read_text() == text, "a refused init must not rewrite the lock file"
        plan = mlform("plan")
        assert plan.code == 1 and f"Error: {summary}" in plan.err, str(plan)
        mlform.ok("init", "--upgrade", "--backend=false")
        assert lock.read_text() == good
