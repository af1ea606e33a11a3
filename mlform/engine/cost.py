"""What a plan costs: each priced object's price per hour, each training run's estimated cost, a
total, and the refusal of an object planned over its `max_price_per_hour`.

Providers plan `price_per_hour` (a cluster's offer, all nodes together; a job's own machines
when it starts some for itself alone). Once the plan is made, `plan_costs`:

1. refuses every object whose planned `price_per_hour` is above its own `max_price_per_hour`,
   with an error on that argument's line listing up to 5 offers of its provider that would fit
   under it (`mlform.kinds.offers.within_budget`: spot, another region, another GPU model);
2. plans the `estimated_cost` of each training run the plan starts (a `training_job`, or any
   long-running kind, created or replaced and not restored from a kept result) whose provider
   did not plan one: the price per hour it pays (its own, else its cluster's: the `cluster` it
   names or a cluster it depends on) times its expected duration, which is the median duration
   of the same address' earlier runs in the state history (capped by its `timeout`), or its
   `timeout` when it has no recorded run;
3. records the summary as `Plan.cost` (the JSON plan's `cost` object), which the text plan shows
   as a line per priced object and `Cost: $32.77/h while running; estimated $65.54 for the
   training runs in this plan`.

The guardrails (`mlform.engine.guardrails`) then read the same `price_per_hour` and
`estimated_cost` values. Plans that price nothing (the local provider's, all at 0) get no cost
summary and read no history.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from mlform.diagnostics import Diagnostic, error
from mlform.plans import Action
from mlform.sdk.contract import UNKNOWN

if TYPE_CHECKING:
    from mlform.addrs import ModulePath
    from mlform.config.model import Module
    from mlform.engine.providers import ProviderManager
    from mlform.kinds.offers import Offer
    from mlform.plans import Plan, ResourceChange
    from mlform.state.model import State

__all__ = ["HISTORY_SERIALS", "median_hours", "plan_costs", "run_durations"]

# How many of the newest serials are read for a job's earlier runs.
HISTORY_SERIALS = 50

_RUNS = (Action.CREATE, Action.DELETE_THEN_CREATE, Action.CREATE_THEN_DELETE)


@dataclass
class _Run:
    rc: ResourceChange
    rate: float | None = None
    rate_from: str | None = None  # the cluster whose price the run pays; None: its own


@dataclass
class _Pricing:
    plan: Plan
    modules: Mapping[ModulePath, Module]
    is_run: Callable[[ResourceChange], bool]
    offers_of: Callable[[ResourceChange], list[Offer]]
    history: Callable[[], Iterable[State]] | None
    diags: list[Diagnostic] = field(default_factory=list)
    _states: list[State] | None = None

    @property
    def kept(self) -> list[ResourceChange]:
        return [
            rc
            for rc in self.plan.changes
            if rc.deposed is None
            and rc.mode == "managed"
            and rc.action not in (Action.DELETE, Action.FORGET)
            and isinstance(rc.after, dict)
        ]

    # -- max_price_per_hour ------------------------------------------------------------------------

    def refuse_over_budget(self) -> None:
        from mlform.kinds.offers import OfferRequest, money, within_budget

        for rc in self.kept:
            limit, price = (
                _number(rc.after.get("max_price_per_hour")),
                _number(rc.after.get("price_per_hour")),
            )
            if limit is None or price is None or price <= limit + 1e-9:
                continue
            try:
                req = OfferRequest.from_args(rc.after)
            except ValueError:
                req = OfferRequest(max_price_per_hour=limit)
            try:
                offers = self.offers_of(rc)
            except Exception:  # noqa: BLE001 - a broken catalog must not hide the refusal
                offers = []
            fits = within_budget(offers, req)
            if fits:
                listed = "\n".join(
                    f"  - {c.describe()}" + (f" (set {', '.join(c.changes)})" if c.changes else "")
                    for c in fits
                )
                more = f"Offers that fit under {money(limit)}/h:\n{listed}"
            else:
                more = (
                    f"No offer of this provider fits {req.describe()} under {money(limit)}/h "
                    "(`mlform offers` lists them all)."
                )
            self.diags.append(
                error(
                    "Price over max_price_per_hour",
                    f"{rc.addr} would cost {money(price)} per hour, more than its "
                    f"max_price_per_hour of {money(limit)}. Raise max_price_per_hour, or ask for "
                    f"less. {more}",
                    self.where(rc, "max_price_per_hour"),
                )
            )

    def where(self, rc: ResourceChange, arg: str) -> Any:
        module = self.modules.get(rc.addr.module.module())
        res = module.resources.get(rc.addr.resource) if module is not None else None
        if res is None:
            return None
        if arg in res.body.attributes:
            return res.body.attributes[arg].expr.range
        return res.range

    # -- runs ------------------------------------------------------------------------------------

    def runs(self) -> list[_Run]:
        kept = self.kept
        clusters = [rc for rc in kept if rc.type == "cluster"]
        out = []
        for rc in kept:
            if rc.action not in _RUNS or not self.is_run(rc):
                continue
            if rc.after.get("status") == "succeeded":
                continue  # restored from a kept result: nothing runs
            run = _Run(rc)
            own = _number(rc.after.get("price_per_hour"))
            if own:
                run.rate = own
            else:
                cluster = _cluster_of(rc, clusters)
                price = _number(cluster.after.get("price_per_hour")) if cluster else None
                if cluster is not None and price is not None:
                    run.rate, run.rate_from = price, str(cluster.addr)
                elif own is not None:
                    run.rate = own
            out.append(run)
        return out

    def states(self) -> list[State]:
        if self._states is None:
            self._states = []
            if self.history is not None:
                try:
                    self._states = list(self.history())
                except Exception:  # noqa: BLE001 - no history is no estimate, not a failure
                    self._states = []
        return self._states

    def estimate(self, run: _Run) -> dict[str, Any]:
        rc = run.rc
        entry: dict[str, Any] = {
            "address": str(rc.addr),
            "kind": "run",
            "price_per_hour": run.rate,
            **({"price_from": run.rate_from} if run.rate_from else {}),
        }
        planned = _number(rc.after.get("estimated_cost"))
        if planned is not None:
            entry.update(estimated_cost=planned, basis="provider")
            return entry
        if run.rate is None:
            entry.update(estimated_cost=None, basis=None)
            return entry
        timeout = _timeout_hours(rc.after.get("timeout"))
        if run.rate == 0:
            hours, basis, runs = None, None, 0
        else:
            durations = run_durations(self.states(), str(rc.addr))
            hours, basis, runs = median_hours(durations, timeout)
        if run.rate == 0:
            cost: float | None = 0.0
        elif hours is None:
            cost = None
        else:
            cost = round(run.rate * hours, 4)
        if cost is not None and "estimated_cost" in rc.after:
            # The kind declares it (training_job does): the plan shows it, guardrails read it.
            rc.after["estimated_cost"] = cost
        entry.update(estimated_cost=cost, basis=basis, hours=round(hours, 6) if hours else hours)
        if basis == "history":
            entry["runs"] = runs
        return entry


def plan_costs(
    plan: Plan,
    modules: Mapping[ModulePath, Module],
    providers: ProviderManager | None = None,
    history: Callable[[], Iterable[State]] | None = None,
    *,
    is_run: Callable[[ResourceChange], bool] | None = None,
    offers_of: Callable[[ResourceChange], list[Offer]] | None = None,
) -> list[Diagnostic]:
    """Price the plan (see the module docstring): fills the runs' `estimated_cost`, sets
    `plan.cost`, and returns the errors for objects over their `max_price_per_hour`.
    `history` yields past states, newest first; it is called only when a priced run needs it."""
    if plan.mode != "normal":
        return []
    pricing = _Pricing(
        plan,
        modules,
        is_run or (lambda rc: _is_run(rc, providers)),
        offers_of or (lambda rc: _offers_of(rc, providers)),
        history,
    )
    pricing.refuse_over_budget()
    run_entries = [pricing.estimate(r) for r in pricing.runs()]
    runs = {e["address"] for e in run_entries}
    # Everything priced counts once per hour (as the guardrails count it): clusters, and runs
    # on machines of their own; a run on a cluster pays the cluster's price, counted there.
    total_rate = 0.0
    entries: list[dict[str, Any]] = []
    for rc in pricing.kept:
        price = _number(rc.after.get("price_per_hour"))
        if not price:
            continue
        total_rate += price
        if str(rc.addr) not in runs:
            entries.append({"address": str(rc.addr), "kind": "machines", "price_per_hour": price})
    entries += [e for e in run_entries if e["price_per_hour"] or e.get("estimated_cost")]
    if not entries:
        plan.cost = None
        return pricing.diags
    estimated = [e["estimated_cost"] for e in run_entries if e.get("estimated_cost") is not None]
    plan.cost = {
        "currency": "USD",
        "price_per_hour": round(total_rate, 6),
        "estimated_cost": round(sum(estimated), 4),
        "unestimated": sorted(
            e["address"]
            for e in run_entries
            if e["price_per_hour"] and e.get("estimated_cost") is None
        ),
        "resources": sorted(entries, key=lambda e: e["address"]),
    }
    return pricing.diags


# -- history ---------------------------------------------------------------------------------------


def run_durations(states: Iterable[State], address: str) -> list[float]:
    """Seconds each distinct succeeded run of the instance at `address` took, as the states
    record them (`started_at`, `finished_at`; a run counted once however many serials keep
    it)."""
    seen: set[str] = set()
    out: list[float] = []
    for state in states:
        if state is None:
            continue
        inst = state.instance(address) if hasattr(state, "instance") else None
        if inst is None:
            continue
        attrs = inst.attributes or {}
        if attrs.get("status") not in (None, "succeeded"):
            continue
        run = str(attrs.get("run_id") or attrs.get("id") or "")
        start, end = _time(attrs.get("started_at")), _time(attrs.get("finished_at"))
        if not run or run in seen or start is None or end is None or end < start:
            continue
        seen.add(run)
        out.append((end - start).total_seconds())
    return out


def median_hours(
    durations: list[float], timeout_hours: float | None
) -> tuple[float | None, str | None, int]:
    """(hours, basis, runs): the median of the earlier runs' durations (basis "history"), at most
    the timeout; else the timeout (basis "timeout"); else (None, None, 0)."""
    if durations:
        hours = statistics.median(durations) / 3600
        if timeout_hours is not None:
            hours = min(hours, timeout_hours)
        return hours, "history", len(durations)
    if timeout_hours is not None:
        return timeout_hours, "timeout", 0
    return None, None, 0


def read_history(backend: Any, workspace: str, limit: int = HISTORY_SERIALS) -> Iterator[State]:
    """The newest `limit` states of a workspace's history, newest first."""
    entries = backend.history(workspace)
    for entry in reversed(entries[-limit:]):
        try:
            yield backend.read_serial(workspace, entry.serial)
        except Exception:  # noqa: BLE001 - a serial that cannot be read is skipped
            continue


# -- helpers ---------------------------------------------------------------------------------------


def _provider_type(rc: ResourceChange) -> str | None:
    from mlform.engine.guardrails import provider_name

    return provider_name(rc.provider)


def _is_run(rc: ResourceChange, providers: ProviderManager | None) -> bool:
    if rc.type == "training_job":
        return True
    ptype = _provider_type(rc)
    if providers is None or ptype is None:
        return False
    cls = providers.provider_class(ptype)
    kind = cls.kinds.get(rc.type) if cls is not None else None
    return bool(getattr(kind, "long_running", False))


def _offers_of(rc: ResourceChange, providers: ProviderManager | None) -> list[Offer]:
    ptype = _provider_type(rc)
    if providers is None or ptype is None:
        return []
    local = rc.provider.rsplit("provider[", 1)[-1]
    name, _, alias = local.partition("]")
    name = name.strip('"').rsplit("/", 1)[-1]
    alias = alias.lstrip(".")
    inst = providers.instance(f"{name}.{alias}" if alias else name)
    if inst is None:
        cls = providers.provider_class(ptype)
        inst = cls() if cls is not None else None
    return list(inst.offers()) if inst is not None else []


def _cluster_of(rc: ResourceChange, clusters: list[ResourceChange]) -> ResourceChange | None:
    """The cluster a run pays for: the one whose id its `cluster` names, else the one cluster
    it depends on."""
    named = rc.after.get("cluster")
    if isinstance(named, str):
        for c in clusters:
            if c.after.get("id") == named:
                return c
    deps = set((rc.planned or {}).get("dependencies") or [])
    mine = [c for c in clusters if str(c.addr.abs_resource) in deps or str(c.addr) in deps]
    return mine[0] if len(mine) == 1 else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or value is None or value is UNKNOWN:
        return None
    if isinstance(value, int | float | Decimal):
        return float(value)
    return None


def _timeout_hours(value: Any) -> float | None:
    from mlform.durations import DurationError, duration_seconds

    if isinstance(value, bool) or value is None or value is UNKNOWN:
        return None
    try:
        seconds = float(value) if isinstance(value, int | float) else duration_seconds(str(value))
    except (DurationError, ValueError):
        return None
    return seconds / 3600


def _time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
