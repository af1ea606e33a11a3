"""The portable kinds' schemas: documented, usable by the engine, and the GPU request syntax."""

from __future__ import annotations

import pytest

from mlform.kinds import PORTABLE_KINDS, cluster, dataset, deployment, environment, training_job
from mlform.kinds.cluster import GpuRequest, hardware_class
from mlform.kinds.environment import environment_id, lock_digest
from mlform.kinds.training_job import env_name
from mlform.sdk.schema import body_schema

MODULES = [dataset, environment, cluster, training_job, deployment]


def test_every_kind_is_here():
    assert tuple(m.KIND for m in MODULES) == PORTABLE_KINDS


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.KIND)
def test_every_field_is_described(module):
    models = [module.Args, module.Attrs]
    if module is deployment:
        models += [deployment.HealthCheck, deployment.Autoscaling]
    for model in models:
        for name, info in model.model_fields.items():
            assert info.description, f"{model.__name__}.{name} has no description"
    body_schema(module.Args)
    body_schema(module.Attrs, True)
    assert "id" in module.Attrs.model_fields


def test_deployment_blocks():
    body = body_schema(deployment.Args)
    assert set(body.blocks) == {"health_check", "autoscaling"}
    args = deployment.Args.model_validate({"command": "serve", "health_check": {"path": "/ok"}})
    assert args.health_check.path == "/ok" and args.health_check.retries == 120


@pytest.mark.parametrize(
    ("text", "model", "count"),
    [
        ("any", None, None),
        ("", None, None),
        ("none", None, 0),
        ("H100", "H100", 1),
        ("A100:8", "A100", 8),
        ("any:2", None, 2),
    ],
)
def test_gpu_request(text, model, count):
    req = GpuRequest.parse(text)
    assert (req.model, req.count) == (model, count)


@pytest.mark.parametrize("bad", ["A100:", ":8", "A100:x", "A100/8"])
def test_gpu_request_refuses(bad):
    with pytest.raises(ValueError, match="A100:8"):
        GpuRequest.parse(bad)


def test_gpu_model_matching():
    assert GpuRequest.parse("A100").matches("NVIDIA A100-SXM4-80GB")
    assert GpuRequest.parse("a100-sxm4").matches("NVIDIA A100-SXM4-80GB")
    assert GpuRequest.parse("H100 80GB").matches("NVIDIA H100 80GB HBM3")
    assert not GpuRequest.parse("H100").matches("NVIDIA A100-SXM4-80GB")
    assert GpuRequest.parse("any").matches("anything")


def test_hardware_class():
    assert hardware_class(None, 0) == "cpu"
    assert hardware_class("NVIDIA H100 80GB HBM3", 1) == "gpu:NVIDIA H100 80GB HBM3x1"


def test_environment_id_and_lock_digest():
    a = environment_id(python="3.11", packages=["b", " a "])
    assert a == environment_id(python="3.11", packages=["a", "b"])
    assert a.startswith("env-") and len(a) == 68
    assert a != environment_id(python="3.12", packages=["a", "b"])
    assert a != environment_id(python="3.11", packages=["a", "b"], requirements="c\n")
    assert lock_digest({"Six": "1.17.0"}) == lock_digest({"six": "1.17.0"})
    assert lock_digest({"six": "1.17.0"}) != lock_digest({"six": "1.16.0"})


def test_env_name():
    assert env_name("train-v2") == "TRAIN_V2" and env_name("lr") == "LR"
