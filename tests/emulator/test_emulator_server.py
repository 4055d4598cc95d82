"""The served emulator: real HTTP, I/O faults, lifecycle and the pytest fixtures.

Every test of HTTP behaviour runs over both servers (`server`): the emulator's own
and aiohttp's."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from stytch_scim_async.testing import Faults, StytchEmulator
from stytch_scim_async.testing._server import ServerKind
from stytch_scim_async.testing.pytest_plugin import EmulatorFactory
from tests.support.emulator_api import ORG, OTHER_ORG


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture(params=["lean", "aiohttp"])
def server(request: pytest.FixtureRequest) -> ServerKind:
    kind: ServerKind = request.param
    return kind


@pytest.fixture
def factory(stytch_emulator_factory: EmulatorFactory, server: ServerKind) -> EmulatorFactory:
    """The plugin's factory, serving with `server`."""

    async def build(faults: Faults | None = None, **options: Any) -> StytchEmulator:
        return await stytch_emulator_factory(faults, server=server, **options)

    return build


@pytest.fixture
async def emu(factory: EmulatorFactory) -> StytchEmulator:
    return await factory()


def project_headers(emu: StytchEmulator) -> dict[str, str]:
    return {"Authorization": aiohttp.encode_basic_auth(emu.project_id, emu.secret)}


async def create(
    http: aiohttp.ClientSession,
    emu: StytchEmulator,
    org: str = ORG,
    *,
    total_timeout: float | None = None,
) -> tuple[int, Any, aiohttp.ClientResponse]:
    url = f"{emu.base_url}/v1/b2b/scim/{org}/connection"
    client_timeout = aiohttp.ClientTimeout(total=total_timeout)
    async with http.post(
        url,
        json={"identity_provider": "okta"},
        headers=project_headers(emu),
        timeout=client_timeout,
    ) as response:
        raw = await response.read()
        try:
            body = json.loads(raw)
        except ValueError:
            body = raw
        return response.status, body, response


async def test_fixture_serves_a_working_emulator(
    stytch_emulator: StytchEmulator, http: aiohttp.ClientSession
) -> None:
    emu = stytch_emulator
    assert emu.running
    assert emu.base_url.startswith("http://127.0.0.1:")
    status, body, response = await create(http, emu)
    assert status == 200
    assert response.headers["Content-Type"] == "application/json"
    connection = body["connection"]
    assert connection["base_url"] == f"{emu.base_url}/v1/b2b/scim/{connection['connection_id']}"
    assert emu.active_token(ORG) == connection["bearer_token"]
    assert emu.stats.creates_committed == 1
    assert [entry.route for entry in emu.request_log] == ["create"]
    assert ORG in emu.state.organizations


async def test_start_and_close_without_context_manager(
    http: aiohttp.ClientSession, server: ServerKind
) -> None:
    emu = StytchEmulator(seed=1, server=server)
    with pytest.raises(RuntimeError, match="not running"):
        _ = emu.base_url
    assert await emu.start() is emu
    with pytest.raises(RuntimeError, match="already running"):
        await emu.start()
    assert (await create(http, emu))[0] == 200
    await emu.close()
    await emu.close()
    assert not emu.running


async def test_start_failure_cleans_up(server: ServerKind) -> None:
    async with StytchEmulator(server=server) as first:
        port = int(first.base_url.rsplit(":", 1)[1])
        second = StytchEmulator(port=port, server=server)
        with pytest.raises(OSError, match="address already in use"):
            await second.start()
        assert not second.running


async def test_helpers_pass_through(emu: StytchEmulator, http: aiohttp.ClientSession) -> None:
    seeded = emu.add_connection(ORG, display_name="seeded", identity_provider="okta")
    group = emu.add_group(ORG, seeded["connection_id"], "Engineering")
    assert group["group_name"] == "Engineering"
    emu.add_organization(OTHER_ORG)
    assert emu.member_session_jwt(ORG).count(".") == 2
    assert emu.active_token(ORG) == seeded["bearer_token"]
    emu.script(fault="500_before_commit", route="get")
    async with http.get(
        f"{emu.base_url}/v1/b2b/scim/{ORG}/connection", headers=project_headers(emu)
    ) as r:
        assert r.status == 500
    emu.faults = Faults(p_html_502=1.0)
    assert emu.faults.p_html_502 == 1.0
    status, body, response = await create(http, emu, OTHER_ORG)
    assert (status, response.headers["Content-Type"]) == (502, "text/html")
    assert b"Bad Gateway" in body
    emu.reset()
    assert emu.active_token(ORG) is None and emu.stats.total_requests == 0


async def test_sdk_route_over_http(emu: StytchEmulator, http: aiohttp.ClientSession) -> None:
    session = emu.member_session(ORG)
    headers = {"Authorization": aiohttp.encode_basic_auth(emu.public_token, session)}
    async with http.post(f"{emu.base_url}/sdk/v1/b2b/scim", json={}, headers=headers) as response:
        body = await response.json()
    assert body["data"]["connection"]["organization_id"] == ORG


async def test_percent_encoded_org_over_http(
    emu: StytchEmulator, http: aiohttp.ClientSession
) -> None:
    status, body, _ = await create(http, emu, "org%2Fwith%20slash")
    assert status == 200
    assert body["connection"]["organization_id"] == "org/with slash"


async def test_control_routes_over_http(emu: StytchEmulator, http: aiohttp.ClientSession) -> None:
    _, created, _ = await create(http, emu)
    async with http.get(f"{emu.base_url}/_tokens") as response:
        assert await response.json() == {ORG: created["connection"]["bearer_token"]}
    async with http.get(f"{emu.base_url}/_stats") as response:
        assert (await response.json())["requests"] == {"create": {"200": 1}}
    async with http.post(f"{emu.base_url}/_reset") as response:
        assert response.status == 200
    assert emu.active_token(ORG) is None


async def test_drop_before_commit_disconnects(
    factory: EmulatorFactory, http: aiohttp.ClientSession
) -> None:
    emu = await factory(Faults(p_drop_before_commit=1.0))
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await create(http, emu)
    assert emu.active_token(ORG) is None
    assert emu.stats.requests == {("create", 0): 1}


async def test_drop_after_commit_disconnects_after_the_commit(
    factory: EmulatorFactory, http: aiohttp.ClientSession
) -> None:
    emu = await factory(Faults(p_drop_after_commit=1.0))
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await create(http, emu)
    assert emu.active_token(ORG) is not None


async def test_truncated_json_over_http(
    factory: EmulatorFactory, http: aiohttp.ClientSession
) -> None:
    emu = await factory(Faults(p_truncated_json=1.0))
    status, body, response = await create(http, emu)
    assert status == 200
    assert isinstance(body, bytes) and body.startswith(b'{"request_id":')
    assert int(response.headers["Content-Length"]) == len(body)
    assert emu.active_token(ORG) is not None


async def test_rate_limit_over_http(factory: EmulatorFactory, http: aiohttp.ClientSession) -> None:
    emu = await factory(
        Faults(rate_limit=0.5, burst=1, retry_after="http-date", rate_limit_mode="token-bucket")
    )
    assert (await create(http, emu, "org-1"))[0] == 200
    status, body, response = await create(http, emu, "org-2")
    assert (status, body["error_type"]) == (429, "too_many_requests")
    assert response.headers["Retry-After"].endswith(" GMT")


async def test_stall_then_answer(factory: EmulatorFactory, http: aiohttp.ClientSession) -> None:
    emu = await factory(Faults(p_stall_after_commit=1.0, stall_seconds=0.05))
    started = time.monotonic()
    assert (await create(http, emu))[0] == 200
    assert time.monotonic() - started >= 0.05


async def test_stall_outlasts_the_client_timeout(
    factory: EmulatorFactory, http: aiohttp.ClientSession
) -> None:
    emu = await factory(Faults(p_stall_after_commit=1.0, stall_seconds=30))
    with pytest.raises(TimeoutError):
        await create(http, emu, total_timeout=0.2)
    assert emu.active_token(ORG) is not None


async def test_latency_delays_every_answer(
    factory: EmulatorFactory, http: aiohttp.ClientSession
) -> None:
    emu = await factory(Faults(latency=0.08), seed=4)
    started = time.monotonic()
    assert (await create(http, emu))[0] == 200
    assert time.monotonic() - started >= 0.08


@pytest.mark.parametrize("faults", [Faults(latency=30), Faults(p_stall_after_commit=1.0)])
async def test_close_drops_waiting_requests(
    faults: Faults, http: aiohttp.ClientSession, server: ServerKind
) -> None:
    emu = await StytchEmulator(faults=faults, server=server).start()
    request = asyncio.create_task(create(http, emu))
    while not emu.request_log:
        await asyncio.sleep(0.01)
    started = time.monotonic()
    await emu.close()
    with pytest.raises(aiohttp.ServerDisconnectedError):
        await request
    assert time.monotonic() - started < 5


async def test_factory_passes_options(stytch_emulator_factory: EmulatorFactory) -> None:
    strict = await stytch_emulator_factory(
        seed=9, strict_organizations=True, clock=lambda: 0.0, last_page_cursor=""
    )
    default = await stytch_emulator_factory(server="aiohttp")
    assert default.running
    assert strict.fake.strict_organizations and not default.fake.strict_organizations
    assert strict.project_id != default.project_id
    assert strict.add_connection(ORG)["bearer_token_expires_at"] == "1973-12-31T00:00:00Z"


async def test_pauses_end_at_once_when_closing() -> None:
    from stytch_scim_async.testing._server import _wake

    emu = StytchEmulator()
    emu._closing = True
    assert await emu._pause(30) is False
    done: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
    _wake(done, True)
    _wake(done, False)
    assert done.result() is True


def test_an_unknown_server_is_refused() -> None:
    with pytest.raises(ValueError, match="server must be"):
        StytchEmulator(server="twisted")  # type: ignore[arg-type]
