"""mlform's ML guardrails (`mlform { guardrails { ... } }`) through the CLI: each one refuses a
plan that breaks it, with an error on the line at fault, every violation at once, nothing
applied; a compliant plan passes; a saved plan is checked again when applied.

The local provider plans clusters, environments and training jobs without running anything, so
these plans are real ones; GPUs come from a fake `nvidia-smi` on PATH, and prices (which only
cloud providers report) are written into a saved plan as such a provider would plan them.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

import pytest

from mlform.plans import read_plan, write_plan

ML = """\
resource "environment" "sk" {
  python   = "3.11"
  packages = ["scikit-learn==1.5.2", "joblib==1.4.2"]
}

resource "cluster" "box" {
  gpu    = "any"
  region = "eu-west-1"
}

resource "training_job" "t" {
  cluster     = cluster.box.id
  environment = environment.sk.id
  code        = "./src"
  command     = "python train.py"
  seed        = 7
  timeout     = "2h"
}
"""

ALL_RAILS = """\
mlform {
  guardrails {
    max_gpus                = 8
    max_price_per_hour      = 40
    max_job_cost            = 100
    allowed_providers       = ["local"]
    allowed_regions         = ["eu-west-1", "eu-central-1"]
    require_seed            = true
    require_pinned_packages = true
  }
}
"""


@pytest.fixture
def ml(workdir: Path, write):
    (workdir / "src").mkdir()
    (workdir / "src" / "train.py").write_text("print('hi')\n")

    def put(main: str = ML, rails: str = ALL_RAILS) -> None:
        write(main)
        write(rails, "settings.mlf.hcl")

    return put


def errors(text: str) -> list[tuple[str, int, int]]:
    """(summary, line, column) of each error in a rendered run."""
    return [
        (m.group(1), int(m.group(3)), int(m.group(4)))
        for m in re.finditer(r"Error: (.+)\n\n  on (\S+) line (\d+), column (\d+):", text)
    ]


def line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_a_compliant_plan_passes(ml, mlform):
    ml()
    res = mlform.ok("plan")
    assert "Plan: 3 to add, 0 to change, 0 to destroy." in res.out
    assert "Error" not in res.all


@pytest.mark.parametrize(
    ("old", "new", "summary", "needle"),
    [
        ("  seed        = 7\n", "", "Training job without a seed", 'resource "training_job" "t"'),
        ('"joblib==1.4.2"', '"joblib"', "Package version not pinned", '"joblib"'),
        ('"joblib==1.4.2"', '"joblib>=1.4"', "Package version not pinned", '"joblib>=1.4"'),
        ('"joblib==1.4.2"', '"joblib==1.*"', "Package version not pinned", '"joblib==1.*"'),
        ('"eu-west-1"', '"us-east-1"', 'Region "us-east-1" is not allowed', 'region = "us-east-1"'),
    ],
)
def test_each_guardrail_refuses_a_violating_plan_on_its_line(
    ml, mlform, workdir, old, new, summary, needle
):
    ml(ML.replace(old, new))
    res = mlform("plan")
    assert res.code == 1, str(res)
    found = errors(res.err)
    assert [s for s, _, _ in found] == [summary], str(res)
    text = (workdir / "main.mlf.hcl").read_text()
    line = line_of(text, needle)
    assert found[0][1] == line
    if needle.startswith('"'):
        # The package's own string in the list, not the whole argument.
        assert found[0][2] == text.splitlines()[line - 1].index(needle) + 1
    assert "mlform.guardrails." in res.err and "settings.mlf.hcl:" in res.err


def test_a_provider_not_allowed_is_refused_on_its_resource(ml, mlform, workdir):
    ml(ML + 'resource "test_object" "x" {\n  value = 1\n}\n')
    res = mlform("plan")
    assert res.code == 1
    line = line_of((workdir / "main.mlf.hcl").read_text(), '"test_object" "x"')
    assert errors(res.err) == [('Provider "test" is not allowed', line, 1)], str(res)
    assert 'allowed: "local"' in res.err


def test_every_violation_is_reported_at_once_and_nothing_is_applied(ml, mlform, workdir):
    bad = (
        ML.replace("  seed        = 7\n", "")
        .replace('"joblib==1.4.2"', '"joblib"')
        .replace('"eu-west-1"', '"us-east-1"')
    )
    ml(bad + 'resource "test_object" "x" {}\n')
    res = mlform("apply", "--auto-approve")
    assert res.code == 1
    assert sorted(s for s, _, _ in errors(res.err)) == [
        "Package version not pinned",
        'Provider "test" is not allowed',
        'Region "us-east-1" is not allowed',
        "Training job without a seed",
    ]
    assert "Apply complete" not in res.out
    assert not (workdir / "mlform.state.json").exists()
    assert not (workdir / "objects.json").exists()


def fake_gpus(bin_dir: Path, count: int, model: str = "NVIDIA A100-SXM4-80GB") -> dict[str, str]:
    """PATH with an `nvidia-smi` that reports `count` GPUs."""
    bin_dir.mkdir()
    rows = "".join(f"{i}, {model}, 81920, 550.54.15\\n" for i in range(count))
    exe = bin_dir / "nvidia-smi"
    exe.write_text(
        "#!/bin/sh\n"
        'case "$*" in\n'
        f"  *--query-gpu*) printf '{rows}' ;;\n"
        "  *) echo '| NVIDIA-SMI 550.54.15   Driver Version: 550.54.15   CUDA Version: 12.4 |' ;;\n"
        "esac\n"
    )
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    return {"PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}"}


def test_max_gpus_counts_every_cluster_times_its_nodes(ml, mlform, workdir, tmp_path):
    env = fake_gpus(tmp_path / "bin", 8)
    two = ML.replace('gpu    = "any"', 'gpu    = "A100:4"') + (
        'resource "cluster" "big" {\n  gpu   = "A100:8"\n  nodes = 2\n}\n'
    )
    ml(two)
    res = mlform("plan", env=env)
    assert res.code == 1, str(res)
    text = (workdir / "main.mlf.hcl").read_text()
    assert errors(res.err) == [("Too many GPUs", line_of(text, '"A100:8"'), 11)]
    assert "requests 20 GPUs, more than the 8" in res.err
    assert 'cluster.big: 16 (gpu = "A100:8" x 2 nodes); cluster.box: 4 (gpu = "A100:4")' in res.err
    # Within the limit: "any" counts the GPUs the provider found (8 here).
    ml(ML)
    assert mlform("plan", env=env).code == 0
    ml(ML, ALL_RAILS.replace("max_gpus                = 8", "max_gpus = 7"))
    res = mlform("plan", env=env)
    assert [s for s, _, _ in errors(res.err)] == ["Too many GPUs"], str(res)


def priced_plan(mlform, workdir: Path, price: float, timeout: str | None = "2h") -> str:
    """A saved plan whose cluster costs `price` per hour, as a cloud provider would plan it.
    (No packages: applying it builds an environment without reaching a package index.)"""
    main = ML.replace('["scikit-learn==1.5.2", "joblib==1.4.2"]', "[]")
    if timeout is None:
        main = main.replace('  timeout     = "2h"\n', "")
    (workdir / "main.mlf.hcl").write_text(main)
    mlform.ok("plan", "--out", "p.mlplan")
    saved = read_plan(workdir / "p.mlplan")
    for rc in saved.plan.changes:
        if rc.addr.resource.type == "cluster":
            rc.after["price_per_hour"] = price
        elif rc.addr.resource.type == "training_job":
            # This host's job plans its cost at 0; on a priced cluster the estimate is left to
            # the guardrail (its cluster's price times its timeout).
            rc.after.pop("estimated_cost", None)
    write_plan(workdir / "p.mlplan", saved.plan, saved.config_files)
    return "p.mlplan"


def test_prices_are_checked_when_a_saved_plan_is_applied(ml, mlform, workdir):
    ml()
    # $30/hour for 2 hours: within both limits.
    res = mlform.ok("apply", priced_plan(mlform, workdir, 30.0))
    assert "Apply complete! Resources: 3 added" in res.out


@pytest.mark.parametrize(
    ("price", "timeout", "summary", "words"),
    [
        (45.0, "2h", "Too expensive per hour", "costs $45.00 per hour, more than the $40.00"),
        (
            60.0,
            "2h",
            "Training job too expensive",
            "may cost $120.00 ($60.00/hour for its timeout of 2h), more than the $100.00",
        ),
        (10.0, None, "Training job cost unbounded", "Set a timeout (at most 10h)"),
    ],
)
def test_a_saved_plan_over_a_price_limit_is_refused(
    ml, mlform, workdir, price, timeout, summary, words
):
    ml()
    rails = ALL_RAILS.replace("max_price_per_hour      = 40", "max_price_per_hour = 50")
    if summary == "Too expensive per hour":
        rails = ALL_RAILS
    (workdir / "settings.mlf.hcl").write_text(rails)
    plan = priced_plan(mlform, workdir, price, timeout)
    res = mlform("apply", plan)
    assert res.code == 1, str(res)
    assert [s for s, _, _ in errors(res.err)][-1:] == [summary], str(res)
    assert words in res.err
    assert not (workdir / "mlform.state.json").exists()


def test_guardrail_mistakes_are_reported_by_validate(ml, mlform, workdir):
    ml(
        ML,
        'mlform {\n  guardrails {\n    max_gpu = 8\n    require_seed = "yes"\n'
        "    allowed_regions = var.regions\n  }\n}\n",
    )
    res = mlform("validate")
    assert res.code == 1
    assert errors(res.err) == [
        ("Unsupported argument", 3, 5),
        ("Invalid guardrail", 4, 20),
        ("Invalid guardrail", 5, 23),
    ], str(res)
    assert 'Did you mean "max_gpus"?' in res.err
    assert "cannot refer to variables" in res.err
