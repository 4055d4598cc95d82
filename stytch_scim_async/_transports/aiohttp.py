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
import enum
import ssl
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import aiohttp
from multidict import CIMultiDict
from yarl import URL

from .. import errors
from .._sansio.config import Timeout
from .._sansio.wire import Request, basic_auth
from .base import MAX_BODY_BYTES, InFlight, not_sent
from .slots import Slots

if TYPE_CHECKING:
    from .proxy import ProxyRoute

__all__ = ["ERRORS", "MAX_BODY_BYTES", "AiohttpTransport", "Failure", "Origin", "map_error"]


class Failure(enum.Enum):
    """What an aiohttp error says about the attempt: whether the request can have
    reached Stytch decides whether a create must be reconciled before a new POST."""

    #: No connection was made: nothing was sent (`ConnectError`).
    NO_CONNECTION = "could not connect"
    #: The proxy answered the CONNECT with an error: nothing reached Stytch.
    PROXY_REFUSED = "the proxy refused the connection"
    #: The request could not be built or addressed: nothing was sent.
    NOT_SENT = "the request could not be sent"
    #: No answer in time: the request may have reached Stytch.
    TIMED_OUT = "no response within"
    #: The connection broke after the request was (maybe partly) sent.
    BROKEN = "the connection failed after the request was sent"
    #: An answer came but could not be read.
    UNREADABLE = "the response could not be read"


#: Every exception aiohttp exports, by what it means for an attempt (an exception is
#: looked up by its class, then its bases in order). A test checks that every
#: `aiohttp.ClientError` subclass aiohttp exports has its own row, so a new one in a
#: later aiohttp release is a decision, not an accident of inheritance.
_ROWS: tuple[tuple[str, Failure], ...] = (
    ("ClientConnectorError", Failure.NO_CONNECTION),
    ("ClientConnectorDNSError", Failure.NO_CONNECTION),
    ("ClientConnectorSSLError", Failure.NO_CONNECTION),
    ("ClientConnectorCertificateError", Failure.NO_CONNECTION),
    ("ClientSSLError", Failure.NO_CONNECTION),
    ("ClientProxyConnectionError", Failure.NO_CONNECTION),
    ("ConnectionTimeoutError", Failure.NO_CONNECTION),
    ("ServerFingerprintMismatch", Failure.NO_CONNECTION),
    ("ClientHttpProxyError", Failure.PROXY_REFUSED),
    ("InvalidURL", Failure.NOT_SENT),
    ("InvalidUrlClientError", Failure.NOT_SENT),
    ("NonHttpUrlClientError", Failure.NOT_SENT),
    ("ServerTimeoutError", Failure.TIMED_OUT),
    ("SocketTimeoutError", Failure.TIMED_OUT),
    ("ClientError", Failure.BROKEN),
    ("ClientConnectionError", Failure.BROKEN),
    ("ClientConnectionResetError", Failure.BROKEN),
    ("ClientOSError", Failure.BROKEN),
    ("ServerConnectionError", Failure.BROKEN),
    ("ServerDisconnectedError", Failure.BROKEN),
    ("ClientPayloadError", Failure.BROKEN),
    ("UploadAbortedError", Failure.BROKEN),
    ("ClientResponseError", Failure.UNREADABLE),
    ("ContentTypeError", Failure.UNREADABLE),
    ("TooManyRedirects", Failure.UNREADABLE),
    ("WSServerHandshakeError", Failure.UNREADABLE),
    # Redirects are never followed; were one reported, an answer came.
    ("RedirectClientError", Failure.UNREADABLE),
    ("InvalidUrlRedirectClientError", Failure.UNREADABLE),
    ("NonHttpUrlRedirectClientError", Failure.UNREADABLE),
)
ERRORS: dict[type[BaseException], Failure] = {
    TimeoutError: Failure.TIMED_OUT,
    **{
        getattr(aiohttp, name): failure
        for name, failure in _ROWS
        if hasattr(aiohttp, name)  # older supported aiohttp releases lack a few
    },
}


def map_error(exc: BaseException, operation: str, timeout: float | None) -> errors.TransportError:
    """The library's error for aiohttp's `exc` (see `ERRORS`); it names the class
    only, never the message, which can quote a URL or a header."""
    failure = next((ERRORS[cls] for cls in type(exc).__mro__ if cls in ERRORS), Failure.BROKEN)
    name = type(exc).__name__
    text = f"{operation}: {failure.value}"
    if failure is Failure.NO_CONNECTION:
        return errors.ConnectError(f"{text} ({name})")
    if failure is Failure.PROXY_REFUSED:
        return errors.ConnectError(f"{text} (status {getattr(exc, 'status', '?')})")
    if failure is Failure.NOT_SENT:
        return errors.TransportError(f"{text} ({name}); nothing was sent", sent=False)
    if failure is Failure.TIMED_OUT:
        limit = f" {timeout:g} s" if timeout is not None else " the timeout"
        return errors.RequestTimeoutError(f"{text}{limit}")
    if failure is Failure.UNREADABLE:
        return errors.TransportError(f"{text} ({name}, status {getattr(exc, 'status', '?')})")
    return errors.TransportError(f"{text} ({name})")


class _Prepared:
    """A header mapping and its CIMultiDict (what aiohttp would build from it per
    request), in an object whose repr says nothing: they carry credentials."""

    __slots__ = ("source", "wire")

    def __init__(self, source: Mapping[str, str]) -> None:
        self.source = source
        self.wire = CIMultiDict(source)

    def __repr__(self) -> str:
        return "_Prepared(<redacted>)"


class AiohttpTransport(InFlight):
    """Owns (or borrows) one aiohttp session with one pooled connector."""

    def __init__(
        self,
        *,
        session: aiohttp.ClientSession | None,
        timeout: Timeout,
        max_connections: int,
        ssl_context: ssl.SSLContext | None,
        proxy: ProxyRoute | None = None,
        base_url: str | None = None,
    ) -> None:
        super().__init__()
        self._origin = None if base_url is None else Origin(base_url)
        self._session = session
        self._owns_session = session is None
        self._ssl: ssl.SSLContext | bool = ssl_context if ssl_context is not None else True
        #: The client's `Timeout`: a call passing another one (a view's) gets its own.
        self._base = timeout
        self._timeout = aiohttp.ClientTimeout(total=timeout.total, connect=timeout.connect)
        self._closed = False
        self._slots = Slots(max_connections)
        # The headers as aiohttp keeps them, for the last header mapping sent (the
        # client's own, on every call without Member-session headers).
        self._prepared: _Prepared | None = None
        # Our session carries our timeout and TLS settings; a caller's session gets them
        # on every request instead, and its raise_for_status is overridden: we map
        # statuses ourselves, and aiohttp's exception would carry our headers.
        self._request_options: dict[str, Any] = {"allow_redirects": False}
        if session is not None:
            self._request_options["timeout"] = self._timeout
            self._request_options["raise_for_status"] = False
            if ssl_context is not None:
                self._request_options["ssl"] = ssl_context
        if proxy is not None:  # resolved and checked by `proxy.resolve_proxy`
            self._request_options["proxy"] = proxy.url
            if proxy.user is not None and proxy.password is not None:
                # Sent on the CONNECT only (aiohttp's BasicAuth is deprecated).
                credential = basic_auth(proxy.user, proxy.password.value or "")
                self._request_options["proxy_headers"] = {"Proxy-Authorization": credential}

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
        self, request: Request, ends: float | None = None, attempt_timeout: Timeout | None = None
    ) -> tuple[int, Mapping[str, str], bytes]:
        """One attempt: status, headers and (capped) body, or a `TransportError`.

        `attempt_timeout` is the calling view's (None: the client's). `ends` (a
        `time.monotonic()` instant, the call's deadline) shortens it, never lengthens
        it; it is measured once a connection slot is ours, and a request whose time
        ran out while queueing is not sent at all."""
        session = self._get_session()
        slots = self._slots
        if not slots.take():  # a free slot is taken without awaiting
            if ends is None:
                await slots.wait()
            else:
                try:
                    async with asyncio.timeout(max(0.0, ends - time.monotonic())):
                        await slots.wait()
                except TimeoutError:
                    raise not_sent(request) from None
        try:
            options = self._request_options
            timeout = self._timeout
            own = attempt_timeout
            if own is not None and own is not self._base and own != self._base:
                timeout = aiohttp.ClientTimeout(total=own.total, connect=own.connect)
                options = {**options, "timeout": timeout}
            if ends is not None:
                limit = ends - time.monotonic()
                if limit <= 0:
                    raise not_sent(request)
                if timeout.total is None or limit < timeout.total:
                    connect = limit if timeout.connect is None else min(timeout.connect, limit)
                    timeout = aiohttp.ClientTimeout(total=limit, connect=connect)
                    options = {**options, "timeout": timeout}
            prepared = self._prepared
            if prepared is None or prepared.source is not request.headers:
                prepared = self._prepared = _Prepared(request.headers)
            try:
                # Awaited, not entered: the body is read here and the response released
                # in `finally`, one context-manager frame fewer on every wake-up.
                origin = self._origin
                response = await session.request(
                    request.method,
                    request.url if origin is None else origin.url(request.url),
                    headers=prepared.wire,
                    data=request.body,
                    **options,
                )
                try:
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
                finally:
                    response.release()
            except (aiohttp.ClientError, TimeoutError) as exc:
                failure = map_error(exc, request.operation, timeout.total)
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


class Origin:
    """The client's base URL parsed once, and each request's URL built on it.

    aiohttp parses a string URL on every request (yarl caches the parse of a URL it
    has seen, but every create names another organization): built from the parsed
    base with the path already encoded (`build_request` quotes every id), a URL costs
    a quarter of that, and one asked for again (a poll of one organization) is kept.
    Any other URL is handed over as the string it is."""

    __slots__ = ("_base", "_kept", "_length", "_parsed", "_prefix")

    #: URLs kept for their next request; once full, the others are built each time.
    KEPT = 256

    def __init__(self, base_url: str) -> None:
        self._base = base_url
        self._length = len(base_url)
        self._parsed = URL(base_url)
        self._prefix = self._parsed.raw_path.rstrip("/")
        self._kept: dict[str, URL] = {}

    def url(self, url: str) -> URL | str:
        """`url` as aiohttp will send it."""
        kept = self._kept.get(url)
        if kept is not None:
            return kept
        if not url.startswith(self._base) or "?" in url or "#" in url:
            return url
        path = self._prefix + url[self._length :]
        if not path.startswith("/"):
            return url
        built = self._parsed.with_path(path, encoded=True)
        if len(self._kept) < self.KEPT:
            self._kept[url] = built
        return built


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
