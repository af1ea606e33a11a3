"""`check` blocks through the CLI with the test provider, as Terraform's (1.5+): a failing
assertion is a warning (the run goes on, exit 0); a condition not known while planning is
checked after apply; a scoped data source is read at plan when it can be, after apply
otherwise, and its failure is a warning; checks in modules are named `module.m[KEY].check.NAME`;
the JSON plan carries Terraform's `checks` array; validate checks the block's shape and its
references."""

from __future__ import annotations

import json

PROVIDER = 'provider "test" {\n  store = "objects.json"\n}\n\n'
OBJECT = 'resource "test_object" "a" {\n  value = "one"\n}\n\n'
FAILED = "Warning: Check block assertion failed"


def checks_of(mlform, *args: str) -> dict[str, dict]:
    """The JSON plan's checks, by address."""
    plan = json.loads(mlform.ok("plan", "--json", *args).out)
    return {c["address"]["to_display"]: c for c in plan.get("checks", [])}


def line_of(workdir, text: str, name: str = "main.mlf.hcl") -> int:
    return (workdir / name).read_text().splitlines().index(text) + 1


def test_json_plan_checks_array(mlform, case, golden) -> None:
    src = case("checks")
    mlform.ok("init")
    js = mlform.ok("plan", "--json")
    golden.check(src / "plan.json", golden.normalize_json(js.out, {}))
    checks = {c["address"]["to_display"]: c for c in json.loads(js.out)["checks"]}
    assert checks["check.value_matches"]["status"] == "pass"
    assert checks["check.echo_matches"]["status"] == "unknown"
    short = checks["module.m.check.short"]
    assert short["address"] == {
        "kind": "check",
        "module": "module.m",
        "name": "short",
        "to_display": "module.m.check.short",
    }
    assert short["status"] == "fail"
    by_instance = {i["address"]["to_display"]: i for i in short["instances"]}
    assert by_instance['module.m["ab"].check.short']["status"] == "pass"
    bad = by_instance['module.m["abcdef"].check.short']
    assert bad["status"] == "fail"
    assert bad["problems"] == [{"message": "The value abcdef is longer than 3 characters."}]


def test_module_check_warns_with_its_instance(mlform, case, workdir) -> None:
    case("checks")
    mlform.ok("init")
    res = mlform("plan", "--detailed-exitcode")
    assert res.code == 2, str(res)  # changes present; the failing check does not change that
    assert res.all.count(FAILED) == 1, str(res)
    line = line_of(
        workdir, "    condition     = length(test_object.o.value) < 4", "mod/main.mlf.hcl"
    )
    assert 'with module.m["abcdef"].check.short,' in res.all
    assert f"on mod/main.mlf.hcl line {line}, column 21:" in res.all
    assert "The value abcdef is longer than 3 characters." in res.all
    # The check known only after apply says nothing while planning.
    assert "echoes" not in res.all


def test_failing_assertion_warns_and_apply_still_applies(mlform, case, workdir, store, insts):
    case("checks")
    mlform.ok("init")
    res = mlform("plan", "--var", "expected=two")
    assert res.code == 0, str(res)
    line = line_of(workdir, "    condition     = data.test_data.probe.output == var.expected")
    assert f"on main.mlf.hcl line {line}, column 21:" in res.all
    assert "test_object.a holds one, not two." in res.all
    assert "Error" not in res.all
    res = mlform("apply", "--auto-approve", "--var", "expected=two")
    assert res.code == 0, str(res)
    assert "Apply complete! Resources: 3 added, 0 changed, 0 destroyed." in res.out
    assert store.count() == 3
    # Checked again after apply (diagnostics go to stderr): the echo check now too, which was
    # unknown at plan.
    assert res.err.count("test_object.a holds one, not two.") == 2, str(res)
    assert res.err.count("test_object.a echoes one, not two.") == 1, str(res)
    # The scoped data source is the check's alone: it is not recorded in the state.
    assert "data.test_data.probe" not in insts()


def test_unknown_at_plan_is_checked_after_apply(mlform, write) -> None:
    write(
        PROVIDER
        + OBJECT
        + 'check "echo" {\n'
        + '  assert {\n    condition     = test_object.a.echo == "other"\n'
        + '    error_message = "echo is ${test_object.a.echo}."\n  }\n}\n'
    )
    res = mlform.ok("plan")
    assert "Warning" not in res.all, str(res)
    assert checks_of(mlform)["check.echo"]["status"] == "unknown"
    res = mlform.ok("apply", "--auto-approve")
    assert FAILED in res.err and "echo is one." in res.err, str(res)
    assert "Apply complete! Resources: 1 added" in res.out
    # Now known: the next plan has nothing to do and says so with the warning.
    res = mlform("plan", "--detailed-exitcode")
    assert res.code == 0 and "No changes." in res.out and "echo is one." in res.all, str(res)
    check = checks_of(mlform)["check.echo"]
    assert check["status"] == "fail"
    assert check["instances"][0]["problems"] == [{"message": "echo is one."}]


def test_scoped_data_source_read_after_apply_when_its_input_is_unknown(mlform, write) -> None:
    write(
        PROVIDER
        + OBJECT
        + 'check "probe" {\n  data "test_data" "p" {\n    input = test_object.a.echo\n  }\n\n'
        + '  assert {\n    condition     = data.test_data.p.output == "never"\n'
        + '    error_message = "the probe read ${data.test_data.p.output}."\n  }\n}\n'
    )
    res = mlform.ok("plan")
    assert "Warning" not in res.all, str(res)
    assert checks_of(mlform)["check.probe"]["status"] == "unknown"
    res = mlform.ok("apply", "--auto-approve")
    assert "the probe read one." in res.err, str(res)


def test_scoped_data_source_failure_is_a_warning(mlform, write, workdir, insts) -> None:
    write(
        PROVIDER
        + OBJECT
        + 'check "probe" {\n  data "test_data" "p" {\n    input = test_object.a.value\n'
        + "    fail  = true\n  }\n\n"
        + '  assert {\n    condition     = data.test_data.p.output == "one"\n'
        + '    error_message = "bad probe"\n  }\n}\n'
    )
    res = mlform("plan")
    assert res.code == 0, str(res)
    assert "Warning: Failed to read data.test_data.p: test_data data.test_data.p: read failed" in (
        res.all
    )
    line = line_of(workdir, '  data "test_data" "p" {')
    assert f"on main.mlf.hcl line {line}, column 3:" in res.all
    assert "Error" not in res.all
    check = checks_of(mlform)["check.probe"]
    assert check["status"] == "error"
    assert "read failed" in check["instances"][0]["problems"][0]["message"]
    res = mlform("apply", "--auto-approve")
    assert res.code == 0, str(res)
    assert "Apply complete! Resources: 1 added" in res.out
    # Read, and failing, at plan and again after apply.
    assert res.err.count("Warning: Failed to read data.test_data.p") == 2, str(res)
    assert set(insts()) == {"test_object.a"}


def test_saved_plan_keeps_the_checks(mlform, write) -> None:
    write(
        PROVIDER
        + OBJECT
        + 'check "value" {\n  assert {\n    condition     = test_object.a.value == "two"\n'
        + '    error_message = "not two"\n  }\n}\n'
    )
    mlform.ok("plan", "--out", "p.mlplan")
    shown = json.loads(mlform.ok("show", "--json", "p.mlplan").out)
    assert [c["status"] for c in shown["checks"]] == ["fail"]
    res = mlform.ok("apply", "p.mlplan")
    assert FAILED in res.err and "not two" in res.err


def test_validate_reports_the_shape_of_check_blocks(mlform, write, workdir) -> None:
    write(
        PROVIDER
        + OBJECT
        + 'check "c" {\n  count = 2\n\n'
        + '  data "test_data" "a" {\n    input = 1\n  }\n\n'
        + '  data "test_data" "b" {\n    input = 2\n  }\n\n'
        + "  assert {\n    condition = true\n  }\n}\n\n"
        + 'check "empty" {\n}\n'
    )
    res = mlform("validate")
    assert res.code == 1, str(res)
    text = workdir / "main.mlf.hcl"
    lines = text.read_text().splitlines()
    for summary, at in (
        ("Unsupported argument", "  count = 2"),
        ("Multiple data resource blocks", '  data "test_data" "b" {'),
        ("Missing required argument", "  assert {"),
        ("Zero assert blocks", 'check "empty" {'),
    ):
        assert f"Error: {summary}\n\n  on main.mlf.hcl line {lines.index(at) + 1}," in res.err, (
            summary,
            str(res),
        )


def test_validate_checks_references(mlform, write, workdir) -> None:
    write(
        PROVIDER
        + OBJECT
        + 'check "c" {\n  data "test_data" "probe" {\n    input = test_object.a.valeu\n  }\n\n'
        + "  assert {\n    condition     = data.test_data.prob.output == test_object.b.value\n"
        + '    error_message = "x"\n  }\n}\n\n'
        + 'output "leak" {\n  value = data.test_data.probe.output\n}\n'
    )
    res = mlform("validate")
    assert res.code == 1, str(res)
    assert 'Did you mean "data.test_data.probe"?' in res.err
    assert 'Did you mean "test_object.a"?' in res.err
    assert 'This object does not have an attribute named "valeu". Did you mean "value"?' in res.err
    line = line_of(workdir, "  value = data.test_data.probe.output")
    assert f"Error: Reference to scoped resource\n\n  on main.mlf.hcl line {line}," in res.err
    assert 'declared inside check "c"' in res.err
    # A clean check validates.
    write(
        PROVIDER
        + OBJECT
        + 'check "c" {\n  data "test_data" "probe" {\n    input = test_object.a.value\n  }\n\n'
        + "  assert {\n    condition     = data.test_data.probe.output == test_object.a.value\n"
        + '    error_message = "x"\n  }\n}\n'
    )
    mlform.ok("validate")


def test_duplicate_names(mlform, write) -> None:
    write(
        PROVIDER
        + OBJECT
        + 'data "test_data" "p" {\n  input = 1\n}\n\n'
        + 'check "c" {\n  data "test_data" "p" {\n    input = 2\n  }\n\n'
        + '  assert {\n    condition     = true\n    error_message = "x"\n  }\n}\n\n'
        + 'check "c" {\n  assert {\n    condition     = true\n    error_message = "x"\n  }\n}\n'
    )
    res = mlform("validate")
    assert res.code == 1
    assert 'Error: Duplicate check "c" configuration' in res.err, str(res)
    write(
        PROVIDER
        + OBJECT
        + 'data "test_data" "p" {\n  input = 1\n}\n\n'
        + 'check "c" {\n  data "test_data" "p" {\n    input = 2\n  }\n\n'
        + '  assert {\n    condition     = true\n    error_message = "x"\n  }\n}\n'
    )
    res = mlform("validate")
    assert res.code == 1
    assert 'Error: Duplicate data "test_data" configuration' in res.err, str(res)


def test_check_blocks_in_json_syntax(mlform, write) -> None:
    doc = {
        "provider": {"test": {"store": "objects.json"}},
        "resource": {"test_object": {"a": {"value": "one"}}},
        "check": {
            "c": {
                "data": {"test_data": {"p": {"input": "${test_object.a.value}"}}},
                "assert": {
                    "condition": '${data.test_data.p.output == "two"}',
                    "error_message": "not two",
                },
            }
        },
    }
    write(json.dumps(doc), "main.mlf.json")
    res = mlform.ok("plan")
    assert FAILED in res.all and "not two" in res.all, str(res)


def test_guardrails_page_shows_what_plan_prints(mlform, workdir) -> None:
    """The warning docs/guardrails.md shows is the one its example prints."""
    import re
    import shutil
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    shutil.copytree(root / "docs" / "examples" / "checks", workdir, dirs_exist_ok=True)
    page = (root / "docs" / "guardrails.md").read_text()
    section = page.split("## check blocks", 1)[1]
    block = re.search(r"```console\n\$ mlform (plan [^\n]*)\n(.*?)```", section, re.S)
    assert block is not None
    res = mlform(*block.group(1).split())
    assert res.code == 0, str(res)
    assert block.group(2) in res.err, str(res)
