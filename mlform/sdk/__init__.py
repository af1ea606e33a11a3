"""The provider contract (`mlform.sdk`): what a provider package implements.

See `mlform.sdk.contract` for the classes and `docs/providers.md` for a guide.
"""

from mlform.sdk.contract import (
    UNKNOWN,
    ConfigError,
    Context,
    Kind,
    Model,
    Planned,
    Provider,
    ProviderError,
    ResourceState,
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
    "Kind",
    "Model",
    "Planned",
    "Provider",
    "ProviderError",
    "ResourceState",
    "arg",
    "block",
    "computed",
    "is_unknown",
    "is_wholly_known",
]
