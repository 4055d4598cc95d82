"""The only module that imports aiohttp: send a built `Request`, map aiohttp's errors.

Redirects are never followed (they would carry credentials elsewhere), TLS is
verified unless the caller passes its own `ssl.SSLContext`, and bodies are read up
to a cap (after decompression) so a misbehaving proxy cannot exhaust memory.

Requests wait for one of `max_connections` slots *before* aiohttp's timeout starts:
time spent queueing behind a busy pool is not a network failure, and counting it
would turn a large batch's queue into spurious (and, for a create, ambiguous)
timeouts.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Mapping
from typing import Any

import aiohttp

from .. import errors
from .._sansio.config import Timeout
from .._sansio.wire import Request
from .base import MAX_BODY_BYTES, InFlight, not_sent

__all__ = ["MAX_BODY_BYTES", "AiohttpTransport"]


class AiohttpTransport(InFlight):
    """Owns (or borrows) one aiohttp session with one pooled connector."""

    def __init__(
        self,
        *,
        session: aiohttp.ClientSession | None,
        timeout: Timeout,
        max_connections: int,
        ssl_context: ssl.SSLContext | None,
    ) -> None:
        super().__init__()
        self._session = session
        self._owns_session = session is None
        self._ssl: ssl.SSLContext | bool = ssl_context if ssl_context is not None else True
        self._timeout = aiohttp.ClientTimeout(total=timeout.total, connect=timeout.connect)
        self._closed = False
        self._slots = asyncio.Semaphore(max_connections)
        # Our session carries our timeout and TLS settings; a caller's session gets them
        # on every request instead, and its raise_for_status is overridden: we map
        # statuses ourselves, and aiohttp's exception would carry our headers.
        self._request_options: dict[str, Any] = {"allow_redirects": False}
        if session is not None:
            self._request_options["timeout"] = self._timeout
            self._request_options["raise_for_status"] = False
            if ssl_context is not None:
                self._request_options["ssl"] = ssl_context

    def _get_session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise errors.ClientClosedError("the client is closed")
        if self._session is not None and self._session.closed:
            raise errors.InvalidRequestError("session", "the aiohttp session passed in is closed")
        if self._session is None:
            # Created lazily, inside the running loop, as aiohttp requires.
            # The slots bound concurrency; the connector's own limit would queue inside
            # the timeout.
            connector = aiohttp.TCPConnector(limit=0, ssl=self._ssl)
            self._session = aiohttp.ClientSession(
                connector=connector, timeout=self._timeout, auto_decompress=True
            )
        return self._session

    async def send(
        self, request: Request, ends: float | None = None
    ) -> tuple[int, Mapping[str, str], bytes]:
        """One attempt: status, headers and (capped) body, or a `TransportError`.

        `ends` (a `time.monotonic()` instant, the call's deadline) shortens this
        attempt's timeout, never lengthens it; it is measured once a connection slot
        is ours, and a request whose time ran out while queueing is not sent at all."""
        session = self._get_session()
        slots = self._slots
        if ends is None:
            await slots.acquire()
        else:
            try:
                async with asyncio.timeout(max(0.0, ends - time.monotonic())):
                    await slots.acquire()
            except TimeoutError:
                raise not_sent(request) from None
        try:
            options = self._request_options
            timeout = self._timeout
            if ends is not None:
                limit = ends - time.monotonic()
                if limit <= 0:
                    raise not_sent(request)
                if timeout.total is None or limit < timeout.total:
                    connect = limit if timeout.connect is None else min(timeout.connect, limit)
                    timeout = aiohttp.ClientTimeout(total=limit, connect=connect)
                    options = {**options, "timeout": timeout}
            try:
                async with session.request(
                    request.method,
                    request.url,
                    headers=request.headers,
                    data=request.body,
                    **options,
                ) as response:
                    length = response.content_length  # of the encoded body, if compressed
                    if (
                        length is not None
                        and length <= MAX_BODY_BYTES
                        and "Content-Encoding" not in response.headers
                    ):
                        body = await response.read()
                    else:
                        body = await _read_capped(response)
                    return response.status, response.headers, body
            except aiohttp.ClientHttpProxyError as exc:  # nothing reached Stytch
                failure: errors.TransportError = errors.ConnectError(
                    f"{request.operation}: the proxy refused the connection (status {exc.status})"
                )
            except (aiohttp.ConnectionTimeoutError, aiohttp.ClientConnectorError) as exc:
                failure = errors.ConnectError(
                    f"{request.operation}: could not connect ({type(exc).__name__})"
                )
            except (TimeoutError, aiohttp.ServerTimeoutError):
                failure = errors.RequestTimeoutError(
                    f"{request.operation}: no response within {timeout.total:g} s"
                )
            except aiohttp.ClientResponseError as exc:
                failure = errors.TransportError(
                    f"{request.operation}: the response could not be read "
                    f"({type(exc).__name__}, status {exc.status})"
                )
            except aiohttp.ClientError as exc:
                failure = errors.TransportError(
                    f"{request.operation}: the connection failed after the request was sent "
                    f"({type(exc).__name__})"
                )
            # aiohttp's error is neither the cause nor the context of ours: its traceback
            # runs through frames whose locals hold our request headers (credentials,
            # sessions), and a ClientResponseError's request_info holds them too.
            raise failure
        finally:
            slots.release()

    async def aclose(self) -> None:
        """Close the session if we created it; a caller's session is left open."""
        self._closed = True
        if self._owns_session and self._session is not None:
            session, self._session = self._session, None
            await session.close()


async def _read_capped(response: aiohttp.ClientResponse) -> bytes:
    """Read a body of unknown or excessive length up to the cap (inlined for the
    common case: one coroutine frame fewer on every wake-up)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(65536):
        chunks.append(chunk)
        size += len(chunk)
        if size >= MAX_BODY_BYTES:
            break
    return b"".join(chunks)[:MAX_BODY_BYTES]
