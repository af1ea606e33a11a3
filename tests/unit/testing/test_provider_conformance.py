"""The conformance suite, run against the built-in test provider."""

from __future__ import annotations

from typing import Any

from mlform.sdk.contract import Context, Provider
from mlform.testing.conformance import ProviderConformance, Sample
from mlform.testing.provider import TestProvider, load_objects


class TestTestProviderConformance(ProviderConformance):
    provider_class = TestProvider
    provider_config = {"store": "objects.json"}
    samples = {
        "test_object": Sample(
            args={"value": {"a": [1, 2]}, "immutable": "x"},
            update={"value": "changed", "immutable": "x"},
        ),
        "test_data": Sample(args={"input": {"k": "v"}}),
        "test_job": Sample(args={"duration_s": 0.2, "output": "m"}),
    }

    def snapshot(self, provider: Provider, ctx: Context) -> Any:
        assert isinstance(provider, TestProvider)
        path = provider.store_path(ctx)
        return load_objects(path) if path.exists() else {}
