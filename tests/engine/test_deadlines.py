"""Deadlines: a safe call is cut at its deadline; a create or rotation is never cut
off from the reconciliation that decides whether its token is lost, and never
overruns its deadline by more than one attempt's timeout."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping

import pytest

import stytch_scim_async as scim
from stytch_scim_async._sansio.wire import Request
from stytch_scim_async.testing import StytchEmulator

ORG = "organization-test-deadlines"


async def test_deadline_bounds_the_whole_call(emulator: StytchEmulator) -> None:
    emulator.script(fault="stall_after_commit", route="get", times=10, stall_seconds=5)
    policy = scim.RetryPolicy(deadline=0.5, initial_delay=0.01)
    async with scim.SCIMClient(
        emulator.project_id, emulator.secret, base_url=emulator.base_url, retry=policy, timeout=0.2
    ) as c:
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(scim.RequestTimeoutError):
            await c.get_connection(ORG)
        assert loop.time() - started < 0.5 + 0.2 + 0.3


async def test_a_deadline_never_cuts_a_create_off_from_its_token(emulator: StytchEmulator) -> None:
    # The create commits and then stalls past the deadline: the attempt is cut at the
    # deadline, but the reconciliation that recovers its token runs to its end.
    emulator.script(fault="stall_after_commit", route="create", stall_seconds=5)
    policy = scim.RetryPolicy(deadline=0.5, initial_delay=0.01)
    async with scim.SCIMClient(
        emulator.project_id, emulator.secret, base_url=emulator.base_url, retry=policy
    ) as c:
        loop = asyncio.get_running_loop()
        started = loop.time()
        created = await c.create_connection(ORG, display_name="x", recover_token=True)
        assert loop.time() - started < 2.5
    assert created.recovered
    assert created.connection.bearer_token == emulator.active_token(ORG)


@pytest.mark.parametrize("stalled", ["get", "rotate_start"])
async def test_a_create_overruns_its_deadline_by_at_most_one_attempt_timeout(
    emulator: StytchEmulator, stalled: str
) -> None:
    # The create commits and stalls; then the reconciliation's GET, or the recovery's
    # rotation, stalls too. The call still ends within deadline + one attempt timeout.
    emulator.script(fault="stall_after_commit", route="create", stall_seconds=5)
    emulator.script(fault="stall_after_commit", route=stalled, times=50, stall_seconds=5)
    policy = scim.RetryPolicy(deadline=0.3, initial_delay=0.01, max_attempts=50)
    async with scim.SCIMClient(
        emulator.project_id, emulator.secret, base_url=emulator.base_url, retry=policy, timeout=0.4
    ) as c:
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises((scim.RequestTimeoutError, scim.TokenLostError)) as info:
            await c.create_connection(ORG, display_name="x", recover_token=True)
        assert loop.time() - started < 0.3 + 0.4 + 0.6  # a stall lasts 5 s
    if stalled == "rotate_start":
        # The connection was identified before time ran out: it is named, not lost.
        assert isinstance(info.value, scim.TokenLostError)
        assert info.value.connection.organization_id == ORG
    else:
        assert isinstance(info.value, scim.RequestTimeoutError)


async def test_a_create_whose_time_ran_out_before_sending_is_not_reconciled(
    emulator: StytchEmulator,
) -> None:
    # The organization already has exactly the connection asked for. The create waits
    # for the rate limiter past its deadline: nothing is sent, so nothing is
    # "reconciled" — which would take that connection for ours and rotate it.
    existing = emulator.add_connection(ORG, display_name="Okta", identity_provider="okta")
    limiter = scim.AdaptiveRateLimiter(max_rate=5)  # one send every 0.2 s
    policy = scim.RetryPolicy(deadline=0.3)
    async with scim.SCIMClient(
        emulator.project_id,
        emulator.secret,
        base_url=emulator.base_url,
        rate_limiter=limiter,
        retry=policy,
    ) as client:
        unhurried = client.with_retry(scim.RetryPolicy())
        others = [
            asyncio.create_task(unhurried.get_connection(f"organization-test-o{i}"))
            for i in range(3)
        ]
        await asyncio.sleep(0)  # they take the slots at 0, 0.2 and 0.4 s
        with pytest.raises(scim.RequestTimeoutError) as info:
            await client.create_connection(
                ORG, display_name="Okta", identity_provider="okta", recover_token=True
            )
        await asyncio.gather(*others)
    assert not info.value.sent
    assert emulator.stats.count("create") == 0
    assert emulator.stats.count("get") == 3  # the other calls only: no reconciliation
    assert emulator.active_token(ORG) == existing["bearer_token"]


async def test_time_spent_queueing_for_a_connection_counts_against_the_deadline(
    emulator: StytchEmulator,
) -> None:
    emulator.script(
        fault="stall_after_commit",
        route="get",
        organization_id="organization-test-slow",
        stall_seconds=0.6,
    )
    policy = scim.RetryPolicy(deadline=0.2)
    async with scim.SCIMClient(
        emulator.project_id,
        emulator.secret,
        base_url=emulator.base_url,
        retry=policy,
        max_connections=1,
    ) as client:
        unhurried = client.with_retry(scim.RetryPolicy())
        slow = asyncio.create_task(unhurried.get_connection("organization-test-slow"))
        await asyncio.sleep(0)  # it holds the only connection for 0.6 s
        with pytest.raises(scim.RequestTimeoutError) as info:
            await client.create_connection(ORG, display_name="Okta")
        await slow
    # Sent after its deadline, the create would have been cut mid-flight.
    assert not info.value.sent
    assert emulator.stats.count("create") == 0
    assert emulator.active_token(ORG) is None


async def test_a_recovery_cut_by_the_deadline_still_hands_over_its_token(
    emulator: StytchEmulator,
) -> None:
    # The create commits and stalls; the recovery's rotate start answers, its complete
    # commits and stalls, and then Stytch is slow to answer anything: the grace ends.
    emulator.script(fault="stall_after_commit", route="create", stall_seconds=3)
    emulator.script(fault="stall_after_commit", route="rotate_complete", stall_seconds=3)
    policy = scim.RetryPolicy(deadline=0.5)
    timeout = scim.Timeout(total=1.0, connect=1.0)
    async with scim.SCIMClient(
        emulator.project_id,
        emulator.secret,
        base_url=emulator.base_url,
        retry=policy,
        timeout=timeout,
    ) as client:
        send = client._transport.send

        async def slow_after_complete(
            request: Request, ends: float | None = None, attempt_timeout: scim.Timeout | None = None
        ) -> tuple[int, Mapping[str, str], bytes]:
            if request.operation == "rotate_complete":
                emulator.script(fault="stall_after_commit", route="get", times=5, stall_seconds=3)
            return await send(request, ends, attempt_timeout)

        client._transport.send = slow_after_complete  # type: ignore[method-assign]
        with pytest.raises(scim.TokenLostError) as info:
            await client.create_connection(ORG, display_name="Okta", recover_token=True)
    assert info.value.connection.organization_id == ORG
    assert info.value.next_bearer_token == emulator.active_token(ORG)  # the complete committed


async def test_concurrent_closes_all_return(emulator: StytchEmulator) -> None:
    emulator.script(fault="stall_after_commit", route="get", stall_seconds=0.2)
    client = scim.SCIMClient(emulator.project_id, emulator.secret, base_url=emulator.base_url)
    view = client.with_retry(scim.RetryPolicy.disabled())
    call = asyncio.create_task(client.get_connection(ORG))
    await asyncio.sleep(0.05)
    await asyncio.wait_for(asyncio.gather(client.aclose(), view.aclose()), timeout=5)
    assert (await call).connection is None


async def test_calls_refused_for_their_deadline_leave_the_rate_limiter_as_it_was(
    emulator: StytchEmulator,
) -> None:
    # A send every second and a deadline of 1.5 s: the slots at 0 and 1 s fit, the one
    # at 2 s does not. Half a second of margin each way (the third create may start
    # up to 0.5 s late and still be refused; the second has 0.5 s to be answered), so
    # a loaded machine cannot flip the count.
    limiter = scim.AdaptiveRateLimiter(max_rate=1)
    policy = scim.RetryPolicy(deadline=1.5)
    async with scim.SCIMClient(
        emulator.project_id,
        emulator.secret,
        base_url=emulator.base_url,
        rate_limiter=limiter,
        retry=policy,
    ) as client:
        results = await asyncio.gather(
            *(client.create_connection(f"{ORG}-{i}") for i in range(20)),
            return_exceptions=True,
        )
        refused = [r for r in results if isinstance(r, scim.RequestTimeoutError)]
        assert len(refused) == 18 and not any(r.sent for r in refused), results
        # Only the two creates that went out claimed slots: the next is at most 2 s
        # away, not 20 s (which would hold every later call back).
        assert limiter.delay(time.monotonic()) <= 2.0
        assert (await client.get_connection(ORG)).connection is None
    assert emulator.stats.count("create") == 2


async def test_a_rotation_waiting_for_the_organization_is_inside_its_deadline(
    emulator: StytchEmulator, client: scim.SCIMClient
) -> None:
    # A create that looks first (its GET stalls) holds the organization's lock; a
    # rotation queued behind it ends at its deadline (and one attempt's grace), not
    # when the create lets go, and aclose() counts it as a call in flight meanwhile.
    made = emulator.fake.add_connection(ORG, display_name="x", identity_provider="okta")
    emulator.script(fault="stall_after_commit", route="get", stall_seconds=2.0)
    create = asyncio.create_task(client.create_connection(ORG, display_name="x", maybe_sent=True))
    await asyncio.sleep(0.05)
    short = client.with_options(deadline=0.2, timeout=0.2)
    before = client._transport.calls  # the create and its look
    started = time.monotonic()
    rotation = asyncio.create_task(short.rotate_start(ORG, str(made["connection_id"])))
    await asyncio.sleep(0.05)
    assert client._transport.calls == before + 1  # the rotation, waiting for the lock
    with pytest.raises(scim.RequestTimeoutError):
        await rotation
    assert time.monotonic() - started < 0.2 + 0.2 + 0.3
    with pytest.raises(scim.StytchSCIMError):
        await create  # its look timed out: typed, whatever it decided
    assert emulator.stats.rotations_started == 0
