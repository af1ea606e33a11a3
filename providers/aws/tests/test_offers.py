"""The AWS offers catalog: it loads without boto3, picks the cheapest fit, reads spot and region,
and its refresh parses what AWS answers (the Price List API on a recorded response shape, as moto
does not implement it; instance types and spot price history against moto)."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from mlform_aws.offers import dump_catalog, load_catalog, load_offers, offers_of
from mlform_aws.offers_refresh import (
    main,
    parse_price_list,
    parse_spot_history,
    refresh,
)

from mlform.kinds.cluster import GpuRequest
from mlform.kinds.offers import OfferRequest, candidates, cheapest, gpu_fits, within_budget


def req(**args: Any) -> OfferRequest:
    return OfferRequest.from_args(args)


# -- the shipped catalog ---------------------------------------------------------------------------


def test_the_catalog_loads_without_boto3() -> None:
    code = (
        "import sys; from mlform_aws.offers import load_offers; o = load_offers(); "
        "assert len(o) > 50, len(o); assert 'boto3' not in sys.modules, 'boto3 imported'; "
        "from mlform_aws.provider import AwsProvider; assert AwsProvider().offers(); "
        "assert 'boto3' not in sys.modules, 'boto3 imported by the provider'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_catalog_covers_the_gpu_families_and_regions() -> None:
    doc = load_catalog()
    assert doc["date"] and doc["source"] and doc["currency"] == "USD"
    dt.date.fromisoformat(doc["date"])
    types = doc["instance_types"]
    assert types["p5.48xlarge"] == {
        "gpu_model": "H100",
        "gpu_count": 8,
        "gpu_memory_gib": 80,
        "vcpus": 192,
        "memory_gib": 2048,
    }
    assert types["p4d.24xlarge"]["gpu_memory_gib"] == 40
    assert types["p4de.24xlarge"]["gpu_memory_gib"] == 80
    models = {t["gpu_model"] for t in types.values()}
    assert {"H100", "A100", "A10G", "L4", "T4", "V100", "L40S", None} <= models
    assert {"us-east-1", "us-west-2", "eu-west-1"} <= set(doc["prices"])
    for region, priced in doc["prices"].items():
        for itype, price in priced.items():
            assert itype in types, (region, itype)
            assert price["on_demand"] > 0, (region, itype)
            assert price["spot"] is None or 0 < price["spot"] < price["on_demand"], (region, itype)
    # The catalog is written as dump_catalog writes it, so that a refresh is a short diff.
    from mlform_aws.offers import catalog_path

    assert catalog_path().read_text() == dump_catalog(doc)


def test_cheapest_offer_that_fits() -> None:
    offers = load_offers()
    pick = cheapest(offers, req(gpu="A100:8"))
    assert pick is not None
    assert (pick.offer.instance_type, pick.offer.region, pick.spot) == (
        "p4d.24xlarge",
        "us-east-1",
        False,
    )
    assert pick.price_per_hour == pytest.approx(32.7726)
    # 80 GB A100s: only the p4de.
    pick = cheapest(offers, req(gpu="A100-80GB:8"))
    assert pick is not None and pick.offer.instance_type == "p4de.24xlarge"
    # One T4 with at least 16 vCPUs and 64 GiB.
    pick = cheapest(offers, req(gpu="T4", cpu="16+", memory="64Gi"))
    assert pick is not None and pick.offer.instance_type == "g4dn.4xlarge"
    # No GPU: a CPU type, the cheapest with 8 vCPUs.
    pick = cheapest(offers, req(gpu="none", cpu=8))
    assert pick is not None and pick.offer.gpu_count == 0 and pick.offer.vcpus >= 8
    # Nodes multiply the price.
    two = cheapest(offers, req(gpu="H100:8", nodes=2))
    one = cheapest(offers, req(gpu="H100:8"))
    assert two is not None and one is not None
    assert two.price_per_hour == pytest.approx(2 * one.price_per_hour)
    # Nothing fits 16 H100s in one machine.
    assert cheapest(offers, req(gpu="H100:16")) is None


def test_models_are_compared_by_words() -> None:
    offers = {o.instance_type: o for o in load_offers() if o.region == "us-east-1"}
    assert not gpu_fits(GpuRequest.parse("A10:1"), offers["p4d.24xlarge"])
    assert not gpu_fits(GpuRequest.parse("A100:1"), offers["g5.xlarge"])
    assert gpu_fits(GpuRequest.parse("A10G"), offers["g5.xlarge"])
    assert gpu_fits(GpuRequest.parse("NVIDIA L4"), offers["g6.xlarge"])
    assert not gpu_fits(GpuRequest.parse("L4"), offers["g6e.xlarge"])
    assert gpu_fits(GpuRequest.parse("A100 80G:8"), offers["p4de.24xlarge"])
    assert not gpu_fits(GpuRequest.parse("A100-80GB:8"), offers["p4d.24xlarge"])


def test_spot_and_region() -> None:
    offers = load_offers()
    spot = cheapest(offers, req(gpu="A100:8", spot=True))
    on_demand = cheapest(offers, req(gpu="A100:8"))
    assert spot is not None and on_demand is not None
    assert spot.spot and spot.market == "spot"
    assert spot.price_per_hour < on_demand.price_per_hour
    eu = candidates(offers, req(gpu="A10G", region="eu-west-1"))
    assert eu and {c.offer.region for c in eu} == {"eu-west-1"}
    assert eu == sorted(eu, key=lambda c: c.price_per_hour)
    # Ireland costs more than Virginia for the same type.
    us = cheapest(offers, req(gpu="A10G", region="us-east-1"))
    assert us is not None and eu[0].price_per_hour > us.price_per_hour
    # H100s are not in this catalog's eu-west-1.
    assert cheapest(offers, req(gpu="H100:8", region="eu-west-1")) is None


def test_max_price_and_the_offers_within_it() -> None:
    offers = load_offers()
    assert cheapest(offers, req(gpu="A100:8", max_price_per_hour=20)) is None
    fits = within_budget(offers, req(gpu="A100:8", max_price_per_hour=20, region="us-east-1"))
    assert 0 < len(fits) <= 5
    assert all(c.price_per_hour <= 20 for c in fits)
    first = fits[0]
    # The least change first: the same A100s, on spot.
    assert first.offer.gpu_model == "A100" and first.spot and first.changes == ("spot = true",)
    assert any(any(ch.startswith("gpu = ") for ch in c.changes) for c in fits)


# -- refreshing ------------------------------------------------------------------------------------

# The shape of one `GetProducts` PriceList item (a JSON string), as AWS documents and returns it,
# trimmed to the fields mlform reads.
PRICE_ITEM = {
    "product": {
        "productFamily": "Compute Instance",
        "attributes": {
            "instanceType": "p4d.24xlarge",
            "regionCode": "us-east-1",
            "location": "US East (N. Virginia)",
            "operatingSystem": "Linux",
            "tenancy": "Shared",
            "preInstalledSw": "NA",
            "capacitystatus": "Used",
            "vcpu": "96",
            "memory": "1152 GiB",
            "gpu": "8",
        },
        "sku": "ABCDEFGHIJKLMNOP",
    },
    "serviceCode": "AmazonEC2",
    "terms": {
        "OnDemand": {
            "ABCDEFGHIJKLMNOP.JRTCKXETXF": {
                "offerTermCode": "JRTCKXETXF",
                "sku": "ABCDEFGHIJKLMNOP",
                "priceDimensions": {
                    "ABCDEFGHIJKLMNOP.JRTCKXETXF.6YS6EN2CT7": {
                        "unit": "Hrs",
                        "description": "$21.9576 per On Demand Linux p4d.24xlarge Instance Hour",
                        "pricePerUnit": {"USD": "21.9576000000"},
                    }
                },
            }
        }
    },
    "version": "20250601000000",
    "publicationDate": "2025-06-01T00:00:00Z",
}


def _item(**attrs: str) -> str:
    item = json.loads(json.dumps(PRICE_ITEM))
    item["product"]["attributes"].update(attrs)
    return json.dumps(item)


def test_price_list_parsing() -> None:
    got = parse_price_list(
        [
            _item(),
            _item(regionCode="eu-west-1"),
            # Not what a Linux, shared, plain instance costs: skipped.
            _item(regionCode="us-west-2", operatingSystem="Windows"),
            _item(regionCode="us-west-2", tenancy="Dedicated"),
            _item(regionCode="us-west-2", preInstalledSw="SQL Std"),
            _item(regionCode="us-west-2", capacitystatus="UnusedCapacityReservation"),
            PRICE_ITEM,  # already parsed: the same
        ]
    )
    assert got == {("us-east-1", "p4d.24xlarge"): 21.9576, ("eu-west-1", "p4d.24xlarge"): 21.9576}


def test_spot_history_parsing_takes_each_zone_latest_then_the_cheapest() -> None:
    t0 = dt.datetime(2025, 6, 1, tzinfo=dt.UTC)
    t1 = t0 + dt.timedelta(hours=1)
    got = parse_spot_history(
        [
            {
                "InstanceType": "g5.xlarge",
                "AvailabilityZone": "a",
                "SpotPrice": "0.30",
                "Timestamp": t0,
            },
            {
                "InstanceType": "g5.xlarge",
                "AvailabilityZone": "a",
                "SpotPrice": "0.50",
                "Timestamp": t1,
            },
            {
                "InstanceType": "g5.xlarge",
                "AvailabilityZone": "b",
                "SpotPrice": "0.40",
                "Timestamp": t0,
            },
            {"InstanceType": "p4d.24xlarge", "AvailabilityZone": "a", "SpotPrice": "x"},
        ]
    )
    assert got == {"g5.xlarge": 0.40}


class FakePricing:
    """A `pricing` client answering with recorded pages (moto has no Price List API)."""

    def __init__(self, items: list[str]):
        self.items = items
        self.calls: list[dict[str, Any]] = []

    def get_paginator(self, name: str) -> Any:
        assert name == "get_products"
        outer = self

        class Pages:
            def paginate(self, **kw: Any) -> list[dict[str, Any]]:
                outer.calls.append(kw)
                itype = next(f["Value"] for f in kw["Filters"] if f["Field"] == "instanceType")
                return [
                    {"PriceList": [i for i in outer.items if itype in i]},
                ]

        return Pages()


def test_refresh_against_moto_and_recorded_prices(tmp_path: Path) -> None:
    moto = pytest.importorskip("moto")
    import boto3

    doc = load_catalog()
    pricing = FakePricing(
        [
            _item(),
            _item(instanceType="g5.xlarge", regionCode="us-east-1").replace("21.9576", "1.006"),
        ]
    )
    with moto.mock_aws():

        def client(service: str, region: str) -> Any:
            if service == "pricing":
                return pricing
            return boto3.client(service, region_name=region)

        done = refresh(
            doc,
            client,
            regions=["us-east-1"],
            types=["p4d.24xlarge", "g5.xlarge"],
            today=dt.date(2025, 6, 2),
        )
    new = done.doc
    assert new["date"] == "2025-06-02" and "Price List API" in new["source"]
    assert pricing.calls and pricing.calls[0]["ServiceCode"] == "AmazonEC2"
    us = new["prices"]["us-east-1"]
    assert us["p4d.24xlarge"]["on_demand"] == 21.9576
    assert us["g5.xlarge"]["on_demand"] == 1.006
    # moto answers spot history (with its own made-up prices): they are read.
    assert us["p4d.24xlarge"]["spot"] != doc["prices"]["us-east-1"]["p4d.24xlarge"]["spot"]
    # moto knows the instance types: specs from DescribeInstanceTypes.
    assert new["instance_types"]["p4d.24xlarge"]["gpu_count"] == 8
    assert new["instance_types"]["p4d.24xlarge"]["vcpus"] == 96
    # What was not refreshed is kept as it was.
    assert new["prices"]["eu-west-1"] == doc["prices"]["eu-west-1"]
    assert us["p5.48xlarge"] == doc["prices"]["us-east-1"]["p5.48xlarge"]
    # The result loads as a catalog.
    out = tmp_path / "offers.json"
    out.write_text(dump_catalog(new))
    picked = cheapest(offers_of(load_catalog(out)), req(gpu="A100:8", region="us-east-1"))
    assert picked is not None and picked.price_per_hour == 21.9576


def test_refresh_without_credentials_leaves_the_catalog(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    pytest.importorskip("boto3")
    catalog = tmp_path / "offers.json"
    catalog.write_text(dump_catalog(load_catalog()))
    before = catalog.read_text()
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    code = main(
        ["--catalog", str(catalog), "--regions", "us-east-1", "--instance-types", "g5.xlarge"]
    )
    err = capsys.readouterr().err
    assert code == 1
    assert "Credentials tried: the standard credential chain" in err
    assert "is unchanged" in err
    assert catalog.read_text() == before


def test_a_refreshed_catalog_is_used_through_the_environment(tmp_path: Path) -> None:
    doc = load_catalog()
    doc["prices"] = {"us-east-1": {"g5.xlarge": {"on_demand": 0.5, "spot": 0.2}}}
    path = tmp_path / "offers.json"
    path.write_text(dump_catalog(doc))
    code = (
        "from mlform_aws.offers import load_offers; o = load_offers(); "
        "assert [(x.instance_type, x.price_on_demand) for x in o] == [('g5.xlarge', 0.5)], o"
    )
    subprocess.run(
        [sys.executable, "-c", code],
        check=True,
        env={**__import__("os").environ, "MLFORM_AWS_OFFERS": str(path)},
    )
