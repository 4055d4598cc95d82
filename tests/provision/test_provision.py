"""Batch provisioning through the public API against the emulator."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

import stytch_scim_async as scim
from stytch_scim_async.testing import StytchEmulator

Status = scim.ProvisionStatus


def orgs(n: int, prefix: str = "organization-test-p") -> list[scim.ProvisionRequest]:
    return [
        scim.ProvisionRequest(f"{prefix}{i:04d}", display_name=f"Org {i}", identity_provider="okta")
        for i in range(n)
    ]


def answer_late(emulator: StytchEmulator, request: scim.ProvisionRequest, seconds: float) -> None:
    """Make the create for `request` commit, then answer only after `seconds`."""
    emulator.script(
        fault="stall_after_commit",
        route="create",
        organization_id=request.organization_id,
        stall_seconds=seconds,
    )


async def test_every_org_gets_a_connection_and_its_token(
    client: scim.SCIMClient, emulator: StytchEmulator
) -> None:
    progress: list[scim.ProvisionProgress] = []
    outcomes = [
        o async for o in client.provision(orgs(60), concurrency=8, on_progress=progress.append)
    ]
    assert len(outcomes) == 60
    assert {o.request.organization_id for o in outcomes} == {r.organization_id for r in orgs(60)}
    for outcome in outcomes:
        assert outcome.status is Status.CREATED
        assert outcome.ok
        assert outcome.connection is not None
        assert outcome.connection.bearer_token == emulator.active_token(
            outcome.request.organization_id
        )
        assert outcome.attempts == 1
        assert outcome.request_id
    assert progress[-1].done == 60
    assert progress[-1].created == 60
    assert progress[-1].requests == 60
    assert max(p.in_flight for p in progress) <= 8
    assert emulator.stats.creates_committed == 60


async def test_mixed_outcomes_never_stop_the_batch(
    client: scim.SCIMClient, emulator: StytchEmulator
) -> None:
    emulator.add_connection("organization-test-p0001", display_name="theirs")
    emulator.script(
        fault="500_after_commit", route="create", organization_id="organization-test-p0002"
    )
    requests: list[object] = [
        *orgs(4),
        scim.ProvisionRequest("organization-test-bad", identity_provider="not-an-idp"),
        "not a request",
    ]
    outcomes = {
        o.request.organization_id if isinstance(o.request, scim.ProvisionRequest) else "junk": o
        async for o in client.provision(requests, concurrency=3)  # type: ignore[arg-type]
    }
    assert outcomes["organization-test-p0000"].status is Status.CREATED
    assert outcomes["organization-test-p0001"].status is Status.ALREADY_EXISTS
    assert isinstance(outcomes["organization-test-p0001"].error, scim.ConnectionExistsError)
    recovered = outcomes["organization-test-p0002"]
    assert recovered.status is Status.RECOVERED
    assert recovered.connection is not None
    assert recovered.connection.bearer_token == emulator.active_token("organization-test-p0002")
    assert recovered.attempts == 4  # create, get, rotate start, rotate complete
    failed = outcomes["organization-test-bad"]
    assert failed.status is Status.FAILED
    assert isinstance(failed.error, scim.BadRequestError)
    assert outcomes["junk"].status is Status.FAILED
    assert isinstance(outcomes["junk"].error, scim.InvalidRequestError)


async def test_input_is_read_lazily_from_an_async_iterable(client: scim.SCIMClient) -> None:
    pulled = 0

    async def source() -> AsyncIterator[scim.ProvisionRequest]:
        nonlocal pulled
        for request in orgs(30):
            pulled += 1
            yield request

    seen = 0
    # Without the search pre-scan nothing is read ahead of the creates; with it, at
    # most one window of SEARCH_CHUNK requests is (see the next test).
    async for _ in client.provision(source(), concurrency=4, prescan=False):
        seen += 1
        assert pulled <= seen + 4
    assert seen == 30


async def test_the_prescan_reads_one_window_ahead_at_most(
    client: scim.SCIMClient, emulator: StytchEmulator
) -> None:
    pulled = 0

    def source() -> Iterator[scim.ProvisionRequest]:
        nonlocal pulled
        for request in orgs(1200):
            pulled += 1
            yield request

    batch = client.provision(source(), concurrency=4)
    async with batch:
        first = await anext(batch)
        assert first.status is Status.CREATED
        assert pulled == 1000  # one search window, not the whole source
        assert emulator.stats.count("search_organizations") == 4  # pages of 250
        async for _ in batch:
            pass
    assert pulled == 1200


async def test_cancelling_the_iteration_cancels_in_flight_creates(emulator: StytchEmulator) -> None:
    emulator.script(fault="stall_after_commit", route="create", times=1000, stall_seconds=30)
    pulled = 0

    def source() -> Iterator[scim.ProvisionRequest]:
        nonlocal pulled
        for request in orgs(1000):
            pulled += 1
            yield request

    abandoned: list[scim.ProvisionOutcome] = []
    async with scim.SCIMClient(
        emulator.project_id, emulator.secret, base_url=emulator.base_url
    ) as c:

        async def consume() -> None:
            batch = c.provision(
                source(), concurrency=5, on_abandoned=abandoned.append, prescan=False
            )
            async for _ in batch:
                raise AssertionError("nothing can finish while every create stalls")

        loop = asyncio.get_running_loop()
        consumer = asyncio.create_task(consume())  # (prescan off: see `pulled` below)
        while emulator.stats.total_requests < 5:
            await asyncio.sleep(0.01)
        started = loop.time()
        consumer.cancel()
        with pytest.raises(asyncio.CancelledError):
            await consumer
        assert loop.time() - started < 0.1
        assert pulled == 5
        leftovers = [t for t in asyncio.all_tasks() if "_provision_one" in repr(t.get_coro())]
        assert leftovers == []
    # Each cancelled create may have committed: the caller is told which organizations.
    assert [o.request for o in abandoned] == orgs(5)
    assert all(o.status is Status.FAILED for o in abandoned)
    assert all(isinstance(o.error, scim.TransportError) for o in abandoned)


async def test_breaking_out_early_starts_nothing_new_and_raises_with_the_rest(
    client: scim.SCIMClient, emulator: StytchEmulator
) -> None:
    # No callback: leaving `async with` early lets the two creates in flight finish and
    # raises an error carrying their outcomes, tokens included.
    emulator.script(
        fault="500_before_commit", route="create", organization_id="organization-test-x"
    )
    requests = [scim.ProvisionRequest("organization-test-x"), *orgs(10)]
    for request in requests[1:]:
        answer_late(emulator, request, 0.2)
    seen: list[scim.ProvisionOutcome] = []

    async def leave_after_the_first() -> None:
        async with client.provision(
            requests, concurrency=3, retry=scim.RetryPolicy.disabled()
        ) as batch:
            async for outcome in batch:
                seen.append(outcome)
                break

    with pytest.raises(scim.ProvisionAbandonedError) as info:
        await leave_after_the_first()
    assert [o.request.organization_id for o in seen] == ["organization-test-x"]
    assert seen[0].status is Status.FAILED
    leftovers = [t for t in asyncio.all_tasks() if "_provision_one" in repr(t.get_coro())]
    assert leftovers == []
    handed = info.value.outcomes
    assert sorted(o.request.organization_id for o in handed) == [
        r.organization_id for r in requests[1:3]
    ]
    for outcome in handed:
        assert outcome.status is Status.CREATED
        assert outcome.bearer_token == emulator.active_token(outcome.request.organization_id)
        assert outcome.bearer_token is not None
        assert outcome.bearer_token not in str(info.value) + repr(info.value)
    assert emulator.stats.creates_committed == 2  # nothing new was started


async def test_bad_arguments(client: scim.SCIMClient) -> None:
    with pytest.raises(scim.InvalidRequestError, match="concurrency"):
        async for _ in client.provision(orgs(1), concurrency=0):
            pass
    with pytest.raises(scim.InvalidRequestError, match="requests"):
        async for _ in client.provision(5, concurrency=1):  # type: ignore[arg-type]
            pass


async def test_batches_retry_harder_than_single_calls(
    client: scim.SCIMClient, emulator: StytchEmulator
) -> None:
    emulator.script(fault="rate_limit", route="create", times=4, retry_after=0)
    (outcome,) = [o async for o in client.provision(orgs(1))]
    assert outcome.status is Status.CREATED
    assert outcome.attempts == 5


async def test_breaking_out_hands_over_the_tokens_still_in_flight(
    client: scim.SCIMClient, emulator: StytchEmulator
) -> None:
    requests = orgs(6)
    for request in requests[1:]:  # all but the first answer late
        answer_late(emulator, request, 0.3)
    abandoned: list[scim.ProvisionOutcome] = []
    batch = client.provision(requests, concurrency=6, on_abandoned=abandoned.append)
    first = await anext(batch)  # then leave, as a `break` does
    await batch.aclose()
    assert first.request == requests[0]
    assert sorted(o.request.organization_id for o in abandoned) == [
        r.organization_id for r in requests[1:]
    ]
    for outcome in abandoned:
        assert outcome.status is Status.CREATED
        assert outcome.connection is not None
        assert outcome.connection.bearer_token == emulator.active_token(
            outcome.request.organization_id
        )


async def test_a_slow_source_never_holds_back_finished_outcomes(
    client: scim.SCIMClient,
) -> None:
    first_seen = asyncio.Event()

    async def source() -> AsyncIterator[scim.ProvisionRequest]:
        yield orgs(1)[0]
        await first_seen.wait()  # e.g. an upstream queue that waits on our progress
        yield orgs(2)[1]

    async def consume() -> list[scim.ProvisionOutcome]:
        outcomes = []
        async for outcome in client.provision(source()):
            outcomes.append(outcome)
            first_seen.set()
        return outcomes

    outcomes = await asyncio.wait_for(consume(), timeout=5)
    assert [o.status for o in outcomes] == [Status.CREATED, Status.CREATED]


async def test_an_unexpected_error_fails_one_organization_not_the_batch(
    emulator: StytchEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken_sleep(_: float) -> None:
        raise RuntimeError("a hook blew up")

    requests = orgs(3)
    emulator.script(
        fault="500_before_commit", route="create", organization_id=requests[1].organization_id
    )
    policy = scim.RetryPolicy(max_attempts=6, sleep=broken_sleep)
    async with scim.SCIMClient(
        emulator.project_id, emulator.secret, base_url=emulator.base_url
    ) as c:
        outcomes = {o.request.organization_id: o async for o in c.provision(requests, retry=policy)}
    broken = outcomes.pop(requests[1].organization_id)
    assert broken.status is Status.FAILED
    assert isinstance(broken.error, scim.StytchSCIMError)  # one type for every outcome
    assert isinstance(broken.error.__cause__, RuntimeError)
    assert broken.error.may_have_committed
    assert all(o.status is Status.CREATED for o in outcomes.values())
    assert "unexpected error" in caplog.text


async def test_a_failing_source_still_hands_over_the_tokens_in_flight(
    client: scim.SCIMClient, emulator: StytchEmulator
) -> None:
    requests = orgs(2)
    for request in requests:
        answer_late(emulator, request, 0.2)

    async def source() -> AsyncIterator[scim.ProvisionRequest]:
        for request in requests:
            yield request
        raise OSError("the upstream went away")

    abandoned: list[scim.ProvisionOutcome] = []
    with pytest.raises(OSError, match="upstream"):
        async for _ in client.provision(source(), on_abandoned=abandoned.append):
            pass
    assert sorted(o.request.organization_id for o in abandoned) == [
        r.organization_id for r in requests
    ]
    for outcome in abandoned:
        assert outcome.status is Status.CREATED
        assert outcome.connection is not None
        assert outcome.connection.bearer_token == emulator.active_token(
            outcome.request.organization_id
        )


async def test_cancelling_while_the_loop_body_awaits_abandons_at_once(
    client: scim.SCIMClient, emulator: StytchEmulator
) -> None:
    fast, slow = scim.ProvisionRequest("organization-test-fast"), orgs(1)[0]
    answer_late(emulator, slow, 10)
    abandoned: list[scim.ProvisionOutcome] = []
    body_started = asyncio.Event()

    async def consume() -> None:
        batch = client.provision([fast, slow], concurrency=2, on_abandoned=abandoned.append)
        async with contextlib.aclosing(batch):
            async for _ in batch:
                body_started.set()
                await asyncio.sleep(30)  # e.g. writing the outcome down

    consumer = asyncio.create_task(consume())
    await body_started.wait()
    loop = asyncio.get_running_loop()
    started = loop.time()
    consumer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await consumer
    assert loop.time() - started < 1.0  # not the 10 s the stalled create would take
    assert [(o.request, o.status) for o in abandoned] == [(slow, Status.FAILED)]


async def test_every_token_reaches_on_abandoned_once_whatever_goes_wrong(
    client: scim.SCIMClient,
    emulator: StytchEmulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The outcomes whose on_abandoned raised are not dropped: with nobody left to
    # raise to (the task is cancelled), they go to the last-resort file.
    monkeypatch.setenv("STYTCH_SCIM_UNCLAIMED_DIR", str(tmp_path))
    requests = orgs(4)
    # [0] answers at once; [1] after 0.2 s; [2] after 0.4 s; [3] after 5 s.
    for request, stall in zip(requests[1:], (0.2, 0.4, 5.0), strict=True):
        answer_late(emulator, request, stall)
    handed: list[scim.ProvisionOutcome] = []

    def record(outcome: scim.ProvisionOutcome) -> None:
        handed.append(outcome)
        if outcome.request in requests[:2]:
            raise OSError("disk full")  # the others must still be handed over

    def broken_progress(_: scim.ProvisionProgress) -> None:
        raise RuntimeError("the progress bar broke")

    async def consume() -> None:
        batch = client.provision(
            requests, concurrency=4, on_progress=broken_progress, on_abandoned=record
        )
        async with contextlib.aclosing(batch):
            async for _ in batch:
                raise AssertionError("on_progress raises before anything is yielded")

    consumer = asyncio.create_task(consume())
    while len(handed) < 3:  # [0] (whose progress broke), [1] and [2], drained
        await asyncio.sleep(0.02)
    consumer.cancel()  # then give up on [3]
    with pytest.raises((asyncio.CancelledError, RuntimeError, OSError)):
        await consumer
    statuses = {o.request.organization_id: o.status for o in handed}
    assert len(handed) == len(statuses) == 4  # each exactly once
    for request in requests[:3]:
        assert statuses[request.organization_id] is Status.CREATED
    assert statuses[requests[3].organization_id] is Status.FAILED
    tokens = {o.request.organization_id: o.connection for o in handed if o.connection}
    for org, connection in tokens.items():
        assert connection.bearer_token == emulator.active_token(org)
    (written,) = tmp_path.iterdir()  # noqa: ASYNC240 - a test's own tmp folder
    kept = [json.loads(line) for line in written.read_text().splitlines()]
    assert sorted(r["organization_id"] for r in kept) == [r.organization_id for r in requests[:2]]
    for line in kept:
        assert line["bearer_token"] == emulator.active_token(line["organization_id"])
