"""What a local job or server runs in: its environment's interpreter and variables, the cluster's
GPUs, and the process environment built from them.

Training jobs and deployments name their environment and cluster by id only (`env-<hex>`,
`local:<host>`); this module turns those ids back into what the runtime's spec needs: the built
environment's folder, lock digest and `env` map, and `CUDA_VISIBLE_DEVICES` from the cluster's
allocation. The same facts feed a training job's fingerprint and lineage. The variables a process
finally sees are the runtime's to set (docs/runtime.md).
"""

from __future__ import annotations

import platform
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlform.kinds.cluster import hardware_class
from mlform.sdk import Context, ProviderError
from mlform_local import store

__all__ = [
    "ClusterFacts",
    "EnvironmentFacts",
    "cluster_facts",
    "environment_facts",
    "resolve_path",
]


@dataclass(frozen=True)
class EnvironmentFacts:
    """A built environment, or mlform's own interpreter when a job names none."""

    id: str | None
    bin_dir: Path
    python: Path
    # The variables of the environment's `env` argument.
    env: Mapping[str, str] = field(default_factory=dict)
    lock_digest: str | None = None
    python_version: str | None = None
    # VIRTUAL_ENV for processes run in it (None: mlform's interpreter outside a venv).
    venv: Path | None = None


def environment_facts(
    data_dir: Path, env_id: str | None, *, required: bool = True
) -> EnvironmentFacts | None:
    """The environment `env_id` as built under `data_dir`; None when it is not built and not
    `required` (plan time), ProviderError when it is not built and `required` (apply)."""
    if not env_id:
        exe = Path(sys.executable)
        venv = Path(sys.prefix) if sys.prefix != sys.base_prefix else None
        return EnvironmentFacts(
            id=None,
            bin_dir=exe.parent,
            python=exe,
            python_version=platform.python_version(),
            venv=venv,
        )
    try:
        root = store.environment_path(data_dir, env_id)
    except ValueError as e:
        raise ProviderError(f"{env_id!r} is not an environment id", str(e)) from e
    info = store.environment_info(data_dir, env_id)
    python = store.environment_python(data_dir, env_id)
    if info is None or not python.exists():
        if not required:
            return None
        raise ProviderError(
            f"environment {env_id} is not built",
            f"expected it under {root}. Apply the environment resource that has this id first "
            "(mlform apply builds it when it is declared in the same configuration).",
        )
    return EnvironmentFacts(
        id=env_id,
        bin_dir=python.parent,
        python=python,
        env=dict(info.get("env") or {}),
        lock_digest=info.get("digest"),
        python_version=info.get("python_version"),
        venv=root,
    )


@dataclass(frozen=True)
class ClusterFacts:
    """What a job takes from its cluster."""

    id: str
    hardware_class: str
    # The CUDA_VISIBLE_DEVICES value: GPU indices separated by commas, "" for none.
    visible_devices: str
    gpu_model: str | None = None
    gpu_count: int = 0
    driver_version: str | None = None
    cuda_version: str | None = None
    host: str = ""


def _cluster_attrs_from_extra(ctx: Context, cluster_id: str) -> Mapping[str, Any] | None:
    """The attributes of the cluster with this id among the instances the job depends on."""
    for attrs in ctx.extra.values():
        if (
            isinstance(attrs, Mapping)
            and attrs.get("id") == cluster_id
            and "hardware_class" in attrs
        ):
            return attrs
    return None


def cluster_facts(ctx: Context, cluster_id: str | None) -> ClusterFacts:
    """The cluster a job runs on: from the cluster's recorded attributes when the engine passes
    them (`ctx.extra`), else this host with every GPU it has (`gpu = "any"`)."""
    from mlform_local.hosts import host_facts

    facts = host_facts()
    host_id = f"local:{facts.hostname}"
    if cluster_id and not cluster_id.startswith("local:"):
        raise ProviderError(
            f"cluster {cluster_id!r} is not a local cluster",
            "The local provider runs jobs on this host only: use a `cluster` resource of the "
            "local provider (its id is local:<hostname>).",
        )
    attrs = _cluster_attrs_from_extra(ctx, cluster_id) if cluster_id else None
    if attrs is not None:
        return ClusterFacts(
            id=str(attrs.get("id") or host_id),
            hardware_class=str(attrs.get("hardware_class") or "cpu"),
            visible_devices=str(attrs.get("visible_devices") or ""),
            gpu_model=attrs.get("gpu_model"),
            gpu_count=int(attrs.get("gpu_count") or 0),
            driver_version=attrs.get("driver_version"),
            cuda_version=attrs.get("cuda_version"),
            host=facts.hostname,
        )
    gpus = list(facts.gpus)
    model = gpus[0].name if gpus else None
    return ClusterFacts(
        id=cluster_id or host_id,
        hardware_class=hardware_class(model, len(gpus)),
        visible_devices=",".join(str(g.index) for g in gpus),
        gpu_model=model,
        gpu_count=len(gpus),
        driver_version=facts.driver_version,
        cuda_version=facts.cuda_version,
        host=facts.hostname,
    )


def resolve_path(ctx: Context, path: str) -> Path:
    """A user-written path, relative to the working directory (the root module's folder, in
    every module, as in Terraform), made absolute (processes run elsewhere: a relative path would
    not reach them)."""
    return ctx.path(path).resolve()
