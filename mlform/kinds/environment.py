"""The `environment` kind's schema: the software a job or a server runs in.

An environment's `id` is a content address of its request (`env-<hex>`, see `environment_id`), so
it is known at plan time and the same request names the same environment everywhere. What the
request resolved to (every installed distribution and its exact version) is the `lock`; its
`digest` is what a training job's fingerprint records.

The lock is resolved for the target platform, the machine the environment is built for (its OS,
architecture and Python version: `platform`, such as `linux-x86_64-py3.11`), not for the
machine the CLI runs on; for the local provider the two coincide. The platform is recorded in the
attributes and enters the digest, so the same packages on another platform are another
environment. `image` and `cuda` are part of the request (and of the id) when set: changing them,
or the platform, replaces the environment.
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
        replace=True,
        description=(
            "A base container image for providers that run containers; recorded by providers "
            "that build virtual environments on the host, which do not use it."
        ),
    )
    cuda: str | None = arg(
        None,
        replace=True,
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
    platform: str | None = computed(
        description=(
            "The target platform the lock was resolved for: OS, architecture and Python "
            "version, such as `linux-x86_64-py3.11`. Part of the digest."
        )
    )


def platform_tag(os_name: str, machine: str, python_version: str) -> str:
    """`linux-x86_64-py3.11`: the platform a lock is resolved for (the Python version is cut to
    major.minor: a patch release installs the same wheels)."""
    short = ".".join(python_version.split(".")[:2])
    return f"{os_name.lower()}-{machine.lower()}-py{short}"


def normalized_request(
    *,
    python: str,
    packages: Sequence[str] = (),
    requirements: str | None = None,
    env: Mapping[str, str] | None = None,
    image: str | None = None,
    cuda: str | None = None,
) -> dict[str, object]:
    """The parts of a request that decide what gets built, in a canonical form: requirement strings
    stripped and sorted (their order does not change what pip resolves), the requirements file by
    its content, the variables sorted; `image` and `cuda` only when set (so a request without
    them keeps the id it always had)."""
    out: dict[str, object] = {
        "python": python.strip(),
        "packages": sorted(p.strip() for p in packages if p.strip()),
        "requirements": requirements or "",
        "env": dict(sorted((env or {}).items())),
    }
    if image:
        out["image"] = image.strip()
    if cuda:
        out["cuda"] = cuda.strip()
    return out


def environment_id(
    *,
    python: str,
    packages: Sequence[str] = (),
    requirements: str | None = None,
    env: Mapping[str, str] | None = None,
    image: str | None = None,
    cuda: str | None = None,
) -> str:
    """`env-<sha256 hex of the normalized request>`; the same request always gives the same id."""
    request = normalized_request(
        python=python, packages=packages, requirements=requirements, env=env, image=image, cuda=cuda
    )
    return ID_PREFIX + hashlib.sha256(canonical_json(request).encode()).hexdigest()


def lock_digest(lock: Mapping[str, str], platform: str | None = None) -> str:
    """`sha256:<hex>` of a lock (distribution names lower-cased, sorted) and, when given, the
    platform it was resolved for (a line `platform=<tag>` first)."""
    items = sorted((k.lower(), v) for k, v in lock.items())
    text = (f"platform={platform}\n" if platform else "") + "".join(f"{k}=={v}\n" for k, v in items)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()
