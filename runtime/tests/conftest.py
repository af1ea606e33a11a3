"""Helpers for the runtime's tests: specs written to files, the CLI run as a subprocess."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

RUNTIME_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def worker_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One worker cache for the session: the empty environment is built once."""
    return tmp_path_factory.mktemp("runtime-cache")


@pytest.fixture
def runtime_env(worker_cache: Path, tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["MLFORM_RUNTIME_CACHE"] = str(worker_cache)
    env["MLFORM_RUNTIME_WORK"] = str(tmp_path / "work")
    # The package as the tests see it, installed or not.
    env["PYTHONPATH"] = str(RUNTIME_ROOT)
    return env


@pytest.fixture
def make_spec(tmp_path: Path) -> Callable[..., Path]:
    """Write a job spec (defaults: empty environment, output and store under tmp_path)."""
    counter = [0]

    def make(**fields: Any) -> Path:
        counter[0] += 1
        spec: dict[str, Any] = {
            "format": 1,
            "run_id": f"run-{counter[0]}",
            "address": "training_job.t",
            "fingerprint": "sha256:" + "ab" * 32,
            "environment": {"lock": []},
            "command": "true",
            "output": {"uri": str(tmp_path / f"out-{counter[0]}")},
            "store": {"uri": str(tmp_path / "store")},
            "heartbeat_s": 0.2,
            "stop_grace_s": 2,
        }
        spec.update(fields)
        spec = {k: v for k, v in spec.items() if v is not ...}
        path = tmp_path / f"spec-{counter[0]}.json"
        path.write_text(json.dumps(spec))
        return path

    return make
