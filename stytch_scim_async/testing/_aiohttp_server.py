"""Serve the fake with aiohttp's low-level server (``StytchEmulator(server="aiohttp")``).

The emulator's own server (`_http`) is the default, being several times cheaper per
request; this one stays selectable as a reference for the HTTP behaviour.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType

from aiohttp import web

from ._http import Pause
from ._wire import FakeResponse

__all__ = ["AiohttpServer"]

_NO_QUERY: Mapping[str, str] = MappingProxyType({})

Handle = Callable[[str, str, Mapping[str, str], Mapping[str, str], bytes], FakeResponse]
"""`FakeStytch.handle`'s signature."""


class AiohttpServer:
    """Reads a request, asks the fake, waits the decided latency and carries out
    the answer's action, over ``aiohttp.web.Server``."""

    def __init__(self, handle: Handle, pause: Pause, shutdown_timeout: float) -> None:
        self._fake_handle = handle
        self._pause = pause
        self._shutdown_timeout = shutdown_timeout
        self._runner: web.ServerRunner | None = None

    async def start(self, host: str, port: int) -> int:
        """Listen on ``host:port``; returns the port bound."""
        server = web.Server(self._handle, handler_cancellation=True, access_log=None)
        runner = web.ServerRunner(server, shutdown_timeout=self._shutdown_timeout)
        await runner.setup()
        try:
            site = web.TCPSite(runner, host, port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        bound: int = runner.addresses[0][1]
        return bound

    async def close(self) -> None:
        """Stop serving; open connections are closed within the shutdown timeout."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        body = await request.read()
        url = request.rel_url
        # Most requests carry no query string: they skip building its multidict.
        query = request.query if url.raw_query_string else _NO_QUERY
        answer = self._fake_handle(request.method, url.raw_path, query, request.headers, body)
        proceed = True
        if answer.delay > 0.0:
            proceed = await self._pause(answer.delay)
        if proceed and answer.action == "stall":
            proceed = await self._pause(answer.stall_seconds)
        if not proceed or answer.action == "drop":
            # Close the connection without a byte of response: the client sees the
            # server disconnect. aiohttp then fails to write the placeholder below
            # and quietly forgets it.
            request.protocol.force_close()
            return web.Response()
        # The content type as a header: aiohttp's content_type= path parses it again.
        headers = {"Content-Type": answer.content_type}
        if answer.headers:
            headers.update(answer.headers)
        return web.Response(status=answer.status, body=answer.body, headers=headers)
