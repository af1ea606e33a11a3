"""mlform.engine.cost on hand-made plans: a run pays its cluster's price (counted once), the
estimate's basis (timeout, history median capped by the timeout), restored runs cost nothing,
and the guardrails hold the planned estimate against max_job_cost."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from mlform.addrs import parse_instance
from mlform.config.guardrails import Guardrails
from mlform.engine.cost import median_hours, plan_costs, run_durations
from mlform.engine.guardrails import _Checker
from mlform.plans import Action, Plan, ResourceChange
from mlform.sdk.contract import UNKNOWN

PROVIDER = 'provider["registry.mlform.io/mlform/aws"]'


def change(
    addr: str, action: Action = Action.CREATE, deps: list[str] | None = None, **after: Any
) -> ResourceChange:
    return ResourceChange(
        addr=parse_instance(addr),
        action=action,
        provider=PROVIDER,
        after=dict(after),
        planned={"dependencies": deps or []},
    )


def job(addr: str = "training_job.train", **after: Any) -> ResourceChange:
    base = {
        "cluster": UNKNOWN,
        "timeout": "2h",
        "status": UNKNOWN,
        "price_per_hour": UNKNOWN,
        "estimated_cost": UNKNOWN,
    }
    return change(addr, deps=["cluster.gpu"], **{**base, **after})


def price(plan: Plan, history: Any = None) -> list[Any]:
    return plan_costs(plan, {}, None, history, offers_of=lambda rc: [])


def test_a_run_pays_its_clusters_price_counted_once():
    plan = Plan(changes=[change("cluster.gpu", id=UNKNOWN, price_per_hour=32.77), job()])
    assert price(plan) == []
    assert plan.changes[1].after["estimated_cost"] == 65.54
    assert plan.cost is not None
    assert plan.cost["price_per_hour"] == 32.77  # the cluster's, not again for the job
    assert plan.cost["estimated_cost"] == 65.54
    run = next(r for r in plan.cost["resources"] if r["kind"] == "run")
    assert run["price_from"] == "cluster.gpu" and run["basis"] == "timeout"


def test_a_cluster_found_by_id():
    plan = Plan(
        changes=[
            change("cluster.a", id="i-a", price_per_hour=10.0),
            change("cluster.b", id="i-b", price_per_hour=2.0),
            change("training_job.t", cluster="i-b", timeout="30m", estimated_cost=UNKNOWN),
        ]
    )
    price(plan)
    assert plan.changes[2].after["estimated_cost"] == 1.0


def test_restored_and_unchanged_runs_cost_nothing():
    plan = Plan(
        changes=[
            change("cluster.gpu", id=UNKNOWN, price_per_hour=32.77),
            job(status="succeeded"),  # restored from a kept result
            job("training_job.same", timeout="1h").__class__(
                **{**job("training_job.same").__dict__, "action": Action.NOOP}
            ),
        ]
    )
    price(plan)
    assert plan.cost is not None and plan.cost["estimated_cost"] == 0
    assert [r["address"] for r in plan.cost["resources"]] == ["cluster.gpu"]


def test_median_of_history_capped_by_timeout():
    assert median_hours([60, 120, 7200], None) == (120 / 3600, "history", 3)
    assert median_hours([7200, 7200], 1.0) == (1.0, "history", 2)
    assert median_hours([], 2.0) == (2.0, "timeout", 0)
    assert median_hours([], None) == (None, None, 0)


class FakeState:
    def __init__(self, attrs: dict[str, Any] | None):
        self.attrs = attrs

    def instance(self, addr: str) -> Any:
        if self.attrs is None:
            return None
        return type("Inst", (), {"attributes": self.attrs})()


def run(rid: str, start: str, end: str, status: str = "succeeded") -> FakeState:
    return FakeState({"run_id": rid, "started_at": start, "finished_at": end, "status": status})


def test_run_durations_count_each_run_once():
    states = [
        run("r3", "2025-01-01T03:00:00Z", "2025-01-01T04:30:00Z"),
        run("r2", "2025-01-01T02:00:00Z", "2025-01-01T02:30:00Z"),
        run("r2", "2025-01-01T02:00:00Z", "2025-01-01T02:30:00Z"),  # kept by two serials
        run("r1", "2025-01-01T01:00:00Z", "2025-01-01T01:10:00Z"),
        run("rf", "2025-01-01T00:00:00Z", "2025-01-01T09:00:00Z", status="failed"),
        FakeState(None),
    ]
    assert run_durations(states, "training_job.train") == [5400.0, 1800.0, 600.0]
    plan = Plan(changes=[change("cluster.gpu", id=UNKNOWN, price_per_hour=10.0), job()])
    price(plan, lambda: states)
    entry = next(r for r in plan.cost["resources"] if r["kind"] == "run")
    assert (entry["basis"], entry["runs"], entry["estimated_cost"]) == ("history", 3, 5.0)


def test_history_is_not_read_for_free_runs():
    read: list[bool] = []

    def history() -> Any:
        read.append(True)
        return []

    plan = Plan(
        changes=[change("cluster.gpu", id="local:h", price_per_hour=0.0), job(timeout=None)]
    )
    price(plan, history)
    assert plan.cost is None and read == []
    assert plan.changes[1].after["estimated_cost"] == 0.0


def test_guardrail_max_job_cost_reads_the_estimate():
    plan = Plan(changes=[change("cluster.gpu", id=UNKNOWN, price_per_hour=32.77), job()])
    price(plan)
    found = _Checker(Guardrails(max_job_cost=Decimal(50)), {}, plan).run()
    assert [d.summary for d in found] == ["Training job too expensive"]
    assert "may cost $65.54 (its estimated cost)" in found[0].detail
    assert _Checker(Guardrails(max_job_cost=Decimal(70)), {}, plan).run() == []
