"""The engine and its recovery with no sockets: a client over `MockTransport`, whose
handler is the emulator's pure fake (`FakeStytch.handle`).

The reconcile table is replayed here too: one case table, three drivers (the pure
function, the client over HTTP, the client over the in-memory transport).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from typing import cast

import pytest

import stytch_scim_async as scim
from stytch_scim_async._policy.reconcile import Verdict
from stytch_scim_async._sansio.endpoints import GET, Mode
from stytch_scim_async._sansio.wire import build_request
from stytch_scim_async._transports.memory import MockTransport
from stytch_scim_async.testing import FakeStytch, StytchEmulator

from ..support.reconcile import ROWS, Row
from ..support.replay import ORG, SCENARIOS, observed


@pytest.fixture
def fake() -> FakeStytch:
    return FakeStytch(seed=0)


@pytest.fixture
def transport(fake: FakeStytch) -> MockTransport:
    return MockTransport(fake.handle, timeout=scim.Timeout(5))


@pytest.fixture
async def client(
    fake: FakeStytch, transport: MockTransport, fast_retry: scim.RetryPolicy
) -> AsyncIterator[scim.SCIMClient]:
    async with scim.SCIMClient(
        fake.project_id,
        fake.secret,
        base_url=fake.base_url,
        retry=fast_retry,
        _transport=transport,
    ) as c:
        yield c


async def test_a_create_and_a_rotation_go_through_the_handler(
    client: scim.SCIMClient, fake: FakeStytch, transport: MockTransport
) -> None:
    assert client._transport is transport
    created = await client.create_connection(ORG, display_name="Okta")
    assert created.connection.bearer_token == fake.active_token(ORG)
    connection_id = created.connection.connection_id
    started = await client.rotate_start(ORG, connection_id)
    await client.rotate_complete(ORG, connection_id)
    assert started.connection.next_bearer_token == fake.active_token(ORG)
    got = await client.get_connection(ORG)
    assert got.connection is not None and got.connection.connection_id == connection_id
    assert [r.operation for r in transport.requests] == [
        "create",
        "rotate_start",
        "rotate_complete",
        "get",
    ]


async def test_the_member_client_takes_a_transport_too(fake: FakeStytch) -> None:
    transport = MockTransport(fake.handle)
    async with scim.MemberSCIMClient(
        fake.public_token,
        fake.member_session(ORG),
        base_url=fake.base_url,
        _transport=transport,
    ) as member:
        created = await member.create_connection(display_name="Okta")
    assert created.connection.bearer_token == fake.active_token(ORG)
    assert [r.operation for r in transport.requests] == ["create"]


@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
async def test_the_table_replayed_in_memory(
    row: Row, client: scim.SCIMClient, fake: FakeStytch
) -> None:
    before = fake.active_token(ORG)
    started = fake.stats.rotations_started + (1 if row.name.startswith("mid-rotation") else 0)
    # The scenarios use only the helpers the fake and the served emulator share.
    result = await SCENARIOS[row.name](client, cast(StytchEmulator, fake))
    assert observed(result) is row.verdict
    if row.verdict is Verdict.RECOVER:
        assert isinstance(result, scim.CreateConnectionResponse)
        assert result.connection.bearer_token == fake.active_token(ORG)
        assert fake.stats.rotations_cancelled == (1 if "cut short" in row.name else 0)
    else:
        assert fake.stats.rotations_started == started
        assert fake.stats.rotations_completed == fake.stats.rotations_cancelled == 0
        if before is not None:
            assert fake.active_token(ORG) == before


async def test_a_dropped_reply_is_a_transport_error_and_a_safe_call_retries(
    client: scim.SCIMClient, fake: FakeStytch, transport: MockTransport
) -> None:
    fake.script(fault="drop_before_commit", route="get")
    assert (await client.get_connection(ORG)).connection is None
    assert [r.operation for r in transport.requests] == ["get", "get"]
    fake.script(fault="drop_before_commit", route="get")
    with pytest.raises(scim.TransportError, match="after the request was sent") as info:
        await client.with_retry(scim.RetryPolicy.disabled()).get_connection(ORG)
    assert type(info.value) is scim.TransportError


async def test_a_create_whose_reply_was_dropped_recovers_its_token(
    client: scim.SCIMClient, fake: FakeStytch
) -> None:
    fake.script(fault="drop_after_commit", route="create")
    created = await client.create_connection(ORG, display_name="Okta", recover_token=True)
    assert created.recovered
    assert created.connection.bearer_token == fake.active_token(ORG)
    assert fake.stats.creates_committed == 1


async def test_a_stall_past_the_attempts_timeout_is_a_timeout(fake: FakeStytch) -> None:
    fake.script(fault="stall_after_commit", route="get", stall_seconds=30.0)
    transport = MockTransport(fake.handle, timeout=scim.Timeout(0.05))
    async with scim.SCIMClient(
        fake.project_id,
        fake.secret,
        base_url=fake.base_url,
        retry=scim.RetryPolicy.disabled(),
        _transport=transport,
    ) as client:
        started = time.monotonic()
        with pytest.raises(scim.RequestTimeoutError, match="no response within"):
            await client.get_connection(ORG)
    assert time.monotonic() - started < 5.0


async def test_an_attempt_past_its_calls_deadline_is_not_sent(
    fake: FakeStytch, transport: MockTransport
) -> None:
    request = build_request(GET, Mode.PROJECT, fake.base_url, {"organization_id": ORG}, {})
    with pytest.raises(scim.RequestTimeoutError) as info:
        await transport.send(request, time.monotonic() - 1.0)
    assert info.value.sent is False
    assert transport.requests == []


async def test_aclose_waits_for_the_call_in_flight_then_refuses(fake: FakeStytch) -> None:
    fake.script(fault="stall_after_commit", route="get", stall_seconds=0.05)
    transport = MockTransport(fake.handle)
    client = scim.SCIMClient(
        fake.project_id, fake.secret, base_url=fake.base_url, _transport=transport
    )
    call = asyncio.ensure_future(client.get_connection(ORG))
    while not transport.calls:
        await asyncio.sleep(0)
    await client.aclose()
    assert call.done() and (call.result()).connection is None
    assert transport.calls == 0
    with pytest.raises(scim.ClientClosedError):
        await client.get_connection(ORG)
    request = transport.requests[0]
    with pytest.raises(scim.ClientClosedError):
        await transport.send(request)


def test_a_client_over_the_fake_never_imports_aiohttp() -> None:
    script = """
import asyncio, sys
import stytch_scim_async as scim
from stytch_scim_async._transports.memory import MockTransport
from stytch_scim_async.testing import FakeStytch

async def main() -> None:
    fake = FakeStytch(seed=0)
    async with scim.SCIMClient(
        fake.project_id, fake.secret, base_url=fake.base_url,
        _transport=MockTransport(fake.handle),
    ) as client:
        created = await client.create_connection("organization-test-1")
    assert created.connection.bearer_token == fake.active_token("organization-test-1")

asyncio.run(main())
print(sorted(name for name in sys.modules if name.split(".")[0] == "aiohttp"))
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"
