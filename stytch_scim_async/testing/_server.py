"""Serve `FakeStytch` over real HTTP with aiohttp, on 127.0.0.1.

The adapter reads a request, asks the fake, waits the decided latency and carries
out the response's action: write it, close the connection without an answer
(``drop``), or wait before writing (``stall``). Waits end early when the emulator
closes, and the handler is cancelled when the client goes away.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections import deque
from collections.abc import Callable, Mapping
from types import MappingProxyType, TracebackType

from aiohttp import web

from ._fake import FakeStytch
from ._faults import Faults
from ._helpers import EmulatorHelpers
from ._settings import Settings
from ._state import EmulatorState
from ._stats import RequestLogEntry, Stats

__all__ = ["StytchEmulator"]

_NO_QUERY: Mapping[str, str] = MappingProxyType({})


def _wake(waiter: asyncio.Future[bool], value: bool) -> None:
    if not waiter.done():
        waiter.set_result(value)


def _is_loopback(host: str) -> bool:
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class StytchEmulator(EmulatorHelpers):
    """A fake Stytch B2B SCIM API served on ``127.0.0.1`` for tests and demos.

    Use ``async with StytchEmulator() as emu`` (or `start`/`close`) and
    point a client at `base_url` with `project_id`/`secret`
    (backend routes) or `public_token` and `member_session` (frontend-SDK
    routes). Everything is deterministic from ``seed``; faults follow ``faults``.
    """

    def __init__(
        self,
        *,
        faults: Faults | None = None,
        settings: Settings | None = None,
        seed: int = 0,
        host: str = "127.0.0.1",
        port: int = 0,
        strict_organizations: bool = False,
        clock: Callable[[], float] = time.time,
        last_page_cursor: str | None = None,
        shutdown_timeout: float = 1.0,
    ) -> None:
        if not _is_loopback(host):
            raise ValueError(
                f"host {host!r} is not a loopback address: the emulator answers its control "
                "routes (/_tokens, /_reset) without authentication, so it serves on "
                "127.0.0.1, ::1 or localhost only"
            )
        self.fake = FakeStytch(
            faults=faults,
            settings=settings,
            seed=seed,
            strict_organizations=strict_organizations,
            clock=clock,
            base_url=f"http://{host}:{port}",
            last_page_cursor=last_page_cursor,
        )
        """The in-memory Stytch this server serves (`FakeStytch`), its state the emulator's."""
        self._host = host
        self._port = port
        self._shutdown_timeout = shutdown_timeout
        self._runner: web.ServerRunner | None = None
        self._closing = False
        self._waiters: set[asyncio.Future[bool]] = set()
        self._base_url: str | None = None

    # -- lifecycle -----------------------------------------------------------------

    async def start(self) -> StytchEmulator:
        """Bind and start serving; returns ``self`` so it can be chained."""
        if self._runner is not None:
            raise RuntimeError("the emulator is already running")
        self._closing = False
        server = web.Server(self._handle, handler_cancellation=True, access_log=None)
        runner = web.ServerRunner(server, shutdown_timeout=self._shutdown_timeout)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self._host, self._port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        port = runner.addresses[0][1]
        self._base_url = f"http://{self._host}:{port}"
        self.fake.base_url = self._base_url
        return self

    async def close(self) -> None:
        """Stop serving: stalled requests are dropped, open connections closed."""
        runner, self._runner = self._runner, None
        if runner is None:
            return
        self._closing = True
        for waiter in list(self._waiters):
            _wake(waiter, False)
        await runner.cleanup()

    async def __aenter__(self) -> StytchEmulator:
        return await self.start()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    # -- what tests read -----------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``, once started."""
        if self._base_url is None:
            raise RuntimeError("the emulator is not running; use 'async with' or start()")
        return self._base_url

    @property
    def running(self) -> bool:
        """Whether the emulator is serving."""
        return self._runner is not None

    @property
    def project_id(self) -> str:
        """The project id the backend routes accept (HTTP Basic user)."""
        return self.fake.project_id

    @property
    def secret(self) -> str:
        """The project secret the backend routes accept (HTTP Basic password)."""
        return self.fake.secret

    @property
    def public_token(self) -> str:
        """The public token the frontend-SDK routes accept (HTTP Basic user)."""
        return self.fake.public_token

    @property
    def stats(self) -> Stats:
        """Requests by route and status, commits, duplicates, rotations, faults."""
        return self.fake.stats

    @property
    def state(self) -> EmulatorState:
        """The fake's live state (organizations, connections, sessions)."""
        return self.fake.state

    @property
    def request_log(self) -> deque[RequestLogEntry]:
        """The most recent API requests: method, route, org, status, fault."""
        return self.fake.request_log

    @property
    def _core(self) -> FakeStytch:
        return self.fake

    # -- serving -------------------------------------------------------------------

    async def _pause(self, seconds: float) -> bool:
        """Sleep up to ``seconds``; False if the emulator started closing meanwhile."""
        if self._closing:
            return False
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[bool] = loop.create_future()
        timer = loop.call_later(seconds, _wake, waiter, True)
        self._waiters.add(waiter)
        try:
            return await waiter
        finally:
            timer.cancel()
            self._waiters.discard(waiter)

    async def _handle(self, request: web.BaseRequest) -> web.StreamResponse:
        body = await request.read()
        url = request.rel_url
        # Most requests carry no query string: they skip building its multidict.
        query = request.query if url.raw_query_string else _NO_QUERY
        answer = self.fake.handle(request.method, url.raw_path, query, request.headers, body)
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
