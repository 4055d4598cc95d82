"""The token promise over HTTP: the reconcile table's rows replayed against the
emulator, and each way the promise used to break, as a regression test.

Every test goes through the public API and checks the emulator's ground truth:
which token is live, and whether anything was rotated.
"""

from __future__ import annotations

import asyncio
import traceback
from collections.abc import AsyncIterator

import pytest

import stytch_scim_async as scim
from stytch_scim_async._policy.reconcile import Verdict
from stytch_scim_async.testing import Settings, StytchEmulator

from ..support.reconcile import ROWS, Row
from ..support.replay import ORG, SCENARIOS, attempt, observed


def test_every_row_has_a_scenario() -> None:
    assert sorted(SCENARIOS) == sorted(row.name for row in ROWS)


@pytest.mark.parametrize("row", ROWS, ids=[row.name for row in ROWS])
async def test_the_table_replayed_over_http(
    row: Row, client: scim.SCIMClient, emulator: StytchEmulator
) -> None:
    before = emulator.active_token(ORG)
    # The mid-rotation rows start one rotation themselves, to set the scene.
    started = emulator.stats.rotations_started + (1 if row.name.startswith("mid-rotation") else 0)
    result = await SCENARIOS[row.name](client, emulator)
    assert observed(result) is row.verdict
    if row.verdict is Verdict.RECOVER:
        assert isinstance(result, scim.CreateConnectionResponse)
        assert result.connection.bearer_token == emulator.active_token(ORG)
        # A rotation left pending by a recovery cut short is cancelled, not reused.
        assert emulator.stats.rotations_cancelled == (1 if "cut short" in row.name else 0)
    else:  # nothing of anyone's was rotated
        assert emulator.stats.rotations_started == started
        assert emulator.stats.rotations_completed == emulator.stats.rotations_cancelled == 0
        if before is not None:
            assert emulator.active_token(ORG) == before


@pytest.mark.parametrize("omitted", ["display_name", "identity_provider"])
async def test_an_omitted_field_never_rotates_an_existing_connection(
    omitted: str, client: scim.SCIMClient, emulator: StytchEmulator
) -> None:
    # Point 2: a "Legacy Okta"/okta connection existed; a create that omits a field
    # meets a 500 before commit. Without proof of absence nothing may be rotated.
    existing = emulator.add_connection(ORG, display_name="Legacy Okta", identity_provider="okta")
    emulator.script(fault="500_before_commit", route="create")
    fields: dict[str, str | None] = {"display_name": "Okta", "identity_provider": "okta"}
    fields[omitted] = None
    with pytest.raises((scim.TokenLostError, scim.ConnectionExistsError)) as info:
        await client.create_connection(
            ORG,
            display_name=fields["display_name"],
            identity_provider=fields["identity_provider"],
            recover_token=True,
            verify_absent=False,
        )
    if isinstance(info.value, scim.TokenLostError):
        assert not info.value.proven
    assert emulator.active_token(ORG) == existing["bearer_token"]
    assert emulator.stats.rotations_started == 0


async def test_the_default_recovery_proves_absence_first(
    client: scim.SCIMClient, emulator: StytchEmulator
) -> None:
    # recover_token=True with a pre-existing identical connection: the GET before the
    # POST finds it, so it is reported and never rotated (nothing is even posted).
    existing = emulator.add_connection(ORG, display_name="Okta", identity_provider="okta")
    with pytest.raises(scim.ConnectionExistsError) as info:
        await client.create_connection(
            ORG, display_name="Okta", identity_provider="okta", recover_token=True
        )
    assert info.value.connection_id == existing["connection_id"]
    assert emulator.stats.count("create") == 0
    assert emulator.active_token(ORG) == existing["bearer_token"]


async def test_two_concurrent_creates_for_one_organization_never_revoke_each_other(
    client: scim.SCIMClient, emulator: StytchEmulator
) -> None:
    # Point 3: the first create's reply is lost after it committed; the second, running
    # at the same time, must not be able to rotate the first's connection.
    emulator.script(fault="500_after_commit", route="create")
    results = await asyncio.gather(
        attempt(client.create_connection(ORG, display_name="Okta", recover_token=True)),
        attempt(client.create_connection(ORG, display_name="Okta", recover_token=True)),
    )
    held = [r for r in results if isinstance(r, scim.CreateConnectionResponse)]
    assert len(held) == 1  # exactly one call holds the token, and it is the live one
    assert held[0].connection.bearer_token == emulator.active_token(ORG)
    other = next(r for r in results if not isinstance(r, scim.CreateConnectionResponse))
    assert isinstance(other, scim.ConnectionExistsError)
    assert emulator.stats.creates_committed == 1


async def test_a_look_that_proves_nothing_committed_clears_the_doubt(
    client: scim.SCIMClient, emulator: StytchEmulator
) -> None:
    # A 500 before commit, then the look shows no connection: the doubt is gone, so an
    # "already exists" that follows (someone else's create) is reported as exists.
    emulator.script(fault="500_before_commit", route="create")

    async def someone_else_creates(_: float) -> None:
        if emulator.active_token(ORG) is None:
            emulator.add_connection(ORG, display_name="Okta", identity_provider="okta")

    policy = scim.RetryPolicy(sleep=someone_else_creates)
    c = client.with_retry(policy)
    with pytest.raises(scim.ConnectionExistsError) as info:
        await c.create_connection(
            ORG, display_name="Okta", identity_provider="okta", proven_absent=True
        )
    assert not info.value.may_have_committed
    assert emulator.stats.rotations_started == 0


@pytest.mark.parametrize("max_attempts", [3, 6, 10])
async def test_requests_grow_linearly_when_stytch_is_down(
    max_attempts: int, emulator: StytchEmulator, fast_retry: scim.RetryPolicy
) -> None:
    # Point 6: every request answers 500. One look per doubt: at most 2n requests.
    emulator.script(fault="500_before_commit", times=1000)
    budget = scim.RetryBudget(capacity=10_000, available=10_000)
    policy = scim.RetryPolicy(max_attempts=max_attempts, sleep=fast_retry.sleep)
    async with scim.SCIMClient(
        emulator.project_id,
        emulator.secret,
        base_url=emulator.base_url,
        retry=policy,
        retry_budget=budget,
    ) as c:
        with pytest.raises(scim.ServerError) as info:
            await c.create_connection(ORG, display_name="Okta", proven_absent=True)
    assert info.value.attempts == max_attempts
    assert info.value.may_have_committed
    assert emulator.stats.total_requests == 2 * max_attempts


async def test_a_401_after_a_doubt_keeps_the_doubt(
    client: scim.SCIMClient, emulator: StytchEmulator
) -> None:
    emulator.script(fault="500_after_commit", route="create")
    emulator.script(fault="500_before_commit", route="get")

    async def revoke_the_secret(_: float) -> None:
        client._headers.mapping = {**client._headers.mapping, "Authorization": "Basic eDp5"}

    c = client.with_retry(scim.RetryPolicy(sleep=revoke_the_secret))
    with pytest.raises(scim.UnauthorizedError) as info:
        await c.create_connection(ORG, display_name="Okta", proven_absent=True)
    assert info.value.may_have_committed  # the first attempt may have committed
    assert emulator.stats.total_requests == 3  # POST, one look, POST (401): then it ends


async def test_an_unconfirmed_recovery_is_reported_with_its_token(
    client: scim.SCIMClient, emulator: StytchEmulator
) -> None:
    # Point 5: the recovery's complete cannot be confirmed; the outcome says so and
    # exposes the token where the docs' loop stores tokens.
    emulator.script(fault="500_after_commit", route="create")
    # Every attempt of the recovery's complete fails (a batch makes 6).
    emulator.script(fault="500_before_commit", route="rotate_complete", times=6)
    outcomes = [o async for o in client.provision([scim.ProvisionRequest(ORG, "Okta", "okta")])]
    (outcome,) = outcomes
    assert outcome.status is scim.ProvisionStatus.UNCONFIRMED
    assert not outcome.ok and not outcome.token_confirmed
    assert outcome.bearer_token is not None
    assert outcome.bearer_token not in repr(outcome)
    completed = await client.rotate_complete(ORG, outcome.error.connection.connection_id)  # type: ignore[union-attr]
    assert completed.connection.bearer_token_last_four == outcome.bearer_token[-4:]
    assert emulator.active_token(ORG) == outcome.bearer_token


async def test_a_recovery_whose_complete_committed_behind_a_lost_reply_is_confirmed(
    client: scim.SCIMClient, emulator: StytchEmulator
) -> None:
    emulator.script(fault="500_after_commit", route="create")
    emulator.script(fault="500_after_commit", route="rotate_complete", times=100)
    created = await client.create_connection(ORG, display_name="Okta", recover_token=True)
    assert created.recovered
    assert created.connection.bearer_token == emulator.active_token(ORG)


async def test_duplicate_rows_are_sent_once(
    client: scim.SCIMClient, emulator: StytchEmulator
) -> None:
    emulator.script(fault="500_after_commit", route="create")
    rows = [scim.ProvisionRequest(ORG, "Okta", "okta")] * 3
    async with client.provision(rows) as batch:
        outcomes = [o async for o in batch]
    held = [o for o in outcomes if o.bearer_token is not None]
    assert len(held) == 1 and held[0].token_confirmed
    assert held[0].bearer_token == emulator.active_token(ORG)
    refused = [o for o in outcomes if o.status is scim.ProvisionStatus.FAILED]
    assert len(refused) == 2
    assert all(isinstance(o.error, scim.InvalidRequestError) for o in refused)
    assert emulator.stats.count("create") == 1 + 0  # the lost reply was recovered, not reposted


async def test_the_prescan_reports_existing_connections_without_a_post(
    client: scim.SCIMClient, emulator: StytchEmulator
) -> None:
    existing = emulator.add_connection("organization-test-old", display_name="Okta")
    rows = [
        scim.ProvisionRequest("organization-test-old", "Okta"),
        scim.ProvisionRequest(ORG, "Okta"),
    ]
    async with client.provision(rows) as batch:
        outcomes = {o.request.organization_id: o async for o in batch}
    old = outcomes["organization-test-old"]
    assert old.status is scim.ProvisionStatus.ALREADY_EXISTS
    assert isinstance(old.error, scim.ConnectionExistsError)
    assert old.error.connection_id == existing["connection_id"]
    assert emulator.active_token("organization-test-old") == existing["bearer_token"]
    assert outcomes[ORG].status is scim.ProvisionStatus.CREATED
    assert emulator.stats.count("create") == 1
    assert emulator.stats.count("get") == 0  # absence proven by the search, not per organization


async def test_a_failed_search_falls_back_to_a_look_per_organization(
    client: scim.SCIMClient, emulator: StytchEmulator
) -> None:
    emulator.script(fault="500_before_commit", route="search_organizations", times=100)
    existing = emulator.add_connection("organization-test-old", display_name="Okta")
    emulator.script(fault="500_after_commit", route="create", organization_id=ORG)
    rows = [
        scim.ProvisionRequest("organization-test-old", "Okta"),
        scim.ProvisionRequest(ORG, "Okta"),
    ]
    async with client.provision(rows) as batch:
        outcomes = {o.request.organization_id: o async for o in batch}
    assert outcomes["organization-test-old"].status is scim.ProvisionStatus.ALREADY_EXISTS
    assert emulator.active_token("organization-test-old") == existing["bearer_token"]
    assert outcomes[ORG].status is scim.ProvisionStatus.RECOVERED  # proven by its GET
    assert emulator.stats.count("get") >= 2


async def test_leaving_the_loop_raises_with_every_token(
    client: scim.SCIMClient, emulator: StytchEmulator
) -> None:
    # Point 4, without any callback: an exception in the loop body.
    rows = [scim.ProvisionRequest(f"organization-test-{i}", "Okta") for i in range(16)]

    async def fail_in_the_loop_body() -> None:
        async with client.provision(rows, concurrency=16) as batch:
            async for _ in batch:
                raise KeyError("the loop body failed")

    with pytest.raises(scim.ProvisionAbandonedError) as info:
        await fail_in_the_loop_body()
    assert isinstance(info.value.__context__, KeyError)
    handed = {o.request.organization_id: o for o in info.value.outcomes}
    assert len(handed) == 15
    for org, outcome in handed.items():
        assert outcome.bearer_token == emulator.active_token(org)


async def test_a_batch_left_without_async_with_writes_its_tokens_down(
    client: scim.SCIMClient,
    emulator: StytchEmulator,
    tmp_path: object,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    import json
    import os
    import stat
    from pathlib import Path

    folder = Path(str(tmp_path))
    monkeypatch.setenv("STYTCH_SCIM_UNCLAIMED_DIR", str(folder))
    rows = [scim.ProvisionRequest(f"organization-test-{i}", "Okta") for i in range(8)]
    batch = client.provision(rows, concurrency=8)
    async for _ in batch:
        break
    del batch
    for _ in range(200):  # the loop closes the abandoned generator in a task of its own
        if os.listdir(folder):
            break
        await asyncio.sleep(0.01)
    (name,) = os.listdir(folder)
    path = folder / name
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(records) == 7
    for record in records:
        assert record["bearer_token"] == emulator.active_token(record["organization_id"])
    assert str(path) in caplog.text
    assert all(record["bearer_token"] not in caplog.text for record in records)


async def test_a_closing_client_refuses_new_calls(emulator: StytchEmulator) -> None:
    # Point 7: aclose() used to admit new calls while it drained.
    emulator.script(fault="stall_after_commit", route="create", stall_seconds=0.3)
    c = scim.SCIMClient(emulator.project_id, emulator.secret, base_url=emulator.base_url)
    create = asyncio.create_task(c.create_connection(ORG, display_name="x"))
    while emulator.stats.total_requests < 1:
        await asyncio.sleep(0.01)
    closing = asyncio.create_task(c.aclose())
    await asyncio.sleep(0)
    with pytest.raises(scim.ClientClosedError):
        await c.get_connection(ORG)
    await asyncio.wait_for(closing, timeout=5)
    assert (await create).connection.bearer_token == emulator.active_token(ORG)


async def test_verify_absent_shares_the_calls_one_deadline(emulator: StytchEmulator) -> None:
    emulator.script(fault="stall_after_commit", route="get", stall_seconds=5, times=10)
    policy = scim.RetryPolicy(deadline=1.0, initial_delay=0.01)
    async with scim.SCIMClient(
        emulator.project_id, emulator.secret, base_url=emulator.base_url, retry=policy, timeout=0.6
    ) as c:
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(scim.RequestTimeoutError):
            await c.create_connection(ORG, display_name="x", verify_absent=True)
        # The check is part of the call: deadline plus one attempt's grace, at most.
        assert loop.time() - started < 1.0 + 0.6 + 0.4
    assert emulator.stats.count("create") == 0


def _chain(error: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    while error is not None and error not in seen:
        seen.append(error)
        error = error.__cause__ or error.__context__  # type: ignore[assignment]
    return seen


async def test_no_secret_in_the_frames_a_locals_capturing_traceback_shows(
    client: scim.SCIMClient, emulator: StytchEmulator
) -> None:
    session = emulator.member_session(ORG, admin=False)  # RBAC refuses: a 403
    with pytest.raises(scim.ForbiddenError) as info:
        await client.create_connection(ORG, display_name="x", member_session_token=session)
    library = [
        frame
        for error in _chain(info.value)
        for frame in traceback.TracebackException.from_exception(error, capture_locals=True).stack
        if "/stytch_scim_async/" in frame.filename
    ]
    assert len(library) > 3
    text = repr([frame.locals for frame in library])
    assert session not in text
    assert emulator.secret not in text
    assert "Basic " not in text


async def test_an_undecodable_create_reply_keeps_no_token_anywhere(
    client: scim.SCIMClient, emulator: StytchEmulator
) -> None:
    emulator.script(fault="truncated_json", route="create")
    with pytest.raises(scim.TokenLostError) as info:
        await client.create_connection(ORG, display_name="x", verify_absent=False)
    token = emulator.active_token(ORG)
    assert token is not None
    for error in _chain(info.value):
        assert token[:12] not in repr(vars(error)) + str(error) + repr(error.args)


async def test_a_proof_taken_before_another_call_for_the_organization_is_void(
    client: scim.SCIMClient, emulator: StytchEmulator
) -> None:
    # Both calls carry the caller's proof of absence. The first's reply is lost after
    # it committed (it recovers its token); the second, which waited for it, meets a
    # 500 before commit and finds the first's connection: its proof is stale, so it
    # must not rotate (that would revoke the token the first call just reported).
    emulator.script(fault="500_after_commit", route="create")
    emulator.script(fault="500_before_commit", route="create")
    first, second = await asyncio.gather(
        attempt(
            client.create_connection(
                ORG, display_name="Okta", recover_token=True, proven_absent=True
            )
        ),
        attempt(
            client.create_connection(
                ORG, display_name="Okta", recover_token=True, proven_absent=True
            )
        ),
    )
    assert isinstance(first, scim.CreateConnectionResponse) and first.recovered
    assert first.connection.bearer_token == emulator.active_token(ORG)
    assert isinstance(second, scim.TokenLostError) and not second.proven
    assert emulator.stats.rotations_started == 1


@pytest.fixture
async def shows_deleted() -> AsyncIterator[StytchEmulator]:
    # Labelled emulator assumption, off by default: a GET may answer a deleted connection.
    async with StytchEmulator(seed=0, settings=Settings(get_returns_deleted=True)) as emulator:
        yield emulator


async def test_a_deleted_connection_counts_as_none(
    shows_deleted: StytchEmulator, fast_retry: scim.RetryPolicy
) -> None:
    emulator = shows_deleted
    emulator.add_connection(ORG, display_name="Okta", identity_provider="okta", status="deleted")
    assert (await _get(emulator, fast_retry)).connection is not None  # the GET shows it
    emulator.script(fault="500_after_commit", route="create")
    async with scim.SCIMClient(
        emulator.project_id, emulator.secret, base_url=emulator.base_url, retry=fast_retry
    ) as c:
        # The check before the POST sees only a deleted connection: absence is proven,
        # and the lost reply that follows is recovered.
        created = await c.create_connection(
            ORG, display_name="Okta", identity_provider="okta", recover_token=True
        )
    assert created.recovered
    assert created.connection.bearer_token == emulator.active_token(ORG)


async def _get(emulator: StytchEmulator, policy: scim.RetryPolicy) -> scim.GetConnectionResponse:
    async with scim.SCIMClient(
        emulator.project_id, emulator.secret, base_url=emulator.base_url, retry=policy
    ) as c:
        return await c.get_connection(ORG)


async def test_a_callers_proof_is_void_once_a_create_ends_after_the_call_was_made(
    client: scim.SCIMClient, emulator: StytchEmulator
) -> None:
    # The second call is made (its proof of absence already taken) before the first
    # runs, and awaited after it ended: nothing overlapped, yet the first's connection
    # is what the second finds, and rotating it would revoke the token just reported.
    # Over the memory transport the whole first call runs without yielding, so only a
    # mark taken when the call is made (not when it is first awaited) can tell.
    second = client.create_connection(
        ORG, display_name="Okta", recover_token=True, proven_absent=True
    )
    first = await client.create_connection(ORG, display_name="Okta", recover_token=True)
    emulator.script(fault="500_before_commit", route="create")
    result = await attempt(second)
    assert isinstance(result, scim.TokenLostError | scim.ConnectionExistsError)
    assert first.connection.bearer_token == emulator.active_token(ORG)
    assert emulator.stats.rotations_started == 0
