"""`mlform show --format markdown PLANFILE`: a saved plan as a pull request comment.

Each case in tests/testdata/show-markdown/<case>/ holds a plan (`plan.json`, the saved plan's
own JSON) and the page it gives (`output.md`); MLFORM_UPDATE_GOLDEN=1 rewrites the pages.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from mlform.addrs import parse_instance
from mlform.plans import Action, Plan, ResourceChange, plan_from_dict, write_plan
from mlform.sdk.contract import UNKNOWN
from mlform.ui.markdown import COMMENT_LIMIT, as_diff, md_code, md_escape

DATA = Path(__file__).resolve().parent.parent / "testdata" / "show-markdown"


def saved(workdir: Path, case: str, name: str = "tfplan") -> str:
    """The case's plan written as a saved plan file in the working directory."""
    plan = plan_from_dict(json.loads((DATA / case / "plan.json").read_text()))
    write_plan(workdir / name, plan, {"main.mlf.hcl": b"# the configuration\n"})
    return name


@pytest.mark.parametrize(
    ("case", "args"),
    [
        ("ml-plan", ()),
        ("no-changes", ()),
        ("many-changes", ("--max-length", "3000", "--full-output", "plan-full.md")),
    ],
)
def test_golden(case, args, workdir, mlform, golden):
    plan = saved(workdir, case)
    res = mlform.ok("show", "--format", "markdown", *args, plan)
    golden.check(DATA / case / "output.md", res.out)


def test_training_runs_deployments_and_costs(workdir, mlform):
    out = mlform.ok("show", "--format", "markdown", saved(workdir, "ml-plan")).out
    assert out.startswith("<!-- mlform:plan prod -->\n")
    assert "| 1 | 3 | 1 | 1 |" in out  # add, change, replace, destroy
    train = out.split("### Runs that will train (2)")[1].split("###")[0]
    assert (
        "| `training_job.digits` | retrain | dataset.digits changed sha256:ab12cd34 → "
        "sha256:9f3c0011 |  | $4.20 |"
    ) in train
    assert '`training_job.sweep["lr\\|0.1"]` | train | new run |' in train
    assert "training_job.baseline" not in train
    assert "### Runs up to date (1)\n\n`training_job.baseline`" in out
    assert "| `deployment.api` | rolls | model changed" in out
    cost = out.split("### Cost")[1].split("###")[0]
    assert "| `cluster.gpu` | $2.50 |  |" in cost
    assert "| **total** | $2.50 | $4.20 |" in cost


def test_cost_columns_only_when_something_has_a_price(workdir, mlform):
    out = mlform.ok("show", "--format", "markdown", saved(workdir, "no-changes")).out
    assert "$/hour" not in out and "### Cost" not in out
    data = json.loads((DATA / "ml-plan" / "plan.json").read_text())
    for c in data["changes"]:
        for side in ("before", "after"):
            if isinstance(c[side]["value"], dict):
                c[side]["value"].pop("price_per_hour", None)
                c[side]["value"].pop("estimated_cost", None)
    write_plan(workdir / "p2", plan_from_dict(data), {})
    out = mlform.ok("show", "--format", "markdown", "p2").out
    assert "### Runs that will train (2)" in out
    assert "$/hour" not in out and "estimated cost" not in out and "### Cost" not in out


def test_a_sensitive_price_is_not_shown(workdir, mlform):
    data = json.loads((DATA / "ml-plan" / "plan.json").read_text())
    for c in data["changes"]:
        if c["address"] == "cluster.gpu":
            c["after_sensitive"] = [["price_per_hour"]]
            c["before_sensitive"] = [["price_per_hour"]]
    write_plan(workdir / "p3", plan_from_dict(data), {})
    out = mlform.ok("show", "--format", "markdown", "p3").out
    assert "$2.50" not in out and "`cluster.gpu`" not in out


def test_sensitive_values_hidden_as_in_the_text_plan(workdir, mlform):
    plan = saved(workdir, "ml-plan")
    md = mlform.ok("show", "--format", "markdown", plan).out
    text = mlform.ok("show", plan).out
    assert "secret-value" not in md and "secret-value" not in text
    assert '"API_KEY" = (sensitive value)' in text
    assert '!           "API_KEY" = (sensitive value)' in md
    assert "!   token    = (sensitive value)" in md


def test_details_are_the_text_plans_diff(workdir, mlform):
    """Each <details> holds the text plan's block of that instance, markers moved left."""
    plan = saved(workdir, "ml-plan")
    md = mlform.ok("show", "--format", "markdown", plan).out
    text = mlform.ok("show", plan).out
    block = text.split("\n\n")
    digits = next(b for b in block if b.startswith("  # training_job.digits must be replaced"))
    assert as_diff(digits) in md


def big_plan(n: int) -> Plan:
    return Plan(
        changes=[
            ResourceChange(
                parse_instance(f"test_object.big[{i}]"),
                Action.CREATE,
                'provider["test"]',
                None,
                {"id": UNKNOWN, "value": f"{i:04d} " + "y" * 400},
            )
            for i in range(n)
        ],
        config_digest="sha256:x",
    )


def test_a_page_longer_than_a_github_comment_keeps_its_summary(workdir, mlform):
    write_plan(workdir / "big", big_plan(300), {})
    res = mlform.ok("show", "--format", "markdown", "--full-output", "plan-full.md", "big")
    out, full = res.out, (workdir / "plan-full.md").read_text()
    assert len(out) <= COMMENT_LIMIT < len(full)
    assert "| 300 | 0 | 0 | 0 |" in out
    assert "full plan in the artifact `plan-full.md`" in out
    kept = out.count("<details>")
    assert 0 < kept < 300 and full.count("<details>") == 300
    assert out.rstrip().endswith("full plan in the artifact `plan-full.md`.")
    assert "left out" not in full
    # Without --full-output the note says how to see it all.
    out = mlform.ok("show", "--format", "markdown", "big").out
    assert "run `mlform show big` for the full plan" in out and len(out) <= COMMENT_LIMIT


def test_max_length_zero_is_no_limit(workdir, mlform):
    write_plan(workdir / "big", big_plan(300), {})
    out = mlform.ok("show", "--format", "markdown", "--max-length", "0", "big").out
    assert out.count("<details>") == 300 and "left out" not in out


def test_a_template_of_your_own(workdir, mlform, write):
    write(
        "{{ marker }}\n{{ counts.add }} to add, {{ counts.replace }} to replace\n"
        "{% for r in training %}- {{ r.address | code }}: {{ r.reasons | join('; ') }}\n"
        "{% endfor %}",
        "mine.md.j2",
    )
    out = mlform.ok(
        "show", "--format", "markdown", "--template", "mine.md.j2", saved(workdir, "ml-plan")
    ).out
    assert out == (
        "<!-- mlform:plan prod -->\n1 to add, 1 to replace\n"
        "- `training_job.digits`: dataset.digits changed sha256:ab12cd34 → sha256:9f3c0011\n"
        '- `training_job.sweep["lr\\|0.1"]`: \n'
    )


def test_a_broken_template_is_a_diagnostic(workdir, mlform, write):
    plan = saved(workdir, "ml-plan")
    write("line one\n{% for r in training %}\n{{ r.address }\n", "bad.md.j2")
    res = mlform("show", "--format", "markdown", "--template", "bad.md.j2", plan)
    assert res.code == 1 and "Traceback" not in res.all
    assert "Invalid template" in res.err and "bad.md.j2 line 3" in res.err
    write("fine\n{{ no_such_name.x }}\n", "undef.md.j2")
    res = mlform("show", "--format", "markdown", "--template", "undef.md.j2", plan)
    assert res.code == 1 and "Traceback" not in res.all
    assert "The template failed" in res.err and "no_such_name" in res.err
    assert "undef.md.j2 line 2" in res.err
    res = mlform("show", "--format", "markdown", "--template", "missing.j2", plan)
    assert res.code == 1 and "Cannot read the template missing.j2" in res.err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--format", "markdown"), "--format markdown shows a saved plan"),
        (("--template", "x.j2", "tfplan"), "--template needs --format markdown"),
        (("--full-output", "x.md", "tfplan"), "--full-output needs --format markdown"),
        (("--json", "--format", "markdown", "tfplan"), "Conflicting options"),
    ],
)
def test_option_mistakes(args, message, workdir, mlform):
    saved(workdir, "no-changes")
    res = mlform("show", *args)
    assert res.code == 1 and message in res.err and "Traceback" not in res.all


def test_format_json_is_json(workdir, mlform):
    out = mlform.ok("show", "--format", "json", saved(workdir, "no-changes")).out
    assert json.loads(out)["format_version"]


def test_filters():
    assert md_escape("a|b <x> *y* `z`") == "a\\|b \\<x\\> \\*y\\* \\`z\\`"
    assert md_code("a`b") == "``a`b``"
    assert md_code('x["a|b"]') == '`x["a\\|b"]`'
    assert (
        as_diff("  + a\n  ~ b\n-/+ c\n      - d\n    e") == "+   a\n!   b\n!   c\n-       d\n    e"
    )
