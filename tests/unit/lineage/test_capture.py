from __future__ import annotations

import json
import os
import platform
import socket
import sys
from pathlib import Path

import pytest

from mlform.lineage.capture import (
    GPU_FIELDS,
    applied_by,
    ci_run,
    enrich,
    gpu_facts,
    parse_nvidia_smi,
    worker_facts,
)

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


def test_ci_run_for_each_system() -> None:
    gh = ci_run(
        {
            "GITHUB_ACTIONS": "true",
            "GITHUB_RUN_ID": "123",
            "GITHUB_REPOSITORY": "a/b",
            "GITHUB_ACTOR": "octo",
        }
    )
    assert gh is not None and gh["system"] == "github-actions" and gh["run_id"] == "123"
    assert gh["url"] == "https://github.com/a/b/actions/runs/123" and gh["actor"] == "octo"
    gl = ci_run(
        {
            "GITLAB_CI": "true",
            "CI": "true",
            "CI_PIPELINE_ID": "9",
            "CI_PROJECT_PATH": "g/p",
            "GITLAB_USER_LOGIN": "gl-user",
        }
    )
    assert gl is not None and gl["system"] == "gitlab-ci" and gl["run_id"] == "9"
    assert gl["actor"] == "gl-user" and gl["repository"] == "g/p"
    bk = ci_run(
        {"BUILDKITE": "true", "BUILDKITE_BUILD_NUMBER": "5", "BUILDKITE_BUILD_CREATOR": "Bo"}
    )
    assert bk is not None and (bk["system"], bk["run_id"], bk["actor"]) == ("buildkite", "5", "Bo")
    cc = ci_run(
        {
            "CIRCLECI": "true",
            "CIRCLE_WORKFLOW_ID": "w1",
            "CIRCLE_USERNAME": "cy",
            "CIRCLE_PROJECT_USERNAME": "org",
            "CIRCLE_PROJECT_REPONAME": "ml",
        }
    )
    assert cc is not None and (cc["run_id"], cc["actor"], cc["repository"]) == (
        "w1",
        "cy",
        "org/ml",
    )
    jk = ci_run({"JENKINS_URL": "https://j", "BUILD_NUMBER": "42", "JOB_NAME": "train"})
    assert jk is not None and (jk["system"], jk["run_id"], jk["actor"]) == ("jenkins", "42", "")
    generic = ci_run({"CI": "true", "BUILD_ID": "77"})
    assert generic is not None and generic["run_id"] == "77"
    assert ci_run({}) is None
    # One shape everywhere: the same keys whatever the system.
    keys = {"system", "repository", "run_id", "commit", "ref", "actor", "url"}
    for run in (gh, gl, bk, cc, jk, generic):
        assert keys <= set(run)


def test_who_applied_in_ci_is_the_runs_actor() -> None:
    env = {"GITHUB_ACTIONS": "true", "GITHUB_RUN_ID": "1", "GITHUB_ACTOR": "octo"}
    who = applied_by(env)
    assert who["user"] == "octo" and who["via"] == "github-actions"
    assert who["host"] == socket.gethostname() and who["os_user"]
    # A CI run that names no actor, and no CI at all: the account this process runs as.
    assert applied_by({"CI": "true"})["user"] == applied_by({})["user"]
    assert "via" not in applied_by({})


def test_the_state_session_records_the_same_ci_run(monkeypatch: pytest.MonkeyPatch) -> None:
    from mlform.state import session

    for k in ("GITHUB_ACTIONS", "GITHUB_RUN_ID", "GITHUB_REPOSITORY", "GITHUB_ACTOR"):
        monkeypatch.setenv(k, {"GITHUB_ACTIONS": "true"}.get(k, "x"))
    assert session.detect_ci() == ci_run()


def test_enrich_adds_no_facts_of_this_host_to_a_training_record() -> None:
    """The worker's facts are the provider's to record; what runs mlform is not the worker."""
    lin = enrich(
        {"host": {"hostname": "worker-7"}, "hardware": {"gpu_model": "A10G", "gpu_count": 1}},
        "training_job",
    )
    assert lin is not None
    assert lin["host"] == {"hostname": "worker-7"}
    assert lin["hardware"]["gpu_model"] == "A10G" and lin["hardware"]["gpu_count"] == 1
    for k in GPU_FIELDS:
        assert k in lin["hardware"]  # present, empty where the worker did not say
    assert lin["applied_by"]["host"] == socket.gethostname()
    bare = enrich({"run_id": "r"}, "training_job")
    assert bare is not None and "host" not in bare and "hardware" not in bare
    assert enrich(None, "some_other_kind") is None


def test_probe_counts_only_the_gpus_a_job_sees() -> None:
    query = "0, NVIDIA H100, 81559, 550.1\n1, NVIDIA H100, 81559, 550.1\n"
    assert parse_nvidia_smi(query, BANNER)["gpu_count"] == 2
    assert parse_nvidia_smi(query, BANNER, "1")["gpu_count"] == 1
    none = parse_nvidia_smi(query, BANNER, "")
    assert none == {"gpu_model": None, "gpu_count": 0, "driver_version": None, "cuda_version": None}
    assert parse_nvidia_smi(query, BANNER, "GPU-uuid")["gpu_count"] == 2  # not indices: all


def test_worker_facts_are_read_by_the_jobs_interpreter_with_its_path(tmp_path: Path) -> None:
    """A fake nvidia-smi on the worker's PATH only: the worker's facts show it, this host's not."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    smi = bin_dir / "nvidia-smi"
    smi.write_text(
        "#!/bin/sh\n"
        'case "$*" in\n'
        '  *--query-gpu*) echo "0, NVIDIA A10G, 22731, 470.256.02" ;;\n'
        '  *) echo "| Driver Version: 470.256.02   CUDA Version: 11.4 |" ;;\n'
        "esac\n"
    )
    smi.chmod(0o755)
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    facts = worker_facts(sys.executable, env)
    assert facts is not None
    hw = facts["hardware"]
    assert (hw["gpu_model"], hw["gpu_count"]) == ("NVIDIA A10G", 1)
    assert (hw["driver_version"], hw["cuda_version"]) == ("470.256.02", "11.4")
    assert facts["host"]["python"] == platform.python_version()
    assert gpu_facts()["gpu_model"] != "NVIDIA A10G"  # this host has no such card
    assert (
        worker_facts(sys.executable, {**env, "CUDA_VISIBLE_DEVICES": ""})["hardware"][  # type: ignore[index]
            "gpu_count"
        ]
        == 0
    )
    assert worker_facts(str(tmp_path / "no-python")) is None


def test_enrich_adds_what_the_provider_put_in_the_context() -> None:
    lin = enrich(
        {"run_id": "r1"}, "training_job", {"job_arn": "arn:aws:sagemaker:x", "run_id": "no"}
    )
    assert lin is not None
    assert lin["job_arn"] == "arn:aws:sagemaker:x"
    assert lin["run_id"] == "r1"  # the record wins over the context
    other = enrich(None, "bucket", {"node_addresses": ["10.0.0.1"]})
    assert other is not None and other["node_addresses"] == ["10.0.0.1"]


def test_ci_run_names_the_pull_request(tmp_path: Path) -> None:
    gh = {"GITHUB_ACTIONS": "true", "GITHUB_RUN_ID": "1"}
    assert ci_run({**gh, "GITHUB_REF": "refs/pull/42/merge"})["pull_request"] == "42"
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"action": "opened", "pull_request": {"number": 7}}))
    run = ci_run({**gh, "GITHUB_REF": "refs/heads/x", "GITHUB_EVENT_PATH": str(event)})
    assert run is not None and run["pull_request"] == "7"
    event.write_text(json.dumps({"issue": {"number": 8, "pull_request": {"url": "u"}}}))
    assert ci_run({**gh, "GITHUB_EVENT_PATH": str(event)})["pull_request"] == "8"
    event.write_text(json.dumps({"issue": {"number": 9}}))  # an issue, not a pull request
    assert ci_run({**gh, "GITHUB_EVENT_PATH": str(event)})["pull_request"] == ""
    assert ci_run({**gh, "GITHUB_REF": "refs/heads/main"})["pull_request"] == ""
    # The run that applies a merged pull request's plan is told its number.
    assert ci_run({**gh, "MLFORM_CI_PULL_REQUEST": "#12"})["pull_request"] == "12"
    gl = {"GITLAB_CI": "true", "CI_MERGE_REQUEST_IID": "5"}
    assert ci_run(gl)["pull_request"] == "5"
    bk = {"BUILDKITE": "true", "BUILDKITE_PULL_REQUEST": "false"}
    assert ci_run(bk)["pull_request"] == ""
    assert ci_run({**bk, "BUILDKITE_PULL_REQUEST": "3"})["pull_request"] == "3"
    cc = {"CIRCLECI": "true", "CIRCLE_PULL_REQUEST": "https://github.com/o/r/pull/31"}
    assert ci_run(cc)["pull_request"] == "31"
    assert ci_run({"JENKINS_URL": "https://j", "CHANGE_ID": "4"})["pull_request"] == "4"
