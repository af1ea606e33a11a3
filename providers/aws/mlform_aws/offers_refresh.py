"""Refresh the AWS offers catalog from AWS itself, where credentials allow.

    python -m mlform_aws.offers_refresh                      # the shipped catalog, in place
    python -m mlform_aws.offers_refresh --out offers.json    # then MLFORM_AWS_OFFERS=offers.json
    python -m mlform_aws.offers_refresh --regions us-east-1,eu-west-1 --profile billing

For each instance type the catalog lists (or `--instance-types`) and each region:

- its GPUs, vCPUs and memory from EC2 `DescribeInstanceTypes` (GPU model, count, memory);
- its on-demand price from the AWS Price List API (`pricing` `GetProducts` for `AmazonEC2`:
  Linux, shared tenancy, no pre-installed software, capacity status `Used`), whose endpoint is
  in us-east-1;
- its spot price from EC2 `DescribeSpotPriceHistory` (`Linux/UNIX`, the latest price in each
  availability zone; the cheapest zone's).

What AWS does not answer (a type not sold in a region, a spot market without history) keeps its
old price and is reported; the catalog's `date` becomes today and its `source` says where the
prices came from. IAM permissions: `pricing:GetProducts`, `ec2:DescribeInstanceTypes`,
`ec2:DescribeSpotPriceHistory`. Without credentials the catalog is left as it is, and the
command says what was tried.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlform_aws.offers import CatalogError, catalog_path, dump_catalog, load_catalog

__all__ = [
    "Refreshed",
    "instance_specs",
    "main",
    "on_demand_prices",
    "parse_price_list",
    "refresh",
    "spot_prices",
]

# The Price List API answers in these regions only; us-east-1 has every product.
PRICING_REGION = "us-east-1"


# -- parsing AWS answers -----------------------------------------------------------------------------


def parse_price_list(items: Iterable[str | Mapping[str, Any]]) -> dict[tuple[str, str], float]:
    """(region, instance type) -> on-demand USD per hour, from `GetProducts`' `PriceList` (each
    item a JSON document, as boto3 returns them, or already parsed). Items that are not a Linux,
    shared-tenancy, hourly compute instance priced in USD are skipped; a type listed twice keeps
    its lowest non-zero price."""
    out: dict[tuple[str, str], float] = {}
    for raw in items:
        item = json.loads(raw) if isinstance(raw, str) else raw
        product = item.get("product") or {}
        attrs = product.get("attributes") or {}
        if product.get("productFamily") not in (None, "Compute Instance"):
            continue
        if attrs.get("operatingSystem", "Linux") != "Linux":
            continue
        if attrs.get("tenancy", "Shared") != "Shared":
            continue
        if attrs.get("preInstalledSw", "NA") != "NA":
            continue
        if attrs.get("capacitystatus", "Used") != "Used":
            continue
        itype, region = attrs.get("instanceType"), attrs.get("regionCode")
        if not itype or not region:
            continue
        for term in ((item.get("terms") or {}).get("OnDemand") or {}).values():
            for dim in (term.get("priceDimensions") or {}).values():
                if str(dim.get("unit", "")).lower() not in ("hrs", "hours", "hour"):
                    continue
                try:
                    usd = float((dim.get("pricePerUnit") or {}).get("USD"))
                except (TypeError, ValueError):
                    continue
                if usd <= 0:
                    continue
                key = (region, itype)
                out[key] = min(usd, out.get(key, usd))
    return out


def parse_spot_history(entries: Iterable[Mapping[str, Any]]) -> dict[str, float]:
    """Instance type -> spot USD per hour: the latest price of each availability zone, then the
    cheapest zone's (`DescribeSpotPriceHistory`' `SpotPriceHistory`)."""
    latest: dict[tuple[str, str], tuple[Any, float]] = {}
    for e in entries:
        itype, zone = e.get("InstanceType"), e.get("AvailabilityZone") or ""
        try:
            price = float(e.get("SpotPrice"))
        except (TypeError, ValueError):
            continue
        if not itype:
            continue
        when = e.get("Timestamp")
        key = (itype, zone)
        if key not in latest or (when is not None and _later(when, latest[key][0])):
            latest[key] = (when, price)
    out: dict[str, float] = {}
    for (itype, _zone), (_when, price) in latest.items():
        out[itype] = min(price, out.get(itype, price))
    return out


def parse_instance_types(items: Iterable[Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """Instance type -> catalog spec (GPU model, count, GiB per GPU, vCPUs, memory GiB), from
    `DescribeInstanceTypes`' `InstanceTypes`."""
    out: dict[str, dict[str, Any]] = {}
    for it in items:
        name = it.get("InstanceType")
        if not name:
            continue
        gpus = ((it.get("GpuInfo") or {}).get("Gpus")) or []
        gpu = gpus[0] if gpus else {}
        count = sum(int(g.get("Count") or 0) for g in gpus)
        mem_mib = (gpu.get("MemoryInfo") or {}).get("SizeInMiB")
        out[name] = {
            "gpu_model": gpu.get("Name") or None,
            "gpu_count": count,
            "gpu_memory_gib": round(mem_mib / 1024) if mem_mib else None,
            "vcpus": int((it.get("VCpuInfo") or {}).get("DefaultVCpus") or 0),
            "memory_gib": round(((it.get("MemoryInfo") or {}).get("SizeInMiB") or 0) / 1024, 1),
        }
    return out


def _later(a: Any, b: Any) -> bool:
    try:
        return bool(b is None or a > b)
    except TypeError:
        return False


# -- asking AWS ------------------------------------------------------------------------------------


def on_demand_prices(
    client: Any, regions: list[str], types: list[str]
) -> dict[tuple[str, str], float]:
    """On-demand prices from the Price List API (a `pricing` client), one query per type."""
    out: dict[tuple[str, str], float] = {}
    for itype in types:
        filters = [
            {"Type": "TERM_MATCH", "Field": "instanceType", "Value": itype},
            {"Type": "TERM_MATCH", "Field": "operatingSystem", "Value": "Linux"},
            {"Type": "TERM_MATCH", "Field": "tenancy", "Value": "Shared"},
            {"Type": "TERM_MATCH", "Field": "preInstalledSw", "Value": "NA"},
            {"Type": "TERM_MATCH", "Field": "capacitystatus", "Value": "Used"},
        ]
        pages = client.get_paginator("get_products").paginate(
            ServiceCode="AmazonEC2", Filters=filters, FormatVersion="aws_v1"
        )
        for page in pages:
            for key, price in parse_price_list(page.get("PriceList") or []).items():
                if key[0] in regions:
                    out[key] = price
    return out


def spot_prices(client: Any, types: list[str]) -> dict[str, float]:
    """Current spot prices in the client's region (an `ec2` client)."""
    pages = client.get_paginator("describe_spot_price_history").paginate(
        InstanceTypes=types,
        ProductDescriptions=["Linux/UNIX"],
        StartTime=dt.datetime.now(dt.UTC),
    )
    return parse_spot_history(e for page in pages for e in page.get("SpotPriceHistory") or [])


def instance_specs(client: Any, types: list[str]) -> dict[str, dict[str, Any]]:
    """Specs of the types this region knows (an `ec2` client); an unknown type is skipped."""
    out: dict[str, dict[str, Any]] = {}
    for i in range(0, len(types), 100):
        chunk = types[i : i + 100]
        try:
            pages = client.get_paginator("describe_instance_types").paginate(InstanceTypes=chunk)
            for page in pages:
                out.update(parse_instance_types(page.get("InstanceTypes") or []))
        except Exception as exc:  # noqa: BLE001 - one unknown type fails the whole call
            if "InvalidInstanceType" not in str(exc):
                raise
            for one in chunk:
                try:
                    page = client.describe_instance_types(InstanceTypes=[one])
                except Exception:  # noqa: BLE001 - not offered here
                    continue
                out.update(parse_instance_types(page.get("InstanceTypes") or []))
    return out


@dataclass
class Refreshed:
    """A refreshed catalog and what the refresh could not read (kept from the old one)."""

    doc: dict[str, Any]
    updated: int = 0
    kept: list[str] = field(default_factory=list)


def refresh(
    doc: dict[str, Any],
    client: Callable[[str, str], Any],
    regions: list[str] | None = None,
    types: list[str] | None = None,
    today: dt.date | None = None,
    spot: bool = True,
) -> Refreshed:
    """The catalog `doc` with fresh specs and prices; `client(service, region)` makes a boto3
    client. Prices AWS did not give are kept, and listed in `kept`."""
    regions = regions or sorted(doc["prices"])
    types = types or list(doc["instance_types"])
    new = json.loads(json.dumps(doc))
    specs = instance_specs(client("ec2", regions[0]), types)
    for itype, spec in specs.items():
        new["instance_types"][itype] = spec
    on_demand = on_demand_prices(client("pricing", PRICING_REGION), regions, types)
    result = Refreshed(new)
    for region in regions:
        spots = spot_prices(client("ec2", region), types) if spot else {}
        priced = new["prices"].setdefault(region, {})
        for itype in types:
            if itype not in new["instance_types"]:
                continue
            old = priced.get(itype) or {}
            od, sp = on_demand.get((region, itype)), spots.get(itype)
            if od is None and not old:
                continue  # not sold there, as far as AWS and the old catalog know
            entry = {
                "on_demand": round(od, 4) if od is not None else old.get("on_demand"),
                "spot": round(sp, 4) if sp is not None else old.get("spot"),
            }
            missing = [m for m, v in (("on-demand", od), ("spot", sp)) if v is None]
            if not spot:
                missing = [m for m in missing if m != "spot"]
            if missing:
                result.kept.append(f"{region} {itype} ({' and '.join(missing)} price kept)")
            if od is not None or sp is not None:
                result.updated += 1
            priced[itype] = entry
    new["date"] = (today or dt.datetime.now(dt.UTC).date()).isoformat()
    new["source"] = (
        "On-demand: the AWS Price List API (AmazonEC2, Linux, shared tenancy); spot: EC2 "
        "spot price history (Linux/UNIX, the cheapest availability zone's latest price); "
        "specs: EC2 DescribeInstanceTypes; read on the date above by "
        "python -m mlform_aws.offers_refresh."
        + (f" Kept from the previous catalog: {len(result.kept)} prices." if result.kept else "")
    )
    return result


# -- the command ------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m mlform_aws.offers_refresh",
        description="Refresh the AWS offers catalog (instance types and prices) from AWS.",
    )
    parser.add_argument("--catalog", type=Path, default=None, help="The catalog to start from.")
    parser.add_argument(
        "--out", type=Path, default=None, help="Where to write (default: the catalog itself)."
    )
    parser.add_argument("--regions", default=None, help="Comma-separated (default: the catalog's).")
    parser.add_argument(
        "--instance-types", default=None, help="Comma-separated (default: the catalog's)."
    )
    parser.add_argument("--profile", default=None, help="A named AWS profile.")
    parser.add_argument("--endpoint-url", default=None, help="Another endpoint (a stand-in).")
    parser.add_argument("--no-spot", action="store_true", help="Leave spot prices as they are.")
    opts = parser.parse_args(argv)

    source = opts.catalog or catalog_path()
    try:
        doc = load_catalog(source)
    except CatalogError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    try:
        import boto3
        from botocore.exceptions import BotoCoreError, ClientError
    except ImportError:
        print("Error: boto3 is not installed (pip install mlform-provider-aws).", file=sys.stderr)
        return 1
    session = boto3.Session(profile_name=opts.profile) if opts.profile else boto3.Session()

    def client(service: str, region: str) -> Any:
        return session.client(service, region_name=region, endpoint_url=opts.endpoint_url)

    regions = [r.strip() for r in opts.regions.split(",")] if opts.regions else None
    types = [t.strip() for t in opts.instance_types.split(",")] if opts.instance_types else None
    try:
        done = refresh(doc, client, regions, types, spot=not opts.no_spot)
    except (BotoCoreError, ClientError) as exc:
        tried = f"profile {opts.profile!r}" if opts.profile else "the standard credential chain"
        print(
            f"Error: AWS refused or could not be reached ({type(exc).__name__}: {exc}).\n"
            f"Credentials tried: {tried}. The refresh needs pricing:GetProducts, "
            "ec2:DescribeInstanceTypes and ec2:DescribeSpotPriceHistory. The catalog "
            f"{source} is unchanged.",
            file=sys.stderr,
        )
        return 1
    out = opts.out or source
    out.write_text(dump_catalog(done.doc))
    print(f"Wrote {out}: {done.updated} prices read on {done.doc['date']}.")
    for line in done.kept:
        print(f"  kept: {line}")
    if opts.out is not None and opts.out != catalog_path():
        print(f"Use it with: export MLFORM_AWS_OFFERS={out.resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
