"""What both memory chaos drivers share: the fake's seeding, a client over the memory
transport on the virtual clock, and a run in virtual time (see
`tests/support/memory_chaos.py`)."""

from __future__ import annotations

import asyncio
import os
import random
import tempfile
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from unittest import mock

import hypothesis

import stytch_scim_async as scim
from stytch_scim_async._engine import locks as locks_module
from stytch_scim_async._engine import recovery as recovery_module
from stytch_scim_async._provision import search as search_module
from stytch_scim_async._transports import memory as memory_module
from stytch_scim_async._transports.memory import MockTransport
from stytch_scim_async.testing import FakeStytch

from ..support.memory_chaos import (
    Ledger,
    RecordingHandler,
    VirtualClock,
    VirtualTimeLoop,
    read_unclaimed,
)
from ..support.memory_chaos_plans import SEARCH, Row, World, org_name


def seed_org(fake: FakeStytch, i: int, row: Row) -> str | None:
    """Give the organization what it has before the batch; its token if it has one."""
    if row.kind in ("foreign_same", "resumed_committed"):
        made = fake.add_connection(org_name(i), display_name=f"Org {i}", identity_provider="okta")
    elif row.kind in ("foreign_other", "resumed_foreign"):
        made = fake.add_connection(org_name(i), display_name="Legacy", identity_provider="okta")
    else:
        return None
    return str(made["bearer_token"])


def make_client(
    world: World, fake: FakeStytch, handler: RecordingHandler, ledger: Ledger
) -> scim.SCIMClient:
    """A client over the memory transport on the virtual clock, with the world's hooks
    (every event's repr goes to the ledger's texts, checked for secrets)."""
    clock = VirtualClock(asyncio.get_running_loop())
    rng = random.Random(world.seed)
    seen: list[object] = []

    def record(event: object) -> None:
        seen.append(event)
        ledger.texts.append(repr(event))

    def unreliable(_: object) -> None:
        if world.hooks and len(seen) % world.hooks == 0:
            raise RuntimeError("the observer broke")

    hooks = None if world.hooks is None else [record, unreliable]
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
        hooks=hooks,
        _transport=MockTransport(handler, timeout=scim.Timeout(total=world.timeout)),
    )
    client._clock = clock.monotonic
    client.rate_limiters.clock = clock.monotonic
    client.rate_limiters.wall = clock.time
    return client


def script_faults(fake: FakeStytch, world: World, orgs: int) -> None:
    for fault, route, index, times in world.scripts:
        org = None if route == SEARCH else org_name(index % orgs)
        fake.script(fault=fault, route=route, organization_id=org, times=times)  # type: ignore[arg-type]


def run_virtual(
    main: Callable[[], Any], windows: tuple[tuple[str, int], ...] = ()
) -> list[dict[str, Any]]:
    """Run `main()` in virtual time (the library's clocks too), the last-resort folder
    a new temporary one and the batch's `windows` shrunk; the records written there."""
    with tempfile.TemporaryDirectory(prefix="memchaos-") as name, ExitStack() as stack:
        runner = asyncio.Runner(loop_factory=VirtualTimeLoop)
        clock = VirtualClock(runner.get_loop())
        stack.enter_context(mock.patch.dict(os.environ, {"STYTCH_SCIM_UNCLAIMED_DIR": name}))
        stack.enter_context(mock.patch.object(recovery_module, "time", clock))
        stack.enter_context(mock.patch.object(memory_module, "time", clock))
        for window, size in windows:
            module = locks_module if window == "REMEMBERED_ORGANIZATIONS" else search_module
            stack.enter_context(mock.patch.object(module, window, size))
        try:
            runner.run(main())
        finally:
            runner.close()
        return read_unclaimed(Path(name))


async def settle_tasks() -> None:
    """Let every task the batch left (a finaliser's aclose, its drain) finish."""
    for _ in range(10_000):
        if len(asyncio.all_tasks()) <= 1:
            return
        await asyncio.sleep(0.5)


def checked(ledger: Ledger) -> None:
    """Count what happened (`--hypothesis-show-statistics`); no violation allowed."""
    for event in sorted(ledger.events):
        hypothesis.event(event)
    assert ledger.violations == []
