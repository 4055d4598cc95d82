"""aiohttp's failures become our errors; nothing from aiohttp reaches a caller."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from aioresponses import aioresponses

import stytch_scim_async as scim
from stytch_scim_async._transports.aiohttp import AiohttpTransport
from tests.support.sleeps import SleepRecorder

BASE = "https://test.stytch.com"
URL = re.compile(r"^https://test\.stytch\.com/v1/b2b/scim/org-1/connection$")


@pytest.fixture
async def client(fast_retry: scim.RetryPolicy) -> AsyncIterator[scim.SCIMClient]:
    async with scim.SCIMClient("project-test-1", "secret-test-1", retry=fast_retry) as c:
        yield c


@pytest.mark.parametrize(
    ("exc", "expected"),
    [
        (aiohttp.ClientConnectorError(None, OSError(111, "refused")), scim.ConnectError),  # type: ignore[arg-type]
        (aiohttp.ConnectionTimeoutError(), scim.ConnectError),
        (aiohttp.ServerDisconnectedError(), scim.TransportError),
        (aiohttp.ClientPayloadError("cut"), scim.TransportError),
        (aiohttp.ClientOSError(104, "reset"), scim.TransportError),
        (aiohttp.SocketTimeoutError(), scim.RequestTimeoutError),
        (TimeoutError(), scim.RequestTimeoutError),
    ],
)
async def test_aiohttp_errors_are_mapped(
    client: scim.SCIMClient,
    exc: Exception,
    expected: type[scim.StytchSCIMError],
    sleeps: SleepRecorder,
) -> None:
    with aioresponses() as mocked:
        for _ in range(3):
            mocked.get(URL, exception=exc)
        with pytest.raises(expected) as info:
            await client.get_connection("org-1")
    assert type(info.value) is expected
    assert info.value.attempts == 3
    # aiohttp's error is not chained: its frames' locals hold our request headers.
    chained: BaseException | None = info.value.__cause__ or info.value.__context__
    while chained is not None:
        assert isinstance(chained, scim.StytchSCIMError), chained
        chained = chained.__cause__ or chained.__context__
    assert type(exc).__name__ in str(info.value) or expected is scim.RequestTimeoutError
    assert len(sleeps.delays) == 2


async def test_a_response_error_never_carries_our_request_headers(
    client: scim.SCIMClient,
) -> None:
    from multidict import CIMultiDict, CIMultiDictProxy
    from yarl import URL as YURL

    sent = CIMultiDictProxy(CIMultiDict({"Authorization": "Basic c2VjcmV0LXRlc3QtMQ=="}))
    info = aiohttp.RequestInfo(YURL(BASE), "GET", sent, YURL(BASE))
    exc = aiohttp.ClientResponseError(info, (), status=502, message="bad")
    with aioresponses() as mocked:
        mocked.get(URL, exception=exc)
        with pytest.raises(scim.TransportError) as raised:
            await scim.SCIMClient.with_retry(client, scim.RetryPolicy.disabled()).get_connection(
                "org-1"
            )
    assert raised.value.__cause__ is None and raised.value.__context__ is None
    assert "c2VjcmV0" not in repr(raised.value) and "502" in str(raised.value)


async def test_base_url_is_inferred_from_the_credentials() -> None:
    async with scim.SCIMClient("project-live-1", "s") as live:
        assert live.base_url == "https://api.stytch.com"
    async with scim.SCIMClient("project-test-1", "s") as test:
        assert test.base_url == BASE
    async with scim.MemberSCIMClient("public-token-live-1", "t") as member:
        assert member.base_url == "https://api.stytch.com"
    async with scim.MemberSCIMClient("public-token-test-1", "t") as member:
        assert member.base_url == BASE


# -- against a small aiohttp.web app on 127.0.0.1 ----------------------------------


class Recorder:
    """A tiny server that answers what a test sets and records what it saw."""

    def __init__(self) -> None:
        self.seen: list[web.Request] = []
        self.status = 200
        self.body = b'{"request_id": "r", "status_code": 200}'
        self.headers: dict[str, str] = {}
        self.chunked = False

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append(request)
        if not self.chunked:
            return web.Response(status=self.status, body=self.body, headers=self.headers)
        response = web.StreamResponse(status=self.status)
        response.enable_chunked_encoding()
        await response.prepare(request)
        for start in range(0, len(self.body), 1 << 16):
            await response.write(self.body[start : start + (1 << 16)])
        await response.write_eof()
        return response


@pytest.fixture
async def server() -> AsyncIterator[tuple[Recorder, str]]:
    recorder = Recorder()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", recorder.handle)
    async with TestServer(app, host="127.0.0.1") as test_server:
        yield recorder, str(test_server.make_url("")).rstrip("/")


async def test_headers_and_path_prefix(server: tuple[Recorder, str]) -> None:
    recorder, url = server
    async with scim.SCIMClient("project-test-1", "secret-test-1", base_url=url + "/prefix/") as c:
        await c.get_connection("org-1", member_session_token="sess", member_session_jwt="jwt")
    (request,) = recorder.seen
    assert request.path == "/prefix/v1/b2b/scim/org-1/connection"
    headers = request.headers
    assert headers["Authorization"] == "Basic cHJvamVjdC10ZXN0LTE6c2VjcmV0LXRlc3QtMQ=="
    assert headers["User-Agent"] == f"stytch-scim-async/{scim.__version__}"
    assert headers["X-Stytch-Member-Session"] == "sess"
    assert headers["X-Stytch-Member-SessionJWT"] == "jwt"


async def test_redirects_are_not_followed(server: tuple[Recorder, str]) -> None:
    recorder, url = server
    recorder.status, recorder.body = 307, b""
    recorder.headers = {"Location": url + "/elsewhere"}
    async with scim.SCIMClient("project-test-1", "s", base_url=url) as c:
        with pytest.raises(scim.APIStatusError) as info:
            await c.get_connection("org-1")
    assert info.value.status_code == 307
    assert len(recorder.seen) == 1


@pytest.mark.parametrize("chunked", [False, True])
async def test_a_huge_body_is_capped(server: tuple[Recorder, str], chunked: bool) -> None:
    recorder, url = server
    recorder.status, recorder.body = 500, b"x" * (3 << 20)
    recorder.chunked = chunked
    policy = scim.RetryPolicy.disabled()
    async with scim.SCIMClient("project-test-1", "s", base_url=url, retry=policy) as c:
        with pytest.raises(scim.ServerError) as info:
            await c.get_connection("org-1")
    assert len(info.value.body_excerpt) == 200


async def test_tls_is_verified_unless_a_context_is_given() -> None:
    import ssl

    async with scim.SCIMClient("project-test-1", "s") as default:
        assert isinstance(default._transport, AiohttpTransport)  # the default transport
        assert default._transport._ssl is True
        session = default._transport._get_session()
        assert session.connector is not None
        assert session.connector._ssl is True  # type: ignore[attr-defined]
    context = ssl.create_default_context()
    async with scim.SCIMClient("project-test-1", "s", ssl_context=context) as custom:
        assert isinstance(custom._transport, AiohttpTransport)
        session = custom._transport._get_session()
        assert session.connector._ssl is context  # type: ignore[union-attr]
        assert context.verify_mode is ssl.CERT_REQUIRED


async def test_a_compressed_body_is_capped_after_decompression(
    server: tuple[Recorder, str],
) -> None:
    import gzip
    import tracemalloc

    recorder, url = server
    # 64 MiB of JSON whitespace that travels as ~64 KiB: Content-Length is no guide.
    recorder.body = gzip.compress(b"{" + b" " * (64 << 20) + b"}")
    recorder.headers = {"Content-Encoding": "gzip", "Content-Type": "application/json"}
    policy = scim.RetryPolicy.disabled()
    async with scim.SCIMClient("project-test-1", "s", base_url=url, retry=policy) as c:
        tracemalloc.start()
        try:
            with pytest.raises(scim.ResponseDecodeError) as info:
                await c.get_connection("org-1")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert info.value.status_code == 200
    assert peak < 16 << 20


async def test_queueing_for_a_connection_is_not_a_timeout() -> None:
    import asyncio

    active = peak = 0

    async def slow(request: web.Request) -> web.Response:
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.2)
        active -= 1
        return web.json_response({"request_id": "r", "status_code": 200})

    app = web.Application()
    app.router.add_get("/{tail:.*}", slow)
    policy = scim.RetryPolicy.disabled()
    async with TestServer(app, host="127.0.0.1") as test_server:
        url = str(test_server.make_url("")).rstrip("/")
        async with scim.SCIMClient(
            "project-test-1", "s", base_url=url, retry=policy, timeout=0.5, max_connections=2
        ) as c:
            # Eight calls through two connections take ~0.8 s, each exchange 0.2 s:
            # only the exchange counts against the 0.5 s attempt timeout.
            results = await asyncio.gather(*(c.get_connection(f"org-{i}") for i in range(8)))
    assert len(results) == 8
    assert peak == 2


async def test_a_callers_session_settings_do_not_change_error_mapping(
    server: tuple[Recorder, str],
) -> None:
    recorder, url = server
    recorder.status = 404
    recorder.body = b'{"status_code": 404, "error_type": "organization_not_found"}'
    policy = scim.RetryPolicy.disabled()
    async with aiohttp.ClientSession(raise_for_status=True) as session:
        c = scim.SCIMClient("project-test-1", "s", base_url=url, retry=policy, session=session)
        with pytest.raises(scim.NotFoundError) as info:
            await c.get_connection("org-1", member_session_token="member-session-secret")
        await c.aclose()
        assert not session.closed  # the caller's, so left open
    assert info.value.error_type == "organization_not_found"
    closed = aiohttp.ClientSession()
    await closed.close()
    c = scim.SCIMClient("project-test-1", "s", base_url=url, session=closed)
    with pytest.raises(scim.InvalidRequestError) as refused:
        await c.get_connection("org-1")
    assert refused.value.argument == "session"
