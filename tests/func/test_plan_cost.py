"""Cost in plans: each priced object's price per hour, each run's estimated cost (from its timeout,
or the median of its earlier runs in the state history), the total line, the JSON plan's `cost`,
the refusal of a price over max_price_per_hour with the offers that fit, and the guardrails
reading the same values. Driven through the test provider's `test_job`, which carries a price."""

from __future__ import annotations

import json
import re
import statistics
from datetime import datetime

from mlform.plans import read_plan

JOBS = """
provider "test" {}

resource "test_job" "train" {
  duration_s     = 0.2
  price_per_hour = 32.77
  timeout        = "2h"
}

resource "test_job" "eval" {
  duration_s     = 0.2
  price_per_hour = 1.5
}
"""


def cost_section(out: str) -> list[str]:
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Cost (USD"))
    end = next(i for i, line in enumerate(lines) if line.startswith("Cost: "))
    return lines[start : end + 1]


def test_plan_shows_prices_estimates_and_a_total(write, mlform):
    write(JOBS)
    res = mlform.ok("plan")
    assert "+ estimated_cost = 65.54" in res.out
    assert cost_section(res.out) == [
        "Cost (USD, from the providers' price lists):",
        "  test_job.eval   $1.50/h; estimated cost unknown: no timeout and no earlier run to go by",
        "  test_job.train  estimated $65.54: $32.77/h x 2h, its timeout",
        "Cost: $34.27/h while running; estimated $65.54 for the training runs in this plan "
        "(not counting test_job.eval: set a timeout).",
    ]


def test_json_plan_carries_the_cost(write, mlform):
    write(JOBS)
    doc = json.loads(mlform.ok("plan", "-json").out)
    cost = doc["cost"]
    assert cost["currency"] == "USD"
    assert cost["price_per_hour"] == 34.27
    assert cost["estimated_cost"] == 65.54
    assert cost["unestimated"] == ["test_job.eval"]
    train = next(r for r in cost["resources"] if r["address"] == "test_job.train")
    assert train == {
        "address": "test_job.train",
        "kind": "run",
        "price_per_hour": 32.77,
        "estimated_cost": 65.54,
        "basis": "timeout",
        "hours": 2.0,
    }
    change = next(c for c in doc["resource_changes"] if c["address"] == "test_job.train")
    assert change["change"]["after"]["estimated_cost"] == 65.54
    # A saved plan keeps it, and shows it again.
    mlform.ok("plan", "-out", "p.mlplan")
    saved = read_plan(mlform.cwd / "p.mlplan")
    assert saved.plan.cost is not None and saved.plan.cost["estimated_cost"] == 65.54
    shown = mlform.ok("show", "p.mlplan")
    assert "Cost: $34.27/h while running; estimated $65.54" in shown.out


def test_the_estimate_is_the_median_of_earlier_runs(write, mlform, insts):
    write(JOBS)
    durations = []
    for d in ("0.2", "0.6", "1.2"):
        write(
            JOBS.replace(
                "duration_s     = 0.2\n  price_per_hour = 32.77",
                f"duration_s     = {d}\n  price_per_hour = 32.77",
            )
        )
        mlform.ok("apply", "-auto-approve")
        attrs = insts()["test_job.train"]["attributes"]
        start = datetime.fromisoformat(attrs["started_at"].replace("Z", "+00:00"))
        end = datetime.fromisoformat(attrs["finished_at"].replace("Z", "+00:00"))
        durations.append((end - start).total_seconds())
    # A fourth run (duration_s forces a new one): priced at the median of the three.
    write(
        JOBS.replace(
            "duration_s     = 0.2\n  price_per_hour = 32.77",
            "duration_s     = 0.3\n  price_per_hour = 32.77",
        )
    )
    doc = json.loads(mlform.ok("plan", "-json").out)
    train = next(r for r in doc["cost"]["resources"] if r["address"] == "test_job.train")
    median = statistics.median(durations)
    assert train["basis"] == "history" and train["runs"] == 3
    assert abs(train["hours"] * 3600 - median) < 0.01
    assert train["estimated_cost"] == round(32.77 * median / 3600, 4)
    text = mlform.ok("plan").out
    assert re.search(
        r"test_job\.train  estimated \$0\.\d+: \$32\.77/h x \d+s, the median of 3 earlier runs",
        text,
    ), text


def test_nothing_priced_shows_no_cost(write, mlform):
    write('provider "test" {}\nresource "test_job" "j" {\n  duration_s = 0.2\n}\n')
    res = mlform.ok("plan")
    assert "Cost" not in res.out
    assert "cost" not in json.loads(mlform.ok("plan", "-json").out)


def test_a_price_over_max_price_per_hour_is_refused_with_offers(write, mlform):
    write(
        'provider "test" {}\n'
        'resource "test_job" "train" {\n'
        '  gpu                = "A100:8"\n'
        "  price_per_hour     = 32\n"
        "  max_price_per_hour = 20\n"
        '  timeout            = "2h"\n'
        "}\n"
    )
    res = mlform("plan")
    assert res.code == 1, str(res)
    assert "Error: Price over max_price_per_hour" in res.err
    assert "on main.mlf.hcl line 5, column 24:" in res.err
    assert (
        "test_job.train would cost $32.00 per hour, more than its max_price_per_hour of $20.00"
        in res.err
    )
    listed = re.findall(r"^  - (.+)$", res.err, re.M)
    # Up to 5, the least change first: the same A100s on spot, then other GPUs of that count.
    assert 0 < len(listed) <= 5
    assert listed[0] == (
        "test.a100x8 (A100 40GB x8, 96 vCPUs, 1152 GiB) in test-1, spot: $12.00/h (set spot = true)"
    )
    assert any("test.l40sx8" in line and 'gpu = "L40S:8"' in line for line in listed)
    assert not any("test.h100x8" in line for line in listed)  # over $20 even on spot
    # Within the budget: planned.
    write(
        'provider "test" {}\n'
        'resource "test_job" "train" {\n'
        "  price_per_hour     = 12\n"
        "  max_price_per_hour = 20\n"
        "}\n"
    )
    mlform.ok("plan")


def test_guardrails_read_the_planned_prices(write, mlform):
    rails = "mlform {\n  guardrails {\n    max_price_per_hour = 30\n  }\n}\n"
    write(rails + JOBS)
    res = mlform("plan")
    assert res.code == 1, str(res)
    # The prices the plan's cost shows are what the guardrail adds up.
    assert "Error: Too expensive per hour" in res.err
    assert (
        "This plan costs $34.27 per hour, more than the $30.00 that mlform.guardrails."
        "max_price_per_hour" in res.err
    )
    write(rails.replace("= 30", "= 40") + JOBS)
    assert "Cost: $34.27/h while running" in mlform.ok("plan").out
