"""The token promise under chaos, over the memory transport, in virtual time.

A property test draws a whole batch — faults (500s before and after the commit, drops,
stalls past the timeout, 429s, truncated and HTML bodies, scripted ones aimed at one
organization), concurrency 1..64, duplicated rows, connections that were there
before (identical to their request or not), resumed rows (`maybe_sent`,
`proven_absent`), hooks that raise, a loop left early or cancelled — and checks the
fake's ground truth afterwards (see `tests/support/memory_chaos.py`). A second
property does the same for single creates and rotations made and awaited at
different moments. `MEMORY_CHAOS_EXAMPLES` sets the number of examples (the `chaos`
nox session runs many more). Every bug the hunt found is pinned below as a plain
test, `xfail(strict=True)` until the library is fixed.
"""

from __future__ import annotations

import asyncio
import os
import random
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from unittest import mock

import attrs
import hypothesis
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import stytch_scim_async as scim
from stytch_scim_async._engine import receipt as receipt_module
from stytch_scim_async._engine import recovery as recovery_module
from stytch_scim_async._provision import search as search_module
from stytch_scim_async._transports import memory as memory_module
from stytch_scim_async._transports.memory import MockTransport
from stytch_scim_async.testing import FAULT_KINDS, FakeStytch, Faults

from ..support.memory_chaos import (
    ACTOR,
    Ledger,
    LogSink,
    RecordingHandler,
    VirtualClock,
    VirtualTimeLoop,
    exception_texts,
    read_unclaimed,
    virtual_epoch,
)

EXAMPLES = int(os.environ.get("MEMORY_CHAOS_EXAMPLES", "300"))
pytestmark = pytest.mark.timeout(60 + EXAMPLES // 10)
CHAOS = settings(
    deadline=None,
    max_examples=EXAMPLES,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=os.environ.get("MEMORY_CHAOS_SEED") is None,
    database=None,
)

#: What an organization is before the batch, and how its row asks for it.
KINDS = (
    "fresh",  # no connection; a plain row
    "proven",  # no connection; the caller proved it (proven_absent=True)
    "foreign_same",  # someone else's connection, identical to the row
    "foreign_other",  # someone else's connection, other names
    "resumed_committed",  # an earlier run's create committed: maybe_sent=True
    "resumed_absent",  # an earlier run's create did not commit: maybe_sent=True
    "resumed_foreign",  # maybe_sent=True, but the connection there is someone else's
)
FOREIGN = frozenset({"foreign_same", "foreign_other", "resumed_foreign"})
EXITS = ("full", "break", "raise_body", "progress_raises", "source_raises", "no_with_break")
EARLY_EXITS = frozenset({"break", "raise_body", "progress_raises", "source_raises"})

#: Known bugs, each pinned by an xfail test below: the property does not draw what
#: triggers them until the library is fixed (then flip the switch).
#: test_a_cancellation_while_the_batch_drains_keeps_the_tokens
CANCEL_AFTER_AN_EARLY_EXIT = False
#: test_a_resumed_row_repeated_beyond_the_recent_window_never_rotates_the_first
PROVEN_REPEATS_BEYOND_THE_WINDOW = False


class Boom(Exception):
    """What a caller's hook or loop body raises."""


@attrs.frozen
class Row:
    kind: str
    proven: bool
    idp: str


@attrs.frozen
class World:
    """The fake and the client's knobs, shared by both properties."""

    seed: int
    faults: Faults
    scripts: tuple[tuple[str, str, int, int], ...]  # fault, route, row index, times
    timeout: float
    attempts: int
    deadline: float | None
    initial_delay: float


@attrs.frozen
class BatchPlan:
    world: World
    rows: tuple[Row, ...]
    duplicates: tuple[tuple[int, bool, bool], ...]  # row index, maybe_sent, proven_absent
    concurrency: int
    prescan: bool
    verify_absent: bool | None
    recover_token: bool
    source: str  # list, generator, async
    exit: str
    at: int  # the outcome (or source item) at which the exit happens
    cancel_at: float | None  # virtual seconds after the start
    on_abandoned_raises: int | None  # 0: no on_abandoned; n: its n-th call raises
    before_send_delay: float | None
    pause: float
    #: The batch's windows shrunk (RECENT_IDS, SEARCH_CHUNK, SEARCH_PAGE) so that a
    #: few rows cross them: repeats beyond the window, searches read ahead, pages.
    windows: tuple[tuple[str, int], ...]


PROBABILITIES = (
    "p_500_before_commit",
    "p_500_after_commit",
    "p_html_502",
    "p_truncated_json",
    "p_drop_before_commit",
    "p_drop_after_commit",
    "p_stall_after_commit",
)


@st.composite
def _probabilities(draw: st.DrawFn) -> dict[str, float]:
    """A few kinds of fault at a time (all of them at once rarely lets anything end)."""
    kinds = draw(st.lists(st.sampled_from(PROBABILITIES), max_size=4, unique=True))
    drawn = {name: draw(st.sampled_from([0.02, 0.08, 0.3])) for name in kinds}
    scale = max(1.0, sum(drawn.values()) / 0.9)
    return {name: p / scale for name, p in drawn.items()}


def _faults() -> st.SearchStrategy[Faults]:
    return _probabilities().flatmap(lambda p: _timing_faults(p))


def _timing_faults(probabilities: dict[str, float]) -> st.SearchStrategy[Faults]:
    return st.builds(
        Faults,
        **{name: st.just(p) for name, p in probabilities.items()},
        stall_seconds=st.sampled_from([0.5, 5.0, 60.0]),
        latency=st.sampled_from([0.0, 0.0, 0.001, 0.05]),
        jitter=st.sampled_from([0.0, 0.01, 0.5]),
        rate_limit=st.sampled_from([None, None, 5.0, 50.0]),
        retry_after=st.sampled_from([None, "seconds", "http-date"]),
    )


ROUTES = ("create", "get", "rotate_start", "rotate_complete", "rotate_cancel")
SEARCH = "search_organizations"


@st.composite
def worlds(draw: st.DrawFn, rows: int = 24) -> World:
    scripts = draw(
        st.lists(
            st.tuples(
                st.sampled_from(FAULT_KINDS),
                st.sampled_from([*ROUTES, SEARCH]),
                st.integers(0, rows - 1),
                st.integers(1, 4),
            ),
            max_size=6,
        )
    )
    return World(
        seed=draw(st.integers(0, 2**16)),
        faults=draw(_faults()),
        scripts=tuple(scripts),
        timeout=draw(st.sampled_from([0.2, 1.0, 5.0, 31.0])),
        attempts=draw(st.integers(1, 8)),
        deadline=draw(st.sampled_from([None, None, 3.0, 40.0])),
        initial_delay=draw(st.sampled_from([0.0, 0.05, 0.5, 20.0])),
    )


@st.composite
def batch_plans(draw: st.DrawFn) -> BatchPlan:
    rows = draw(
        st.lists(
            st.builds(Row, st.sampled_from(KINDS), st.booleans(), st.sampled_from(["okta", ""])),
            min_size=1,
            max_size=24,
        )
    )
    duplicates = draw(
        st.lists(st.tuples(st.integers(0, len(rows) - 1), st.booleans(), st.booleans()), max_size=4)
    )
    exit = draw(st.sampled_from(EXITS))
    cancel_at = draw(st.sampled_from([None, None, None, 0.0, 0.01, 0.3, 2.0, 30.0]))
    if exit in EARLY_EXITS and not CANCEL_AFTER_AN_EARLY_EXIT:
        cancel_at = None
    return BatchPlan(
        world=draw(worlds(len(rows))),
        rows=tuple(rows),
        duplicates=tuple(duplicates),
        concurrency=draw(st.sampled_from([1, 2, 3, 8, 64])),
        prescan=draw(st.booleans()),
        verify_absent=draw(st.sampled_from([None, None, True, False])),
        recover_token=draw(st.sampled_from([True, True, True, False])),
        source=draw(st.sampled_from(["list", "generator", "async"])),
        exit=exit,
        at=draw(st.integers(0, len(rows))),
        cancel_at=cancel_at,
        on_abandoned_raises=draw(st.sampled_from([None, None, 0, 1, 2])),
        before_send_delay=draw(st.sampled_from([None, None, 0.0, 0.2])),
        pause=draw(st.sampled_from([0.0, 0.0, 0.01, 1.0])),
        windows=tuple(
            (name, draw(st.sampled_from(sizes)))
            for name, sizes in (
                ("RECENT_IDS", (1, 2, 5)),
                ("SEARCH_CHUNK", (1, 3)),
                ("SEARCH_PAGE", (1, 2)),
            )
            if draw(st.booleans())
        ),
    )


def _org(i: int) -> str:
    return f"organization-test-chaos-{i:03d}"


def _request(i: int, row: Row, maybe_sent: bool, proven: bool) -> scim.ProvisionRequest:
    return scim.ProvisionRequest(
        _org(i), f"Org {i}", row.idp or None, maybe_sent=maybe_sent, proven_absent=proven
    )


def _row_request(i: int, row: Row) -> scim.ProvisionRequest:
    resumed = row.kind.startswith("resumed")
    proven = row.kind == "proven" or (resumed and row.proven)
    return _request(i, row, resumed, proven)


def _seed(fake: FakeStytch, i: int, row: Row) -> str | None:
    """Give the organization what it has before the batch; its token if it has one."""
    if row.kind in ("foreign_same", "resumed_committed"):
        made = fake.add_connection(_org(i), display_name=f"Org {i}", identity_provider="okta")
    elif row.kind in ("foreign_other", "resumed_foreign"):
        made = fake.add_connection(_org(i), display_name="Legacy", identity_provider="okta")
    else:
        return None
    return str(made["bearer_token"])


def _client(world: World, fake: FakeStytch, handler: RecordingHandler) -> scim.SCIMClient:
    clock = VirtualClock(asyncio.get_running_loop())
    rng = random.Random(world.seed)
    client = scim.SCIMClient(
        fake.project_id,
        fake.secret,
        base_url=fake.base_url,
        retry=scim.RetryPolicy(
            max_attempts=world.attempts,
            initial_delay=world.initial_delay,
            deadline=world.deadline,
            random=rng.random,
        ),
        timeout=scim.Timeout(total=world.timeout),
        _transport=MockTransport(handler, timeout=scim.Timeout(total=world.timeout)),
    )
    client._clock = clock.monotonic
    client.rate_limiters.clock = clock.monotonic
    client.rate_limiters.wall = clock.time
    return client


def _script(fake: FakeStytch, world: World, orgs: int) -> None:
    for fault, route, index, times in world.scripts:
        org = None if route == SEARCH else _org(index % orgs)
        fake.script(fault=fault, route=route, organization_id=org, times=times)  # type: ignore[arg-type]


def run_virtual(main: Callable[[], Any], windows: tuple[tuple[str, int], ...] = ()) -> Path:
    """Run `main()` in virtual time with the unclaimed folder pointed at a new temporary
    folder; returns that folder (still present: the caller reads it, then removes it)."""
    folder = Path(tempfile.mkdtemp(prefix="memchaos-"))
    runner = asyncio.Runner(loop_factory=VirtualTimeLoop)
    clock = VirtualClock(runner.get_loop())
    with ExitStack() as stack:
        stack.enter_context(mock.patch.dict(os.environ, {"STYTCH_SCIM_UNCLAIMED_DIR": str(folder)}))
        stack.enter_context(mock.patch.object(recovery_module, "time", clock))
        stack.enter_context(mock.patch.object(memory_module, "time", clock))
        for name, size in windows:
            stack.enter_context(mock.patch.object(search_module, name, size))
        try:
            runner.run(main())
        finally:
            runner.close()
    return folder


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


async def _settle() -> None:
    """Let every task the batch left (a finaliser's aclose, its drain) finish."""
    for _ in range(10_000):
        if len(asyncio.all_tasks()) <= 1:
            return
        await asyncio.sleep(0.5)


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
        token = _seed(fake, i, row)
        if token is not None and row.kind in FOREIGN:
            foreign[_org(i)] = token
        elif token is not None:
            connection = fake.state.active_connection(_org(i))
            assert connection is not None
            seeded[_org(i)] = connection.connection_id
            lost_before[_org(i)] = token
        requests.append(_row_request(i, row))
    shrunk = any(name == "RECENT_IDS" for name, _ in plan.windows)
    for index, maybe_sent, proven in plan.duplicates:
        row = plan.rows[index]
        if shrunk and not PROVEN_REPEATS_BEYOND_THE_WINDOW:
            if _row_request(index, row).proven_absent:
                continue
            proven = False
        if row.kind == "resumed_committed":  # the earlier run's create is its whole story
            repeat = _row_request(index, row)
        else:  # a caller may claim absence only where there was none
            repeat = _request(index, row, maybe_sent, proven and row.kind not in FOREIGN)
        requests.insert(random.Random(index).randint(0, len(requests)), repeat)
    _script(fake, world, len(plan.rows))
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

    async def before_send(_: object) -> None:
        if plan.before_send_delay:
            await asyncio.sleep(plan.before_send_delay)

    async def consume(client: scim.SCIMClient) -> None:
        batch = client.provision(
            _source(plan, requests),
            concurrency=plan.concurrency,
            prescan=plan.prescan,
            verify_absent=plan.verify_absent,
            recover_token=plan.recover_token,
            on_progress=on_progress,
            on_abandoned=on_abandoned if plan.on_abandoned_raises is not None else None,
            before_send=before_send if plan.before_send_delay is not None else None,
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
            client = _client(world, fake, handler)
            async with client:
                consumer = asyncio.create_task(consume(client))
                if plan.cancel_at is not None:
                    await asyncio.sleep(plan.cancel_at)
                    consumer.cancel()
                try:
                    await consumer
                except scim.ProvisionAbandonedError as exc:
                    for outcome in exc.outcomes:
                        ledger.outcome(outcome, "abandoned error")
                    ledger.texts += exception_texts(exc)
                except (Boom, asyncio.CancelledError) as exc:
                    ledger.texts += exception_texts(exc)
                await _settle()
        ledger.texts += logs.texts

    folder = run_virtual(main, plan.windows)
    try:
        ledger.unclaimed(read_unclaimed(folder))
    finally:
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()

    ours = [_org(i) for i, row in enumerate(plan.rows) if row.kind not in FOREIGN]
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


def checked(ledger: Ledger) -> None:
    """Count what happened (`--hypothesis-show-statistics`); no violation allowed."""
    for event in sorted(ledger.events):
        hypothesis.event(event)
    assert ledger.violations == []


@CHAOS
@given(batch_plans())
def test_a_batch_under_chaos_keeps_every_token(plan: BatchPlan) -> None:
    checked(run_batch(plan))


# -- single calls, made and awaited at different moments ------------------------------

OPS = ("create", "create", "create", "rotate_start", "rotate_complete", "rotate_cancel")


@attrs.frozen
class Op:
    kind: str
    org: int
    made_at: int  # the step at which the call is made (its coroutine created)
    delay: int  # steps later, it is awaited (in a task of its own)
    recover_token: bool
    proven: bool  # claim proven_absent (only where the organization has none then)
    maybe_sent: bool
    verify_absent: bool | None
    cancel_after: float | None


@attrs.frozen
class SinglePlan:
    world: World
    orgs: tuple[str, ...]  # fresh, held (the caller's own, token in hand), foreign_*
    ops: tuple[Op, ...]
    gap: float  # virtual seconds between steps


@st.composite
def single_plans(draw: st.DrawFn) -> SinglePlan:
    orgs = draw(
        st.lists(
            st.sampled_from(["fresh", "fresh", "held", "foreign_same", "foreign_other"]),
            min_size=1,
            max_size=3,
        )
    )
    ops = draw(
        st.lists(
            st.sampled_from(OPS).flatmap(lambda kind: _ops(kind, len(orgs))),
            min_size=1,
            max_size=10,
        )
    )
    return SinglePlan(
        draw(worlds(len(orgs))), tuple(orgs), tuple(ops), draw(st.sampled_from([0.0, 0.01, 1.0]))
    )


def _ops(kind: str, orgs: int) -> st.SearchStrategy[Op]:
    """Creates come early, rotations later (they need a connection the caller holds)."""
    return st.builds(
        Op,
        st.just(kind),
        st.integers(0, orgs - 1),
        st.integers(0, 5) if kind == "create" else st.integers(3, 10),
        st.integers(0, 2),
        st.booleans(),
        st.booleans(),
        st.booleans(),
        st.sampled_from([None, True, False]),
        st.sampled_from([*[None] * 8, 0.0, 0.01, 0.5, 5.0]),
    )


def run_single(plan: SinglePlan) -> Ledger:
    """Run one drawn sequence of single calls; its ledger holds the violations."""
    world = plan.world
    fake = FakeStytch(faults=world.faults, seed=world.seed, clock=virtual_epoch)
    handler = RecordingHandler(fake, ACTOR.get)
    ledger = Ledger(fake, handler)
    foreign: dict[str, str] = {}
    held: dict[str, str] = {}  # organization -> the connection id the caller holds
    for i, kind in enumerate(plan.orgs):
        if kind == "held":  # the caller's own, its token in hand (made earlier)
            made = fake.add_connection(_org(i), display_name=f"Org {i}", identity_provider="okta")
            held[_org(i)] = str(made["connection_id"])
            ledger.held(_org(i), str(made["bearer_token"]), True, "made earlier")
            continue
        token = _seed(fake, i, Row(kind, False, "okta"))
        if token is not None:
            foreign[_org(i)] = token
    _script(fake, world, len(plan.orgs))
    pending_next: dict[str, str] = {}  # organization -> a rotation's next token we hold
    busy: dict[str, int] = {}  # organization -> calls made and not ended
    targets: dict[int, str] = {}  # rotation op -> its connection

    async def run(n: int, op: Op, org: str, call: Any) -> None:
        ACTOR.set(op)
        try:
            result = await call
        except (asyncio.CancelledError, scim.StytchSCIMError) as exc:
            ledger.events.add(f"{op.kind}: {type(exc).__name__}")
            ledger.error(org, exc)
            if isinstance(exc, scim.TokenLostError):
                ledger.held(org, exc.next_bearer_token, False, "TokenLostError")
        else:
            ledger.events.add(f"{op.kind}: returned")
            if op.kind == "create":
                held[org] = result.connection.connection_id
                ledger.held(org, result.connection.bearer_token, True, "create_connection")
            elif op.kind == "rotate_start":
                pending_next[org] = result.connection.next_bearer_token
                ledger.held(org, pending_next[org], False, "rotate_start")
            elif op.kind == "rotate_complete":
                ledger.held(org, pending_next.pop(org), True, "rotate_complete")
            else:
                pending_next.pop(org, None)
        finally:
            busy[org] -= 1

    def make(n: int, op: Op, client: scim.SCIMClient) -> Any:
        org = _org(op.org)
        if op.kind == "create":
            proven = op.proven and fake.active_token(org) is None
            call = client.create_connection(
                org,
                display_name=f"Org {op.org}",
                identity_provider="okta",
                recover_token=op.recover_token,
                proven_absent=proven,
                maybe_sent=op.maybe_sent,
                verify_absent=op.verify_absent,
            )
        else:
            if (
                busy.get(org)
                or org not in held
                or (op.kind == "rotate_complete" and org not in pending_next)
            ):
                return None
            targets[n] = held[org]
            rotate = getattr(client, op.kind)
            call = rotate(org, held[org])
        busy[org] = busy.get(org, 0) + 1
        return run(n, op, org, call)

    async def main() -> None:
        with LogSink() as logs:
            client = _client(world, fake, handler)
            async with client:
                made: dict[int, Any] = {}
                tasks: list[asyncio.Task[None]] = []
                last = max(op.made_at + op.delay for op in plan.ops)
                for step in range(last + 1):
                    for n, op in enumerate(plan.ops):
                        if op.made_at == step:
                            call = make(n, op, client)
                            if call is not None:
                                made[n] = call
                        if op.made_at + op.delay == step and n in made:
                            task = asyncio.create_task(made.pop(n))
                            tasks.append(task)
                            if op.cancel_after is not None:
                                asyncio.get_running_loop().call_later(op.cancel_after, task.cancel)
                    await asyncio.sleep(plan.gap)
                await asyncio.gather(*tasks)
                await _settle()
        ledger.texts += logs.texts

    folder = run_virtual(main)
    try:
        ledger.unclaimed(read_unclaimed(folder))
    finally:
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()

    def may_rotate(org: str, cid: str | None, who: object | None) -> bool:
        if isinstance(who, Op) and who.kind != "create":  # the caller's own rotation
            return cid in targets.values()
        return cid is not None and handler.creator.get(cid) is who

    ledger.check_foreign(foreign)
    ours = [_org(i) for i, kind in enumerate(plan.orgs) if kind in ("fresh", "held")]
    ledger.check_ours(ours, may_rotate, single=True)
    ledger.check_secrets([])
    return ledger


@CHAOS
@given(single_plans())
def test_single_calls_under_chaos_keep_every_token(plan: SinglePlan) -> None:
    checked(run_single(plan))


# -- what the hunt found: each pinned as a plain test until the library is fixed ------

ORG = "organization-test-memchaos"


def _written(folder: Path) -> list[dict[str, Any]]:
    return read_unclaimed(folder) if folder.is_dir() else []


@pytest.mark.xfail(
    strict=True,
    reason="ProvisionBatch.aclose: a cancellation while the batch drains after an early "
    "exit skips the hand-over, so the outcomes already drained (tokens included) are "
    "neither raised nor written down",
)
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


@pytest.mark.xfail(
    strict=True,
    reason="screened() gives a caller-proven row no proof mark, so a repeat of an "
    "organization beyond RECENT_IDS keeps its proof after the first row's create and "
    "rotates that connection, revoking the token the batch just yielded",
)
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
