"""Helpers for the training job and deployment tests: contexts, tiny environments, stored datasets.

Environments are built by the local `environment` kind with no packages when it is available
(python only: quick), else made the same way by hand: a venv without pip under
`<data_dir>/envs/<id>` with the record the kind writes.
"""

from __future__ import annotations

import json
import platform
import sys
import threading
import venv
from pathlib import Path
from typing import Any

from mlform_local.provider import LocalProvider
from mlform_local.store import ENV_MARKER, Store, environment_path

from mlform.kinds.environment import environment_id, lock_digest
from mlform.sdk import Context, Planned, ResourceState

PYTHON_VERSION = platform.python_version()


class Recorder:
    """A Context factory that keeps every logged line."""

    def __init__(self, root: Path):
        self.root = root
        self.module_dir = root / "module"
        self.data_dir = root / ".mlform"
        self.module_dir.mkdir(parents=True, exist_ok=True)
        self.lines: list[str] = []
        self.cancel = threading.Event()

    def ctx(self, address: str, extra: dict[str, Any] | None = None) -> Context:
        scratch = self.root / "scratch"
        scratch.mkdir(exist_ok=True)
        return Context(
            address=address,
            module_dir=self.module_dir,
            data_dir=self.data_dir,
            scratch_dir=scratch,
            on_log=self.lines.append,
            cancel_event=self.cancel,
            extra=dict(extra or {}),
        )


def provider() -> LocalProvider:
    return LocalProvider()


def build_env(rec: Recorder, env: dict[str, str] | None = None) -> str:
    """A python-only environment; returns its id."""
    prov = provider()
    desired = {"python": ".".join(PYTHON_VERSION.split(".")[:2]), "packages": [], "env": env or {}}
    if "environment" in prov.kinds:
        kind = prov.kind("environment")
        ctx = rec.ctx("environment.test")
        planned = kind.plan(None, desired, ctx)
        return kind.create(planned, ctx).id
    env_id = environment_id(python=desired["python"], env=env or {})
    root = environment_path(rec.data_dir, env_id)
    if not (root / ENV_MARKER).exists():
        venv.EnvBuilder(with_pip=False, symlinks=True, clear=True).create(root)
        (root / ENV_MARKER).write_text(
            json.dumps(
                {
                    "id": env_id,
                    "request": desired,
                    "lock": {},
                    "digest": lock_digest({}),
                    "python_version": PYTHON_VERSION,
                    "python": sys.executable,
                    "env": env or {},
                }
            )
        )
    return env_id


def store_dataset(rec: Recorder, folder: Path) -> str:
    """Snapshot `folder` into the store; returns the dataset id (its digest)."""
    tree, _path = Store(rec.data_dir).put_tree(folder)
    return tree.digest


def apply(
    kind: Any, prior: ResourceState | None, desired: dict[str, Any], ctx: Context
) -> tuple[Planned, ResourceState]:
    """Plan then create/update/replace, as the engine would."""
    planned = kind.plan(prior, desired, ctx)
    if planned.action == "create":
        return planned, kind.create(planned, ctx)
    if planned.action == "update":
        assert prior is not None
        return planned, kind.update(prior, planned, ctx)
    if planned.action == "replace":
        assert prior is not None
        kind.delete(prior, ctx)
        return planned, kind.create(planned, ctx)
    assert prior is not None
    return planned, prior
