"""A first-come-first-served gate of N slots whose free slot is taken without awaiting.

`asyncio.Semaphore` and `asyncio.Lock` cost a coroutine per acquire even when nothing
waits; on the hot path (every request takes a connection slot, every create its
organization's lock) nothing usually does. `take()` is a counter decrement; only a
caller that finds no slot free awaits `wait()`, and a release hands its slot straight
to the oldest waiter, so a slot is never taken from under a queue.
"""

from __future__ import annotations

import asyncio
from collections import deque

__all__ = ["Slots"]


class Slots:
    """`free` slots now; waiters queue in order and are handed slots as they free up."""

    __slots__ = ("_waiters", "free")

    def __init__(self, count: int) -> None:
        self.free = count
        self._waiters: deque[asyncio.Future[None]] | None = None

    def take(self) -> bool:
        """Take a free slot at once; False when none is free (then `await wait()`)."""
        if self.free > 0:
            self.free -= 1
            return True
        return False

    @property
    def waiting(self) -> int:
        """Callers waiting for a slot (cancelled ones may linger until a release)."""
        return 0 if self._waiters is None else len(self._waiters)

    async def wait(self) -> None:
        """Wait until a release hands this caller a slot. Cancelled, it takes none: a
        slot handed over at that very moment is passed on to the next waiter."""
        waiter = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = deque()
        self._waiters.append(waiter)
        try:
            await waiter
        except asyncio.CancelledError:
            if waiter.done() and not waiter.cancelled():
                self.release()  # ours already: give it to the next in line
            raise

    def release(self) -> None:
        """Give a slot back: to the oldest live waiter, or to the free count."""
        waiters = self._waiters
        while waiters:
            waiter = waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return
        self.free += 1
