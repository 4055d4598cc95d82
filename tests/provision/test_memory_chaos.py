"""The token promise under chaos for batches, over the memory transport, in virtual time.

A property test draws a whole batch — faults (500s before and after the commit, drops,
stalls past the timeout, 429s, truncated and HTML bodies, scripted ones aimed at one
organization), concurrency 1..64, duplicated rows, connections that were there
before (identical to their request or not), resumed rows (`maybe_sent`,
`proven_absent`), hooks that raise, a loop left early or cancelled (once or twice) —
and checks the fake's ground truth afterwards (see `tests/support/memory_chaos.py`;
single calls are `test_memory_chaos_single.py`). `MEMORY_CHAOS_EXAMPLES` sets the
number of examples (`nox -s chaos` runs 5,000). Every bug the hunt found is pinned
below as a plain test, each of which failed until its fix.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given

import stytch_scim_async as scim
from stytch_scim_async._engine import receipt as receipt_module
from stytch_scim_async._provision import search as search_module
from stytch_scim_async.testing import FakeStytch

from ..support.memory_chaos import (
    Ledger,
    LogSink,
    RecordingHandler,
    exception_texts,
    read_unclaimed,
    virtual_epoch,
)
from ..support.memory_chaos_plans import (
    CHAOS,
    FOREIGN,
    TIMEOUT,
    BatchPlan,
    Boom,
    batch_plans,
    org_name,
    request_for,
    row_request,
)
from .memory_chaos_driver import (
    checked,
    make_client,
    run_virtual,
    script_faults,
    seed_org,
    settle_tasks,
)

pytestmark = pytest.mark.timeout(TIMEOUT)


def _source(plan: BatchPlan, requests: list[scim.ProvisionRequest]) -> Any:
    raising = plan.exit == "source_raises"

    def generator() -> Iterator[scim.ProvisionRequest]:
        for n, request in enumerate(requests):
            if raising and n == plan.at:
                raise Boom("the source broke")
            yield request

    async def agenerator() -> AsyncIterator[scim.ProvisionRequest]:
        for n, request in enumerate(requests):
            if raising and n == plan.at:
                raise Boom("the source broke")
            await asyncio.sleep(plan.pause if n % 3 == 0 else 0.0)
            yield request

    if plan.source == "async":
        return agenerator()
    if plan.source == "generator" or raising:
        return generator()
    return list(requests)


def run_batch(plan: BatchPlan) -> Ledger:
    """Run one drawn batch; its ledger holds the promise's violations."""
    world = plan.world
    fake = FakeStytch(faults=world.faults, seed=world.seed, clock=virtual_epoch)
    actor = receipt_module.current_receipt
    handler = RecordingHandler(fake, actor)
    ledger = Ledger(fake, handler)
    foreign: dict[str, str] = {}
    seeded: dict[str, str] = {}  # resumed_committed: organization -> connection id
    lost_before: dict[str, str] = {}  # and its token, which the earlier run lost
    requests: list[scim.ProvisionRequest] = []
    for i, row in enumerate(plan.rows):
        token = seed_org(fake, i, row)
        if token is not None and row.kind in FOREIGN:
            foreign[org_name(i)] = token
        elif token is not None:
            connection = fake.state.active_connection(org_name(i))
            assert connection is not None
            seeded[org_name(i)] = connection.connection_id
            lost_before[org_name(i)] = token
        requests.append(row_request(i, row))
    for index, maybe_sent, proven in plan.duplicates:
        row = plan.rows[index]
        if row.kind == "resumed_committed":  # the earlier run's create is its whole story
            repeat = row_request(index, row)
        else:  # a caller may claim absence only where there was none
            repeat = request_for(index, row, maybe_sent, proven and row.kind not in FOREIGN)
        requests.insert(random.Random(index).randint(0, len(requests)), repeat)
    script_faults(fake, world, len(plan.rows))
    progress: list[int] = []
    abandoned_calls: list[int] = []

    def on_progress(_: scim.ProvisionProgress) -> None:
        progress.append(1)
        if plan.exit == "progress_raises" and len(progress) > plan.at:
            raise Boom("the progress bar broke")

    def on_abandoned(outcome: scim.ProvisionOutcome) -> None:
        abandoned_calls.append(1)
        if len(abandoned_calls) == plan.on_abandoned_raises:
            raise Boom("the abandoned hook broke")
        ledger.outcome(outcome, "on_abandoned")

    sends: list[int] = []

    async def before_send(_: object) -> None:
        if plan.before_send_delay:
            await asyncio.sleep(plan.before_send_delay)
        sends.append(1)
        if plan.exit == "before_send_raises" and len(sends) > plan.at:
            raise Boom("the ledger of pending creates broke")

    async def consume(client: scim.SCIMClient) -> None:
        batch = client.provision(
            _source(plan, requests),
            concurrency=plan.concurrency,
            prescan=plan.prescan,
            verify_absent=plan.verify_absent,
            recover_token=plan.recover_token,
            on_progress=on_progress,
            on_abandoned=on_abandoned if plan.on_abandoned_raises is not None else None,
            before_send=None
            if plan.before_send_delay is None and plan.exit != "before_send_raises"
            else before_send,
        )
        received = 0
        if plan.exit == "no_with_break":
            async for outcome in batch:
                ledger.outcome(outcome, "yielded")
                received += 1
                if received > plan.at:
                    break
            del batch
            return
        async with batch:
            async for outcome in batch:
                ledger.outcome(outcome, "yielded")
                received += 1
                if plan.pause:
                    await asyncio.sleep(plan.pause)
                if received > plan.at and plan.exit == "break":
                    break
                if received > plan.at and plan.exit == "raise_body":
                    raise Boom("the loop body broke")

    async def main() -> None:
        with LogSink() as logs:
            client = make_client(world, fake, handler, ledger)
            async with client:
                consumer = asyncio.create_task(consume(client))
                if plan.cancel_at is not None:
                    await asyncio.sleep(plan.cancel_at)
                    consumer.cancel()
                    if plan.cancel_again is not None:
                        await asyncio.sleep(plan.cancel_again)
                        consumer.cancel()
                try:
                    await consumer
                except scim.ProvisionAbandonedError as exc:
                    for outcome in exc.outcomes:
                        ledger.outcome(outcome, "abandoned error")
                    ledger.texts += exception_texts(exc)
                except (Boom, asyncio.CancelledError) as exc:
                    ledger.texts += exception_texts(exc)
                await settle_tasks()
        ledger.texts += logs.texts

    ledger.unclaimed(run_virtual(main, plan.windows))

    ours = [org_name(i) for i, row in enumerate(plan.rows) if row.kind not in FOREIGN]
    resumed_rotator: dict[str, object] = {}

    def may_rotate(org: str, cid: str | None, who: object | None) -> bool:
        if cid is not None and cid in handler.creator:
            return handler.creator[cid] is who
        if cid is not None and seeded.get(org) == cid:  # an earlier run's: the resume's
            first = resumed_rotator.setdefault(org, who)  # the first row to rotate it
            return first is who
        return False

    if handler.rotations:
        ledger.events.add("a recovery rotated")
    ledger.check_foreign(foreign)
    ledger.check_ours(ours, may_rotate, lost_before)
    ledger.check_secrets([])
    return ledger


@CHAOS
@given(batch_plans())
def test_a_batch_under_chaos_keeps_every_token(plan: BatchPlan) -> None:
    checked(run_batch(plan))


# -- what the hunt found: each pinned as a plain test until the library is fixed ------

ORG = "organization-test-memchaos"


def _written(folder: Path) -> list[dict[str, Any]]:
    return read_unclaimed(folder) if folder.is_dir() else []


async def test_a_cancellation_while_the_batch_drains_keeps_the_tokens(
    client: scim.SCIMClient,
    emulator: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The loop breaks after the first outcome; the second create ends during the drain
    # (its token is handed to the batch's sink); the third is still in flight when
    # the caller's timeout cancels the task. The cancellation goes on, so the tokens
    # must go to the last-resort file: instead they stay in a sink nobody reads.
    monkeypatch.setenv("STYTCH_SCIM_UNCLAIMED_DIR", str(tmp_path))
    fast, slow, stuck = (f"{ORG}-{n}" for n in range(3))
    emulator.script(
        fault="stall_after_commit", route="create", organization_id=slow, stall_seconds=0.05
    )
    emulator.script(
        fault="stall_after_commit", route="create", organization_id=stuck, stall_seconds=3.0
    )
    rows = [scim.ProvisionRequest(org, "Okta") for org in (fast, slow, stuck)]

    async def leave_early() -> None:
        async with asyncio.timeout(0.5), client.provision(rows, concurrency=3) as batch:
            async for outcome in batch:
                assert outcome.request.organization_id == fast
                break

    with pytest.raises(TimeoutError):
        await leave_early()
    handed = {r["organization_id"]: r for r in _written(tmp_path)}
    assert set(handed) == {slow, stuck}  # nothing is written at all today
    assert handed[slow]["bearer_token"] == emulator.active_token(slow)  # it finished
    assert handed[stuck]["status"] == "failed"  # cancelled in flight: may have committed


async def test_a_resumed_row_repeated_beyond_the_recent_window_never_rotates_the_first(
    client: scim.SCIMClient, emulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A resume lists an organization twice, further apart than the batch remembers
    # (RECENT_IDS, 4,000 rows; 1 here). The first row creates the connection and
    # yields its token; the repeat (maybe_sent, proven_absent: the earlier run had
    # proven absence) looks, finds that connection, and takes it for its own.
    monkeypatch.setattr(search_module, "RECENT_IDS", 1)
    other = f"{ORG}-other"
    rows = [
        scim.ProvisionRequest(ORG, "Okta"),
        scim.ProvisionRequest(other, "Okta"),
        scim.ProvisionRequest(ORG, "Okta", maybe_sent=True, proven_absent=True),
    ]
    async with client.provision(rows, concurrency=1) as batch:
        outcomes = [o async for o in batch]
    first = next(o for o in outcomes if o.request == rows[0])
    assert first.status is scim.ProvisionStatus.CREATED
    assert first.bearer_token == emulator.active_token(ORG)
    assert emulator.stats.rotations_started == 0


async def test_a_second_cancellation_while_the_batch_settles_keeps_the_tokens(
    client: scim.SCIMClient,
    emulator: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The create's reply is lost, the recovery's rotate start gives it a token, and its
    # complete commits but stalls: the token is live and only the receipt holds it.
    # The task is cancelled, and cancelled again while the batch cancels its creates
    # (a shutdown that insists, a task group aborting a task already being cancelled).
    monkeypatch.setenv("STYTCH_SCIM_UNCLAIMED_DIR", str(tmp_path))
    emulator.script(fault="500_after_commit", route="create", organization_id=ORG)
    emulator.script(fault="stall_after_commit", route="rotate_complete", stall_seconds=3.0)

    async def consume() -> None:
        async with client.provision([scim.ProvisionRequest(ORG, "Okta")]) as batch:
            async for _ in batch:
                pass

    consumer = asyncio.create_task(consume())
    for _ in range(300):
        if emulator.stats.rotations_completed:
            break
        await asyncio.sleep(0.01)
    consumer.cancel()
    await asyncio.sleep(0)  # the batch starts cancelling its creates, and waits for them
    consumer.cancel()
    with pytest.raises(asyncio.CancelledError):
        await consumer
    (record,) = _written(tmp_path)  # today: nothing is written
    assert record["status"] == "unconfirmed"
    assert record["bearer_token"] == emulator.active_token(ORG)


@pytest.mark.filterwarnings("ignore:coroutine .* was never awaited:RuntimeWarning")
async def test_an_async_on_abandoned_hook_never_swallows_a_token(
    client: scim.SCIMClient, emulator: Any
) -> None:
    stored: list[scim.ProvisionOutcome] = []

    async def store(outcome: scim.ProvisionOutcome) -> None:  # e.g. into a vault
        stored.append(outcome)

    rows = [scim.ProvisionRequest(f"{ORG}-{n}", "Okta") for n in range(3)]
    handed: dict[str, str | None] = {}

    async def leave_early() -> None:
        async with client.provision(rows, concurrency=3, on_abandoned=store) as batch:
            async for outcome in batch:
                handed[outcome.request.organization_id] = outcome.bearer_token
                break

    with pytest.raises(scim.InvalidRequestError, match="on_abandoned"):
        await leave_early()  # refused up front, before anything is sent
    assert emulator.stats.total_requests == 0


async def test_a_hook_that_returns_a_coroutine_keeps_the_outcome(
    client: scim.SCIMClient, emulator: Any
) -> None:
    stored: list[scim.ProvisionOutcome] = []

    async def store(outcome: scim.ProvisionOutcome) -> None:
        stored.append(outcome)

    rows = [scim.ProvisionRequest(f"{ORG}-{n}", "Okta") for n in range(3)]
    handed: dict[str, str | None] = {}

    async def leave_early() -> None:
        # A plain function (so not refused up front) whose result is a coroutine: it
        # is never awaited, so the outcome must stay with the batch.
        hook = lambda outcome: store(outcome)  # noqa: E731
        async with client.provision(rows, concurrency=3, on_abandoned=hook) as batch:
            async for outcome in batch:
                handed[outcome.request.organization_id] = outcome.bearer_token
                break

    try:
        await leave_early()
    except scim.ProvisionAbandonedError as exc:
        handed.update({o.request.organization_id: o.bearer_token for o in exc.outcomes})
    handed.update({o.request.organization_id: o.bearer_token for o in stored})
    assert handed == emulator.tokens()
