"""The `deployment` kind's schema: a model served behind an endpoint, kept healthy.

A deployment updates in place: a new model, command or environment starts a new revision, waits
until it passes its health check, then stops the old one, keeping the endpoint. Refresh checks the
servers are alive and healthy, so one that died shows in the next plan as drift.

What a server's process is given: `PORT` (where to listen), `MLFORM_MODEL_DIR` (the model's
folder), and the environment's variables and `env`.
"""

from __future__ import annotations

from mlform.sdk import Model, arg, block, computed

KIND = "deployment"


class HealthCheck(Model):
    """How to tell that a server is ready: an HTTP GET of `path` answering 2xx."""

    path: str = arg("/health", description="The path to GET.")
    interval: str | int = arg("1s", description="Time between probes.")
    timeout: str | int = arg("5s", description="How long one probe may take.")
    retries: int = arg(
        120,
        description=(
            "How many probes may fail in a row before the server is declared unhealthy (a new "
            "revision then fails and the old one keeps serving)."
        ),
    )


class Autoscaling(Model):
    """Scale the replicas with load, on providers that can."""

    min_replicas: int = arg(1, description="Never fewer replicas than this.")
    max_replicas: int | None = arg(None, description="Never more replicas than this.")
    target_cpu_percent: int | None = arg(None, description="Add replicas above this CPU use.")


class Args(Model):
    """What the user writes in `resource "deployment" "NAME" { ... }`."""

    cluster: str | None = arg(
        None, description="The cluster's `id`. Unset: the provider's default."
    )
    environment: str | None = arg(
        None, description="The environment's `id`. Unset: the Python mlform runs on."
    )
    model: str | None = arg(
        None,
        description=(
            "The model to serve: a training job's `model` (a folder), given as MLFORM_MODEL_DIR."
        ),
    )
    code: str | None = arg(
        None,
        description=(
            "A folder with the server's code, relative to the working directory (inside a "
            'module, `"${path.module}/src"`); it runs in a snapshot of it.'
        ),
    )
    command: str = arg(
        description='The command that starts one server, such as "python serve.py --port $PORT".'
    )
    port: int | None = arg(
        None,
        description=(
            "The port of the endpoint. Unset: a free port is chosen once and kept across revisions."
        ),
    )
    replicas: int = arg(1, description="How many servers to run.")
    env: dict[str, str] = arg(
        default_factory=dict, description="More environment variables for the server."
    )
    health_check: HealthCheck | None = block(
        description="How to tell a server is ready. Unset: GET /health with the defaults below."
    )
    autoscaling: Autoscaling | None = block(
        description="Scale with load, where the provider can; the local provider runs `replicas`."
    )


class Attrs(Model):
    """What the provider records for a deployment."""

    id: str | None = computed(description="The deployment's identifier.")
    endpoint: str | None = computed(
        description='The URL clients call, such as "http://127.0.0.1:8000".'
    )
    revision: int | None = computed(
        description="Counts the rollouts: 1 for the first, +1 per update."
    )
    status: str | None = computed(description='"healthy", or "unhealthy" when refresh found it so.')
    model_digest: str | None = computed(description="The digest of the model being served.")
    port: int | None = computed(description="The port the endpoint listens on.")
    pids: list[int] | None = computed(description="The server processes' ids (local provider).")
    started_at: str | None = computed(
        description="When the serving revision started (RFC 3339, UTC)."
    )
    logs: str | None = computed(
        description="Where the servers' output is kept (`mlform logs ADDR`)."
    )
