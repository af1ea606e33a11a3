"""The AWS offers catalog: EC2 instance types with their GPUs and prices, shipped as data.

`data/offers.json` holds, for the instance types ML work uses (P5 H100, P4d/P4de A100, P3 V100,
G6e L40S, G5 A10G, G6 L4, G4dn T4 and a few CPU types), each type's GPUs (model, count, memory
per GPU), vCPUs and memory, and its on-demand and spot price per hour in each region the catalog
covers, with the date the prices were read and where from:

    {"format_version": 1, "provider": "aws", "date": "2024-12-01", "currency": "USD",
     "source": "...",
     "instance_types": {"p4d.24xlarge": {"gpu_model": "A100", "gpu_count": 8,
                                         "gpu_memory_gib": 40, "vcpus": 96, "memory_gib": 1152}},
     "prices": {"us-east-1": {"p4d.24xlarge": {"on_demand": 32.7726, "spot": 14.7477}}}}

`load_offers()` reads it as `mlform.kinds.offers.Offer` values (no boto3: the catalog is plain
JSON, so `mlform offers` and plans read it without credentials). Prices change: `python -m
mlform_aws.offers_refresh` rewrites it from the AWS Price List and spot price history (in place,
or to a file that `MLFORM_AWS_OFFERS` then names).
"""

from __future__ import annotations

import json
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlform.kinds.offers import Offer

__all__ = [
    "CATALOG_ENV",
    "CATALOG_FORMAT",
    "CatalogError",
    "catalog_path",
    "dump_catalog",
    "load_catalog",
    "load_offers",
    "offers_of",
]

CATALOG_FORMAT = 1
# A catalog to read instead of the shipped one (what `offers_refresh --out FILE` wrote).
CATALOG_ENV = "MLFORM_AWS_OFFERS"


class CatalogError(Exception):
    """The catalog file cannot be read; the message names the file and what is wrong."""


def catalog_path() -> Path:
    """The catalog shipped with the package."""
    return Path(str(resources.files("mlform_aws") / "data" / "offers.json"))


def load_catalog(path: str | Path | None = None) -> dict[str, Any]:
    """The catalog as JSON data, checked for its shape (CatalogError when it is not one)."""
    p = Path(path) if path is not None else catalog_path()
    try:
        doc = json.loads(p.read_text())
    except (OSError, ValueError) as exc:
        raise CatalogError(f"cannot read the offers catalog {p}: {exc}") from None
    if not isinstance(doc, dict) or doc.get("format_version") != CATALOG_FORMAT:
        raise CatalogError(
            f"{p} is not an offers catalog of format {CATALOG_FORMAT} (reinstall "
            "mlform-provider-aws, or refresh it with python -m mlform_aws.offers_refresh)"
        )
    for key in ("instance_types", "prices"):
        if not isinstance(doc.get(key), dict):
            raise CatalogError(f"{p}: {key} is missing or not an object")
    return doc


def offers_of(doc: dict[str, Any]) -> list[Offer]:
    """One offer per instance type and region the catalog prices."""
    from mlform.kinds.offers import Offer

    types: dict[str, dict[str, Any]] = doc["instance_types"]
    date = str(doc.get("date") or "")
    out = []
    for region, priced in sorted(doc["prices"].items()):
        for itype, price in sorted(priced.items()):
            spec = types.get(itype)
            if spec is None:
                continue  # priced but not described: skipped rather than guessed
            out.append(
                Offer(
                    provider=str(doc.get("provider") or "aws"),
                    instance_type=itype,
                    region=region,
                    gpu_model=spec.get("gpu_model") or None,
                    gpu_count=int(spec.get("gpu_count") or 0),
                    gpu_memory_gib=_float(spec.get("gpu_memory_gib")),
                    vcpus=int(spec.get("vcpus") or 0),
                    memory_gib=float(spec.get("memory_gib") or 0),
                    price_on_demand=_float(price.get("on_demand")),
                    price_spot=_float(price.get("spot")),
                    catalog_date=date,
                )
            )
    return out


@lru_cache(maxsize=4)
def _load(path: str | None) -> tuple[Offer, ...]:
    return tuple(offers_of(load_catalog(path)))


def load_offers(path: str | Path | None = None) -> list[Offer]:
    """The catalog's offers, read once per process: `path`, else the file named by
    `MLFORM_AWS_OFFERS` (a refreshed catalog), else the one shipped with the package."""
    import os

    if path is None:
        path = os.environ.get(CATALOG_ENV) or None
    return list(_load(str(path) if path is not None else None))


def dump_catalog(doc: dict[str, Any]) -> str:
    """The catalog as text: one line per instance type and per price, so that a refresh reads
    as a short diff."""

    def obj(d: dict[str, Any], indent: str) -> str:
        lines = [f"{indent}  {json.dumps(k)}: {json.dumps(v)}" for k, v in d.items()]
        return "{\n" + ",\n".join(lines) + f"\n{indent}}}"

    head = {k: v for k, v in doc.items() if k not in ("instance_types", "prices")}
    parts = [f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in head.items()]
    parts.append(f'  "instance_types": {obj(doc["instance_types"], "  ")}')
    regions = ",\n".join(
        f"    {json.dumps(r)}: {obj(p, '    ')}" for r, p in sorted(doc["prices"].items())
    )
    parts.append('  "prices": {\n' + regions + "\n  }")
    return "{\n" + ",\n".join(parts) + "\n}\n"


def _float(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    return float(value)
