"""Event hooks: what each call reports, that a failing hook changes nothing, and that
no event ever carries a secret."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import re

import attrs
import pytest

import stytch_scim_async as scim
from stytch_scim_async.hooks import (
    CallEnded,
    CallStarted,
    Event,
    Reconciled,
    RequestSent,
    ResponseReceived,
    RetryScheduled,
    TokenRecovery,
)
from stytch_scim_async.testing import Faults, StytchEmulator

from ..support.wire_tap import tapped

ORG = "organization-test-hooks"


def _client(
    emulator: StytchEmulator, seen: list[Event], retry: scim.RetryPolicy | None = None
) -> scim.SCIMClient:
    return scim.SCIMClient(
        emulator.project_id,
        emulator.secret,
        base_url=emulator.base_url,
        hooks=[seen.append],
        retry=retry or scim.RetryPolicy(initial_delay=0.01, max_delay=0.02),
        timeout=2,
    )


def _kinds(events: list[Event]) -> list[tuple[str, str]]:
    return [(type(e).__name__, e.operation) for e in events]


async def test_one_call_is_four_events(emulator: StytchEmulator) -> None:
    seen: list[Event] = []
    async with _client(emulator, seen) as client:
        got = await client.get_connection(ORG)
    assert _kinds(seen) == [
        ("CallStarted", "get"),
        ("RequestSent", "get"),
        ("ResponseReceived", "get"),
        ("CallEnded", "get"),
    ]
    started, sent, received, ended = seen
    assert isinstance(started, CallStarted) and isinstance(ended, CallEnded)
    assert isinstance(sent, RequestSent) and sent.method == "GET" and sent.attempt == 1
    assert isinstance(received, ResponseReceived)
    assert received.status == 200 and received.request_id == got.request_id
    assert 0 <= received.duration <= received.elapsed <= ended.elapsed
    assert {e.call_id for e in seen} == {started.call_id} and started.call_id is not None
    assert {e.organization_id for e in seen} == {ORG}
    assert ended.error is None and ended.attempt == 1 and ended.status == 200


async def test_a_retry_reports_its_failure_and_delay(emulator: StytchEmulator) -> None:
    seen: list[Event] = []
    emulator.script(fault="500_before_commit", route="get")
    async with _client(emulator, seen) as client:
        await client.get_connection(ORG)
    retries = [e for e in seen if isinstance(e, RetryScheduled)]
    assert len(retries) == 1
    assert retries[0].attempt == 1 and retries[0].status == 500
    assert retries[0].error == "ServerError" and 0 <= retries[0].delay <= 0.01
    answers = [e for e in seen if isinstance(e, ResponseReceived)]
    assert [(a.attempt, a.status, a.error) for a in answers] == [
        (1, 500, "ServerError"),
        (2, 200, None),
    ]
    assert isinstance(seen[-1], CallEnded) and seen[-1].attempt == 2


async def test_a_transport_failure_has_no_status(emulator: StytchEmulator) -> None:
    seen: list[Event] = []
    emulator.script(fault="drop_before_commit", route="get", times=5)
    async with _client(emulator, seen, retry=scim.RetryPolicy.disabled()) as client:
        with pytest.raises(scim.TransportError):
            await client.get_connection(ORG)
    answer = next(e for e in seen if isinstance(e, ResponseReceived))
    assert answer.status is None and answer.error == "TransportError"
    ended = seen[-1]
    assert isinstance(ended, CallEnded) and ended.error == "TransportError"


async def test_a_lost_create_reports_its_reconciliation_and_recovery(
    emulator: StytchEmulator,
) -> None:
    seen: list[Event] = []
    emulator.script(fault="500_after_commit", route="create")
    async with _client(emulator, seen) as client:
        created = await client.create_connection(ORG, display_name="Okta", recover_token=True)
    assert created.recovered
    verdicts = [e for e in seen if isinstance(e, Reconciled)]
    assert [(v.operation, v.verdict) for v in verdicts] == [("create", "recover")]
    assert verdicts[0].connection_id == created.connection.connection_id
    recoveries = [e for e in seen if isinstance(e, TokenRecovery)]
    assert [(r.recovered, r.connection_id) for r in recoveries] == [
        (True, created.connection.connection_id)
    ]
    # One public call: the GET before, the POST, its look and the rotation are its own.
    assert {e.call_id for e in seen} == {seen[0].call_id}
    assert ("RequestSent", "rotate_complete") in _kinds(seen)


async def test_a_lost_token_is_reported(emulator: StytchEmulator) -> None:
    seen: list[Event] = []
    emulator.script(fault="500_after_commit", route="create")
    async with _client(emulator, seen) as client:
        with pytest.raises(scim.TokenLostError) as info:
            await client.create_connection(ORG, display_name="Okta")
    verdict = next(e for e in seen if isinstance(e, Reconciled))
    assert verdict.verdict == "token_lost"
    lost = next(e for e in seen if isinstance(e, TokenRecovery))
    assert not lost.recovered and lost.connection_id == info.value.connection.connection_id


async def test_a_rotation_reconciled(emulator: StytchEmulator) -> None:
    seen: list[Event] = []
    async with _client(emulator, seen) as client:
        created = await client.create_connection(ORG)
        connection_id = created.connection.connection_id
        await client.rotate_start(ORG, connection_id)
        emulator.script(fault="500_after_commit", route="rotate_complete")
        await client.rotate_complete(ORG, connection_id)
    verdicts = [(e.operation, e.verdict) for e in seen if isinstance(e, Reconciled)]
    assert verdicts == [("rotate_complete", "committed")]


async def test_a_raising_hook_breaks_nothing(
    emulator: StytchEmulator, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[Event] = []

    def boom(event: Event) -> None:
        calls.append(event)
        raise RuntimeError("hook bug")

    emulator.script(fault="500_after_commit", route="create")
    async with scim.SCIMClient(
        emulator.project_id, emulator.secret, base_url=emulator.base_url, hooks=[boom]
    ) as client:
        with caplog.at_level(logging.ERROR, logger="stytch_scim_async"):
            created = await client.create_connection(ORG, display_name="Okta", recover_token=True)
    assert created.recovered
    assert created.connection.bearer_token == emulator.active_token(ORG)
    assert any(isinstance(e, TokenRecovery) for e in calls)
    failures = [r for r in caplog.records if "hook" in r.getMessage()]
    assert len(failures) == len(calls) and "TokenRecovery" in caplog.text


async def test_views_get_their_own_hooks(emulator: StytchEmulator) -> None:
    first: list[Event] = []
    second: list[Event] = []
    async with _client(emulator, first) as client:
        assert client.with_options(timeout=1)._hooks is client._hooks
        other = client.with_options(hooks=[second.append])
        await other.get_connection(ORG)
        assert first == [] and len(second) == 4
        await client.with_options(hooks=None).get_connection(ORG)
        await client.with_retry(scim.RetryPolicy.disabled()).get_connection(ORG)
    assert len(first) == 4 and len(second) == 4
    # Call ids keep counting across the views of one client.
    assert first[0].call_id != second[0].call_id


async def test_no_hooks_means_no_dispatcher(emulator: StytchEmulator) -> None:
    async with scim.SCIMClient(
        emulator.project_id, emulator.secret, base_url=emulator.base_url
    ) as client:
        assert client._hooks is None
        assert client.with_options(hooks=[])._hooks is None


def _windows(text: str, size: int = 8) -> set[str]:
    return {text[i : i + size] for i in range(len(text) - size + 1)}


_TOKEN_FIELD = re.compile(rb'"(?:bearer_token|next_bearer_token)"\s*:\s*"([^"]+)"')


async def test_no_event_carries_a_secret_under_chaos() -> None:
    """A batch with every emulator fault on, a member client beside it: every token
    any response carried, the secret and the session token are nowhere in any event's
    repr or field."""
    seen: list[Event] = []
    faults = dataclasses.replace(Faults.chaos(0.04, stall_seconds=0.25), rate_limit=200.0)
    async with StytchEmulator(faults=faults, seed=5) as emulator:
        session = emulator.member_session("organization-test-hooks-member", admin=True)
        requests = [
            scim.ProvisionRequest(f"organization-test-hooks-{i:03d}", f"Org {i}", "okta")
            for i in range(80)
        ]
        with tapped(emulator) as tap:
            async with (
                scim.SCIMClient(
                    emulator.project_id,
                    emulator.secret,
                    base_url=emulator.base_url,
                    timeout=scim.Timeout(total=0.2, connect=0.2),
                    retry=scim.RetryPolicy(initial_delay=0.01, max_delay=0.05),
                    hooks=[seen.append],
                ) as client,
                client.provision(requests, concurrency=16) as batch,
            ):
                outcomes = [o async for o in batch]
            async with scim.MemberSCIMClient(
                emulator.public_token,
                session,
                base_url=emulator.base_url,
                hooks=[seen.append],
                retry=scim.RetryPolicy(initial_delay=0.01),
            ) as mine:
                for _ in range(3):
                    with contextlib.suppress(scim.StytchSCIMError):
                        await mine.create_connection(display_name="Mine", recover_token=True)
    tokens = {m.decode() for body in tap.bodies for m in _TOKEN_FIELD.findall(body)}
    tokens |= {o.bearer_token for o in outcomes if o.bearer_token}
    assert len(tokens) > 60
    secrets = [*tokens, emulator.secret, session]
    kinds = {type(e) for e in seen}
    assert {RequestSent, ResponseReceived, RetryScheduled, Reconciled, TokenRecovery} <= kinds
    text = "\n".join(
        [repr(e) for e in seen]
        + [str(getattr(e, f.name)) for e in seen for f in attrs.fields(type(e))]
    )
    leaks = [s for s in secrets if _windows(s) & _windows(text)]
    assert leaks == []


async def test_a_recovery_that_fails_reports_the_token_lost(emulator: StytchEmulator) -> None:
    seen: list[Event] = []
    emulator.script(fault="500_after_commit", route="create")
    emulator.script(fault="500_before_commit", route="rotate_start", times=10)
    async with _client(emulator, seen) as client:
        with pytest.raises(scim.TokenLostError) as info:
            await client.create_connection(ORG, display_name="Okta", recover_token=True)
    verdict = next(e for e in seen if isinstance(e, Reconciled))
    assert verdict.verdict == "recover"
    outcomes = [(e.recovered, e.connection_id) for e in seen if isinstance(e, TokenRecovery)]
    assert outcomes == [(False, info.value.connection.connection_id)]


class _Interrupt(BaseException):
    """What a hook might raise that is not an Exception (as KeyboardInterrupt is)."""


async def test_a_hook_raising_a_base_exception_never_loses_the_created_token(
    emulator: StytchEmulator,
) -> None:
    # The create has committed when ResponseReceived fires: its token exists only in
    # the call's hands. A hook that raises past `except Exception` must not take it.
    def interrupt(event: Event) -> None:
        if isinstance(event, ResponseReceived) and event.operation == "create":
            raise _Interrupt

    async with scim.SCIMClient(
        emulator.project_id, emulator.secret, base_url=emulator.base_url, hooks=[interrupt]
    ) as client:
        created = await client.create_connection(ORG, display_name="Okta")
    assert created.connection.bearer_token == emulator.active_token(ORG)


async def test_call_ids_are_unique_across_clients_sharing_a_hook(
    emulator: StytchEmulator,
) -> None:
    # One hook (an OpenTelemetryHook, say) may serve several clients: it tells their
    # calls apart by call_id.
    seen: list[Event] = []
    async with _client(emulator, seen) as one, _client(emulator, seen) as two:
        await one.get_connection(ORG)
        await two.get_connection(ORG)
    started = [e.call_id for e in seen if isinstance(e, CallStarted)]
    assert len(started) == 2 and len(set(started)) == 2
