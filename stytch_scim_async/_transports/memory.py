"""A transport with no sockets: each request goes to a handler in the same process.

`MockTransport(FakeStytch().handle)` runs a client against the emulator's pure fake
(any handler with the same signature will do). The I/O-level faults the answer asks
for are carried out as the aiohttp transport would report them: ``delay`` and
``stall`` wait (and past the attempt's timeout or the call's deadline end as a
`RequestTimeoutError`), ``drop`` is a `TransportError` after the request was sent,
``truncate`` answers the cut body. Nothing here imports the emulator.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Protocol
from urllib.parse import parse_qsl, urlsplit

from .. import errors
from .base import MAX_BODY_BYTES, InFlight, Reply, not_sent

if TYPE_CHECKING:
    from .._sansio.config import Timeout
    from .._sansio.wire import Request

__all__ = ["Answer", "Handler", "MockTransport"]


class Answer(Protocol):
    """What a handler answers (the emulator's `FakeResponse` is one)."""

    @property
    def status(self) -> int: ...
    @property
    def body(self) -> bytes: ...
    @property
    def content_type(self) -> str: ...
    @property
    def headers(self) -> Mapping[str, str]: ...
    @property
    def action(self) -> str: ...
    @property
    def delay(self) -> float: ...
    @property
    def stall_seconds(self) -> float: ...


Handler = Callable[[str, str, Mapping[str, str], Mapping[str, str], bytes], Answer]
"""``(method, raw path, query, headers, body) -> Answer``, as `FakeStytch.handle`."""


class MockTransport(InFlight):
    """Sends every request to `handler`; each attempt is bounded by the calling client's
    `Timeout.total` (as an aiohttp attempt is) and by `timeout`, if given."""

    def __init__(self, handler: Handler, *, timeout: Timeout | None = None) -> None:
        super().__init__()
        self._handler = handler
        self._total = None if timeout is None else timeout.total
        self._closed = False
        #: Every request sent, in order (tests read it).
        self.requests: list[Request] = []

    async def send(
        self, request: Request, ends: float | None = None, attempt_timeout: Timeout | None = None
    ) -> Reply:
        """One attempt: the handler's answer, its faults carried out; `attempt_timeout` (the
        calling client's) bounds it, and so does the transport's own, if it has one."""
        if self._closed:
            raise errors.ClientClosedError("the client is closed")
        limit = self._total
        if attempt_timeout is not None:
            own = attempt_timeout.total
            limit = own if limit is None else min(limit, own)
        if ends is not None:
            left = ends - time.monotonic()
            if left <= 0:
                raise not_sent(request)
            limit = left if limit is None else min(limit, left)
        self.requests.append(request)
        url = urlsplit(request.url)
        answer = self._handler(
            request.method,
            url.path,
            dict(parse_qsl(url.query, keep_blank_values=True)),
            request.headers,
            request.body or b"",
        )
        wait = answer.delay + (answer.stall_seconds if answer.action == "stall" else 0.0)
        if limit is not None and wait >= limit:
            await asyncio.sleep(limit)
            raise errors.RequestTimeoutError(f"{request.operation}: no response within {limit:g} s")
        if wait > 0.0:
            await asyncio.sleep(wait)
        if answer.action == "drop":
            raise errors.TransportError(
                f"{request.operation}: the connection failed after the request was sent "
                "(ServerDisconnectedError)"
            )
        headers = {"Content-Type": answer.content_type, **answer.headers}
        return answer.status, headers, answer.body[:MAX_BODY_BYTES]

    async def aclose(self) -> None:
        """Refuse later sends."""
        self._closed = True
