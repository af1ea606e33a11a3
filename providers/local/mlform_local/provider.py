"""The local provider class: its configuration and its table of kinds.

Every local kind keeps its data under one folder, `LocalProvider.data_dir(ctx)`: the provider's
`data_dir` setting when given (relative to the working directory, as every path is), else the
engine's `ctx.data_dir` (the working directory's `.mlform`).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, ClassVar

from mlform.sdk import Context, Kind, Model, Provider, ResourceState, arg

if TYPE_CHECKING:
    from pydantic import BaseModel

    from mlform.kinds.offers import Offer
    from mlform_local.artifacts import LocalArtifacts


class LocalConfig(Model):
    """Settings of `provider "local" { ... }`."""

    data_dir: str | None = arg(
        None,
        description=(
            "Where the content store, built environments and caches live. Unset: the working "
            "directory's `.mlform` folder. Relative paths are relative to the root module."
        ),
    )


def provider_data_dir(provider: Provider | None, ctx: Context) -> Path:
    """`provider.data_dir(ctx)` for a local provider, else `ctx.data_dir`: what a kind calls to
    find its store (`provider_data_dir(self.provider, ctx)`)."""
    fn = getattr(provider, "data_dir", None)
    if callable(fn):
        return Path(fn(ctx)).absolute()
    return Path(ctx.data_dir).absolute()


def hold_applied(
    provider: Provider | None,
    kind: str,
    state: ResourceState,
    ctx: Context,
    prior: ResourceState | None = None,
) -> ResourceState:
    """Hold the object an apply produced for this instance (what create and update of the
    content-addressed kinds return): an update keeps the hold its prior state had, a create
    records its idempotency token."""
    from mlform_local.store import hold

    if prior is not None and prior.private.get("ref"):
        state.private["ref"] = prior.private["ref"]
    data_dir = provider_data_dir(provider, ctx)
    return hold(data_dir, kind, state, address=ctx.address, token=ctx.idempotency_token)


def _kinds() -> dict[str, type[Kind]]:
    from mlform_local.cluster import ClusterKind
    from mlform_local.dataset import DatasetKind
    from mlform_local.environment import EnvironmentKind

    kinds: dict[str, type[Kind]] = {
        "dataset": DatasetKind,
        "environment": EnvironmentKind,
        "cluster": ClusterKind,
    }
    # Jobs and servers live in their own modules; a checkout without them still offers the rest.
    try:
        from mlform_local.training import TrainingJobKind
    except ModuleNotFoundError as e:
        if e.name != "mlform_local.training":
            raise
    else:
        kinds["training_job"] = TrainingJobKind
    try:
        from mlform_local.deployment import DeploymentKind
    except ModuleNotFoundError as e:
        if e.name != "mlform_local.deployment":
            raise
    else:
        kinds["deployment"] = DeploymentKind
    return kinds


class _LazyKinds(Mapping[str, type[Kind]]):
    """The kind table, imported on first use: the kinds' modules import this one (for
    `provider_data_dir`), so importing them here at module level would be circular."""

    def __init__(self) -> None:
        self._table: dict[str, type[Kind]] | None = None

    def _get(self) -> dict[str, type[Kind]]:
        if self._table is None:
            self._table = _kinds()
        return self._table

    def __getitem__(self, name: str) -> type[Kind]:
        return self._get()[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())


# The docstring opens this provider's section of docs/resources.md (python -m mlform.kinds.docs).
class LocalProvider(Provider):
    """This machine: snapshots on disk, virtual environments, subprocesses.

    It implements every portable kind on this machine, and portable kinds use it unless
    `mlform { default_provider = ... }`, a `provider` meta-argument or the only other configured
    provider says otherwise. Its guide: [providers/local/README.md](../providers/local/README.md).
    """

    name = "local"
    version = "0.1.0"
    config = LocalConfig
    kinds: ClassVar[Mapping[str, type[Kind]]] = _LazyKinds()

    def __init__(self) -> None:
        super().__init__()
        self._data_dir: Path | None = None

    def configure(self, config: BaseModel, ctx: Context) -> None:
        super().configure(config, ctx)
        configured = getattr(config, "data_dir", None)
        if configured:
            self._data_dir = ctx.path(configured)

    def identity(self) -> dict[str, str]:
        """This machine, and the data folder when one is configured (the default, the working
        directory's `.mlform`, goes with the checkout wherever it is)."""
        import socket

        out = {"host": socket.gethostname()}
        if self._data_dir is not None:
            out["data_dir"] = str(self._data_dir.absolute())
        return out

    def offers(self) -> list[Offer]:
        """One offer, this host as it is, at no cost: what `mlform offers` lists for the local
        provider when the host fits the request (spot and region are accepted and ignored)."""
        from collections import Counter

        from mlform.kinds.offers import Offer
        from mlform_local.hosts import host_facts

        facts = host_facts()
        model, count = (Counter(g.name for g in facts.gpus).most_common(1) or [(None, 0)])[0]
        mem = next((g.memory_mb for g in facts.gpus if g.name == model), None)
        return [
            Offer(
                provider=self.name,
                instance_type=f"this host ({facts.hostname})",
                region="local",
                gpu_model=model,
                gpu_count=count,
                gpu_memory_gib=round(mem / 1024) if mem else None,
                vcpus=facts.cpu_count,
                memory_gib=round(facts.memory_mb / 1024, 1),
                price_on_demand=0.0,
                price_spot=0.0,
            )
        ]

    def data_dir(self, ctx: Context) -> Path:
        """The folder every local kind keeps its data in (see the module docstring), absolute so
        recorded paths stay valid whatever the working directory."""
        return Path(self._data_dir if self._data_dir is not None else ctx.data_dir).absolute()

    def artifacts(
        self, ctx: Context, identity: Mapping[str, str] | None = None
    ) -> LocalArtifacts | None:
        """The data folder the objects were made in: the one `identity` records (a configured
        `data_dir`), else this configuration's."""
        from mlform_local.artifacts import LocalArtifacts

        recorded = (identity or {}).get("data_dir")
        return LocalArtifacts(Path(recorded) if recorded else self.data_dir(ctx))
