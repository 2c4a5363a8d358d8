"""Bounded retries for transient backend faults (tenacity)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from tenacity import (
    Retrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_random_exponential,
)

from tools.errors import TransientBackendError

__all__ = ["RetryPolicy"]

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How transient backend faults are retried.

    Attributes:
        attempts: Total tries, the first included.
        initial_wait: Scale of the exponential backoff, in seconds.
        max_wait: Cap of a single wait, in seconds (waits are jittered up to it).
    """

    attempts: int = 4
    initial_wait: float = 0.05
    max_wait: float = 2.0

    def run(self, call: Callable[[], T], *, on_retry: Callable[[int], None] | None = None) -> T:
        """Run ``call``, retrying on :class:`TransientBackendError` within the policy's bounds."""
        retrying = Retrying(
            stop=stop_after_attempt(max(1, self.attempts)),
            wait=wait_random_exponential(multiplier=self.initial_wait, max=self.max_wait),
            retry=retry_if_exception_type(TransientBackendError),
            before_sleep=(lambda state: on_retry(state.attempt_number)) if on_retry else None,
            reraise=True,
        )
        return retrying(call)


NO_RETRY = RetryPolicy(attempts=1)
