"""Provider calls are retried only when a retry cannot make a second object."""

from __future__ import annotations

import pytest

from mlform.engine.planner import call_with_retries
from mlform.sdk import ProviderError, ResourceState


def test_a_retryable_error_is_retried(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("mlform.engine.planner.time.sleep", lambda s: None)
    calls = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 2:
            raise ProviderError("throttled", retryable=True)
        return "ok"

    assert call_with_retries(flaky) == "ok"
    assert len(calls) == 2


def test_an_error_that_carries_the_object_it_made_is_not_retried() -> None:
    made = ResourceState(id="vm-1", args={}, attrs={})
    calls = []

    def create() -> None:
        calls.append(1)
        raise ProviderError("never became healthy", retryable=True, partial=made)

    with pytest.raises(ProviderError) as info:
        call_with_retries(create)
    assert info.value.partial is made
    assert len(calls) == 1
