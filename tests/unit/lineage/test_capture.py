from __future__ import annotations

import platform
import socket

from mlform.lineage.capture import GPU_FIELDS, ci_identity, enrich, parse_nvidia_smi

BANNER = """
+-----------------------------------------------------------------------------------------+
| NVIDIA-SMI 550.54.15              Driver Version: 550.54.15      CUDA Version: 12.4     |
+-----------------------------------------------------------------------------------------+
"""


def test_nvidia_smi_parsing() -> None:
    facts = parse_nvidia_smi(
        "NVIDIA H100 80GB HBM3, 550.54.15\nNVIDIA H100 80GB HBM3, 550.54.15\n", BANNER
    )
    assert facts == {
        "gpu_model": "NVIDIA H100 80GB HBM3",
        "gpu_count": 2,
        "driver_version": "550.54.15",
        "cuda_version": "12.4",
    }
    assert parse_nvidia_smi("", "")["gpu_count"] == 0
    umd = BANNER.replace("CUDA Version: 12.4", "CUDA UMD Version: 13.3")
    assert parse_nvidia_smi("X, 610.1\n", umd)["cuda_version"] == "13.3"


def test_ci_identity_for_each_system() -> None:
    gh = ci_identity({"GITHUB_ACTIONS": "true", "GITHUB_RUN_ID": "123", "GITHUB_REPOSITORY": "a/b"})
    assert gh is not None and gh["system"] == "github-actions" and gh["run_id"] == "123"
    assert gh["url"] == "https://github.com/a/b/actions/runs/123"
    gl = ci_identity({"GITLAB_CI": "true", "CI_PIPELINE_ID": "9", "CI_PROJECT_PATH": "g/p"})
    assert gl is not None and gl["system"] == "gitlab-ci" and gl["run_id"] == "9"
    generic = ci_identity({"CI": "true", "BUILD_ID": "77"})
    assert generic is not None and generic["run_id"] == "77"
    assert ci_identity({}) is None


def test_enrich_fills_host_facts_without_overwriting_the_provider() -> None:
    lin = enrich(
        {"host": {"hostname": "recorded"}, "hardware": {"gpu_model": "A10G", "gpu_count": 1}},
        "training_job",
    )
    assert lin is not None
    assert lin["host"]["hostname"] == "recorded"  # the provider's fact wins
    assert lin["host"]["python"] == platform.python_version()
    assert lin["host"]["os"] == platform.platform()
    assert lin["hardware"]["gpu_model"] == "A10G" and lin["hardware"]["gpu_count"] == 1
    for k in GPU_FIELDS:
        assert k in lin["hardware"]
    assert lin["applied_by"]["host"] == socket.gethostname()
    assert enrich(None, "some_other_kind") is None


def test_enrich_adds_what_the_provider_put_in_the_context() -> None:
    lin = enrich(
        {"run_id": "r1"}, "training_job", {"job_arn": "arn:aws:sagemaker:x", "run_id": "no"}
    )
    assert lin is not None
    assert lin["job_arn"] == "arn:aws:sagemaker:x"
    assert lin["run_id"] == "r1"  # the record wins over the context
    other = enrich(None, "bucket", {"node_addresses": ["10.0.0.1"]})
    assert other is not None and other["node_addresses"] == ["10.0.0.1"]
