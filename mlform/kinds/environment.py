"""The `environment` kind's schema: the software a job or a server runs in.

An environment's `id` is a content address of its request (`env-<hex>`, see `environment_id`), so
it is known at plan time and the same request names the same environment everywhere. What the
request resolved to (every installed distribution and its exact version) is the `lock`; its
`digest` is what a training job's fingerprint records.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence

from mlform.kinds.common import canonical_json
from mlform.sdk import Model, arg, computed

KIND = "environment"
ID_PREFIX = "env-"


class Args(Model):
    """What the user writes in `resource "environment" "NAME" { ... }`."""

    python: str | None = arg(
        None,
        replace=True,
        description=(
            'The Python version, as "3.11" (any 3.11.x the host has) or "3.11.7". Unset: the '
            "version mlform itself runs on."
        ),
    )
    packages: list[str] = arg(
        default_factory=list,
        replace=True,
        description='pip requirement strings, such as "scikit-learn==1.5.2" or "torch>=2.3".',
    )
    requirements_file: str | None = arg(
        None,
        replace=True,
        description=(
            "A pip requirements file, relative to the working directory (inside a module, "
            '`"${path.module}/requirements.txt"`); its content (not its path) is part '
            "of the request."
        ),
    )
    env: dict[str, str] = arg(
        default_factory=dict,
        replace=True,
        description="Environment variables set for every process run in this environment.",
    )
    image: str | None = arg(
        None,
        description=(
            "A base container image for providers that run containers; recorded by providers "
            "that build virtual environments on the host, which do not use it."
        ),
    )
    cuda: str | None = arg(
        None,
        description=(
            'The CUDA version the environment is meant for ("12.1"); providers that build images '
            "choose a base for it, others record it."
        ),
    )


class Attrs(Model):
    """What the provider records for an environment."""

    id: str | None = computed(
        description="`env-<hex>`: a content address of the request (see `environment_id`)."
    )
    lock: dict[str, str] | None = computed(
        description="Every installed distribution and its exact version, as resolved when built."
    )
    digest: str | None = computed(description="`sha256:<hex>` of the lock.")
    uri: str | None = computed(
        description="Where the environment is: a folder, or an image reference."
    )
    python_version: str | None = computed(description='The exact Python version, such as "3.11.7".')


def normalized_request(
    *,
    python: str,
    packages: Sequence[str] = (),
    requirements: str | None = None,
    env: Mapping[str, str] | None = None,
) -> dict[str, object]:
    """The parts of a request that decide what gets built, in a canonical form: requirement strings
    stripped and sorted (their order does not change what pip resolves), the requirements file by
    its content, the variables sorted."""
    return {
        "python": python.strip(),
        "packages": sorted(p.strip() for p in packages if p.strip()),
        "requirements": requirements or "",
        "env": dict(sorted((env or {}).items())),
    }


def environment_id(
    *,
    python: str,
    packages: Sequence[str] = (),
    requirements: str | None = None,
    env: Mapping[str, str] | None = None,
) -> str:
    """`env-<sha256 hex of the normalized request>`; the same request always gives the same id."""
    request = normalized_request(
        python=python, packages=packages, requirements=requirements, env=env
    )
    return ID_PREFIX + hashlib.sha256(canonical_json(request).encode()).hexdigest()


def lock_digest(lock: Mapping[str, str]) -> str:
    """`sha256:<hex>` of a lock (distribution names lower-cased, sorted)."""
    items = sorted((k.lower(), v) for k, v in lock.items())
    text = "".join(f"{k}=={v}\n" for k, v in items)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()
