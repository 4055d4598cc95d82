"""Serve `FakeStytch` over real HTTP on 127.0.0.1.

The server reads a request, asks the fake, waits the decided latency and carries
out the response's action: write it, close the connection without an answer
(``drop``), or wait before writing (``stall``). Waits end early when the emulator
closes, and the wait is cancelled when the client goes away. The emulator's own
server (`_http`) does it by default; aiohttp's (``server="aiohttp"``) on request.
"""

from __future__ import annotations

import asyncio
import ipaddress
import time
from collections import deque
from collections.abc import Callable, Mapping
from types import MappingProxyType, TracebackType
from typing import Literal, Protocol

from ._fake import FakeStytch
from ._faults import Faults
from ._helpers import EmulatorHelpers
from ._http import HttpServer
from ._http_parse import Request, query_of
from ._settings import Settings
from ._state import EmulatorState
from ._stats import RequestLogEntry, Stats
from ._wire import FakeResponse

__all__ = ["ServerKind", "StytchEmulator"]

_NO_QUERY: Mapping[str, str] = MappingProxyType({})

ServerKind = Literal["lean", "aiohttp"]
"""Which HTTP server serves the fake: the emulator's own (``lean``) or aiohttp's."""


class _Server(Protocol):
    async def start(self, host: str, port: int) -> int: ...

    async def close(self) -> None: ...


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
    ``server`` picks the HTTP server (the emulator's own by default; ``"aiohttp"``
    answers the same, at several times the CPU per request).
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
        server: ServerKind = "lean",
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
        if server not in ("lean", "aiohttp"):
            raise ValueError(f"server must be 'lean' or 'aiohttp', not {server!r}")
        self._server_kind: ServerKind = server
        self._shutdown_timeout = shutdown_timeout
        self._runner: _Server | None = None
        self._closing = False
        self._waiters: set[asyncio.Future[bool]] = set()
        self._base_url: str | None = None

    # -- lifecycle -----------------------------------------------------------------

    async def start(self) -> StytchEmulator:
        """Bind and start serving; returns ``self`` so it can be chained."""
        if self._runner is not None:
            raise RuntimeError("the emulator is already running")
        self._closing = False
        runner: _Server
        if self._server_kind == "aiohttp":
            from ._aiohttp_server import AiohttpServer

            runner = AiohttpServer(self.fake.handle, self._pause, self._shutdown_timeout)
        else:
            runner = HttpServer(self._answer, self._pause, self._shutdown_timeout)
        port = await runner.start(self._host, self._port)
        self._runner = runner
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
        await runner.close()

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

    def _answer(self, request: Request) -> FakeResponse:
        # Most requests carry no query string: they skip building its multidict.
        query = query_of(request.query_string) if request.query_string else _NO_QUERY
        return self.fake.handle(request.method, request.path, query, request.headers, request.body)
