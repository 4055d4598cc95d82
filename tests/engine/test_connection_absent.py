"""Every official response schema marks `connection` optional: a Stytch that leaves it
out must get a typed answer from every operation, never an AttributeError."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping

import pytest

import stytch_scim_async as scim
from stytch_scim_async.testing import FakeStytch, StytchEmulator

ORG = "organization-test-absent"


def omit_connection(emulator: StytchEmulator, *methods_and_suffixes: tuple[str, str]) -> None:
    """Make the emulator's 2xx answers to the matching routes leave `connection` out."""
    fake: FakeStytch = emulator.fake
    handle = fake.handle

    def without(
        method: str, path: str, query: Mapping[str, str], headers: Mapping[str, str], body: bytes
    ) -> object:
        response = handle(method, path, query, headers, body)
        matches = any(method == m and path.endswith(s) for m, s in methods_and_suffixes)
        if matches and response.status < 300:
            document = json.loads(response.body)
            document.pop("connection", None)
            return dataclasses.replace(response, body=json.dumps(document).encode())
        return response

    fake.handle = without  # type: ignore[assignment, method-assign]


async def test_a_get_without_a_connection_is_none(
    client: scim.SCIMClient, emulator: StytchEmulator
) -> None:
    emulator.add_connection(ORG, display_name="x")
    omit_connection(emulator, ("GET", "/connection"))
    assert (await client.get_connection(ORG)).connection is None


async def test_a_create_without_its_connection_is_a_lost_token_not_a_crash(
    client: scim.SCIMClient, emulator: StytchEmulator
) -> None:
    omit_connection(emulator, ("POST", "/connection"))
    # The create committed, but the only copy of the token was not in the answer.
    with pytest.raises(scim.TokenLostError) as info:
        await client.create_connection(ORG, display_name="x")
    assert info.value.connection.organization_id == ORG
    assert isinstance(info.value.__cause__, scim.ResponseDecodeError)
    assert "connection" in str(info.value.__cause__)
    # Proven absent first: the token is recovered by rotating the new connection.
    other = ORG + "-2"
    created = await client.create_connection(other, display_name="x", recover_token=True)
    assert created.recovered
    assert created.connection.bearer_token == emulator.active_token(other)


async def test_an_update_without_its_connection_says_so(
    client: scim.SCIMClient, emulator: StytchEmulator
) -> None:
    connection_id = emulator.add_connection(ORG, display_name="x")["connection_id"]
    omit_connection(emulator, ("PUT", connection_id))
    with pytest.raises(scim.ResponseDecodeError) as info:
        await client.update_connection(ORG, connection_id, display_name="y")
    assert "$.connection" in str(info.value)
    assert info.value.status_code == 200
    # The update itself went through (an update is safe to repeat, and was).
    got = await client.get_connection(ORG)
    assert got.connection is not None and got.connection.display_name == "y"


@pytest.mark.parametrize("operation", ["rotate_complete", "rotate_cancel"])
async def test_a_rotation_end_without_its_connection_is_looked_up(
    client: scim.SCIMClient, emulator: StytchEmulator, operation: str
) -> None:
    connection_id = emulator.add_connection(ORG, display_name="x")["connection_id"]
    started = await client.rotate_start(ORG, connection_id)
    omit_connection(emulator, ("POST", connection_id + "/" + operation.replace("_", "/")))
    result = await getattr(client, operation)(ORG, connection_id)
    assert result.connection.connection_id == connection_id
    assert result.connection.next_bearer_token_last_four == ""
    expected = started.connection.next_bearer_token if operation == "rotate_complete" else None
    if expected is not None:
        assert emulator.active_token(ORG) == expected
    assert emulator.stats.count("get") == 1  # the answer, read back


async def test_a_rotate_start_without_its_connection_is_a_typed_error(
    client: scim.SCIMClient, emulator: StytchEmulator
) -> None:
    seeded = emulator.add_connection(ORG, display_name="x")
    connection_id = seeded["connection_id"]
    omit_connection(emulator, ("POST", "/rotate/start"))
    with pytest.raises(scim.ResponseDecodeError) as info:
        await client.rotate_start(ORG, connection_id)
    assert "$.connection" in str(info.value)
    # Each start whose token never arrived was cancelled: the old token still works.
    assert emulator.stats.rotations_cancelled == emulator.stats.rotations_started
    assert emulator.active_token(ORG) == seeded["bearer_token"]
    got = await client.get_connection(ORG)
    assert got.connection is not None and got.connection.next_bearer_token_last_four == ""


async def test_a_batch_reports_every_organization(
    client: scim.SCIMClient, emulator: StytchEmulator
) -> None:
    omit_connection(emulator, ("POST", "/connection"))
    requests = [scim.ProvisionRequest(f"{ORG}-{i}", display_name="x") for i in range(3)]
    outcomes = [o async for o in client.provision(requests)]
    assert {o.status for o in outcomes} == {scim.ProvisionStatus.RECOVERED}
    for outcome in outcomes:
        assert outcome.connection is not None
        assert outcome.connection.bearer_token == emulator.active_token(
            outcome.request.organization_id
        )
