"""Provider calls are retried only when a retry cannot make a second object; the provider's
policy sets the attempts and the backoff, a Retry-After is honoured, a cancel interrupts the
wait, and a provider's concurrency limit holds calls back."""

from __future__ import annotations

import threading
import time

import pytest

from mlform.engine.retry import call_with_retries
from mlform.sdk import Provider, ProviderError, ResourceState, RetryPolicy

FAST = RetryPolicy(max_attempts=3, base_delay=0.0, jitter=0.0)


def test_a_retryable_error_is_retried() -> None:
    calls = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 2:
            raise ProviderError("throttled", retryable=True)
        return "ok"

    assert call_with_retries(flaky, policy=FAST) == "ok"
    assert len(calls) == 2


def test_an_error_that_carries_the_object_it_made_is_not_retried() -> None:
    made = ResourceState(id="vm-1", args={}, attrs={})
    calls = []

    def create() -> None:
        calls.append(1)
        raise ProviderError("never became healthy", retryable=True, partial=made)

    with pytest.raises(ProviderError) as info:
        call_with_retries(create, policy=FAST)
    assert info.value.partial is made
    assert len(calls) == 1


def test_the_providers_policy_sets_the_attempts() -> None:
    class Patient(Provider):
        name = "patient"
        retry = RetryPolicy(max_attempts=5, base_delay=0.0, jitter=0.0)

    calls = []

    def always() -> None:
        calls.append(1)
        raise ProviderError("throttled", retryable=True)

    with pytest.raises(ProviderError):
        call_with_retries(always, provider=Patient())
    assert len(calls) == 5


def test_backoff_grows_is_capped_and_jittered() -> None:
    p = RetryPolicy(base_delay=1.0, max_delay=5.0, jitter=0.5)
    assert [p.delay(n, None, 0.0) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 5.0]
    assert p.delay(2, None, 0.999) == pytest.approx(1.001)  # up to half of it taken off


def test_retry_after_is_honoured() -> None:
    waits: list[float] = []

    class Recording(threading.Event):
        def wait(self, timeout: float | None = None) -> bool:
            waits.append(timeout or 0.0)
            return False

    calls = []

    def throttled() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise ProviderError("slow down", retryable=True, retry_after=7.5)
        return "ok"

    policy = RetryPolicy(base_delay=0.1, jitter=0.0)
    assert call_with_retries(throttled, Recording(), policy=policy) == "ok"
    assert waits == [7.5]
    # A policy that ignores it waits its own backoff.
    waits.clear()
    calls.clear()
    ignore = RetryPolicy(base_delay=0.1, jitter=0.0, honour_retry_after=False)
    assert call_with_retries(throttled, Recording(), policy=ignore) == "ok"
    assert waits == [0.1]


def test_a_cancel_interrupts_the_wait() -> None:
    cancel = threading.Event()
    calls = []

    def throttled() -> None:
        calls.append(1)
        raise ProviderError("slow down", retryable=True, retry_after=30)

    threading.Timer(0.2, cancel.set).start()
    started = time.monotonic()
    with pytest.raises(ProviderError):
        call_with_retries(throttled, cancel, policy=RetryPolicy(max_attempts=3))
    assert time.monotonic() - started < 5, "the 30 s Retry-After wait was not interrupted"
    assert len(calls) == 1


def test_the_concurrency_limit_holds_calls_back() -> None:
    class Narrow(Provider):
        name = "narrow"
        max_concurrency = 2

    provider = Narrow()
    lock = threading.Lock()
    now = peak = 0

    def call() -> None:
        nonlocal now, peak
        with lock:
            now += 1
            peak = max(peak, now)
        time.sleep(0.05)
        with lock:
            now -= 1

    threads = [
        threading.Thread(target=call_with_retries, args=(call, None, provider)) for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak == 2
