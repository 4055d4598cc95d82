"""RetryPolicy decisions and delays, and the tenacity loop built from them (no network)."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime
from pathlib import Path

import attrs
import pytest

import stytch_scim_async as scim
from stytch_scim_async._sansio.endpoints import RetryKind
from stytch_scim_async._sansio.replies import error_from_response
from tests.support.sleeps import SleepRecorder


def status_error(status: int) -> scim.APIStatusError:
    return error_from_response(status, {}, b"", datetime.now(UTC))


RATE = scim.RateLimitError(status_code=429, retry_after=None)
TIMEOUT = scim.RequestTimeoutError("t")
CONNECT = scim.ConnectError("c")
DROPPED = scim.TransportError("dropped")
DECODE = scim.ResponseDecodeError("x", status_code=200)


@pytest.mark.parametrize(
    ("kind", "error", "expected"),
    [
        (RetryKind.SAFE, RATE, True),
        (RetryKind.SAFE, CONNECT, True),
        (RetryKind.SAFE, TIMEOUT, True),
        (RetryKind.SAFE, DROPPED, True),
        (RetryKind.SAFE, DECODE, True),
        (RetryKind.SAFE, status_error(500), True),
        (RetryKind.SAFE, status_error(502), True),
        (RetryKind.SAFE, status_error(503), True),
        (RetryKind.SAFE, status_error(504), True),
        (RetryKind.SAFE, status_error(501), False),
        (RetryKind.SAFE, status_error(400), False),
        (RetryKind.SAFE, status_error(401), False),
        (RetryKind.SAFE, status_error(403), False),
        (RetryKind.SAFE, status_error(404), False),
        (RetryKind.CREATE, RATE, True),
        (RetryKind.CREATE, CONNECT, True),
        (RetryKind.CREATE, status_error(500), True),
        (RetryKind.CREATE, status_error(501), True),
        (RetryKind.CREATE, status_error(400), False),
        (RetryKind.ROTATE, TIMEOUT, True),
        (RetryKind.ROTATE, ValueError("bug"), False),
    ],
)
def test_should_retry_table(kind: RetryKind, error: BaseException, expected: bool) -> None:
    assert scim.RetryPolicy().should_retry(kind, error) is expected


@pytest.mark.parametrize(
    ("error", "ambiguous"),
    [
        (status_error(500), True),
        (TIMEOUT, True),
        (DROPPED, True),
        (DECODE, True),
        (CONNECT, False),
        (RATE, False),
        (status_error(400), False),
    ],
)
def test_is_ambiguous(error: BaseException, ambiguous: bool) -> None:
    assert scim.RetryPolicy.is_ambiguous(error) is ambiguous


def test_full_jitter_exponential_delays() -> None:
    top = scim.RetryPolicy(random=lambda: 0.999999)
    assert [round(top.delay(n, TIMEOUT) or -1, 3) for n in range(1, 8)] == [0.5, 1, 2, 4, 8, 8, 8]
    bottom = scim.RetryPolicy(random=lambda: 0.0)
    assert bottom.delay(3, TIMEOUT) == 0.0


def test_retry_after_is_honoured_with_a_little_jitter() -> None:
    policy = scim.RetryPolicy(random=lambda: 1.0)
    assert policy.delay(1, scim.RateLimitError(status_code=429, retry_after=4)) == 4.4
    assert policy.delay(1, scim.RateLimitError(status_code=429, retry_after=60)) == 66.0
    assert policy.delay(1, scim.RateLimitError(status_code=429, retry_after=61)) is None


def test_the_defaults_are_the_documented_ones() -> None:
    # docs/retries.md's table of fields is what users tune against.
    table = (Path(__file__).parents[2] / "docs" / "retries.md").read_text(encoding="utf-8")
    rows = dict(re.findall(r"^\| `(\w+)` \| `([^`]+)` \|", table, re.MULTILINE))
    policy = scim.RetryPolicy()
    assert set(rows) == {
        "max_attempts",
        "initial_delay",
        "max_delay",
        "max_retry_after",
        "deadline",
    }
    for field, documented in rows.items():
        assert repr(getattr(policy, field)) == documented, field


async def test_a_disabled_policy_makes_one_attempt_whatever_the_error(
    sleeps: SleepRecorder,
) -> None:
    for error in (RATE, CONNECT, TIMEOUT, status_error(503)):
        attempt = Script(error)
        policy = attrs.evolve(scim.RetryPolicy.disabled(), sleep=sleeps)
        with pytest.raises(type(error)):
            await run(policy, attempt)
        assert attempt.calls == 1
    assert sleeps.delays == []


def test_validation() -> None:
    with pytest.raises(scim.InvalidRequestError, match="max_attempts"):
        scim.RetryPolicy(max_attempts=0)
    with pytest.raises(scim.InvalidRequestError, match="initial_delay"):
        scim.RetryPolicy(initial_delay=-1)
    with pytest.raises(scim.InvalidRequestError, match="deadline"):
        scim.RetryPolicy(deadline=float("nan"))


class Script:
    """An attempt function failing with the given errors, then returning "ok"."""

    def __init__(self, *failures: BaseException) -> None:
        self.failures = list(failures)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.failures:
            raise self.failures.pop(0)
        return "ok"


async def run(
    policy: scim.RetryPolicy, attempt: Script, kind: RetryKind = RetryKind.SAFE, **kw: object
) -> str:
    result = "unset"
    async for try_ in policy.to_tenacity("get", kind, **kw):  # type: ignore[arg-type]
        with try_:
            result = await attempt()
    return result


async def test_tenacity_loop_retries_then_succeeds(sleeps: SleepRecorder) -> None:
    attempt = Script(status_error(503), TIMEOUT)
    assert await run(scim.RetryPolicy(sleep=sleeps, random=lambda: 0.5), attempt) == "ok"
    assert attempt.calls == 3
    assert sleeps.delays == [0.25, 0.5]


async def test_no_tenacity_error_leaks_and_attempts_are_set(sleeps: SleepRecorder) -> None:
    attempt = Script(*(status_error(500) for _ in range(5)))
    with pytest.raises(scim.ServerError) as info:
        await run(scim.RetryPolicy(sleep=sleeps, max_attempts=4), attempt)
    assert info.value.attempts == 4
    assert attempt.calls == 4


async def test_non_retryable_error_is_raised_at_once(sleeps: SleepRecorder) -> None:
    attempt = Script(status_error(403))
    with pytest.raises(scim.ForbiddenError) as info:
        await run(scim.RetryPolicy(sleep=sleeps), attempt)
    assert info.value.attempts == 1
    assert sleeps.delays == []


async def test_deadline_stops_before_a_sleep_that_would_pass_it(sleeps: SleepRecorder) -> None:
    now = [0.0]
    attempt = Script(TIMEOUT, TIMEOUT)
    policy = scim.RetryPolicy(sleep=sleeps, deadline=1.0, random=lambda: 1.0, initial_delay=2.0)
    with pytest.raises(scim.RequestTimeoutError):
        await run(policy, attempt, clock=lambda: now[0])
    assert attempt.calls == 1


async def test_budget_is_spent_and_can_run_dry(sleeps: SleepRecorder) -> None:
    budget = scim.RetryBudget(capacity=12)
    attempt = Script(TIMEOUT, status_error(500), status_error(500))
    with pytest.raises(scim.ServerError) as info:
        await run(scim.RetryPolicy(sleep=sleeps, max_attempts=5), attempt, budget=budget)
    assert info.value.attempts == 2  # 10 for the timeout, then 5 does not fit in 2
    assert budget.available == 2


async def test_retry_log_lines_carry_no_secrets(
    sleeps: SleepRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    error = scim.RateLimitError(status_code=429, retry_after=1, request_id="rid-1")
    with caplog.at_level(logging.INFO, logger="stytch_scim_async"):
        await run(scim.RetryPolicy(sleep=sleeps), Script(error))
    (record,) = caplog.records
    assert "retrying get: attempt 1 failed with RateLimitError (status=429, request_id=rid-1)" in (
        record.getMessage()
    )
