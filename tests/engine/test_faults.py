"""Retries, timeouts and the lost-token paths, driven by the emulator's scripted faults."""

from __future__ import annotations

import logging

import pytest

import stytch_scim_async as scim
from stytch_scim_async.testing import StytchEmulator
from tests.support.sleeps import SleepRecorder

ORG = "organization-test-faults"

AMBIGUOUS_AFTER_COMMIT = ["500_after_commit", "drop_after_commit", "truncated_json"]


@pytest.mark.parametrize(
    ("status_fault", "delays"),
    [
        ("500_before_commit", [0.25, 0.5]),
        ("html_502", [0.25, 0.5]),
        # aiohttp itself re-sends an idempotent GET once when the connection it reused
        # drops: the second drop never reaches the client, which retries only once.
        ("drop_before_commit", [0.25]),
    ],
)
async def test_safe_calls_retry_transient_failures(
    emulator: StytchEmulator, sleeps: SleepRecorder, status_fault: str, delays: list[float]
) -> None:
    emulator.script(fault=status_fault, route="get", times=2)  # type: ignore[arg-type]
    policy = scim.RetryPolicy(sleep=sleeps, random=lambda: 0.5)  # half of each ceiling
    async with scim.SCIMClient(
        emulator.project_id, emulator.secret, base_url=emulator.base_url, retry=policy, timeout=5
    ) as client:
        response = await client.get_connection(ORG)
    assert response.connection is None
    assert emulator.stats.count("get") == 3  # two failures, then the answer
    assert sleeps.delays == delays


async def test_retries_run_out_with_the_real_error(
    client: scim.SCIMClient, emulator: StytchEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    emulator.script(fault="500_before_commit", route="get", times=5)
    with (
        caplog.at_level(logging.INFO, logger="stytch_scim_async"),
        pytest.raises(scim.ServerError) as info,
    ):
        await client.get_connection(ORG)
    error = info.value
    assert error.status_code == 500
    assert error.error_type == "internal_server_error"
    assert error.attempts == 3
    assert "after 3 attempts" in str(error)
    retries = [r for r in caplog.records if r.getMessage().startswith("retrying get")]
    assert len(retries) == 2
    assert "request_id=request-id-test-" in retries[0].getMessage()
    assert emulator.secret not in caplog.text


async def test_html_502_is_a_server_error_with_an_excerpt(emulator: StytchEmulator) -> None:
    emulator.script(fault="html_502", route="get")
    async with scim.SCIMClient(
        emulator.project_id,
        emulator.secret,
        base_url=emulator.base_url,
        retry=scim.RetryPolicy.disabled(),
    ) as c:
        with pytest.raises(scim.ServerError) as info:
            await c.get_connection(ORG)
    assert info.value.status_code == 502
    assert "<html" in info.value.body_excerpt.lower()


async def test_rate_limit_honours_retry_after(
    client: scim.SCIMClient, emulator: StytchEmulator, sleeps: SleepRecorder
) -> None:
    emulator.script(fault="rate_limit", route="get", retry_after=3)
    await client.get_connection(ORG)
    assert 3.0 <= sleeps.delays[0] <= 3.5
    assert client.rate_limiter.throttles == 1


async def test_rate_limit_http_date_form(emulator: StytchEmulator, sleeps: SleepRecorder) -> None:
    # An HTTP date has whole seconds: "in 5 s" is sent as the next whole second after
    # now + 5, so the wait read back is over 5 s and at most 6 s (less the time the
    # reply took to be read). No jitter here: with its 10 % the top would be 6.6 s.
    emulator.script(fault="rate_limit", route="get", retry_after=5, retry_after_format="http-date")
    policy = scim.RetryPolicy(sleep=sleeps, random=lambda: 0.0)
    async with scim.SCIMClient(
        emulator.project_id, emulator.secret, base_url=emulator.base_url, retry=policy, timeout=5
    ) as client:
        await client.get_connection(ORG)
    (delay,) = sleeps.delays
    assert 4.0 <= delay <= 6.0


async def test_long_retry_after_surfaces_instead_of_sleeping(
    client: scim.SCIMClient, emulator: StytchEmulator, sleeps: SleepRecorder
) -> None:
    emulator.script(fault="rate_limit", route="create", retry_after=120)
    with pytest.raises(scim.RateLimitError) as info:
        await client.create_connection(ORG)
    assert info.value.retry_after == 120
    assert info.value.error_type == "too_many_requests"
    assert info.value.attempts == 1
    assert sleeps.delays == []


async def test_stall_past_the_timeout(emulator: StytchEmulator) -> None:
    emulator.script(fault="stall_after_commit", route="get", stall_seconds=5)
    async with scim.SCIMClient(
        emulator.project_id,
        emulator.secret,
        base_url=emulator.base_url,
        retry=scim.RetryPolicy.disabled(),
        timeout=scim.Timeout(total=0.3, connect=0.3),
    ) as c:
        with pytest.raises(scim.RequestTimeoutError):
            await c.get_connection(ORG)


async def test_retry_budget_stops_retry_storms(
    emulator: StytchEmulator, fast_retry: scim.RetryPolicy
) -> None:
    budget = scim.RetryBudget(capacity=5)
    emulator.script(fault="500_before_commit", route="get", times=10)
    async with scim.SCIMClient(
        emulator.project_id,
        emulator.secret,
        base_url=emulator.base_url,
        retry=fast_retry,
        retry_budget=budget,
    ) as c:
        with pytest.raises(scim.ServerError) as first:
            await c.get_connection(ORG)
        assert first.value.attempts == 2  # one retry took the whole budget
        with pytest.raises(scim.ServerError) as second:
            await c.get_connection(ORG)
        assert second.value.attempts == 1
    assert budget.available == 0


# -- creates: never lose a token silently ------------------------------------------


@pytest.mark.parametrize("fault", ["500_before_commit", "html_502", "drop_before_commit"])
async def test_create_not_committed_is_posted_again(
    client: scim.SCIMClient, emulator: StytchEmulator, fault: str
) -> None:
    emulator.script(fault=fault, route="create")  # type: ignore[arg-type]
    created = await client.create_connection(ORG, display_name="Okta")
    assert not created.recovered
    assert created.connection.bearer_token == emulator.active_token(ORG)
    assert emulator.stats.creates_committed == 1
    assert emulator.stats.count("get") == 1  # reconciled before posting again
    assert emulator.stats.count("create") == 2


@pytest.mark.parametrize("fault", AMBIGUOUS_AFTER_COMMIT)
async def test_lost_token_raises_token_lost_by_default(
    client: scim.SCIMClient, emulator: StytchEmulator, fault: str
) -> None:
    emulator.script(fault=fault, route="create")  # type: ignore[arg-type]
    with pytest.raises(scim.TokenLostError) as info:
        await client.create_connection(ORG, display_name="Okta", identity_provider="okta")
    assert info.value.connection.organization_id == ORG
    assert emulator.stats.creates_committed == 1
    assert emulator.stats.count("create") == 1
    assert emulator.stats.rotations_started == 0
    assert isinstance(info.value.__cause__, scim.StytchSCIMError)


@pytest.mark.parametrize("fault", [*AMBIGUOUS_AFTER_COMMIT, "stall_after_commit"])
async def test_lost_token_is_recovered_by_rotation(emulator: StytchEmulator, fault: str) -> None:
    emulator.script(fault=fault, route="create", stall_seconds=3)  # type: ignore[arg-type]
    async with scim.SCIMClient(
        emulator.project_id, emulator.secret, base_url=emulator.base_url, timeout=0.5
    ) as c:
        created = await c.create_connection(ORG, display_name="Okta", recover_token=True)
    assert created.recovered
    assert created.connection.bearer_token == emulator.active_token(ORG)
    assert emulator.stats.creates_committed == 1
    assert emulator.stats.rotations_completed == 1


async def test_connection_that_existed_before_is_never_rotated(
    client: scim.SCIMClient, emulator: StytchEmulator
) -> None:
    emulator.add_connection(ORG, display_name="Their own", identity_provider="okta")
    before = emulator.active_token(ORG)
    emulator.script(fault="500_before_commit", route="create")
    with pytest.raises(scim.ConnectionExistsError) as info:
        await client.create_connection(ORG, display_name="Ours", recover_token=True)
    assert "left unchanged" in str(info.value)
    assert emulator.active_token(ORG) == before
    assert emulator.stats.rotations_started == 0


async def test_committed_create_found_after_a_duplicate_answer(
    client: scim.SCIMClient, emulator: StytchEmulator
) -> None:
    # The reconciling GET fails too, so the create is posted again and answered
    # "exists"; the client must look once more instead of giving up the token.
    # (`proven_absent`: the caller proved absence, so no GET precedes the POST.)
    emulator.script(fault="500_after_commit", route="create")
    emulator.script(fault="500_before_commit", route="get")
    created = await client.create_connection(
        ORG, display_name="Okta", recover_token=True, proven_absent=True
    )
    assert created.recovered
    assert created.connection.bearer_token == emulator.active_token(ORG)
    assert emulator.stats.creates_committed == 1


async def test_failed_recovery_reports_the_lost_token(
    client: scim.SCIMClient, emulator: StytchEmulator
) -> None:
    emulator.script(fault="500_after_commit", route="create")
    emulator.script(fault="500_before_commit", route="rotate_start", times=3)
    with pytest.raises(scim.TokenLostError) as info:
        await client.create_connection(ORG, display_name="Okta", recover_token=True)
    assert isinstance(info.value.__cause__, scim.ServerError)


async def test_create_rate_limited_then_created(
    client: scim.SCIMClient, emulator: StytchEmulator
) -> None:
    emulator.script(fault="rate_limit", route="create", times=2, retry_after=0)
    created = await client.create_connection(ORG, display_name="Okta")
    assert created.connection.bearer_token == emulator.active_token(ORG)
    assert emulator.stats.count("get") == 0  # a 429 is not ambiguous


# -- rotations ---------------------------------------------------------------------


async def test_rotate_start_lost_reply_is_cancelled_and_started_again(
    client: scim.SCIMClient, emulator: StytchEmulator
) -> None:
    cid = (await client.create_connection(ORG, display_name="x")).connection.connection_id
    emulator.script(fault="500_after_commit", route="rotate_start")
    started = await client.rotate_start(ORG, cid)
    assert emulator.stats.rotations_started == 2
    assert emulator.stats.rotations_cancelled == 1
    await client.rotate_complete(ORG, cid)
    assert emulator.active_token(ORG) == started.connection.next_bearer_token


@pytest.mark.parametrize("operation", ["rotate_complete", "rotate_cancel"])
async def test_rotate_finish_lost_reply_is_reported_done(
    client: scim.SCIMClient, emulator: StytchEmulator, operation: str
) -> None:
    cid = (await client.create_connection(ORG, display_name="x")).connection.connection_id
    started = await client.rotate_start(ORG, cid)
    emulator.script(fault="drop_after_commit", route=operation)
    finish = client.rotate_complete if operation == "rotate_complete" else client.rotate_cancel
    result = await finish(ORG, cid)
    assert not result.connection.rotating
    assert emulator.stats.count(operation) == 1
    if operation == "rotate_complete":
        assert emulator.active_token(ORG) == started.connection.next_bearer_token


async def test_rotate_not_committed_is_retried(
    client: scim.SCIMClient, emulator: StytchEmulator
) -> None:
    cid = (await client.create_connection(ORG, display_name="x")).connection.connection_id
    await client.rotate_start(ORG, cid)
    emulator.script(fault="500_before_commit", route="rotate_complete")
    await client.rotate_complete(ORG, cid)
    assert emulator.stats.count("rotate_complete") == 2
    assert emulator.stats.rotations_completed == 1


async def test_verify_absent_never_posts_over_an_existing_connection(
    client: scim.SCIMClient, emulator: StytchEmulator
) -> None:
    emulator.add_connection(ORG, display_name="Okta", identity_provider="okta")
    before = emulator.active_token(ORG)
    with pytest.raises(scim.ConnectionExistsError) as info:
        await client.create_connection(
            ORG,
            display_name="Okta",
            identity_provider="okta",
            recover_token=True,
            verify_absent=True,
        )
    assert "nothing was sent" in str(info.value)
    assert emulator.stats.count("create") == 0
    assert emulator.active_token(ORG) == before


async def test_verify_absent_then_a_lost_reply_is_recovered(
    client: scim.SCIMClient, emulator: StytchEmulator
) -> None:
    emulator.script(fault="drop_after_commit", route="create")
    created = await client.create_connection(
        ORG, display_name="Okta", recover_token=True, verify_absent=True
    )
    assert created.recovered
    assert created.connection.bearer_token == emulator.active_token(ORG)
    assert emulator.stats.count("get") == 2  # the check before, the reconciliation after


@pytest.mark.parametrize("fault", ["500_after_commit", "drop_after_commit"])
async def test_delete_whose_reply_was_lost_is_reported_done(
    client: scim.SCIMClient, emulator: StytchEmulator, fault: str
) -> None:
    cid = (await client.create_connection(ORG, display_name="x")).connection.connection_id
    emulator.script(fault=fault, route="delete")  # type: ignore[arg-type]
    deleted = await client.delete_connection(ORG, cid)
    assert deleted.connection_id == cid
    assert emulator.active_token(ORG) is None
    assert emulator.stats.deletes_committed == 1


async def test_delete_of_an_unknown_connection_still_fails(
    client: scim.SCIMClient, emulator: StytchEmulator
) -> None:
    await client.create_connection(ORG, display_name="x")
    emulator.script(fault="500_before_commit", route="delete")
    with pytest.raises(scim.BadRequestError) as info:
        await client.delete_connection(ORG, "scim-connection-test-unknown")
    assert info.value.error_type == "no_active_scim_connection"
    assert emulator.active_token(ORG) is not None


async def test_a_complete_repeated_after_it_committed_is_reported_done(
    client: scim.SCIMClient, emulator: StytchEmulator
) -> None:
    cid = (await client.create_connection(ORG, display_name="x")).connection.connection_id
    started = await client.rotate_start(ORG, cid)
    emulator.script(fault="500_after_commit", route="rotate_complete")
    emulator.script(fault="500_before_commit", route="get")  # the first (single) check fails
    # The retried complete is answered "not rotating": proof the first one committed.
    result = await client.rotate_complete(ORG, cid)
    assert not result.connection.rotating
    assert emulator.active_token(ORG) == started.connection.next_bearer_token


async def test_a_recovery_that_cannot_complete_hands_over_the_pending_token(
    client: scim.SCIMClient, emulator: StytchEmulator
) -> None:
    emulator.script(fault="500_after_commit", route="create")
    emulator.script(fault="500_before_commit", route="rotate_complete", times=3)
    with pytest.raises(scim.TokenLostError) as info:
        await client.create_connection(ORG, display_name="Okta", recover_token=True)
    pending = info.value.next_bearer_token
    assert pending is not None
    assert pending not in str(info.value) and pending not in repr(info.value)
    completed = await client.rotate_complete(ORG, info.value.connection.connection_id)
    assert not completed.connection.rotating
    assert emulator.active_token(ORG) == pending


async def test_a_success_after_retries_refunds_what_they_spent(
    emulator: StytchEmulator, fast_retry: scim.RetryPolicy
) -> None:
    budget = scim.RetryBudget(capacity=100, available=50)
    emulator.script(fault="500_before_commit", route="get", times=2)
    async with scim.SCIMClient(
        emulator.project_id,
        emulator.secret,
        base_url=emulator.base_url,
        retry=fast_retry,
        retry_budget=budget,
    ) as c:
        await c.get_connection(ORG)
        assert budget.available == 50  # two retries took 10, the success gave them back
        await c.get_connection(ORG)
    assert budget.available == 51  # a first-try success adds one


async def test_already_exists_after_an_unreconciled_commit_is_never_reported_as_such(
    client: scim.SCIMClient, emulator: StytchEmulator
) -> None:
    # The create commits but answers 500, and Stytch cannot be asked what happened
    # (GETs fail): the retried POST answers "already exists". That connection is ours,
    # so the call must not end with ConnectionExistsError ("it was there before").
    emulator.script(fault="500_after_commit", route="create")
    emulator.script(fault="500_before_commit", route="get", times=100)
    with pytest.raises(scim.StytchSCIMError) as info:
        await client.create_connection(
            ORG, display_name="x", recover_token=True, proven_absent=True
        )
    assert not isinstance(info.value, scim.ConnectionExistsError)
    assert scim.RetryPolicy.is_ambiguous(info.value)  # "it may have committed"
    assert info.value.may_have_committed
    assert emulator.active_token(ORG) is not None
    # One look per doubt, never a retried one: POST, GET, POST ("exists"), GET.
    assert emulator.stats.total_requests == 4


async def test_a_look_that_succeeds_later_still_recovers_the_token(
    client: scim.SCIMClient, emulator: StytchEmulator
) -> None:
    emulator.script(fault="500_after_commit", route="create")
    emulator.script(fault="500_before_commit", route="get")  # the first look fails
    created = await client.create_connection(
        ORG, display_name="x", recover_token=True, proven_absent=True
    )
    assert created.recovered
    assert created.connection.bearer_token == emulator.active_token(ORG)


async def test_any_answer_after_an_unreconciled_commit_is_reconciled(
    client: scim.SCIMClient, emulator: StytchEmulator
) -> None:
    # The create commits but answers 500; the look that follows fails; the retried
    # POST is answered 429 with a Retry-After too long to wait. The retry policy
    # decides on that real answer (it surfaces, with its retry_after), and the
    # error says the create may have committed; resuming with maybe_sent looks
    # first and recovers the token.
    emulator.script(fault="500_after_commit", route="create")
    emulator.script(fault="500_before_commit", route="get")
    emulator.script(fault="rate_limit", route="create", retry_after=120)
    with pytest.raises(scim.RateLimitError) as info:
        await client.create_connection(
            ORG, display_name="x", recover_token=True, proven_absent=True
        )
    assert info.value.retry_after == 120
    assert info.value.may_have_committed
    created = await client.create_connection(
        ORG, display_name="x", recover_token=True, proven_absent=True, maybe_sent=True
    )
    assert created.recovered
    assert created.connection.bearer_token == emulator.active_token(ORG)
    assert emulator.stats.creates_committed == 1


async def test_every_retry_record_names_the_organization(
    client: scim.SCIMClient, emulator: StytchEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    emulator.script(fault="500_before_commit", route="get", times=2)
    with caplog.at_level(logging.INFO, logger="stytch_scim_async"):
        await client.get_connection(ORG)
    retries = [r for r in caplog.records if r.getMessage().startswith("retrying get")]
    assert len(retries) == 2
    for record in retries:
        assert record.organization_id == ORG  # type: ignore[attr-defined]
        assert record.getMessage().endswith(f"[organization {ORG}]")
