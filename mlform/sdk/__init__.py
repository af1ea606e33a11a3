"""The provider contract (`mlform.sdk`): what a provider package implements.

See `mlform.sdk.contract` for the classes and `docs/providers.md` for a guide.

The names are loaded on first use: the contract imports pydantic, and `mlform validate` reads
cached schemas from `mlform.sdk.schema_types` without needing it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mlform.sdk.contract import (
        UNKNOWN,
        ConfigError,
        Context,
        JobStatus,
        Kind,
        Model,
        Planned,
        Provider,
        ProviderError,
        ResourceState,
        RetryPolicy,
        arg,
        block,
        computed,
        is_unknown,
        is_wholly_known,
    )

__all__ = [
    "UNKNOWN",
    "ConfigError",
    "Context",
    "JobStatus",
    "Kind",
    "Model",
    "Planned",
    "Provider",
    "ProviderError",
    "ResourceState",
    "RetryPolicy",
    "arg",
    "block",
    "computed",
    "is_unknown",
    "is_wholly_known",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from mlform.sdk import contract

        value = getattr(contract, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'mlform.sdk' has no attribute {name!r}")
