"""Client-wide load control: a retry budget and an adaptive send-rate limiter.

Both are pure state machines driven by the caller's clock, so they are tested
without sleeping. The client owns one budget and consults it for every retry; it
gives every endpoint group an `AdaptiveRateLimiter` of its own, tuned like the one
it was given (`rate_limiter=`), which caps all groups together with its `max_rate`
and counts their 429s (see `_engine.pacing`).

- `RetryBudget` (botocore's "standard" retry quota): retries spend tokens, successes
  refund one. When Stytch fails hard, the budget runs dry and calls fail fast with
  their real error instead of multiplying the load.
- `AdaptiveRateLimiter` (in the spirit of botocore's "adaptive" mode): off until
  429s repeat, then paces sends at a rate estimated from the successes Stytch
  actually delivered, backing off multiplicatively on each throttle and probing
  upward exponentially while none come, so a big batch converges on Stytch's limit.
  A group's limiter learns from 429s that carry `Retry-After`; those without one
  (Stytch's fixed windows) teach the group's `WindowGate` instead.
"""

from __future__ import annotations

import collections
import math

import attrs

from .. import errors
from .._sansio.config import count, seconds

__all__ = ["AdaptiveRateLimiter", "RetryBudget"]


# Validated at construction only: the hot path assigns these fields on every call.
@attrs.define(on_setattr=attrs.setters.NO_OP)
class RetryBudget:
    """A token bucket of retries shared by every call of a client.

    Costs: a throttled retry 1 (Stytch said when to come back; the rate limiter does
    the rest), a timeout 10 (the most expensive thing to repeat), anything else 5.
    """

    capacity: int = attrs.field(default=500, validator=count(0))
    """The most tokens the budget holds (and starts with)."""
    retry_cost: int = attrs.field(default=5, validator=count(0))
    """Tokens a retry takes after a 5xx or a connection error."""
    timeout_cost: int = attrs.field(default=10, validator=count(0))
    """Tokens a retry takes after a timeout."""
    throttle_cost: int = attrs.field(default=1, validator=count(0))
    """Tokens a retry takes after a 429."""
    available: int = attrs.field(default=-1, validator=count(-1))
    """Tokens left now; a success returns some (-1 at construction: start full)."""

    def __attrs_post_init__(self) -> None:
        if self.available < 0 or self.available > self.capacity:
            self.available = self.capacity

    def cost(self, error: BaseException) -> int:
        """Tokens a retry after `error` takes."""
        if isinstance(error, errors.RateLimitError):
            return self.throttle_cost
        if isinstance(error, errors.RequestTimeoutError):
            return self.timeout_cost
        return self.retry_cost

    def try_spend(self, error: BaseException) -> bool:
        """Take the cost of one retry; False (and nothing taken) when the budget is dry."""
        cost = self.cost(error)
        if cost > self.available:
            return False
        self.available -= cost
        return True

    def refund(self, amount: int = 1) -> None:
        """Return tokens after a success."""
        if self.available < self.capacity:  # a full budget (the usual case) stays full
            self.available = min(self.capacity, self.available + amount)


@attrs.define(on_setattr=attrs.setters.NO_OP)
class AdaptiveRateLimiter:
    """Paces sends so a client converges on the server's rate limit.

    `max_rate` (requests/second) is a fixed ceiling that applies from the start.
    Otherwise the limiter does nothing until 429s repeat (a lone 429 is left to the
    call's own retry), and it switches itself off again once its rate is far above
    what the client actually sends and no 429 came for `relax` seconds, so a quiet
    client is never held back for long.
    """

    max_rate: float | None = attrs.field(default=None, validator=seconds(above=0, optional=True))
    """A fixed ceiling in requests per second, applied from the start; None: none."""
    min_rate: float = attrs.field(default=2.0, validator=seconds(above=0))
    """The pace never drops below this many requests per second."""
    backoff: float = attrs.field(default=0.9, validator=seconds(above=0, below=1))
    """On a 429 the pace becomes this fraction of what Stytch delivered recently."""
    growth: float = attrs.field(default=0.5, validator=seconds(above=0))
    """How fast the pace grows back after a quiet spell (exponential rate, per second)."""
    hold: float = attrs.field(default=0.5, validator=seconds(at_least=0))
    """Seconds after a 429 before the pace grows again."""
    window: float = attrs.field(default=1.0, validator=seconds(above=0))
    """Seconds of recent deliveries the limiter measures Stytch's rate over."""
    relax: float = attrs.field(default=5.0, validator=seconds(at_least=0))
    """Seconds without a 429 after which a pace far above the traffic switches itself off."""
    rate: float = math.inf
    """The learnt pace in requests per second (inf until 429s repeat)."""
    enabled: bool = False
    """Whether the learnt pace applies now."""
    throttles: int = 0
    """429s this limiter has seen."""
    _probing: bool = False
    _next_slot: float = 0.0
    _last_change: float = -math.inf
    _last_decrease: float = -math.inf
    _last_throttle: float = -math.inf
    _successes: collections.deque[float] = attrs.field(factory=collections.deque)

    @property
    def pacing(self) -> bool:
        """Whether sends are paced at all (cheap to ask on every send)."""
        return self.enabled or self.max_rate is not None

    @property
    def current_rate(self) -> float:
        """The rate sends are paced at now (inf when unlimited)."""
        rate = self.rate if self.enabled else math.inf
        return rate if self.max_rate is None else min(rate, self.max_rate)

    def delay(self, now: float) -> float:
        """How long a send claiming the next slot now would wait (nothing is claimed)."""
        if self.current_rate == math.inf:
            return 0.0
        return max(now, self._next_slot) - now

    def reserve(self, now: float) -> float:
        """Claim the next send slot; returns how long to wait before sending."""
        rate = self.current_rate
        if rate == math.inf:
            return 0.0
        slot = max(now, self._next_slot)
        self._next_slot = slot + 1.0 / rate
        return slot - now

    def _delivered(self, now: float) -> float:
        successes = self._successes
        while successes and successes[0] < now - self.window:
            successes.popleft()
        return len(successes) / self.window

    def on_success(self, now: float) -> None:
        """Record a delivered request; grow the rate after a quiet spell."""
        successes = self._successes
        successes.append(now)
        if successes[0] < now - self.window:
            self._delivered(now)  # trims: keep one window's worth, no more
        if not self.enabled or now - self._last_throttle < self.hold:
            return
        delivered = self._delivered(now)
        # Like TCP's slow start: the first estimate may be taken from a window that was
        # not yet full, so grow fast until the next throttle confirms the ceiling.
        growth = self.growth * (4.0 if self._probing else 1.0)
        self.rate *= math.exp(growth * min(now - self._last_change, self.window))
        self._last_change = now
        quiet = now - self._last_throttle >= self.relax
        if quiet and self.rate > 4 * max(delivered, self.min_rate):
            self.enabled, self.rate = False, math.inf  # no longer what limits us
            self._probing = False

    def on_throttle(self, now: float) -> None:
        """A 429 arrived: pace at a little under what Stytch delivered recently."""
        self.throttles += 1
        previous, self._last_throttle = self._last_throttle, now
        if not self.enabled and now - previous > self.window:
            return  # a lone 429: the call's own retry deals with it
        if now - self._last_decrease < self.hold / 2:
            return  # one decrease per burst of 429s, not one per request in flight
        self._last_decrease = now
        delivered = self._delivered(now)
        if not delivered:  # nothing got through lately: halve what we had, or start low
            delivered = self.rate / 2 if self.enabled else 10.0
        self.rate = max(self.min_rate, min(self.rate, delivered) * self.backoff)
        self._probing = not self.enabled
        self.enabled = True
        self._last_change = now
