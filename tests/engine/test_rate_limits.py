"""The per-group limiters against the emulator's Stytch-like fixed windows, with no
Retry-After. Time is the emulator's injected clock, which the client's limiters and
sleeps share: the windows are exact, and nothing here waits for real. One call at a
time: a sleep moves the clock for everyone, so a sleeper beside a request in flight
would make that request take seconds. (The benchmark measures concurrency.)"""

from __future__ import annotations

import asyncio

import pytest

import stytch_scim_async as scim
from stytch_scim_async._engine.pacing import RateLimiters
from stytch_scim_async._policy.window import LADDER
from stytch_scim_async.testing import Faults, RateLimit, StytchEmulator

EPOCH = 1_800_000_000.0  # the start of a clock hour


class Clock:
    """The shared clock (epoch seconds): advanced by the client's sleeps only."""

    def __init__(self) -> None:
        self.now = EPOCH + 0.25

    def __call__(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        self.now += max(delay, 0.0)
        await asyncio.sleep(0)


def creates_limited(limit: int, window: float) -> Faults:
    rule = RateLimit(limit=limit, window=window, routes=frozenset({"create"}))
    return Faults(rate_limits=(rule,))


def client_on(emulator: StytchEmulator, clock: Clock) -> scim.SCIMClient:
    client = scim.SCIMClient(
        emulator.project_id,
        emulator.secret,
        base_url=emulator.base_url,
        retry=scim.RetryPolicy(sleep=clock.sleep),
    )
    client.rate_limiters = RateLimiters(client.rate_limiter, clock=clock, wall=clock)
    return client


def orgs(n: int, tag: str) -> list[scim.ProvisionRequest]:
    return [scim.ProvisionRequest(f"organization-test-{tag}-{i:03d}", f"Org {i}") for i in range(n)]


@pytest.mark.parametrize(("limit", "window"), [(10, 1.0), (10, 10.0), (10, 60.0)])
async def test_a_batch_learns_the_window_and_its_allowance(limit: int, window: float) -> None:
    clock = Clock()
    n = 3 * limit
    async with StytchEmulator(faults=creates_limited(limit, window), clock=clock) as emulator:
        async with client_on(emulator, clock) as client:
            outcomes = [o async for o in client.provision(orgs(n, "batch"), concurrency=1)]
            gate = client.rate_limiters.group("create").gate
        assert [o.status for o in outcomes] == [scim.ProvisionStatus.CREATED] * n
        for outcome in outcomes:
            assert outcome.connection is not None
            token = emulator.active_token(outcome.request.organization_id)
            assert outcome.connection.bearer_token == token
        throttled = emulator.stats.count("create", 429)
    assert gate.window == window
    assert gate.allowance == limit + 1  # the allowance, and one probe for a raised limit
    # The first window's end, the second's (its probe for a raised limit; the third
    # ends the batch), and one per rung of the climb to the right window length.
    assert throttled == 2 + LADDER.index(window)
    assert client.rate_limiter.throttles == throttled


async def test_a_throttled_create_never_slows_a_get() -> None:
    clock = Clock()
    faults = creates_limited(2, 3600.0)
    async with (
        StytchEmulator(faults=faults, clock=clock) as emulator,
        client_on(emulator, clock) as client,
    ):
        single = client.with_retry(scim.RetryPolicy.disabled())
        for i in range(2):
            await single.create_connection(f"organization-test-quick-{i}")
        with pytest.raises(scim.RateLimitError) as info:
            await single.create_connection("organization-test-quick-2")
        assert info.value.retry_after is None
        limiters = client.rate_limiters
        create, read = limiters.group("create"), limiters.group("get")
        assert limiters.pacing(create) and create.delay(clock(), clock()) > 0
        assert not limiters.pacing(read)
        for i in range(20):  # not one waits: the clock never moves
            got = await single.get_connection(f"organization-test-quick-{i % 3}")
            assert (got.connection is not None) is (i % 3 < 2)
        assert clock() == EPOCH + 0.25
        assert read.throttles == 0 and create.throttles == 1
        assert single.rate_limiters is limiters  # views share the limiters
        assert client.rate_limiter.throttles == 1


async def test_the_client_wide_max_rate_still_caps_every_group_together() -> None:
    clock = Clock()
    async with StytchEmulator(clock=clock) as emulator:
        client = scim.SCIMClient(
            emulator.project_id,
            emulator.secret,
            base_url=emulator.base_url,
            retry=scim.RetryPolicy(sleep=clock.sleep),
            rate_limiter=scim.AdaptiveRateLimiter(max_rate=10),
        )
        client.rate_limiters = RateLimiters(client.rate_limiter, clock=clock, wall=clock)
        async with client:
            await asyncio.gather(
                *(client.get_connection(f"organization-test-cap-{i}") for i in range(5)),
                *(client.create_connection(f"organization-test-cap-{i}") for i in range(5)),
            )
    assert clock() - (EPOCH + 0.25) == pytest.approx(0.9)  # ten sends, 0.1 s apart
