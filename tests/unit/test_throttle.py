"""The retry budget and the adaptive rate limiter, driven by a fake clock."""

from __future__ import annotations

import math

import pytest

import stytch_scim_async as scim


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


def test_throttle_sets_the_rate_from_what_was_delivered() -> None:
    limiter = scim.AdaptiveRateLimiter()
    for i in range(200):  # 200 successes within the last second
        limiter.on_success(i / 400)
    limiter.on_throttle(0.5)
    assert limiter.enabled
    assert limiter.current_rate == pytest.approx(180)
    # More 429s from the same burst do not cut the rate again.
    limiter.on_throttle(0.51)
    assert limiter.current_rate == pytest.approx(180)
    assert limiter.throttles == 2
    # A later throttle does.
    limiter.on_throttle(1.4)
    assert limiter.current_rate < 180


def test_throttle_with_nothing_delivered_starts_low_then_halves() -> None:
    limiter = scim.AdaptiveRateLimiter()
    limiter.on_throttle(0.0)
    assert limiter.current_rate == pytest.approx(9.0)
    limiter.on_throttle(10.0)
    assert limiter.current_rate == pytest.approx(9.0 / 2 * 0.9)


def test_rate_grows_back_after_a_quiet_spell() -> None:
    limiter = scim.AdaptiveRateLimiter()
    limiter.on_throttle(0.0)
    rate = limiter.current_rate
    limiter.on_success(0.1)  # within the hold: no growth
    assert limiter.current_rate == rate
    limiter.on_success(1.0)
    grown = limiter.current_rate
    assert grown > rate
    limiter.on_success(2.0)
    assert limiter.current_rate > grown


def test_paced_sends_are_spread_evenly() -> None:
    limiter = scim.AdaptiveRateLimiter()
    limiter.on_throttle(0.0)  # 9 requests/s
    waits = [limiter.reserve(1.0) for _ in range(3)]
    assert waits == pytest.approx([0.0, 1 / 9, 2 / 9])
