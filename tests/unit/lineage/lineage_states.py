"""Synthetic states for the lineage unit tests: a dataset, an environment, a cluster, a training
job and a deployment, shaped as the local provider records them, with the inputs a test varies."""

from __future__ import annotations

from typing import Any

from mlform.state.format import state_from_json
from mlform.state.model import State

D1 = "sha256:" + "1" * 64
D2 = "sha256:" + "2" * 64
M1 = "sha256:" + "a" * 64
M2 = "sha256:" + "b" * 64
CODE = "sha256:" + "c" * 64
ENV = "env-" + "e" * 64
LOCK = "sha256:" + "f" * 64


def make_state(
    serial: int,
    *,
    digest: str = D1,
    model: str = M1,
    params: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
    lock: dict[str, str] | None = None,
    driver: str | None = None,
    run_id: str = "run-1",
) -> State:
    lock = {"numpy": "2.0.0", "scikit-learn": "1.5.2"} if lock is None else lock
    params = {"c": 1} if params is None else params
    metrics = {"accuracy": 0.9} if metrics is None else metrics

    def res(rtype: str, name: str, inst: dict[str, Any]) -> dict[str, Any]:
        return {
            "mode": "managed",
            "type": rtype,
            "name": name,
            "provider": 'provider["local"]',
            "instances": [inst],
        }

    data = {
        "format_version": 1,
        "serial": serial,
        "lineage": "11111111-2222-3333-4444-555555555555",
        "resources": [
            res(
                "dataset",
                "digits",
                {
                    "id": digest,
                    "attributes": {"digest": digest, "files": 1, "bytes": 10, "source": "./d"},
                    "lineage": {"digest": digest},
                },
            ),
            res(
                "environment",
                "sk",
                {
                    "id": ENV,
                    "attributes": {"lock": lock, "digest": LOCK, "python_version": "3.11.7"},
                    "lineage": {"packages": lock},
                },
            ),
            res(
                "cluster",
                "box",
                {"id": "local:h", "attributes": {"hardware_class": "cpu", "gpu_count": 0}},
            ),
            res(
                "training_job",
                "digits",
                {
                    "id": run_id,
                    "dependencies": ["cluster.box", "dataset.digits", "environment.sk"],
                    "attributes": {
                        "status": "succeeded",
                        "model_digest": model,
                        "metrics": metrics,
                        "datasets": {"digits": digest},
                        "params": params,
                        "seed": 42,
                    },
                    "lineage": {
                        "datasets": {"digits": {"id": digest}},
                        "params": params,
                        "seed": 42,
                        "command": "python train.py",
                        "code": {"digest": CODE, "git_commit": "abc123", "git_dirty_digest": None},
                        "environment": {"id": ENV, "lock_digest": LOCK, "python": "3.11.7"},
                        "hardware": {"gpu_model": None, "gpu_count": 0, "driver_version": driver},
                    },
                },
            ),
            res(
                "deployment",
                "api",
                {
                    "id": "deploy-1",
                    "dependencies": ["cluster.box", "environment.sk", "training_job.digits"],
                    "attributes": {
                        "model_digest": model,
                        "environment": ENV,
                        "endpoint": "http://127.0.0.1:1",
                    },
                    "lineage": {"code_digest": CODE},
                },
            ),
        ],
    }
    return state_from_json(data)
