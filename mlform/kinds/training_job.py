"""The `training_job` kind's schema: a run that turns code, data, an environment and parameters
into a model.

A training job is content-addressed: its `fingerprint` (see `mlform.kinds.fingerprint`) hashes
everything that decides its result. Plan compares the fingerprint computed from the inputs with the
one recorded by the last successful run: equal means no change; different means replace (retrain),
with `fingerprint.diff` naming the inputs that changed.

A job is long-running work (`Kind.long_running`): a provider submits it and returns at once, the
job outlives the CLI (`apply --detach`, Ctrl-C, a crash), and the next plan or apply polls it and
collects its result, never starting a job twice. Every provider runs it with the runtime
(`mlform_runtime`, docs/runtime.md), which sets the variables below; its result (model, metrics,
the lineage facts read on the worker) becomes the attributes and the lineage record. Every
succeeded run is kept by fingerprint (the run cache): a job whose fingerprint has a kept result is
restored from it without training, in any workspace, and the plan says so.

What a job's process is given (every provider sets the same variables; docs/runtime.md lists
them all):

- `MLFORM_DATA_<NAME>`: the path of each dataset's snapshot (NAME upper-cased, non-alphanumerics
  as `_`)
- `MLFORM_PARAMS`: the params as JSON; `MLFORM_PARAM_<NAME>`: each top-level param (strings as
  they are, other values as JSON)
- `MLFORM_SEED` and `PYTHONHASHSEED`: the seed, when set
- `MLFORM_OUTPUT_DIR`: where the job writes its model artifacts
- `MLFORM_METRICS_FILE`: a JSON object the job may write; it becomes `metrics`
- `MLFORM_DATA_DIR`: a folder holding one entry per dataset; `MLFORM_MODEL_DIR`: the same folder
  as `MLFORM_OUTPUT_DIR`; `MLFORM_CHECKPOINT_DIR`: a folder kept across attempts of one run
- `MLFORM_RUN_ID`, `MLFORM_ADDRESS`, `MLFORM_FINGERPRINT`
- `CUDA_VISIBLE_DEVICES`: the cluster's `visible_devices`
- with `nodes > 1`: `MASTER_ADDR`, `MASTER_PORT`, `WORLD_SIZE`, `RANK`, `LOCAL_RANK`, `NODE_RANK`,
  `LOCAL_WORLD_SIZE`
"""

from __future__ import annotations

import re
from typing import Any

from mlform.sdk import Model, arg, computed

KIND = "training_job"

STATUS_SUCCEEDED = "succeeded"
STATUS_FAILED = "failed"


class Args(Model):
    """What the user writes in `resource "training_job" "NAME" { ... }`."""

    cluster: str | None = arg(
        None,
        description=(
            "The cluster's `id` (`cluster.NAME.id`). Only its hardware class enters the "
            "fingerprint. Unset: the provider's default (this host, for the local provider)."
        ),
    )
    environment: str | None = arg(
        None,
        replace=True,
        description=(
            "The environment's `id` (`environment.NAME.id`). Unset: the Python mlform runs on, "
            "with no packages added."
        ),
    )
    code: str | None = arg(
        None,
        replace=True,
        description=(
            "A folder with the job's code, relative to the working directory (inside a module, "
            '`"${path.module}/src"`). It is snapshotted; its digest, '
            "and its git commit when it is in a repository, are recorded. The command runs in a "
            "fresh copy of it."
        ),
    )
    command: str = arg(
        replace=True,
        description='The command to run, such as "python train.py --epochs 3" (run by a shell).',
    )
    datasets: dict[str, str] = arg(
        default_factory=dict,
        replace=True,
        description=(
            "Datasets by the name the job knows them by: `{ train = dataset.digits.id }`. Each "
            "is given as MLFORM_DATA_<NAME>."
        ),
    )
    params: dict[str, Any] = arg(
        default_factory=dict,
        replace=True,
        description=(
            "Hyperparameters: an object whose values keep their own types (bool, number, "
            "string, list, object), given as MLFORM_PARAMS (JSON) and MLFORM_PARAM_<NAME>."
        ),
    )
    seed: int | None = arg(
        None, replace=True, description="The random seed, given as MLFORM_SEED and PYTHONHASHSEED."
    )
    nodes: int = arg(
        1,
        replace=True,
        description="How many processes (ranks) to start, with torch distributed's variables.",
    )
    timeout: str | int | None = arg(
        None,
        description='Stop the run after this long ("2h", "90m", seconds as a number); it then fails.',
    )
    retries: int = arg(
        0,
        description=(
            "How many more times to run the job after a failure before giving up; each attempt "
            "runs in a fresh folder."
        ),
    )


class Attrs(Model):
    """What the provider records for a training job."""

    id: str | None = computed(description="The run's identifier (equal to `run_id`).")
    fingerprint: str | None = computed(
        description="`sha256:<hex>` over every input that decides the result (see the guide)."
    )
    status: str | None = computed(
        description='"running" while the job runs (pending), then "succeeded" or "failed".'
    )
    model: str | None = computed(
        description="Where the model artifacts are: a read-only folder in the content store."
    )
    model_digest: str | None = computed(
        description="`sha256:<hex>` of the artifacts (same algorithm as a dataset's digest)."
    )
    metrics: dict[str, Any] | None = computed(
        description=(
            "The JSON object the job wrote to MLFORM_METRICS_FILE (empty when it wrote none), "
            "each value with its own type."
        )
    )
    started_at: str | None = computed(description="When the run started (RFC 3339, UTC).")
    finished_at: str | None = computed(description="When the run ended (RFC 3339, UTC).")
    run_id: str | None = computed(description="A unique name of this run.")
    logs: str | None = computed(
        description="Where the run's output is kept (`mlform logs ADDR` shows it)."
    )
    code_digest: str | None = computed(description="`sha256:<hex>` of the code snapshot.")
    code_commit: str | None = computed(
        description="The git commit the code folder was at, when it is in a repository."
    )
    price_per_hour: float | None = computed(
        description=(
            "What the machines started for this job alone cost per hour, in USD (0 on this "
            "host); null when it runs on a cluster, whose own `price_per_hour` is what it pays."
        )
    )
    estimated_cost: float | None = computed(
        description=(
            "What the run is expected to cost, in USD, planned by mlform: the price per hour it "
            "pays (its own, else its cluster's) times the median duration of its earlier runs in "
            "the state history, or its `timeout` when it has none (0 on this host)."
        )
    )


def env_name(name: str) -> str:
    """The variable suffix for a dataset or param name: upper-cased, anything but letters and
    digits as `_` (`"train-v2"` → `"TRAIN_V2"`)."""
    return re.sub(r"[^A-Za-z0-9]", "_", name).upper()
