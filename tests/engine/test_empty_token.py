"""A 200 reply whose one-time token is empty is a malformed reply, not a token: the
connection committed, and handing the caller "" as its token would lose the real one
without a word. It is a `ResponseDecodeError` (an attempt that may have committed),
so the create recovers with evidence, or ends in `TokenLostError`, never a success."""

from __future__ import annotations

import json
from typing import Any

import pytest

import stytch_scim_async as scim
from stytch_scim_async._sansio.config import Timeout
from stytch_scim_async._transports.memory import MockTransport
from stytch_scim_async.testing import StytchEmulator

from ..support.answers import Answer

ORG = "organization-test-empty-token"


def _client(emulator: StytchEmulator, empty: str, token: str) -> scim.SCIMClient:
    """A client whose first reply to `empty` (a path ending) has `token` emptied."""
    emptied: list[str] = []

    def handle(method: str, path: str, query: Any, headers: Any, body: bytes) -> Any:
        answer = emulator.fake.handle(method, path, query, headers, body)
        if method == "POST" and path.endswith(empty) and answer.status == 200 and not emptied:
            data = json.loads(answer.body)
            data["connection"][token] = " "
            emptied.append(token)
            return Answer(200, json.dumps(data).encode(), answer.content_type, answer.headers)
        return answer

    return scim.SCIMClient(
        emulator.project_id,
        emulator.secret,
        base_url=emulator.base_url,
        _transport=MockTransport(handle, timeout=Timeout(total=5.0)),
    )


async def test_a_create_answered_with_an_empty_token_recovers_the_live_one(
    emulator: StytchEmulator,
) -> None:
    async with _client(emulator, "/connection", "bearer_token") as client:
        made = await client.create_connection(ORG, display_name="x", recover_token=True)
    assert made.recovered
    assert made.connection.bearer_token == emulator.active_token(ORG)
    assert made.connection.bearer_token.strip()


async def test_without_recovery_it_is_a_token_lost_and_nothing_is_rotated(
    emulator: StytchEmulator,
) -> None:
    async with _client(emulator, "/connection", "bearer_token") as client:
        with pytest.raises(scim.TokenLostError) as info:
            await client.create_connection(ORG, display_name="x")
    assert info.value.connection.organization_id == ORG
    assert emulator.stats.rotations_started == 0


async def test_a_rotation_answered_with_an_empty_token_is_reconciled_to_the_live_one(
    emulator: StytchEmulator,
) -> None:
    async with scim.SCIMClient(
        emulator.project_id, emulator.secret, base_url=emulator.base_url
    ) as plain:
        made = await plain.create_connection(ORG, display_name="x")
    async with _client(emulator, "/rotate/start", "next_bearer_token") as client:
        started = await client.rotate_start(ORG, made.connection.connection_id)
    # The emptied reply was reconciled: the rotation handed over is the one in progress.
    connection = emulator.state.active_connection(ORG)
    assert connection is not None
    assert started.connection.next_bearer_token == connection.next_bearer_token
    assert started.connection.next_bearer_token.strip()
    assert emulator.active_token(ORG) == made.connection.bearer_token  # the old one works
