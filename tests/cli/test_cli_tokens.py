"""`create` and `rotate` print every token they may have made live, whatever the exit
status, and say on stderr (which never carries a token) what to do next."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pytest

import stytch_scim_async as scim
from stytch_scim_async import errors
from stytch_scim_async.testing import FakeResponse

from .conftest import Cli, ThreadedEmulator

ORG = "organization-test-tokens"


def connection_id(cli: Cli) -> str:
    """Create ORG's connection through the CLI; its id."""
    result = cli("create", ORG)
    assert result.exit_code == 0, result.output
    value: str = json.loads(result.stdout)["connection"]["connection_id"]
    return value


def test_a_completed_rotation_whose_reply_is_lost_prints_the_new_token(
    cli: Cli, emulator: ThreadedEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    connection = connection_id(cli)
    old = emulator.active_token(ORG)
    real = scim.SCIMClient.rotate_complete

    async def committed_then_failed(self: scim.SCIMClient, *args: Any, **kwargs: Any) -> Any:
        await real(self, *args, **kwargs)
        raise errors.ServerError(status_code=500, error_type="internal_server_error")

    monkeypatch.setattr(scim.SCIMClient, "rotate_complete", committed_then_failed)
    result = cli("rotate", ORG, connection)
    assert result.exit_code == 0, result.output
    token = json.loads(result.stdout)["connection"]["bearer_token"]
    assert token == emulator.active_token(ORG) != old
    assert "the old token is dead" in result.stderr
    assert token not in result.stderr


def test_a_rotation_that_cannot_be_confirmed_prints_the_token_it_may_have_made_live(
    cli: Cli, emulator: ThreadedEmulator
) -> None:
    connection = connection_id(cli)
    emulator.script(fault="500_after_commit", route="rotate_complete")
    emulator.script(fault="500_before_commit", route="get", times=100)
    result = cli("rotate", ORG, connection)
    assert result.exit_code == 1
    document = json.loads(result.stdout)
    token = document["next_bearer_token"]
    assert token == emulator.active_token(ORG)  # the complete did commit
    assert document["connection"]["connection_id"] == connection
    assert "next_bearer_token" not in document["connection"]
    assert result.stdout.count(token) == 1
    assert token not in result.stderr
    assert "may be the only live one" in result.stderr
    assert "still works" not in result.stderr.split("if next_bearer_token_last_four is")[0]


def test_a_rotation_seen_pending_says_the_old_token_works(
    cli: Cli, emulator: ThreadedEmulator
) -> None:
    connection = connection_id(cli)
    old = emulator.active_token(ORG)
    emulator.script(fault="500_before_commit", route="rotate_complete", times=10)
    result = cli("rotate", ORG, connection)
    assert result.exit_code == 1
    assert result.stdout == ""  # never active, and it cannot become so unseen
    assert "the old token still works" in result.stderr
    assert emulator.active_token(ORG) == old


def test_a_create_whose_token_is_lost_says_how_to_issue_one(
    cli: Cli, emulator: ThreadedEmulator
) -> None:
    # The create commits behind a lost reply, and the recovery's rotate start never
    # succeeds: the connection exists, nobody holds a token for it.
    emulator.script(fault="500_after_commit", route="create")
    emulator.script(fault="500_before_commit", route="rotate_start", times=100)
    result = cli("create", ORG)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert f"run `stytch-scim rotate {ORG} scim-connection-" in result.stderr
    assert "TokenLostError" in result.stderr


def test_a_create_with_an_unconfirmed_recovery_says_how_to_check(
    cli: Cli, emulator: ThreadedEmulator
) -> None:
    emulator.script(fault="500_after_commit", route="create")
    emulator.script(fault="500_before_commit", route="rotate_complete", times=100)
    result = cli("create", ORG)
    assert result.exit_code == 1
    token = json.loads(result.stdout)["next_bearer_token"]
    assert token not in result.stderr
    assert f"`stytch-scim get {ORG}` shows bearer_token_last_four" in result.stderr


def test_a_create_that_may_have_committed_unseen_says_how_to_check(
    cli: Cli, emulator: ThreadedEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The proof of absence (a GET) answers; the create commits behind a 500; every
    # later GET fails, so nobody can tell whether it committed.
    fake = emulator.emu.fake
    original = fake.handle
    gets = [0]

    def handle(
        method: str, path: str, query: Mapping[str, str], headers: Mapping[str, str], body: bytes
    ) -> FakeResponse:
        if method == "GET" and path.endswith("/connection"):
            gets[0] += 1
            if gets[0] > 1:
                return FakeResponse(503, b'{"status_code": 503}')
        return original(method, path, query, headers, body)

    monkeypatch.setattr(fake, "handle", handle)
    emulator.script(fault="500_after_commit", route="create")
    result = cli("create", ORG)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert f"the create may have committed: `stytch-scim get {ORG}` tells" in result.stderr
    assert emulator.active_token(ORG) is not None  # it did
