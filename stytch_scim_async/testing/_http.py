"""The emulator's own HTTP/1.1 server, straight on asyncio's transports.

aiohttp's server costs more CPU per request than the fake's own work. This one
parses only what the emulator needs (`_http_parse`), answers a request that needs
no wait inside ``data_received`` (no task per request), and keeps pipelined answers
in order: a request that must wait (latency, a stall) holds back the ones after it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Final

from ._http_parse import MAX_BODY, MAX_HEAD, HttpError, Request, parse_request, response_head
from ._wire import FakeResponse

__all__ = ["HttpServer"]

_log: Final = logging.getLogger("stytch_scim_async.testing")
_CONTINUE: Final = b"HTTP/1.1 100 Continue\r\n\r\n"
_READ_AHEAD: Final = MAX_HEAD + MAX_BODY  # buffered while a request waits, then reading pauses
_INTERNAL_ERROR: Final = FakeResponse(
    500, b"500 Internal Server Error\n\nServer got itself in trouble", "text/plain"
)

Answer = Callable[[Request], FakeResponse]
"""Turns a parsed request into the fake's answer (synchronously)."""
Pause = Callable[[float], Awaitable[bool]]
"""Waits up to some seconds; False if the emulator started closing meanwhile."""


class HttpServer:
    """Serves ``answer`` on one listening address; `close` ends every connection."""

    def __init__(self, answer: Answer, pause: Pause, shutdown_timeout: float) -> None:
        self.answer = answer
        """What answers each request."""
        self.pause = pause
        """What a delayed or stalled answer waits with."""
        self.connections: set[_Connection] = set()
        """The open connections."""
        self._shutdown_timeout = shutdown_timeout
        self._server: asyncio.Server | None = None
        self._all_closed: asyncio.Future[None] | None = None

    async def start(self, host: str, port: int) -> int:
        """Listen on ``host:port``; returns the port bound (``port`` 0: a free one)."""
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(lambda: _Connection(self), host, port, backlog=128)
        bound: int = self._server.sockets[0].getsockname()[1]
        return bound

    async def close(self) -> None:
        """Stop listening and close every connection; after the shutdown timeout the
        ones still flushing are aborted."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        for connection in list(self.connections):
            connection.shutdown()
        if self.connections:
            self._all_closed = asyncio.get_running_loop().create_future()
            try:
                await asyncio.wait_for(asyncio.shield(self._all_closed), self._shutdown_timeout)
            except TimeoutError:
                for connection in list(self.connections):
                    connection.abort()
                await self._all_closed
        await server.wait_closed()

    def forget(self, connection: _Connection) -> None:
        """Called when a connection is lost."""
        self.connections.discard(connection)
        closed = self._all_closed
        if not self.connections and closed is not None and not closed.done():
            closed.set_result(None)


class _Connection(asyncio.Protocol):
    """One client connection: parses requests in order and answers each."""

    def __init__(self, server: HttpServer) -> None:
        self._server = server
        self._transport: asyncio.Transport | None = None
        self._buffer = b""
        self._waiting: asyncio.Task[None] | None = None  # the answer being held back
        self._done = False  # no further request is read: closing, closed or lost
        self._write_paused = False
        self._read_paused = False
        self._continued = False

    # -- asyncio's callbacks -------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport
        self._server.connections.add(self)

    # An end of file from the client closes the connection (asyncio's default, as
    # aiohttp's): a waiting answer's client is taken to be gone, and it is cancelled.

    def data_received(self, data: bytes) -> None:
        if self._done:
            return
        self._buffer = self._buffer + data if self._buffer else data
        if self._waiting is None and not self._write_paused:
            self._serve()
        elif len(self._buffer) > _READ_AHEAD and not self._read_paused:
            assert self._transport is not None
            self._transport.pause_reading()
            self._read_paused = True

    def pause_writing(self) -> None:
        self._write_paused = True

    def resume_writing(self) -> None:
        self._write_paused = False
        if self._waiting is None and not self._done:
            self._serve()

    def connection_lost(self, exc: Exception | None) -> None:
        self._done = True
        self._buffer = b""
        if self._waiting is not None:
            self._waiting.cancel()  # the client went away: its handler is cancelled
        self._server.forget(self)

    # -- what the server asks ------------------------------------------------------

    def shutdown(self) -> None:
        """Close now unless an answer is waiting (the emulator's close wakes it: dropped)."""
        if self._waiting is None:
            self._close()
        else:
            self._done = True

    def abort(self) -> None:
        """Close without flushing."""
        self._done = True
        if self._waiting is not None:
            self._waiting.cancel()
        if self._transport is not None:
            self._transport.abort()

    # -- serving -------------------------------------------------------------------

    def _serve(self) -> None:
        """Answer every complete request buffered, in order, until one must wait."""
        while self._buffer and not self._done and not self._write_paused:
            buffer = self._buffer.lstrip(b"\r\n")  # stray CRLFs between requests
            try:
                parsed = parse_request(buffer)
            except HttpError as exc:
                self._buffer = b""
                self._refuse(exc)
                return
            if isinstance(parsed, str):
                self._buffer = buffer
                if parsed == "continue" and not self._continued:
                    self._continued = True
                    self._write(_CONTINUE)
                break
            request, consumed = parsed
            self._buffer = buffer[consumed:]
            self._continued = False
            try:
                answer = self._server.answer(request)
            except Exception:
                _log.exception("the emulator failed to answer %s %s", request.method, request.path)
                self._respond(request, _INTERNAL_ERROR, keep_alive=False)
                return
            if answer.delay > 0.0 or answer.action == "stall":
                self._waiting = asyncio.get_running_loop().create_task(
                    self._answer_later(request, answer)
                )
                return
            self._carry_out(request, answer)
        if self._read_paused and len(self._buffer) <= _READ_AHEAD and not self._done:
            assert self._transport is not None
            self._transport.resume_reading()
            self._read_paused = False

    async def _answer_later(self, request: Request, answer: FakeResponse) -> None:
        pause = self._server.pause
        proceed = True
        if answer.delay > 0.0:
            proceed = await pause(answer.delay)
        if proceed and answer.action == "stall":
            proceed = await pause(answer.stall_seconds)
        self._waiting = None
        if not proceed or self._done:
            self._close()  # the emulator is closing: the request is dropped
            return
        self._carry_out(request, answer)
        if not self._done and not self._write_paused:
            self._serve()

    def _carry_out(self, request: Request, answer: FakeResponse) -> None:
        if answer.action == "drop":
            # Close the connection without a byte of response: the client sees the
            # server disconnect.
            self._close()
            return
        self._respond(request, answer, keep_alive=request.keep_alive)

    def _respond(self, request: Request, answer: FakeResponse, *, keep_alive: bool) -> None:
        body = answer.body
        head = response_head(
            request.minor, answer.status, answer.content_type, len(body), answer.headers, keep_alive
        )
        self._write(head if request.method == "HEAD" else head + body)
        if not keep_alive:
            self._close()

    def _refuse(self, error: HttpError) -> None:
        body = error.message.encode()
        head = response_head(1, error.status, "text/plain; charset=utf-8", len(body), {}, False)
        self._write(head + body)
        self._close()

    def _write(self, data: bytes) -> None:
        transport = self._transport
        if transport is not None and not transport.is_closing():
            transport.write(data)

    def _close(self) -> None:
        self._done = True
        self._buffer = b""
        if self._transport is not None:
            self._transport.close()
