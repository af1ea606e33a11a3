"""Offers: the machines a provider can provision, with their prices, and how a cluster's request
picks one.

A provider that provisions machines exposes `Provider.offers()`: a list of `Offer` values, one per
machine type and region, usually read from a catalog shipped with the provider (the AWS
provider's `mlform_aws/data/offers.json`). The same request every provider reads from a
`cluster` block (`gpu = "A100:8"`, `cpu`, `memory`, `region`, `spot`, `nodes`,
`max_price_per_hour`) is an `OfferRequest`; `candidates` lists the offers that fit it, cheapest
first, and `cheapest` picks one. `within_budget` answers a refused plan: the offers that would
fit under `max_price_per_hour` if the request changed (spot capacity, another region, another
GPU model), each with the change to make.

GPU models are compared by words, not by substring, so `"A10G"` does not match an `A100` offer
and `"A100-80GB"` matches only the 80 GB A100s: the request's words (letters and digits, `80G`
read as `80GB`, `NVIDIA` and `Tesla` left out) must all be among the offer's (its model and its
memory per GPU).

Prices are USD per hour; a candidate's price is the offer's on-demand or spot price times
`nodes`, what the whole cluster costs while it runs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from mlform.kinds.cluster import GpuRequest
from mlform.kinds.common import parse_at_least, parse_size

__all__ = [
    "Candidate",
    "Offer",
    "OfferRequest",
    "candidates",
    "cheapest",
    "gpu_fits",
    "money",
    "offers_table",
    "within_budget",
]


@dataclass(frozen=True)
class Offer:
    """One machine type in one region, as a provider's catalog lists it."""

    provider: str
    instance_type: str
    region: str
    gpu_model: str | None  # "A100", "H100", None without GPUs
    gpu_count: int
    gpu_memory_gib: float | None  # per GPU
    vcpus: int
    memory_gib: float
    price_on_demand: float | None  # USD per hour; None: not sold on demand there
    price_spot: float | None  # USD per hour; None: no spot capacity listed
    catalog_date: str = ""  # when the prices were read (YYYY-MM-DD)

    def price(self, spot: bool) -> float | None:
        return self.price_spot if spot else self.price_on_demand

    @property
    def gpu_text(self) -> str:
        """`"A100 80GB x8"`, `"T4 16GB x1"`, `"none"`."""
        if not self.gpu_count or not self.gpu_model:
            return "none"
        mem = f" {_num(self.gpu_memory_gib)}GB" if self.gpu_memory_gib else ""
        return f"{self.gpu_model}{mem} x{self.gpu_count}"

    def to_json(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "instance_type": self.instance_type,
            "region": self.region,
            "gpu_model": self.gpu_model,
            "gpu_count": self.gpu_count,
            "gpu_memory_gib": self.gpu_memory_gib,
            "vcpus": self.vcpus,
            "memory_gib": self.memory_gib,
            "price_on_demand": self.price_on_demand,
            "price_spot": self.price_spot,
            "catalog_date": self.catalog_date,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Offer:
        return cls(
            provider=str(data["provider"]),
            instance_type=str(data["instance_type"]),
            region=str(data["region"]),
            gpu_model=data.get("gpu_model") or None,
            gpu_count=int(data.get("gpu_count") or 0),
            gpu_memory_gib=_float(data.get("gpu_memory_gib")),
            vcpus=int(data.get("vcpus") or 0),
            memory_gib=float(data.get("memory_gib") or 0),
            price_on_demand=_float(data.get("price_on_demand")),
            price_spot=_float(data.get("price_spot")),
            catalog_date=str(data.get("catalog_date") or ""),
        )


@dataclass(frozen=True)
class OfferRequest:
    """What a cluster asks for, read from its arguments."""

    gpu: GpuRequest = field(default_factory=lambda: GpuRequest(None, None))
    cpu: int | None = None
    memory_gib: float | None = None
    region: str | None = None
    spot: bool = False
    nodes: int = 1
    max_price_per_hour: float | None = None

    @classmethod
    def from_args(cls, args: Mapping[str, Any]) -> OfferRequest:
        """From a `cluster` block's arguments (or `mlform offers`' flags); ValueError naming the
        argument that cannot be read."""
        gpu = GpuRequest.parse(str(args.get("gpu") or "any"))
        cpu = parse_at_least(args.get("cpu"))
        mem = parse_size(args.get("memory"))
        nodes = args.get("nodes")
        price = args.get("max_price_per_hour")
        return cls(
            gpu=gpu,
            cpu=cpu,
            memory_gib=mem / 1024**3 if mem is not None else None,
            region=args.get("region") or None,
            spot=bool(args.get("spot")),
            nodes=int(nodes) if isinstance(nodes, int | float) and nodes >= 1 else 1,
            max_price_per_hour=float(price) if isinstance(price, int | float) else None,
        )

    def describe(self) -> str:
        """`gpu = "A100:8", cpu >= 32, on demand, in us-east-1` for messages."""
        parts = [f'gpu = "{self.gpu}"']
        if self.cpu is not None:
            parts.append(f"cpu >= {self.cpu}")
        if self.memory_gib is not None:
            parts.append(f"memory >= {_num(self.memory_gib)} GiB")
        parts.append("spot" if self.spot else "on demand")
        if self.region:
            parts.append(f"in {self.region}")
        if self.nodes > 1:
            parts.append(f"x {self.nodes} nodes")
        return ", ".join(parts)


@dataclass(frozen=True)
class Candidate:
    """An offer that fits a request, on one market: `price_per_hour` is for all nodes."""

    offer: Offer
    spot: bool
    price_per_hour: float
    nodes: int = 1
    # For `within_budget`: what the request must change for this offer ('spot = true').
    changes: tuple[str, ...] = ()

    @property
    def market(self) -> str:
        return "spot" if self.spot else "on-demand"

    def describe(self) -> str:
        """`p4d.24xlarge (A100 40GB x8, 96 vCPUs, 1152 GiB) in us-east-1, spot: $9.83/h`."""
        o = self.offer
        nodes = f" x {self.nodes} nodes" if self.nodes > 1 else ""
        return (
            f"{o.instance_type} ({o.gpu_text if o.gpu_count else 'no GPU'}, {o.vcpus} vCPUs, "
            f"{_num(o.memory_gib)} GiB){nodes} in {o.region}, {self.market}: "
            f"{money(self.price_per_hour)}/h"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            **self.offer.to_json(),
            "market": self.market,
            "nodes": self.nodes,
            "price_per_hour": self.price_per_hour,
            **({"changes": list(self.changes)} if self.changes else {}),
        }


# -- matching --------------------------------------------------------------------------------------

_DROP_WORDS = frozenset({"nvidia", "tesla"})
_MEM_WORD = re.compile(r"(\d+)(?:g|gb|gib)")


def _words(text: str) -> list[str]:
    out = []
    for w in re.findall(r"[a-z0-9]+", text.lower()):
        m = _MEM_WORD.fullmatch(w)
        if m:
            w = m.group(1) + "gb"
        if w not in _DROP_WORDS:
            out.append(w)
    return out


def gpu_fits(req: GpuRequest, offer: Offer) -> bool:
    """Whether the offer has the GPUs asked for: none for `"none"`, anything for `"any"`, else at
    least the count, of the model named (compared by words, see the module docstring)."""
    if req.wants_none:
        return offer.gpu_count == 0
    if req.count is not None and offer.gpu_count < req.count:
        return False
    if req.model is None:
        return True
    if not offer.gpu_model:
        return False
    have = set(_words(offer.gpu_model))
    if offer.gpu_memory_gib:
        have.add(f"{_num(offer.gpu_memory_gib)}gb")
    want = _words(req.model)
    return bool(want) and all(w in have for w in want)


def _fits(offer: Offer, req: OfferRequest) -> bool:
    if req.region and offer.region != req.region:
        return False
    if req.cpu is not None and offer.vcpus < req.cpu:
        return False
    if req.memory_gib is not None and offer.memory_gib + 1e-9 < req.memory_gib:
        return False
    return gpu_fits(req.gpu, offer)


def _key(c: Candidate) -> tuple[Any, ...]:
    return (c.price_per_hour, c.offer.provider, c.offer.instance_type, c.offer.region, c.spot)


def candidates(
    offers: Iterable[Offer], req: OfferRequest, *, budget: bool = True
) -> list[Candidate]:
    """Every offer that fits the request, on the market it asks for (spot or on demand), under
    its `max_price_per_hour` unless `budget` is False; cheapest first."""
    out = []
    for offer in offers:
        if not _fits(offer, req):
            continue
        unit = offer.price(req.spot)
        if unit is None:
            continue
        price = round(unit * req.nodes, 6)
        if budget and req.max_price_per_hour is not None and price > req.max_price_per_hour:
            continue
        out.append(Candidate(offer, req.spot, price, req.nodes))
    return sorted(out, key=_key)


def cheapest(offers: Iterable[Offer], req: OfferRequest) -> Candidate | None:
    """The cheapest offer that fits the request (its budget included); None when none does."""
    found = candidates(offers, req)
    return found[0] if found else None


def within_budget(offers: Iterable[Offer], req: OfferRequest, limit: int = 5) -> list[Candidate]:
    """Offers under the request's `max_price_per_hour` that would fit if the request changed:
    spot capacity, another region, or another GPU model with the same count (in that order of
    preference, then cheapest first), each with the changes to make. Those that need no change
    come first (a provider that picked a dearer offer)."""
    if req.max_price_per_hour is None:
        return []
    offers = list(offers)
    found: dict[tuple[str, str, str, bool], Candidate] = {}
    tiers: dict[tuple[str, str, str, bool], int] = {}  # which relaxation found it first
    calls = [0]

    def add(r: OfferRequest, changes: tuple[str, ...]) -> None:
        calls[0] += 1
        tier = calls[0]
        for c in candidates(offers, r):
            k = (c.offer.provider, c.offer.instance_type, c.offer.region, c.spot)
            if k in found:
                continue
            extra = list(changes)
            if r.region is None and req.region is not None:
                extra.append(f'region = "{c.offer.region}"')
            if r.gpu is not req.gpu and c.offer.gpu_model:
                extra.append(f'gpu = "{c.offer.gpu_model}:{req.gpu.count or c.offer.gpu_count}"')
            found[k] = Candidate(c.offer, c.spot, c.price_per_hour, c.nodes, tuple(extra))
            tiers[k] = tier

    spot = () if req.spot else ("spot = true",)
    add(req, ())
    if not req.spot:
        add(_replace(req, spot=True), spot)
    if req.region:
        add(_replace(req, region=None), ())
        if not req.spot:
            add(_replace(req, region=None, spot=True), spot)
    if req.gpu.model is not None and not req.gpu.wants_none:
        other = GpuRequest(None, req.gpu.count)
        add(_replace(req, gpu=other), ())
        if not req.spot:
            add(_replace(req, gpu=other, spot=True), spot)
    ranked = sorted(
        found.values(),
        key=lambda c: (
            tiers[(c.offer.provider, c.offer.instance_type, c.offer.region, c.spot)],
            *_key(c),
        ),
    )
    return ranked[:limit]


def _replace(req: OfferRequest, **changes: Any) -> OfferRequest:
    import dataclasses

    return dataclasses.replace(req, **changes)


# -- text ------------------------------------------------------------------------------------------


def money(value: float) -> str:
    """`$32.77`, `$1,234.50`, `$0.526` (three places under a dollar, four under a cent)."""
    if value != 0 and abs(value) < 0.01:
        return f"${value:.4f}"
    if value != 0 and abs(value) < 1:
        text = f"{value:.3f}"
        return "$" + (text[:-1] if text.endswith("0") else text)
    return f"${value:,.2f}"


def offers_table(found: list[Candidate]) -> str:
    """A table of candidates, one per line, cheapest first, as `mlform offers` prints it."""
    rows = [["PROVIDER", "INSTANCE TYPE", "REGION", "GPU", "VCPUS", "MEMORY", "MARKET", "$/HOUR"]]
    for c in found:
        o = c.offer
        rows.append(
            [
                o.provider,
                o.instance_type + (f" x{c.nodes}" if c.nodes > 1 else ""),
                o.region,
                o.gpu_text,
                str(o.vcpus),
                f"{_num(o.memory_gib)} GiB",
                c.market,
                money(c.price_per_hour),
            ]
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return (
        "\n".join(
            "  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip()
            for r in rows
        )
        + "\n"
    )


def _num(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _float(value: Any) -> float | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    return float(value)
