"""The per-group limiters and the learnt fixed window, driven by injected clocks."""

from __future__ import annotations

import asyncio
import math

import pytest

import stytch_scim_async as scim
from stytch_scim_async._engine.pacing import GROUPS, RateLimiters
from stytch_scim_async._policy.window import LADDER, WindowGate

EPOCH = 1_800_000_000.0  # a multiple of every window length of the ladder
SOON = {"Retry-After": "0"}


class Clock:
    """A monotonic clock and a wall clock that advance together, only when slept on."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def wall(self) -> float:
        return EPOCH + self.now

    async def sleep(self, delay: float) -> None:
        self.now += delay
        await asyncio.sleep(0)


class Server:
    """Stytch's counting: `limit` requests per clock-aligned window of `window` s."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit, self.window = limit, window
        self.start, self.count = -math.inf, 0

    def take(self, now: float) -> bool:
        start = math.floor(now / self.window) * self.window
        if start != self.start:
            self.start, self.count = start, 0
        self.count += 1
        return self.count <= self.limit


def drive(gate: WindowGate, server: Server, n: int, rtt: float = 0.002) -> tuple[float, int]:
    """Send until `n` requests succeeded, one at a time (the gate decides when):
    (the time the last one was sent, requests sent)."""
    now, sent, succeeded = EPOCH, 0, 0
    while succeeded < n:
        now += gate.delay(now)
        gate.admit(now)
        sent += 1
        if server.take(now):
            succeeded += 1
            gate.on_success(now)
        else:
            gate.on_throttle(now, now + rtt)
        now += rtt / 10  # the next request goes out a little later
    return now - EPOCH, sent


@pytest.mark.parametrize(("limit", "window"), [(200, 1.0), (1000, 60.0), (50, 3600.0)])
def test_the_gate_learns_a_fixed_window_and_its_allowance(limit: int, window: float) -> None:
    gate = WindowGate()
    elapsed, sent = drive(gate, Server(limit, window), 10 * limit)
    assert gate.window == window
    # Nine more windows after the first: the best possible is 9 windows' time.
    assert elapsed <= 9 * window + 0.1 * window
    # A 429 per window (the probe that would notice a higher limit) and the climb
    # up the ladder of window lengths: nowhere near a storm.
    assert sent - 10 * limit <= 10 + 2 * LADDER.index(window) + 2
    assert gate.allowance == limit + 1


def test_a_429_closes_the_gate_until_the_next_boundary() -> None:
    gate = WindowGate()
    assert not gate.active and gate.delay(EPOCH + 0.3) == 0.0
    gate.on_success(EPOCH + 0.2)
    gate.on_throttle(EPOCH + 0.3, EPOCH + 0.31)
    assert gate.delay(EPOCH + 0.4) == pytest.approx(0.605)
    # The 429s of requests sent before the gate closed change nothing.
    gate.on_throttle(EPOCH + 0.35, EPOCH + 0.5)
    assert gate.window == 1.0 and gate.closed_until == pytest.approx(EPOCH + 1.005)


def test_a_window_that_did_not_start_again_is_longer() -> None:
    gate = WindowGate()
    gate.on_throttle(EPOCH + 0.5, EPOCH + 0.5)
    gate.admit(EPOCH + 1.005)  # the probe, sent after the boundary waited for
    gate.on_throttle(EPOCH + 1.005, EPOCH + 1.01)
    assert gate.window == LADDER[1] == 5.0
    assert gate.delay(EPOCH + 1.01) == pytest.approx(3.995)  # the next multiple of 5 s


def test_a_saturated_window_without_429_raises_the_allowance() -> None:
    gate = WindowGate()
    for i in range(8):
        gate.on_success(EPOCH + i / 100)
    gate.on_throttle(EPOCH + 0.1, EPOCH + 0.1)  # allowance: 8 and a probe
    assert gate.allowance == 9
    now = EPOCH + 1.005
    for _ in range(9):  # the next window: every admitted send succeeds
        assert gate.delay(now) == 0.0
        gate.admit(now)
        gate.on_success(now)
    assert gate.delay(now) > 0  # the allowance is spent: wait for the boundary
    gate.delay(EPOCH + 2.005)
    assert gate.allowance == 10


def test_a_gate_without_429s_for_long_steps_aside_and_keeps_the_window() -> None:
    gate = WindowGate()
    gate.on_throttle(EPOCH + 0.5, EPOCH + 0.5)
    gate.admit(EPOCH + 1.005)
    gate.on_throttle(EPOCH + 1.005, EPOCH + 1.01)  # the window is longer: 5 s
    gate.admit(EPOCH + 5.005)
    gate.on_success(EPOCH + 5.005)
    gate.on_throttle(EPOCH + 5.1, EPOCH + 5.1)
    assert gate.active and gate.allowance == 2
    assert gate.delay(EPOCH + 60.0) == 0.0 and gate.active  # under a minute: it holds
    gate.admit(EPOCH + 60.0)
    gate.admit(EPOCH + 60.0)
    assert gate.delay(EPOCH + 60.0) > 0  # the allowance is spent
    assert gate.delay(EPOCH + 65.2) == 0.0
    assert not gate.active and gate.allowance is None and gate.window == 5.0


def test_every_operation_has_its_group() -> None:
    assert set(GROUPS.values()) == {"create", "read", "write", "rotate", "search"}
    limiters = RateLimiters(scim.AdaptiveRateLimiter())
    assert limiters.group("get") is limiters.group("get_groups")
    assert limiters.group("update") is limiters.group("delete")
    assert limiters.group("create") is not limiters.group("get")


def test_a_throttled_create_never_paces_a_get() -> None:
    clock = Clock()
    limiters = RateLimiters(scim.AdaptiveRateLimiter(), clock=clock, wall=clock.wall)
    create, read = limiters.group("create"), limiters.group("get")
    for _ in range(3):
        limiters.on_reply("create", 429, {}, clock.wall())  # no Retry-After: the gate
        limiters.on_reply("create", 429, SOON, clock.wall())  # Retry-After: the AIMD rate
    assert limiters.pacing(create) and create.delay(clock(), clock.wall()) > 0
    assert not limiters.pacing(read)
    assert limiters.throttles == 6 == limiters.ceiling.throttles
    assert not limiters.ceiling.pacing  # the client-wide limiter adapts nothing


def test_the_template_tunes_every_group_and_its_max_rate_caps_them_together() -> None:
    template = scim.AdaptiveRateLimiter(max_rate=10, min_rate=1.0, backoff=0.5)
    limiters = RateLimiters(template)
    for group in limiters.groups.values():
        assert group.adaptive.min_rate == 1.0 and group.adaptive.backoff == 0.5
        assert group.adaptive.max_rate is None
    assert limiters.pacing(limiters.group("get"))  # the ceiling paces every group


async def backlog(limiters: RateLimiters, clock: Clock, calls: int) -> float:
    """`calls` sends of the create group at once, each answered 200 at once: how long
    (by the injected clock) until the last one went out."""
    group = limiters.group("create")
    started = clock()

    async def one() -> None:
        sent_at = await limiters.wait(group, None, clock.sleep, "create")
        limiters.on_reply("create", 200, {}, sent_at)

    await asyncio.gather(*(one() for _ in range(calls)))
    return clock() - started


def throttled(clock: Clock) -> RateLimiters:
    limiters = RateLimiters(scim.AdaptiveRateLimiter(), clock=clock, wall=clock.wall)
    group = limiters.group("create")
    limiters.on_reply("create", 429, SOON, clock.wall())
    clock.now += 0.01
    limiters.on_reply("create", 429, SOON, clock.wall())
    assert group.adaptive.current_rate == pytest.approx(9.0)  # started low
    return limiters


async def test_calls_issued_after_the_throttling_stopped_are_not_held_back() -> None:
    clock = Clock()
    limiters = throttled(clock)
    clock.now += 6.0  # no 429 since: the limiter's `relax` has passed
    # 400 calls at 9/s would take 44 s; booked slots used to hold them all to it.
    assert await backlog(limiters, clock, 400) < 0.5


async def test_a_backlog_queued_while_throttled_speeds_up_as_the_rate_recovers() -> None:
    clock = Clock()
    limiters = throttled(clock)
    # Queued at once while throttled: each call claims its slot when it reaches the
    # head, at the rate of that moment, which grows with every success.
    assert await backlog(limiters, clock, 400) < 400 / 9.0 / 5


async def test_the_head_of_the_queue_is_refused_at_its_deadline() -> None:
    clock = Clock()
    limiters = throttled(clock)
    group = limiters.group("create")
    await limiters.wait(group, None, clock.sleep, "create")  # takes the slot now
    with pytest.raises(scim.RequestTimeoutError) as info:
        await limiters.wait(group, clock() + 0.05, clock.sleep, "create")  # next: 1/9 s
    assert not info.value.sent


def test_a_5xx_counts_against_the_window_like_any_answer_that_is_not_a_429() -> None:
    # Stytch counted the 500 in its window: a window whose every send was answered
    # (some with a 500) still raises an allowance learnt too low, or a batch with a
    # few failing creates stays stuck below the limit.
    clock = Clock()
    limiters = RateLimiters(scim.AdaptiveRateLimiter(), clock=clock, wall=clock.wall)
    create = limiters.group("create")
    gate = create.gate
    for _ in range(8):
        limiters.on_reply("create", 200, {}, clock.wall())
    limiters.on_reply("create", 429, {}, clock.wall())
    assert gate.allowance == 9
    clock.now = 1.005  # the next window
    for status in (200, 200, 500, 200, 200, 500, 200, 200, 200):
        sent = clock.wall()
        gate.admit(sent)
        limiters.on_reply("create", status, {}, sent)
    clock.now = 2.005
    gate.delay(clock.wall())
    assert gate.allowance == 10
