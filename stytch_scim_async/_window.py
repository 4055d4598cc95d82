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
  (1, 2, 5, 10, 15, 30, 60 s, … up to an hour);
- the successes of a window that ended in a 429 are its allowance: later windows
  admit that many sends and one more (a probe that notices a raised limit), then
  wait for the boundary instead of collecting 429s; a window whose every admitted
  send succeeded raises the allowance by an eighth.

A pure state machine: the caller passes the wall-clock time (`time.time()`), since
the windows are aligned to it.
"""

from __future__ import annotations

import math

import attrs

__all__ = ["LADDER", "WindowGate"]

#: Window lengths tried in turn, each dividing the hour as Stytch's intervals do.
LADDER = (1.0, 2.0, 5.0, 10.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0)

#: Sent this long after a boundary: a request that arrives just before it would count
#: against the window that is ending.
MARGIN = 0.005


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
    _index: float = -math.inf
    _sent: int = 0
    _succeeded: int = 0
    _throttled: bool = False
    _next_probe: float = -math.inf

    @property
    def active(self) -> bool:
        """Whether the gate can hold a send back at all (cheap to ask on every send)."""
        return self.closed_until != -math.inf

    def _roll(self, now: float) -> None:
        index = math.floor(now / self.window)
        if index == self._index:
            return
        if (
            self.allowance is not None
            and self._sent >= self.allowance
            and not self._throttled
            and self._succeeded >= self._sent
        ):
            self.allowance += max(1, self.allowance // 8)
        self._index, self._sent, self._succeeded, self._throttled = index, 0, 0, False

    def _boundary(self, now: float) -> float:
        return (math.floor(now / self.window) + 1) * self.window + MARGIN

    def _probing(self) -> bool:
        return self.active and not self.trusted and not self._opened

    def delay(self, now: float) -> float:
        """Seconds until a send may go (nothing is claimed)."""
        if now < self.closed_until:
            return self.closed_until - now
        if self._probing():
            return max(0.0, self._next_probe - now)
        if self.allowance is not None:
            self._roll(now)
            if self._sent >= self.allowance:
                return self._boundary(now) - now
        return 0.0

    def admit(self, now: float) -> None:
        """Count a send going out at `now`."""
        self._roll(now)
        self._sent += 1
        if self._probing():
            self._next_probe = now + self.window / 100

    def on_success(self, sent_at: float) -> None:
        """A request sent at `sent_at` succeeded."""
        if self.active and sent_at >= self.closed_until:
            self._opened = self.trusted = True
        index = math.floor(sent_at / self.window)
        if index > self._index:  # the first news of this window (its sends were not paced)
            self._roll(sent_at)
        if index == self._index:
            self._succeeded += 1

    def on_throttle(self, sent_at: float, now: float) -> None:
        """A request sent at `sent_at` was answered 429 (no Retry-After) at `now`."""
        if sent_at < self.closed_until:
            return  # sent before the gate closed: that 429 is already accounted for
        if self.active and not self._opened:
            # Sent after the boundary waited for, and nothing sent since got through:
            # the window did not start again there. It is longer.
            longer = [w for w in LADDER if w > self.window]
            if longer:
                self.window, self._index, self.trusted = longer[0], -math.inf, False
        else:
            self._roll(now)
            if math.floor(sent_at / self.window) == self._index:  # this window's count
                self._throttled = True
                self.allowance = self._succeeded + 1
        self.closed_until = self._boundary(now)
        self._opened = False
