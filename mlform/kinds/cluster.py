"""The `cluster` kind's schema: the machines jobs and servers run on, and how a request for GPUs
is read.

`gpu` is `"any"` (whatever is there, possibly nothing), `"none"` (hide GPUs from jobs), a model
(`"H100"`, one of them), `"MODEL:N"` (`"A100:8"`) or `"any:N"` (N of any model). `GpuRequest.parse`
reads it once for every provider; `GpuRequest.matches` decides whether a GPU's reported name is the
model asked for (`"A100"` matches `"NVIDIA A100-SXM4-80GB"`).

`hardware_class` is the one attribute a training job's fingerprint takes from its cluster: two
clusters with the same class produce the same results, so moving a job between them does not
retrain it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mlform.sdk import Model, arg, computed

KIND = "cluster"


class Args(Model):
    """What the user writes in `resource "cluster" "NAME" { ... }`."""

    gpu: str = arg(
        "any",
        description=(
            '"any" (what is there, possibly none), "none" (jobs see no GPU), a model such as '
            '"H100" (one of them), "MODEL:N" such as "A100:8", or "any:N".'
        ),
    )
    cpu: int | str | None = arg(
        None, description='At least this many CPU cores: 8 or "8+". Unset: no requirement.'
    )
    memory: str | int | None = arg(
        None,
        description='At least this much memory: "16Gi", "64G", or a number of GiB. Unset: no requirement.',
    )
    nodes: int = arg(1, description="How many machines.")
    spot: bool = arg(
        False, description="Use spot / preemptible capacity where the provider has it."
    )
    region: str | None = arg(None, description="Where to provision, for providers with regions.")
    max_price_per_hour: float | None = arg(
        None,
        description="Refuse capacity that costs more than this per hour (USD), all nodes together.",
    )
    idle_timeout: str | int | None = arg(
        None,
        description='Release the machines after this long unused ("30m"), for providers that provision them.',
    )


class Attrs(Model):
    """What the provider found or provisioned."""

    id: str | None = computed(
        description="The cluster's identifier (`local:<hostname>` for this host)."
    )
    gpu_model: str | None = computed(
        description="The model of the GPUs given to jobs; null without GPUs."
    )
    gpu_count: int | None = computed(description="How many GPUs jobs get (per node).")
    gpu_memory_mb: int | None = computed(
        description="Memory of one GPU, in MiB; null without GPUs."
    )
    driver_version: str | None = computed(
        description="The NVIDIA driver version; null without GPUs."
    )
    cuda_version: str | None = computed(
        description="The highest CUDA version the driver supports; null without GPUs."
    )
    cpu_count: int | None = computed(description="CPU cores per node.")
    memory_mb: int | None = computed(description="Memory per node, in MiB.")
    price_per_hour: float | None = computed(
        description=(
            "What the cluster costs per hour while it runs, all nodes together, in USD (0 for "
            "this host): the offer chosen from the provider's catalog (`mlform offers`)."
        )
    )
    node_addresses: list[str] | None = computed(description="The nodes' addresses.")
    hardware_class: str | None = computed(
        description=(
            'What decides a job\'s results on this hardware: "cpu", or "gpu:<model>x<count>". '
            "Part of a training job's fingerprint."
        )
    )
    visible_devices: str | None = computed(
        description=(
            "The CUDA_VISIBLE_DEVICES value jobs get: GPU indices separated by commas, empty for none."
        )
    )


def _norm(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())


@dataclass(frozen=True)
class GpuRequest:
    """A parsed `gpu` argument. `model` None means any model; `count` None means "all there are"
    (only with `any`); `count` 0 means no GPU."""

    model: str | None
    count: int | None

    @classmethod
    def parse(cls, text: str) -> GpuRequest:
        """Read `"any"`, `"none"`, `"H100"`, `"A100:8"`, `"any:2"`. ValueError with the accepted
        forms on anything else."""
        raw = (text or "").strip()
        low = raw.lower()
        if low in ("", "any"):
            return cls(None, None)
        if low in ("none", "0"):
            return cls(None, 0)
        model, sep, count_text = raw.rpartition(":")
        if not sep:
            model, count_text = raw, "1"
        model = model.strip()
        count_text = count_text.strip()
        if not count_text.isdigit() or not model or not re.fullmatch(r"[A-Za-z0-9 _.\-]+", model):
            raise ValueError(
                f'cannot read gpu = "{text}": use "any", "none", a model such as "H100", '
                '"MODEL:N" such as "A100:8", or "any:N"'
            )
        count = int(count_text)
        if model.lower() == "any":
            return cls(None, count)
        return cls(model, count)

    @property
    def wants_none(self) -> bool:
        return self.count == 0

    def matches(self, gpu_name: str) -> bool:
        """Whether a GPU reported as `gpu_name` is of the requested model (any model matches when
        none was named): the model's letters and digits appear in the name's, ignoring case,
        spaces and dashes."""
        if self.model is None:
            return True
        return _norm(self.model) in _norm(gpu_name)

    def __str__(self) -> str:
        if self.count == 0:
            return "none"
        if self.model is None:
            return "any" if self.count is None else f"any:{self.count}"
        return f"{self.model}:{self.count}"


def hardware_class(gpu_model: str | None, gpu_count: int) -> str:
    """`"cpu"` without GPUs, else `"gpu:<model>x<count>"` (`"gpu:NVIDIA H100 80GB HBM3x1"`)."""
    if not gpu_count or not gpu_model:
        return "cpu"
    return f"gpu:{gpu_model}x{gpu_count}"
