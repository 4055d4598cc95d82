"""Each attempt's timeout comes from the call (the client view that makes it), not
from the transport: both transports honour `send(..., attempt_timeout=)`."""

from __future__ import annotations

import time

import pytest

import stytch_scim_async as scim
from stytch_scim_async._sansio.endpoints import GET, Mode
from stytch_scim_async._sansio.wire import build_request
from stytch_scim_async._transports.memory import MockTransport
from stytch_scim_async.testing import FakeStytch

ORG = "organization-test-attempt-timeout"


@pytest.mark.parametrize("own", [None, scim.Timeout(5)])
async def test_a_views_timeout_bounds_the_memory_transports_attempt(
    own: scim.Timeout | None,
) -> None:
    fake = FakeStytch(seed=0)
    transport = MockTransport(fake.handle, timeout=own)
    async with scim.SCIMClient(
        fake.project_id, fake.secret, base_url=fake.base_url, _transport=transport
    ) as client:
        hasty = client.with_options(timeout=0.05, retry=scim.RetryPolicy.disabled())
        fake.script(fault="stall_after_commit", route="get", stall_seconds=0.3)
        began = time.monotonic()
        with pytest.raises(scim.RequestTimeoutError):
            await hasty.get_connection(ORG)
        assert time.monotonic() - began < 0.25
        fake.script(fault="stall_after_commit", route="get", stall_seconds=0.1)
        assert (await client.get_connection(ORG)).connection is None


async def test_the_transports_own_timeout_still_caps_the_attempt() -> None:
    fake = FakeStytch(seed=0)
    transport = MockTransport(fake.handle, timeout=scim.Timeout(0.05))
    request = build_request(
        GET, Mode.PROJECT, fake.base_url, {"organization_id": ORG}, {"Authorization": "x"}
    )
    fake.script(fault="stall_after_commit", route="get", stall_seconds=0.3)
    with pytest.raises(scim.RequestTimeoutError):
        await transport.send(request, None, scim.Timeout(10))
