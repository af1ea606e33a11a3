"""mlform's ML guardrails: limits a team sets once, in `mlform { guardrails { ... } }`, that every
plan must keep.

    mlform {
      guardrails {
        max_gpus                = 16        # GPUs the plan's clusters request, x nodes, in all
        max_price_per_hour      = 40        # USD per hour of everything priced, in all
        max_job_cost            = 200       # USD one training run may cost
        allowed_providers       = ["local", "aws"]
        allowed_regions         = ["eu-west-1"]
        require_seed            = true      # every training_job sets `seed`
        require_pinned_packages = true      # every environment package is name==version
      }
    }

The block is read before anything is evaluated (`check_block`, at decode time), so its values
are literals. The plan is checked once it is made (`check_plan`): each violation is an error on
the line of the resource (or of its argument) at fault, with what to change; every violation is
reported at once, and a plan with one is never applied. `mlform apply PLANFILE` checks the saved
plan again.

What is checked is the plan's result: every instance the plan keeps or makes (created, updated,
replaced or unchanged; not the ones it destroys), from its planned object (`change.after`), so
that what a provider fills in at plan time counts (a cluster's `gpu_count` for `gpu = "any"`, the
`price_per_hour` and `estimated_cost` cloud providers report). A value not known until apply is
not held against the plan.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from mlform.config.guardrails import (
    BLOCK,
    Guardrails,
    check_block,
    is_pinned,
    read_guardrails,
)
from mlform.diagnostics import Diagnostic, Range, error
from mlform.plans import Action
from mlform.sdk.contract import UNKNOWN

if TYPE_CHECKING:
    from mlform.addrs import ModulePath
    from mlform.config.model import Module, ResourceConfig
    from mlform.plans import Plan, ResourceChange

__all__ = ["BLOCK", "Guardrails", "check_block", "check_plan", "is_pinned", "read_guardrails"]

_PROVIDER = re.compile(r'provider\["([^"]+)"\]')


# -- the plan ----------------------------------------------------------------------------------


@dataclass
class _Finding:
    summary: str
    detail: str
    subject: Range | None
    instances: list[str] = field(default_factory=list)


class _Checker:
    def __init__(self, rails: Guardrails, modules: Mapping[ModulePath, Module], plan: Plan):
        self.rails = rails
        self.modules = modules
        self.kept = [
            rc
            for rc in plan.changes
            if rc.deposed is None and rc.action is not Action.DELETE and isinstance(rc.after, dict)
        ]
        self.findings: dict[tuple[str, Range | None, str], _Finding] = {}

    # -- where -----------------------------------------------------------------------------------

    def config(self, rc: ResourceChange) -> ResourceConfig | None:
        module = self.modules.get(rc.addr.module.module())
        return module.resources.get(rc.addr.resource) if module is not None else None

    def where(self, rc: ResourceChange, arg: str | None = None) -> Range | None:
        """The argument's expression when the block writes it, else the block's header."""
        res = self.config(rc)
        if res is None:
            return None
        if arg is not None and arg in res.body.attributes:
            return res.body.attributes[arg].expr.range
        return res.range

    def setting(self, name: str) -> str:
        rng = self.rails.ranges.get(name)
        at = f" (set at {rng.filename}:{rng.start.line})" if rng is not None else ""
        return f"mlform.guardrails.{name}{at}"

    def report(
        self, rc: ResourceChange, rule: str, summary: str, detail: str, subject: Any
    ) -> None:
        key = (rule, subject, summary)
        found = self.findings.get(key)
        if found is None:
            found = self.findings[key] = _Finding(summary, detail, subject)
        found.instances.append(str(rc.addr))

    # -- the rules -------------------------------------------------------------------------------

    def run(self) -> list[Diagnostic]:
        r = self.rails
        if r.allowed_providers is not None:
            self.providers(r.allowed_providers)
        if r.allowed_regions is not None:
            self.regions(r.allowed_regions)
        if r.require_seed:
            self.seeds()
        if r.require_pinned_packages:
            self.packages()
        if r.max_gpus is not None:
            self.gpus(r.max_gpus)
        if r.max_price_per_hour is not None:
            self.price(r.max_price_per_hour)
        if r.max_job_cost is not None:
            self.job_cost(r.max_job_cost)
        out = []
        for f in self.findings.values():
            detail = f.detail
            if len(f.instances) > 1:
                detail += f" Instances: {', '.join(sorted(f.instances))}."
            out.append(error(f.summary, detail, f.subject))
        return out

    def providers(self, allowed: tuple[str, ...]) -> None:
        for rc in self.kept:
            name = provider_name(rc.provider)
            if name is None or name in allowed:
                continue
            res = self.config(rc)
            subject = self.where(rc)
            if res is not None and res.provider_ref is not None:
                subject = res.provider_ref.range
            self.report(
                rc,
                "provider",
                f'Provider "{name}" is not allowed',
                f'{rc.addr} is managed by the provider "{name}", which {self.setting("allowed_providers")} '
                f"does not list (allowed: {_list(allowed)}). Use one of those providers (the "
                "`provider` argument, or `mlform { default_provider = ... }` for the portable "
                "kinds), or add this one to allowed_providers.",
                subject,
            )

    def regions(self, allowed: tuple[str, ...]) -> None:
        for rc in self.kept:
            region = rc.after.get("region")
            if not isinstance(region, str) or region in allowed:
                continue
            self.report(
                rc,
                "region",
                f'Region "{region}" is not allowed',
                f'{rc.addr} runs in "{region}", which {self.setting("allowed_regions")} does not '
                f"list (allowed: {_list(allowed)}). Set region to one of those, or add this one "
                "to allowed_regions.",
                self.where(rc, "region"),
            )

    def seeds(self) -> None:
        for rc in self.kept:
            if rc.addr.resource.type != "training_job" or rc.addr.resource.mode == "data":
                continue
            if rc.after.get("seed") is not None:
                continue
            self.report(
                rc,
                "seed",
                "Training job without a seed",
                f"{rc.addr} sets no seed, and {self.setting('require_seed')} requires every "
                "training job to set one, so that its run can be reproduced. Add a seed, such as "
                "`seed = 42` (or `seed = var.seed`).",
                self.where(rc, "seed"),
            )

    def packages(self) -> None:
        for rc in self.kept:
            packages = rc.after.get("packages")
            if rc.addr.resource.type != "environment" or not isinstance(packages, list):
                continue
            for i, pkg in enumerate(packages):
                if not isinstance(pkg, str) or is_pinned(pkg):
                    continue
                name = re.split(r"[\s\[<>=!~;@]", pkg.strip(), maxsplit=1)[0] or pkg
                self.report(
                    rc,
                    "pin",
                    "Package version not pinned",
                    f'{rc.addr} installs "{pkg}" without an exact version, and '
                    f"{self.setting('require_pinned_packages')} requires every package to be "
                    f"pinned as name==version, so that the environment can be rebuilt. Write "
                    f'"{name}==VERSION" (`pip index versions {name}` lists them; an applied '
                    "environment's lock attribute has the version it resolved).",
                    self.package_range(rc, i),
                )

    def package_range(self, rc: ResourceChange, index: int) -> Range | None:
        """The list element written for package `index`, when `packages` is a literal list."""
        from mlform.lang import ast

        res = self.config(rc)
        attr = res.body.attributes.get("packages") if res is not None else None
        if attr is None:
            return self.where(rc)
        expr = attr.expr
        if isinstance(expr, ast.TupleCons) and len(expr.items) > index:
            return expr.items[index].range
        return expr.range

    def gpus(self, limit: Decimal) -> None:
        counted: list[tuple[ResourceChange, int, str]] = []
        for rc in self.kept:
            n = gpu_request(rc.after)
            if n:
                gpu = rc.after.get("gpu")
                nodes = _int(rc.after.get("nodes")) or 1
                how = f'gpu = "{gpu}"' + (f" x {nodes} nodes" if nodes > 1 else "")
                counted.append((rc, n, how))
        total = sum(n for _, n, _ in counted)
        if total <= limit:
            return
        counted.sort(key=lambda c: (-c[1], str(c[0].addr)))
        worst = counted[0][0]
        parts = "; ".join(f"{rc.addr}: {n} ({how})" for rc, n, how in counted)
        self.report(
            worst,
            "gpus",
            "Too many GPUs",
            f"This plan requests {total} GPUs, more than the {_num(limit)} that "
            f"{self.setting('max_gpus')} allows: {parts}. Ask for fewer GPUs or nodes, or raise "
            "max_gpus.",
            self.where(worst, "gpu"),
        )

    def price(self, limit: Decimal) -> None:
        priced = [(rc, p) for rc in self.kept if (p := _number(rc.after.get("price_per_hour")))]
        total = sum((p for _, p in priced), Decimal(0))
        if total <= limit:
            return
        priced.sort(key=lambda c: (-c[1], str(c[0].addr)))
        worst = priced[0][0]
        parts = "; ".join(f"{rc.addr}: ${_money(p)}/hour" for rc, p in priced)
        self.report(
            worst,
            "price",
            "Too expensive per hour",
            f"This plan costs ${_money(total)} per hour, more than the ${_money(limit)} that "
            f"{self.setting('max_price_per_hour')} allows: {parts}. Ask for smaller or fewer "
            "machines (or spot capacity), or raise max_price_per_hour.",
            self.where(worst, "gpu"),
        )

    def job_cost(self, limit: Decimal) -> None:
        clusters = {
            rc.after.get("id"): rc
            for rc in self.kept
            if isinstance(rc.after.get("id"), str) and rc.after.get("id") is not UNKNOWN
        }
        for rc in self.kept:
            if rc.addr.resource.type != "training_job" or rc.addr.resource.mode == "data":
                continue
            cost = _number(rc.after.get("estimated_cost"))
            how = "its estimated cost"
            if cost is None:
                price = _number(rc.after.get("price_per_hour"))
                cluster = clusters.get(rc.after.get("cluster"))
                if not price and cluster is not None:  # none of its own: its cluster's
                    price = _number(cluster.after.get("price_per_hour"))
                if not price:
                    continue  # free, or a price the plan does not know
                hours = _hours(rc.after.get("timeout"))
                if hours is None:
                    self.report(
                        rc,
                        "cost",
                        "Training job cost unbounded",
                        f"{rc.addr} runs on machines that cost ${_money(price)} per hour and "
                        f"sets no timeout, so {self.setting('max_job_cost')} cannot be kept. Set "
                        f'a timeout (at most {_hours_text(limit / price)}), such as timeout = "2h".',
                        self.where(rc, "timeout"),
                    )
                    continue
                cost = price * hours
                how = f"${_money(price)}/hour for its timeout of {_hours_text(hours)}"
            if cost <= limit:
                continue
            self.report(
                rc,
                "cost",
                "Training job too expensive",
                f"{rc.addr} may cost ${_money(cost)} ({how}), more than the ${_money(limit)} that "
                f"{self.setting('max_job_cost')} allows. Shorten its timeout, run it on cheaper "
                "machines, or raise max_job_cost.",
                self.where(rc, "timeout"),
            )


def check_plan(root: Module, modules: Mapping[ModulePath, Module], plan: Plan) -> list[Diagnostic]:
    """Every guardrail the plan breaks, one error per rule and place. Destroy and refresh-only
    plans start nothing, so they are not checked."""
    rails = read_guardrails(root.settings.guardrails)
    if rails.empty or plan.mode != "normal":
        return []
    return _Checker(rails, modules, plan).run()


# -- reading planned values ----------------------------------------------------------------------


def provider_name(provider: str) -> str | None:
    """`local` from `provider["local"]`, `module.a.provider["registry.example/org/aws"].east`."""
    m = _PROVIDER.search(provider or "")
    return m.group(1).rsplit("/", 1)[-1] if m else None


def gpu_request(after: Mapping[str, Any]) -> int:
    """How many GPUs a planned object asks for: its `gpu` ("A100:8", "any", "none") times its
    `nodes`; for "any", the `gpu_count` the provider planned when it knows it."""
    from mlform.kinds.cluster import GpuRequest

    gpu = after.get("gpu")
    if not isinstance(gpu, str):
        return 0
    try:
        req = GpuRequest.parse(gpu)
    except ValueError:
        return 0
    count = req.count if req.count is not None else _int(after.get("gpu_count")) or 0
    return count * (_int(after.get("nodes")) or 1)


def _int(value: Any) -> int | None:
    if isinstance(value, bool) or value is UNKNOWN:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float | Decimal) and value == int(value):
        return int(value)
    return None


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is UNKNOWN or value is None:
        return None
    if isinstance(value, int | float | Decimal):
        return Decimal(str(value))
    return None


def _hours(timeout: Any) -> Decimal | None:
    from mlform.durations import DurationError, duration_seconds

    if isinstance(timeout, bool) or timeout is None or timeout is UNKNOWN:
        return None
    try:
        seconds = (
            float(timeout)
            if isinstance(timeout, int | float | Decimal)
            else duration_seconds(str(timeout))
        )
    except DurationError:
        return None
    return Decimal(str(seconds)) / 3600


def _hours_text(hours: Decimal) -> str:
    minutes = int(hours * 60)
    h, m = divmod(minutes, 60)
    return f"{h}h{m:02d}m" if m else f"{h}h"


def _money(value: Decimal) -> str:
    return f"{value:,.2f}"


def _num(value: Decimal) -> str:
    return format(value.normalize(), "f")


def _list(items: tuple[str, ...]) -> str:
    return ", ".join(f'"{i}"' for i in items) if items else "none"
