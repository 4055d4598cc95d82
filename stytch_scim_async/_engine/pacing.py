"""Send pacing per endpoint group, under one client-wide ceiling.

Stytch limits each endpoint (some limits cover several), so each group of
operations has its own limiter, fed by its own 429s only: a throttled create never
slows a GET or a rotation.

| group    | operations                                     |
|----------|------------------------------------------------|
| create   | create                                         |
| read     | get, get_groups                                |
| write    | update, delete                                 |
| rotate   | rotate_start, rotate_complete, rotate_cancel   |
| search   | search_organizations                           |

A group's limiter is two learners: an `AdaptiveRateLimiter` (AIMD) fed by 429s that
carry a `Retry-After`, and a `WindowGate` fed by those that do not (Stytch's normal
case: the window and its allowance are learnt from where the 429s stop). The
`AdaptiveRateLimiter` given to the client (`rate_limiter=`) is the client-wide one:
its `max_rate` caps all sends together, its tuning is copied into every group's
limiter, and its `throttles` counts the 429s of every group; it adapts no rate of
its own.

Waiting senders queue per group (first come, first served) and only the head one
sleeps: each claims its slot when it reaches the head, at the pace the limiter has
*then*, so a backlog queued while throttled speeds up as soon as the rate recovers.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime

import attrs

from .. import errors
from .._policy.throttle import AdaptiveRateLimiter
from .._policy.window import WindowGate
from .._sansio.replies import retry_after

__all__ = ["GROUPS", "GroupLimiter", "RateLimiters"]

GROUPS: dict[str, str] = {
    "create": "create",
    "get": "read",
    "get_groups": "read",
    "update": "write",
    "delete": "write",
    "rotate_start": "rotate",
    "rotate_complete": "rotate",
    "rotate_cancel": "rotate",
    "search_organizations": "search",
}

Sleep = Callable[[float], Awaitable[None]]


class _Queue:
    """Senders waiting for one limiter: FIFO (asyncio's lock is fair), a count."""

    __slots__ = ("lock", "waiting")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.waiting = 0

    async def wait(self, delay: Callable[[float], float], ends: float | None, run: _Run) -> float:
        """Wait at the head of the queue until `delay(at)` is 0; returns `at`, the
        time (by `run.clock`) the send may go, advanced by the waits even if the
        sleep returns at once, as a test's recorder does."""
        self.waiting += 1
        try:
            async with self.lock:
                at = run.clock()
                while (wait := delay(at)) > 0:
                    if ends is not None and at + wait >= ends:
                        raise _refused(run.operation)
                    await run.sleep(wait)
                    at = max(run.clock(), at + wait)
                return at
        finally:
            self.waiting -= 1


@attrs.frozen
class _Run:
    """What one wait needs: the clock, the sleep, the operation (for the error)."""

    clock: Callable[[], float]
    sleep: Sleep
    operation: str


def _refused(operation: str) -> errors.RequestTimeoutError:
    return errors.RequestTimeoutError(
        f"{operation}: the rate limiter's next slot is past the call's deadline; nothing was sent",
        sent=False,
    )


def _template_copy(template: AdaptiveRateLimiter) -> AdaptiveRateLimiter:
    return AdaptiveRateLimiter(
        min_rate=template.min_rate,
        backoff=template.backoff,
        growth=template.growth,
        hold=template.hold,
        window=template.window,
        relax=template.relax,
    )


@attrs.define(eq=False)
class GroupLimiter:
    """One endpoint group's limiter: an AIMD rate and a learnt fixed window."""

    name: str
    adaptive: AdaptiveRateLimiter
    gate: WindowGate = attrs.field(factory=WindowGate)
    #: 429s this group received.
    throttles: int = 0
    _queue: _Queue = attrs.field(factory=_Queue, init=False)

    @property
    def pacing(self) -> bool:
        """Whether a send of this group may have to wait."""
        return self.adaptive.pacing or self.gate.active or self._queue.waiting > 0

    def delay(self, now: float, wall: float) -> float:
        """Seconds until this group's next send may go (nothing is claimed)."""
        return max(self.adaptive.delay(now), self.gate.delay(wall))


class RateLimiters:
    """Every group's limiter, and the client-wide ceiling (`rate_limiter=`)."""

    def __init__(
        self,
        ceiling: AdaptiveRateLimiter,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.ceiling = ceiling
        #: The pace's clock (monotonic) and the windows' (Unix time), injectable.
        self.clock, self.wall = clock, wall
        self._ceiling_queue = _Queue()
        self.groups = {
            name: GroupLimiter(name, _template_copy(ceiling)) for name in set(GROUPS.values())
        }
        #: Each operation's limiter, looked up once per send rather than through GROUPS.
        self._by_operation = {operation: self.groups[g] for operation, g in GROUPS.items()}

    def group(self, operation: str) -> GroupLimiter:
        """The limiter `operation` is paced by."""
        return self._by_operation.get(operation) or self.groups["read"]

    @property
    def throttles(self) -> int:
        """429s received, all groups together."""
        return sum(group.throttles for group in self.groups.values())

    def pacing(self, group: GroupLimiter) -> bool:
        """Whether a send of `group` may have to wait (cheap to ask on every send)."""
        return group.pacing or self.ceiling.pacing or self._ceiling_queue.waiting > 0

    def check(self, operation: str, ends: float | None) -> GroupLimiter | None:
        """The limiter a send of `operation` must wait for, or None when it may go at
        once. A send these limiters would let go only after `ends` (the call's
        deadline, by `clock`) is refused now, claiming nothing: it would not be sent
        anyway, and waiting for nothing helps no one."""
        group = self.group(operation)
        if not self.pacing(group):
            return None
        if ends is not None and self.clock() + self.estimate(group) >= ends:
            raise _refused(operation)
        return group

    def estimate(self, group: GroupLimiter) -> float:
        """About how long a send of `group` queued now would wait."""
        now, wall = self.clock(), self.wall()
        ahead = group._queue.waiting + self._ceiling_queue.waiting
        rate = min(group.adaptive.current_rate, self.ceiling.current_rate)
        queued = ahead / rate if rate != math.inf else 0.0
        return max(group.delay(now, wall), self.ceiling.delay(now)) + queued

    def _wall_at(self, at: float) -> float:
        return self.wall() + at - self.clock()

    async def wait(
        self, group: GroupLimiter | None, ends: float | None, sleep: Sleep | None, operation: str
    ) -> float:
        """Wait for `group`'s turn (None: `check` found none needed), then for the
        ceiling's, and claim both slots; returns the wall-clock time the send goes out
        (for `on_reply`). `sleep` defaults to `asyncio.sleep`."""
        if group is None:
            return self.wall()
        run = _Run(self.clock, sleep or asyncio.sleep, operation)
        at = await group._queue.wait(lambda t: group.delay(t, self._wall_at(t)), ends, run)
        group.adaptive.reserve(at)
        group.gate.admit(self._wall_at(at))
        if self.ceiling.pacing:
            at = await self._ceiling_queue.wait(self.ceiling.delay, ends, run)
            self.ceiling.reserve(at)
        return self._wall_at(at)

    def on_reply(
        self, operation: str, status: int, headers: Mapping[str, str], sent_at: float
    ) -> None:
        """Feed `operation`'s group the answer to a request sent at `sent_at` (wall
        clock): a 429 with `Retry-After` to its adaptive rate, one without to its
        window, any other answer below 500 to both as a request delivered, and a 5xx
        to the window as a request admitted (it counted against the window too)."""
        group = self.group(operation)
        now = self.clock()
        if status == 429:
            group.throttles += 1
            self.ceiling.throttles += 1
            if retry_after(headers, datetime.now(UTC)) is not None:
                group.adaptive.on_throttle(now)
            else:
                group.gate.on_throttle(sent_at, self.wall())
        elif status < 500:
            group.adaptive.on_success(now)
            group.gate.on_success(sent_at)
        else:  # not a throttle: the limit let it through and it counted in its window
            group.gate.on_success(sent_at)
