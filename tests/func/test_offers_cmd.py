"""`mlform offers`: the machines installed providers offer for a request, cheapest first: the
local provider's host at no cost, the test provider's made-up catalog, and the AWS catalog when
mlform-provider-aws is installed."""

from __future__ import annotations

import importlib.util
import json
import os

import pytest

from mlform.testing.provider import TEST_OFFERS

HAVE_AWS = importlib.util.find_spec("mlform_aws") is not None


def rows(out: str) -> list[list[str]]:
    """The table's lines, split on runs of two or more spaces (header left out)."""
    import re

    lines = [line for line in out.splitlines() if line.strip()]
    assert lines[0].startswith("PROVIDER"), out
    return [
        re.split(r"\s{2,}", line.strip())
        for line in lines[1:]
        if not line.startswith(("Prices", "…"))
    ]


def test_local_offers_this_host_at_no_cost(mlform):
    res = mlform.ok("offers", "--provider", "local", "--gpu", "none")
    [row] = rows(res.out)
    assert row[0] == "local" and row[1].startswith("this host (") and row[-1] == "$0.00"
    assert row[4] == str(os.cpu_count())
    # A request this host cannot meet: no offer, said plainly.
    res = mlform.ok("offers", "--provider", "local", "--cpu", "100000")
    assert 'No offer of local fits gpu = "any", cpu >= 100000, on demand.' in res.out


def test_test_provider_offers_cheapest_first(mlform):
    res = mlform.ok("offers", "--provider", "test", "--gpu", "A100:8")
    found = rows(res.out)
    assert [(r[1], r[2], r[-1]) for r in found] == [
        ("test.a100x8", "test-1", "$32.00"),
        ("test.a100x8", "test-2", "$35.20"),
    ]
    assert "test as of 2025-01-01" in res.out
    # Spot, one region, several nodes.
    res = mlform.ok(
        "offers",
        "--provider",
        "test",
        "--gpu",
        "A100:8",
        "--spot",
        "--region",
        "test-2",
        "--nodes",
        "2",
    )
    assert [(r[1], r[6], r[-1]) for r in rows(res.out)] == [("test.a100x8 x2", "spot", "$26.40")]
    # Any GPU under $1/h: cheapest first.
    res = mlform.ok("offers", "--provider", "test", "--gpu", "any:1", "--max-price", "1")
    prices = [float(r[-1].lstrip("$")) for r in rows(res.out)]
    assert prices == sorted(prices) and prices and max(prices) <= 1


def test_json(mlform):
    res = mlform.ok("offers", "--provider", "test", "--gpu", "T4", "--cpu", "8", "--json")
    doc = json.loads(res.out)
    assert doc["providers"] == ["test"]
    assert doc["request"] == 'gpu = "T4:1", cpu >= 8, on demand'
    t4 = next(o for o in TEST_OFFERS if o[0] == "test.t4")
    assert doc["offers"][0] == {
        "provider": "test",
        "instance_type": "test.t4",
        "region": "test-1",
        "gpu_model": "T4",
        "gpu_count": 1,
        "gpu_memory_gib": t4[3],
        "vcpus": t4[4],
        "memory_gib": t4[5],
        "price_on_demand": t4[6],
        "price_spot": t4[7],
        "catalog_date": "2025-01-01",
        "market": "on-demand",
        "nodes": 1,
        "price_per_hour": t4[6],
    }
    assert doc["more"] == 0


def test_the_test_provider_is_left_out_by_default(mlform):
    res = mlform.ok("offers", "--gpu", "A100:8", "--json")
    doc = json.loads(res.out)
    assert "test" not in doc["providers"] and "local" in doc["providers"]
    assert all(o["provider"] != "test" for o in doc["offers"])


def test_mistakes_are_diagnostics(mlform):
    res = mlform("offers", "--gpu", "A100:x")
    assert res.code == 1
    assert "Error: Invalid request" in res.err and 'cannot read gpu = "A100:x"' in res.err
    assert "Traceback" not in res.err
    res = mlform("offers", "--provider", "nosuch")
    assert res.code == 1
    assert 'Provider "nosuch" is not available' in res.err
    assert "pip install mlform-provider-nosuch" in res.err
    res = mlform("offers", "--memory", "lots")
    assert res.code == 1 and "not a size" in res.err


@pytest.mark.skipif(not HAVE_AWS, reason="mlform-provider-aws is not installed")
def test_aws_catalog(mlform):
    res = mlform.ok("offers", "--provider", "aws", "--gpu", "A100:8")
    found = rows(res.out)
    assert found[0][:3] == ["aws", "p4d.24xlarge", "us-east-1"]
    assert found[0][3] == "A100 40GB x8"
    assert [float(r[-1].lstrip("$")) for r in found] == sorted(
        float(r[-1].lstrip("$")) for r in found
    )
    assert "aws as of " in res.out
    res = mlform.ok("offers", "--provider", "aws", "--gpu", "H100:8", "--spot", "--json")
    doc = json.loads(res.out)
    assert {o["instance_type"] for o in doc["offers"]} == {"p5.48xlarge"}
    assert all(o["market"] == "spot" for o in doc["offers"])
    # Without --provider, AWS and this host together.
    doc = json.loads(mlform.ok("offers", "--gpu", "none", "--cpu", "2", "--json").out)
    assert {"aws", "local"} <= {o["provider"] for o in doc["offers"]} or os.cpu_count() < 2
    assert doc["offers"][0]["provider"] == "local"  # this host costs nothing
