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
from tests.conftest import SleepRecorder

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
    assert info.value.__cause__ is exc
    assert len(sleeps.delays) == 2


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
        assert default._transport._ssl is True
        session = default._transport._get_session()
        assert session.connector is not None
        assert session.connector._ssl is True  # type: ignore[attr-defined]
    context = ssl.create_default_context()
    async with scim.SCIMClient("project-test-1", "s", ssl_context=context) as custom:
        session = custom._transport._get_session()
        assert session.connector._ssl is context  # type: ignore[union-attr]
        assert context.verify_mode is ssl.CERT_REQUIRED
