"""The token promise for single creates and rotations under chaos: calls made (their
coroutine created) and awaited at different moments, several for one organization at
once, some cancelled, over the memory transport in virtual time. The fake's ground
truth is checked after each example (see `tests/support/memory_chaos.py`)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from hypothesis import given

import stytch_scim_async as scim
from stytch_scim_async.testing import FakeStytch

from ..support.memory_chaos import ACTOR, Ledger, LogSink, RecordingHandler, virtual_epoch
from ..support.memory_chaos_plans import CHAOS, TIMEOUT, Op, Row, SinglePlan, org_name, single_plans
from .memory_chaos_driver import (
    checked,
    make_client,
    run_virtual,
    script_faults,
    seed_org,
    settle_tasks,
)

pytestmark = pytest.mark.timeout(TIMEOUT)


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
            made = fake.add_connection(
                org_name(i), display_name=f"Org {i}", identity_provider="okta"
            )
            held[org_name(i)] = str(made["connection_id"])
            ledger.held(org_name(i), str(made["bearer_token"]), True, "made earlier")
            continue
        token = seed_org(fake, i, Row(kind, False, "okta"))
        if token is not None:
            foreign[org_name(i)] = token
    script_faults(fake, world, len(plan.orgs))
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
            if op.kind.startswith("rotate"):  # the pending token is unknown now
                pending_next.pop(org, None)
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
        org = org_name(op.org)
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
            client = make_client(world, fake, handler, ledger)
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
                await settle_tasks()
        ledger.texts += logs.texts

    ledger.unclaimed(run_virtual(main))

    def may_rotate(org: str, cid: str | None, who: object | None) -> bool:
        if isinstance(who, Op) and who.kind != "create":  # the caller's own rotation
            return cid in targets.values()
        return cid is not None and handler.creator.get(cid) is who

    ledger.check_foreign(foreign)
    ours = [org_name(i) for i, kind in enumerate(plan.orgs) if kind in ("fresh", "held")]
    ledger.check_ours(ours, may_rotate, single=True)
    ledger.check_secrets([])
    return ledger


@CHAOS
@given(single_plans())
def test_single_calls_under_chaos_keep_every_token(plan: SinglePlan) -> None:
    checked(run_single(plan))
