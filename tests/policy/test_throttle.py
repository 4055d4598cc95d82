"""The retry budget and the adaptive rate limiter, driven by a fake clock, and the
limiter fed by a real client (which must report every success and every 429)."""

from __future__ import annotations

import itertools
import math
from typing import Any

import pytest

import stytch_scim_async as scim
from stytch_scim_async.testing import StytchEmulator


def test_budget_costs_and_refunds() -> None:
    budget = scim.RetryBudget(capacity=20)
    assert budget.try_spend(scim.RequestTimeoutError("t"))
    assert budget.available == 10
    assert budget.try_spend(scim.ServerError(status_code=500))
    assert budget.try_spend(scim.RateLimitError(status_code=429))
    assert budget.available == 4
    assert not budget.try_spend(scim.ServerError(status_code=500))
    assert budget.available == 4
    for _ in range(30):
        budget.refund()
    assert budget.available == 20
    with pytest.raises(scim.InvalidRequestError):
        scim.RetryBudget(capacity=-1)


def test_limiter_is_inert_until_the_first_throttle() -> None:
    limiter = scim.AdaptiveRateLimiter()
    assert limiter.current_rate == math.inf
    assert all(limiter.reserve(0.0) == 0.0 for _ in range(1000))


def test_max_rate_paces_from_the_start() -> None:
    limiter = scim.AdaptiveRateLimiter(max_rate=10)
    waits = [limiter.reserve(0.0) for _ in range(5)]
    assert waits == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])
    with pytest.raises(scim.InvalidRequestError):
        scim.AdaptiveRateLimiter(max_rate=0)


def throttled(limiter: scim.AdaptiveRateLimiter, now: float) -> None:
    """Two 429s in a row: what turns pacing on."""
    limiter.on_throttle(now - 0.01)
    limiter.on_throttle(now)


def test_a_lone_throttle_does_not_turn_pacing_on() -> None:
    limiter = scim.AdaptiveRateLimiter()
    limiter.on_throttle(0.0)
    limiter.on_throttle(5.0)
    assert not limiter.pacing
    assert limiter.throttles == 2
    limiter.on_throttle(5.5)
    assert limiter.pacing


def test_throttle_sets_the_rate_from_what_was_delivered() -> None:
    limiter = scim.AdaptiveRateLimiter()
    for i in range(200):  # 200 successes within the last second
        limiter.on_success(i / 400)
    throttled(limiter, 0.5)
    assert limiter.enabled
    assert limiter.current_rate == pytest.approx(180)
    # More 429s from the same burst do not cut the rate again.
    limiter.on_throttle(0.51)
    assert limiter.current_rate == pytest.approx(180)
    assert limiter.throttles == 3
    # A later throttle does.
    limiter.on_throttle(1.4)
    assert limiter.current_rate < 180


def test_throttle_with_nothing_delivered_starts_low_then_halves() -> None:
    limiter = scim.AdaptiveRateLimiter()
    throttled(limiter, 0.0)
    assert limiter.current_rate == pytest.approx(9.0)
    limiter.on_throttle(10.0)
    assert limiter.current_rate == pytest.approx(9.0 / 2 * 0.9)
    limiter.on_throttle(20.0)
    assert limiter.current_rate == limiter.min_rate


def test_rate_grows_back_after_a_quiet_spell_then_switches_off() -> None:
    limiter = scim.AdaptiveRateLimiter()
    for i in range(100):
        limiter.on_success(i / 100)
    throttled(limiter, 1.0)
    limiter.on_throttle(1.3)  # a second burst confirms the ceiling: probing ends
    rate = limiter.current_rate
    assert rate < 90  # what was delivered in the second before, less 10 %
    limiter.on_success(1.4)  # within the hold: no growth
    assert limiter.current_rate == rate
    for i in range(90):  # the client keeps sending at the paced rate: growth, still on
        limiter.on_success(1.8 + i / 90)
    grown = limiter.current_rate
    assert rate < grown < 4 * 90
    # The client goes quiet: a success now and then. The limiter steps aside.
    for t in (4.0, 6.0, 8.0, 10.0):
        limiter.on_success(t)
    assert not limiter.pacing
    assert limiter.current_rate == math.inf


def test_probing_grows_fast_until_a_throttle_confirms_the_ceiling() -> None:
    def grown_after(confirm: bool) -> float:
        limiter = scim.AdaptiveRateLimiter()
        throttled(limiter, 0.0)  # 9 requests/s, estimated from nothing
        if confirm:
            limiter.on_throttle(0.3)
        start = limiter.current_rate
        for i in range(10):  # the client keeps up with the pace
            limiter.on_success(1.0 + i / 10)
        return limiter.current_rate / start

    assert grown_after(confirm=False) > 3 * grown_after(confirm=True)


def test_paced_sends_are_spread_evenly() -> None:
    limiter = scim.AdaptiveRateLimiter()
    throttled(limiter, 0.0)  # 9 requests/s
    waits = [limiter.reserve(1.0) for _ in range(3)]
    assert waits == pytest.approx([0.0, 1 / 9, 2 / 9])


def test_an_idle_limiter_remembers_one_window_only() -> None:
    limiter = scim.AdaptiveRateLimiter()
    for i in range(10_000):  # a long-lived client: 10 successes a second for 1,000 s
        limiter.on_success(i / 10)
    assert len(limiter._successes) <= 11


@pytest.mark.parametrize(
    ("factory", "kwargs", "argument"),
    [
        (scim.RetryPolicy, {"initial_delay": "1"}, "initial_delay"),
        (scim.RetryPolicy, {"deadline": "5"}, "deadline"),
        (scim.RetryPolicy, {"deadline": 0}, "deadline"),
        (scim.RetryPolicy, {"max_attempts": True}, "max_attempts"),
        (scim.RetryPolicy, {"initial_delay": float("inf")}, "initial_delay"),
        (scim.AdaptiveRateLimiter, {"min_rate": 0}, "min_rate"),
        (scim.AdaptiveRateLimiter, {"backoff": 0}, "backoff"),
        (scim.AdaptiveRateLimiter, {"backoff": 1.5}, "backoff"),
        (scim.AdaptiveRateLimiter, {"max_rate": float("nan")}, "max_rate"),
        (scim.AdaptiveRateLimiter, {"window": 0}, "window"),
        (scim.RetryBudget, {"retry_cost": -5}, "retry_cost"),
        (scim.RetryBudget, {"capacity": "10"}, "capacity"),
        (scim.Timeout, {"connect": float("inf")}, "connect"),
    ],
)
def test_every_tunable_is_checked_at_construction(
    factory: Any, kwargs: dict[str, Any], argument: str
) -> None:
    # A bad knob must fail here, not as a TypeError or ZeroDivisionError mid-batch.
    with pytest.raises(scim.InvalidRequestError) as info:
        factory(**kwargs)
    assert info.value.argument == argument


def test_policies_accept_unbounded_waits() -> None:
    policy = scim.RetryPolicy(max_retry_after=math.inf, deadline=math.inf, max_delay=math.inf)
    assert policy.deadline == math.inf


def test_a_budget_never_starts_above_its_capacity() -> None:
    assert scim.RetryBudget(capacity=10, available=50).available == 10
    assert scim.RetryBudget(capacity=10, available=3).available == 3


def test_asking_for_the_delay_claims_nothing() -> None:
    limiter = scim.AdaptiveRateLimiter(max_rate=10)
    assert limiter.delay(0.0) == 0.0
    assert limiter.reserve(0.0) == 0.0
    assert [limiter.delay(0.0) for _ in range(3)] == pytest.approx([0.1, 0.1, 0.1])
    assert limiter.reserve(0.0) == pytest.approx(0.1)
    assert scim.AdaptiveRateLimiter().delay(5.0) == 0.0  # inert: never waits


async def test_the_pace_recovers_once_throttling_stops(emulator: StytchEmulator) -> None:
    # Two 429s in a row (with Retry-After) turn the read group's pacing on at 9
    # requests/s (nothing was delivered before). Then every call succeeds: the client
    # reports each success to that group's limiter, whose rate grows until it is far
    # above what the client sends and it steps aside. A client that stopped reporting
    # successes would stay paced at 9/s for ever.
    ceiling = scim.AdaptiveRateLimiter(hold=0.0, relax=0.3)
    emulator.script(fault="rate_limit", route="get", times=2, retry_after=0)
    async with scim.SCIMClient(
        emulator.project_id,
        emulator.secret,
        base_url=emulator.base_url,
        rate_limiter=ceiling,
        timeout=5,
    ) as client:
        await client.get_connection("organization-test-pace")
        assert client.rate_limiter is ceiling
        assert ceiling.throttles == 2  # every group's 429s count on the client-wide one
        limiter = client.rate_limiters.group("get").adaptive
        assert limiter.pacing
        paced_at = limiter.current_rate
        assert paced_at < 10
        rates = []
        for _ in range(40):  # at 9/s, 40 calls would take 4.4 s; growth ends it far sooner
            await client.get_connection("organization-test-pace")
            rates.append(limiter.current_rate)
            if not limiter.pacing:
                break
    assert not limiter.pacing, f"still paced at {limiter.current_rate:.1f}/s after 40 successes"
    assert limiter.current_rate == math.inf
    # It grew call after call (strictly: time passes between two calls) until it stepped aside.
    assert paced_at < rates[0]
    assert all(a < b for a, b in itertools.pairwise(rates))
    assert emulator.stats.count("get") == 3 + len(rates)
