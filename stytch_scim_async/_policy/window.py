"""A fixed window learnt from 429s that carry no `Retry-After`.

Stytch counts requests over fixed intervals aligned to the clock and promises no
`Retry-After`: once an endpoint's allowance for the interval is spent, every request
is refused until the next boundary, where the whole allowance is back at once. So
pacing evenly is the wrong answer (it wastes the start of each window and still
collides with its end); what converges is to learn the window and its allowance:

- a 429 closes the gate until the next boundary of the window guessed so far
  (1 second at first), a multiple of it in Unix time, as Stytch aligns them;
- the first sends after a boundary not yet confirmed are probes, a few at a time:
  a success confirms the window, a 429 on a request sent after the boundary proves
  the window is longer, and the guess moves up a ladder of clock-aligned lengths
  (1, 5, 10, 30, 60 s, … up to an hour), each a multiple of the one before, so
  that a window between two rungs is still served, at the pace of the longer one;
  few rungs, because each failed probe costs one call an attempt;
- the successes of a window that ended in a 429 are its allowance: later windows
  admit that many sends and one more (a probe that notices a raised limit), then
  wait for the boundary instead of collecting 429s; a window whose every admitted
  send succeeded raises the allowance by an eighth;
- a gate with no 429 for `FORGET` windows (a minute at least) forgets the
  allowance and steps aside, keeping the window length it learnt: what it knew may
  be stale (another client of the project has stopped), and a client that is not
  throttled should not pay for pacing.

A pure state machine: the caller passes the wall-clock time (`time.time()`), since
the windows are aligned to it.
"""

from __future__ import annotations

import math

import attrs

__all__ = ["LADDER", "WindowGate"]

#: Window lengths tried in turn, each a multiple of the one before and a divisor of
#: the hour (Stytch's intervals are aligned to the top of the hour).
LADDER = (1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 600.0, 1800.0, 3600.0)

#: Windows without a 429 after which the gate forgets the allowance (see above).
FORGET = 10

#: Sent this long after a boundary: a request that arrives just before it would count
#: against the window that is ending.
MARGIN = 0.005


class _Count:
    """One window's sends, successes and whether it ended in a 429."""

    __slots__ = ("sent", "succeeded", "throttled")

    def __init__(self) -> None:
        self.sent = self.succeeded = 0
        self.throttled = False


@attrs.define(on_setattr=attrs.setters.NO_OP)
class WindowGate:
    """One endpoint group's learnt fixed window: when a send may go, by the wall clock."""

    window: float = LADDER[0]
    #: Sends admitted per window (None: not learnt yet, no cap).
    allowance: int | None = None
    #: No send before this time: the boundary a 429 closed the gate until.
    closed_until: float = -math.inf
    #: Whether the window length is confirmed: a send after a boundary it predicted
    #: succeeded.
    trusted: bool = False
    _opened: bool = False  # a send after `closed_until` succeeded
    _next_probe: float = -math.inf
    _last_throttle: float = -math.inf
    #: The current window's counts and the one before's (replies come late), by index.
    _counts: dict[int, _Count] = attrs.field(factory=dict)

    @property
    def active(self) -> bool:
        """Whether the gate can hold a send back at all (cheap to ask on every send)."""
        return self.closed_until != -math.inf

    def _count(self, at: float) -> _Count | None:
        """The counts of the window `at` falls in; None for one already forgotten."""
        index = math.floor(at / self.window)
        counts = self._counts
        count = counts.get(index)
        if count is not None:
            return count
        if counts and index < max(counts):
            return None
        previous = counts.get(index - 1)
        allowance = self.allowance
        if (
            previous is not None
            and allowance is not None
            and previous.sent >= allowance
            and not previous.throttled
            and previous.succeeded >= previous.sent
        ):  # every admitted send got through: the limit may have been raised
            self.allowance = allowance + max(1, allowance // 8)
        self._counts = {index - 1: previous} if previous is not None else {}
        count = self._counts[index] = _Count()
        return count

    def _boundary(self, now: float) -> float:
        return (math.floor(now / self.window) + 1) * self.window + MARGIN

    def _probing(self) -> bool:
        return self.active and not self.trusted and not self._opened

    def delay(self, now: float) -> float:
        """Seconds until a send may go (nothing is claimed)."""
        if self.active and now - self._last_throttle > max(60.0, FORGET * self.window):
            self.allowance, self.closed_until, self._counts = None, -math.inf, {}
            return 0.0
        if now < self.closed_until:
            return self.closed_until - now
        if self._probing():
            return max(0.0, self._next_probe - now)
        if self.allowance is not None:
            count = self._count(now)
            if count is not None and count.sent >= self.allowance:
                return self._boundary(now) - now
        return 0.0

    def admit(self, now: float) -> None:
        """Count a send going out at `now`."""
        count = self._count(now)
        if count is not None:
            count.sent += 1
        if self._probing():
            self._next_probe = now + self.window / 100

    def on_success(self, sent_at: float) -> None:
        """A request sent at `sent_at` succeeded."""
        if self.active and sent_at >= self.closed_until:
            self._opened = self.trusted = True
        count = self._count(sent_at)
        if count is None:
            return
        count.succeeded += 1
        if count.throttled and self.allowance is not None:  # late news of that window
            self.allowance = max(self.allowance, count.succeeded + 1)

    def on_throttle(self, sent_at: float, now: float) -> None:
        """A request sent at `sent_at` was answered 429 (no Retry-After) at `now`."""
        if sent_at < self.closed_until:
            return  # sent before the gate closed: that 429 is already accounted for
        if self.active and not self._opened:
            # Sent after the boundary waited for, and nothing sent since got through:
            # the window did not start again there. It is longer.
            longer = [w for w in LADDER if w > self.window]
            if longer:
                self.window, self.trusted, self._counts = longer[0], False, {}
        else:
            count = self._count(sent_at)
            if count is not None:
                count.throttled = True
                self.allowance = count.succeeded + 1
        self.closed_until = self._boundary(now)
        self._opened = False
        self._last_throttle = now
