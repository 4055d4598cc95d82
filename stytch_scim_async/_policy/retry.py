"""The retry policy: pure decisions, and a tenacity `AsyncRetrying` built from them per call.

tenacity's retry state is per iteration, so one is built for every call and never
shared between tasks; the policy itself is a frozen value that is.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import attrs

from .. import errors
from .._sansio.config import count, seconds
from .._sansio.endpoints import RetryKind
from .throttle import RetryBudget

if TYPE_CHECKING:
    import tenacity

__all__ = ["RetryPolicy"]

logger = logging.getLogger("stytch_scim_async")

_RETRYABLE_STATUSES = frozenset({500, 502, 503, 504})


@attrs.frozen
class RetryPolicy:
    """When and how long to wait before trying a failed call again.

    Full-jitter exponential backoff (`initial_delay * 2**n`, capped at `max_delay`),
    a server `Retry-After` honoured up to `max_retry_after` (a longer one surfaces as
    `RateLimitError.retry_after` so the caller can schedule), an optional `deadline`
    in seconds for the whole call (a create or rotation may use one attempt's timeout
    more to reconcile). `sleep` and `random` are injectable for tests.
    """

    max_attempts: int = attrs.field(default=3, validator=count(1))
    """HTTP attempts a call may make in all, the first included (1: never retry)."""
    initial_delay: float = attrs.field(default=0.5, validator=seconds(at_least=0))
    """Seconds of backoff ceiling after the first failure; it doubles after each one."""
    max_delay: float = attrs.field(default=8.0, validator=seconds(at_least=0, finite=False))
    """The most a backoff may grow to, in seconds."""
    max_retry_after: float = attrs.field(default=60.0, validator=seconds(at_least=0, finite=False))
    """The longest server `Retry-After` (seconds) that is slept; a longer one ends the call with
    `RateLimitError.retry_after`."""
    deadline: float | None = attrs.field(
        default=None, validator=seconds(above=0, finite=False, optional=True)
    )
    """Seconds the whole call may take, attempts and waits included (a create or rotation
    may take one attempt's timeout more to learn whether it committed); None: no deadline."""
    sleep: Callable[[float], Awaitable[None]] | None = attrs.field(
        default=None, eq=False, repr=False
    )
    """What waits between attempts (`asyncio.sleep` when None); a test passes a recorder."""
    random: Callable[[], float] = attrs.field(default=random.random, eq=False, repr=False)
    """The jitter's source of numbers in [0, 1); a test passes a fixed one."""

    @classmethod
    def disabled(cls) -> RetryPolicy:
        """A policy that makes exactly one attempt."""
        return cls(max_attempts=1)

    @staticmethod
    def is_ambiguous(error: BaseException) -> bool:
        """True when the request may have been processed although no good reply came:
        a 5xx, a timeout, a connection dropped after sending, an undecodable 2xx."""
        if isinstance(error, errors.ServerError | errors.ResponseDecodeError):
            return True
        return isinstance(error, errors.TransportError) and error.sent

    def should_retry(self, kind: RetryKind, error: BaseException) -> bool:
        """Whether `error` is worth another attempt of an operation of `kind`.

        Creates and rotations retry ambiguous failures only after the client has
        reconciled them with a GET (and found the request did not commit).
        """
        if isinstance(error, errors.RateLimitError | errors.ConnectError):
            return True
        if isinstance(error, errors.ServerError):
            return error.status_code in _RETRYABLE_STATUSES or kind is not RetryKind.SAFE
        return self.is_ambiguous(error)

    def delay(self, attempt: int, error: BaseException) -> float | None:
        """Seconds to sleep after failed attempt number `attempt` (1-based); None when the
        server asked for a longer wait than `max_retry_after`."""
        if isinstance(error, errors.RateLimitError) and error.retry_after is not None:
            if error.retry_after > self.max_retry_after:
                return None
            # Up to 10 % of jitter so that the clients told the same moment do not all
            # return at it, without stretching the wait much.
            return error.retry_after * (1.0 + 0.1 * self.random())
        ceiling = min(self.max_delay, self.initial_delay * 2.0 ** (attempt - 1))
        return float(self.random() * ceiling)

    def to_tenacity(
        self,
        operation: str,
        kind: RetryKind,
        *,
        budget: RetryBudget | None = None,
        clock: Callable[[], float] = time.monotonic,
        started: float | None = None,
    ) -> tenacity.AsyncRetrying:
        """A fresh `AsyncRetrying` for one call of `operation` that began at `started`
        (by `clock`; now if None)."""
        start = clock() if started is None else started
        return RetryDecision(self, operation, kind, budget, clock, start).retrying()


@attrs.define
class RetryDecision:
    """The per-call state tenacity's callbacks share: the next delay, budget spent."""

    policy: RetryPolicy
    operation: str
    kind: RetryKind
    budget: RetryBudget | None
    clock: Callable[[], float]
    started: float
    next_delay: float = 0.0
    spent: int = 0
    #: The organization the call is about (None: not known, as in member mode); the
    #: retry record names it, so a batch's log says which organization each line is.
    organization_id: str | None = None
    #: Told of each retry (failed attempt number, its error, the delay): event hooks.
    observer: Callable[[int, BaseException, float], None] | None = None

    def retrying(self) -> tenacity.AsyncRetrying:
        """The `AsyncRetrying` driven by this decision (built per call, never shared)."""
        import tenacity  # deferred: most imports of this package never retry anything

        kwargs: dict[str, Any] = {}
        if self.policy.sleep is not None:
            kwargs["sleep"] = self.policy.sleep
        return tenacity.AsyncRetrying(
            retry=self.retry,
            wait=self.wait,
            stop=tenacity.stop_never,
            before_sleep=self.log,
            reraise=True,
            **kwargs,
        )

    def retry(self, state: tenacity.RetryCallState) -> bool:
        outcome = state.outcome
        if outcome is None or not outcome.failed:
            return False
        error = outcome.exception()
        if isinstance(error, errors.StytchSCIMError):
            error.attempts = state.attempt_number
        if state.attempt_number >= self.policy.max_attempts:
            return False
        if error is None or not self.policy.should_retry(self.kind, error):
            return False
        delay = self.policy.delay(state.attempt_number, error)
        if delay is None:
            return False
        deadline = self.policy.deadline
        if deadline is not None and self.clock() - self.started + delay >= deadline:
            return False
        if self.budget is not None:
            if not self.budget.try_spend(error):
                return False
            self.spent += self.budget.cost(error)
        self.next_delay = delay
        return True

    def wait(self, state: tenacity.RetryCallState) -> float:
        return self.next_delay

    def log(self, state: tenacity.RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome else None
        organization = self.organization_id
        logger.info(
            "retrying %s: attempt %d failed with %s (status=%s, request_id=%s); sleeping %.3fs%s",
            self.operation,
            state.attempt_number,
            type(error).__name__,
            getattr(error, "status_code", None),
            getattr(error, "request_id", None),
            self.next_delay,
            f" [organization {organization}]" if organization else "",
            extra={"organization_id": organization},
        )
        if self.observer is not None and error is not None:
            self.observer(state.attempt_number, error, self.next_delay)
