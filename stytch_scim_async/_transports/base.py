"""The seam under the engine: what a transport does, and the call counting every
transport shares (so `aclose()` can wait for the calls in flight)."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

from .. import errors

if TYPE_CHECKING:
    from .._sansio.config import Timeout
    from .._sansio.wire import Request

__all__ = ["MAX_BODY_BYTES", "InFlight", "Reply", "Transport", "not_sent"]

#: The most of a response body any transport reads (after decompression).
MAX_BODY_BYTES = 1 << 20

Reply = tuple[int, Mapping[str, str], bytes]
"""An attempt's answer: status, headers and body."""


class Transport(Protocol):
    """What the engine needs of the I/O: one attempt at a time, and a count of the calls
    in flight that `aclose()` waits for."""

    #: Calls (not attempts) in flight on every client sharing this transport.
    calls: int
    #: Set by the client's aclose(): new calls are refused, those in flight finish.
    closing: bool

    async def send(
        self, request: Request, ends: float | None = None, attempt_timeout: Timeout | None = None
    ) -> Reply:
        """One attempt: status, headers and body, or a `TransportError`. `attempt_timeout`
        is the attempt's, the calling client view's (None: the transport's own); `ends`
        (a `time.monotonic()` instant, the call's deadline) shortens it."""
        ...

    def call_ended(self) -> None:
        """Count a call out."""
        ...

    async def drain(self) -> None:
        """Wait until no call is in flight."""
        ...

    async def aclose(self) -> None:
        """Release what the transport owns; later sends fail."""
        ...


class InFlight:
    """The calls in flight and the wait for none to be: every transport's."""

    def __init__(self) -> None:
        #: Set by the client's aclose(): new calls are refused, those in flight finish.
        self.closing = False
        #: Calls (not attempts) in flight on every client sharing this transport.
        self.calls = 0
        self._idle: asyncio.Event | None = None

    def call_ended(self) -> None:
        """Count a call out; wake every `drain` when none is left."""
        self.calls -= 1
        if not self.calls and self._idle is not None:
            self._idle.set()
            self._idle = None

    async def drain(self) -> None:
        """Wait until no call is in flight (each is bounded by its own timeouts).

        Every concurrent caller waits on the same event."""
        while self.calls:
            if self._idle is None:
                self._idle = asyncio.Event()
            await self._idle.wait()


def not_sent(request: Request) -> errors.RequestTimeoutError:
    """The error of an attempt whose call's deadline passed before it could be sent."""
    return errors.RequestTimeoutError(
        f"{request.operation}: the call's deadline passed before the request could be "
        "sent; nothing was sent",
        sent=False,
    )
