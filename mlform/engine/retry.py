"""Calling providers: retries with backoff and jitter, Retry-After, and a limit on calls in flight.

A provider declares its `RetryPolicy` and its `max_concurrency`; the engine owns the loop. The
waits are on the run's cancel event, so a Ctrl-C (or `mlform cancel`) interrupts them at once
rather than after a sleep.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mlform.sdk import ProviderError, RetryPolicy

if TYPE_CHECKING:
    from mlform.sdk import Provider

DEFAULT_POLICY = RetryPolicy()


def call_with_retries(
    fn: Callable[[], Any],
    cancel: threading.Event | None = None,
    provider: Provider | None = None,
    *,
    policy: RetryPolicy | None = None,
    draw: Callable[[], float] = random.random,
) -> Any:
    """Call `fn`, retrying a `ProviderError` whose `retryable` says a retry may help, as the
    provider's policy says. Never retried: an error that carries the object it made
    (`partial`: recorded, not made again), the last attempt's, or one raised once `cancel` is
    set; the wait between attempts ends early when `cancel` is set, and the error is raised."""
    if policy is None:
        policy = getattr(provider, "retry", None) or DEFAULT_POLICY
    slots = provider.call_slots() if provider is not None else None
    wait_on = cancel if cancel is not None else threading.Event()
    attempts = max(1, policy.max_attempts)
    for attempt in range(1, attempts + 1):
        try:
            if slots is None:
                return fn()
            with slots:
                return fn()
        except ProviderError as exc:
            if (
                not exc.retryable
                or exc.partial is not None
                or attempt == attempts
                or wait_on.is_set()
            ):
                raise
            delay = policy.delay(attempt, exc.retry_after, draw())
            if delay > 0 and wait_on.wait(delay):
                raise  # cancelled while waiting: no further attempt
    raise AssertionError("unreachable")


__all__ = ["DEFAULT_POLICY", "call_with_retries"]
