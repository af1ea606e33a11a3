"""The local cluster: host inspection, nvidia-smi parsing from recorded outputs, and requests the
host cannot meet."""

from __future__ import annotations

import os

import pytest
from kindhelpers import (
    NVIDIA_SMI_CASES,
    install_fake_nvidia_smi,
    make_ctx,
    make_provider,
    path_without_nvidia_smi,
)
from mlform_local import hosts
from mlform_local.cluster import cluster_id

from mlform.sdk import ConfigError


def case(name: str, file: str) -> str:
    return (NVIDIA_SMI_CASES / name / file).read_text()


# -- parsing recorded outputs


def test_parse_query_h100x2():
    gpus = hosts.parse_gpu_query(case("h100x2", "query.csv"))
    assert gpus == [
        hosts.Gpu(0, "NVIDIA H100 80GB HBM3", 81559, "580.95.05"),
        hosts.Gpu(1, "NVIDIA H100 80GB HBM3", 81559, "580.95.05"),
    ]


def test_parse_query_skips_failure_text():
    assert hosts.parse_gpu_query(case("driver-failure", "query.csv")) == []


def test_parse_query_memory_not_available():
    gpus = hosts.parse_gpu_query("0, NVIDIA GH200 480GB, [N/A], 550.54.15\n")
    assert gpus == [hosts.Gpu(0, "NVIDIA GH200 480GB", None, "550.54.15")]


@pytest.mark.parametrize(
    ("name", "driver", "cuda"),
    [
        ("h100x2", "580.95.05", "13.0"),
        ("a10g", "470.256.02", "11.4"),
        ("b200x2", "610.43.02", "13.3"),
    ],
)
def test_parse_banner(name, driver, cuda):
    assert hosts.parse_banner(case(name, "banner.txt")) == (driver, cuda)


def test_parse_banner_without_versions():
    assert hosts.parse_banner(case("driver-failure", "banner.txt")) == (None, None)


# -- a fake nvidia-smi on PATH


@pytest.fixture
def fake_gpu_host(tmp_path, monkeypatch):
    def install(name: str) -> None:
        bin_dir = tmp_path / f"bin-{name}"
        install_fake_nvidia_smi(bin_dir, name)
        monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{path_without_nvidia_smi()}")

    return install


@pytest.fixture
def no_gpu_host(monkeypatch):
    monkeypatch.setenv("PATH", path_without_nvidia_smi())


def plan(tmp_path, desired, prior=None):
    ctx, _ = make_ctx(tmp_path)
    kind = make_provider(ctx).kind("cluster")
    return kind, ctx, kind.plan(prior, desired, ctx)


def test_host_facts_through_fake_nvidia_smi(fake_gpu_host):
    fake_gpu_host("a10g")
    facts = hosts.host_facts(refresh=True)
    assert [g.name for g in facts.gpus] == ["NVIDIA A10G"]
    assert (facts.driver_version, facts.cuda_version) == ("470.256.02", "11.4")
    assert facts.cpu_count >= 1 and facts.memory_mb > 0


def test_gpu_request_met(tmp_path, fake_gpu_host):
    fake_gpu_host("h100x2")
    kind, ctx, planned = plan(tmp_path, {"gpu": "H100:1"})
    assert planned.action == "create"
    a = planned.attrs
    assert a["gpu_model"] == "NVIDIA H100 80GB HBM3"
    assert a["gpu_count"] == 1
    assert a["gpu_memory_mb"] == 81559
    assert (a["driver_version"], a["cuda_version"]) == ("580.95.05", "13.0")
    assert a["hardware_class"] == "gpu:NVIDIA H100 80GB HBM3x1"
    assert a["visible_devices"] == "0"
    assert a["price_per_hour"] == 0
    assert a["node_addresses"] == ["127.0.0.1"]
    state = kind.create(planned, ctx)
    assert state.id == cluster_id() and state.attrs == a
    assert state.lineage["gpus"][1]["name"] == "NVIDIA H100 80GB HBM3"


def test_gpu_any_takes_all(tmp_path, fake_gpu_host):
    fake_gpu_host("b200x2")
    _, _, planned = plan(tmp_path, {"gpu": "any"})
    assert planned.attrs["gpu_count"] == 2
    assert planned.attrs["visible_devices"] == "0,1"
    assert planned.attrs["cuda_version"] == "13.3"


def test_gpu_none_hides_gpus(tmp_path, fake_gpu_host):
    fake_gpu_host("h100x2")
    _, _, planned = plan(tmp_path, {"gpu": "none"})
    a = planned.attrs
    assert (a["gpu_count"], a["gpu_model"], a["visible_devices"], a["hardware_class"]) == (
        0,
        None,
        "",
        "cpu",
    )


def test_gpu_request_unmet_says_what_was_found(tmp_path, fake_gpu_host):
    fake_gpu_host("h100x2")
    with pytest.raises(ConfigError) as err:
        plan(tmp_path, {"gpu": "A100:8"})
    assert err.value.attribute == "gpu"
    assert "A100" in err.value.summary and "found none of that model" in err.value.summary
    assert "2 × NVIDIA H100 80GB HBM3 (81559 MiB)" in err.value.detail


def test_too_many_gpus_of_the_model(tmp_path, fake_gpu_host):
    fake_gpu_host("h100x2")
    with pytest.raises(ConfigError) as err:
        plan(tmp_path, {"gpu": "H100:4"})
    assert "found 2 of them" in err.value.summary


def test_driver_failure_is_no_gpu_with_the_reason(tmp_path, fake_gpu_host):
    fake_gpu_host("driver-failure")
    _, _, planned = plan(tmp_path, {"gpu": "any"})
    assert planned.attrs["gpu_count"] == 0
    with pytest.raises(ConfigError) as err:
        plan(tmp_path, {"gpu": "H100:1"})
    assert "couldn't communicate with the NVIDIA driver" in err.value.detail


# -- this machine without GPUs


def test_no_gpu_host_any_is_cpu(tmp_path, no_gpu_host):
    kind, ctx, planned = plan(tmp_path, {})
    a = planned.attrs
    assert a["gpu_count"] == 0 and a["gpu_model"] is None and a["driver_version"] is None
    assert a["hardware_class"] == "cpu"
    assert a["visible_devices"] == ""
    assert a["cpu_count"] == len(os.sched_getaffinity(0))
    assert a["id"] == cluster_id()
    state = kind.create(planned, ctx)
    # Unchanged host and arguments: nothing to do; refresh reads the same facts.
    assert kind.plan(state, {}, ctx).action == "noop"
    assert kind.read(state, ctx).attrs == state.attrs


def test_no_gpu_host_refuses_gpu(tmp_path, no_gpu_host):
    with pytest.raises(ConfigError) as err:
        plan(tmp_path, {"gpu": "A100:8"})
    assert "no NVIDIA GPU" in err.value.detail
    assert 'gpu = "any"' in err.value.detail


def test_cpu_and_memory_beyond_the_host(tmp_path, no_gpu_host):
    facts = hosts.host_facts()
    with pytest.raises(ConfigError) as err:
        plan(tmp_path, {"cpu": facts.cpu_count + 1})
    assert err.value.attribute == "cpu" and f"has {facts.cpu_count} CPUs" in err.value.summary
    with pytest.raises(ConfigError) as err:
        plan(tmp_path, {"memory": "100000Gi"})
    assert err.value.attribute == "memory"
    _, _, ok = plan(
        tmp_path,
        {"cpu": "1+", "memory": "1Gi", "spot": True, "region": "eu", "max_price_per_hour": 1.0},
    )
    assert ok.action == "create" and ok.attrs["price_per_hour"] == 0


def test_bad_gpu_text(tmp_path, no_gpu_host):
    with pytest.raises(ConfigError) as err:
        plan(tmp_path, {"gpu": "A100:lots"})
    assert err.value.attribute == "gpu" and '"A100:8"' in err.value.summary


def test_argument_change_is_an_update(tmp_path, no_gpu_host):
    kind, ctx, planned = plan(tmp_path, {"gpu": "any"})
    state = kind.create(planned, ctx)
    again = kind.plan(state, {"gpu": "none", "nodes": 2}, ctx)
    assert again.action == "update"
    assert any(r.startswith("nodes changed 1 → 2") for r in again.reasons)
    assert again.attrs["node_addresses"] == ["127.0.0.1", "127.0.0.1"]


def test_drift_when_host_changes(tmp_path, fake_gpu_host):
    fake_gpu_host("h100x2")
    kind, ctx, planned = plan(tmp_path, {"gpu": "any"})
    state = kind.create(planned, ctx)
    fake_gpu_host("b200x2")
    again = kind.plan(state, {"gpu": "any"}, ctx)
    assert again.action == "update"
    assert any('gpu_model is now "NVIDIA B200"' in r for r in again.reasons)


def test_import_this_host(tmp_path, no_gpu_host):
    ctx, _ = make_ctx(tmp_path)
    kind = make_provider(ctx).kind("cluster")
    assert kind.import_(cluster_id(), ctx).attrs["hardware_class"] == "cpu"
    with pytest.raises(ConfigError):
        kind.import_("local:elsewhere", ctx)
