"""Reruns: what an earlier run left pending or unconfirmed is settled, never guessed."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import stytch_scim_async as scim

from .conftest import Cli, ThreadedEmulator
from .files import header_line, results

ORG = "organization-test-resume"


def source(tmp_path: Path, *orgs: str) -> Path:
    """An input file naming `orgs` (display name "Org", IdP okta)."""
    path = tmp_path / "orgs.csv"
    rows = "".join(f"{org},Org,okta\n" for org in orgs)
    path.write_text("organization_id,display_name,identity_provider\n" + rows)
    return path


def results_file(tmp_path: Path, emulator: ThreadedEmulator, *records: dict[str, Any]) -> Path:
    """A results file for the emulator's project holding `records`."""
    path = tmp_path / "out.jsonl"
    lines = [header_line(emulator.project_id), *(json.dumps(r) + "\n" for r in records)]
    path.write_text("".join(lines))
    path.chmod(0o600)
    return path


def pending(org: str = ORG) -> dict[str, Any]:
    """The pending line of a create that was sent after absence was proven."""
    return {
        "kind": "pending",
        "organization_id": org,
        "display_name": "Org",
        "identity_provider": "okta",
        "proven_absent": True,
    }


def unconfirmed(token: str, connection_id: str) -> dict[str, Any]:
    """The result of a recovery that got `token` but could not confirm it."""
    return {
        "kind": "result",
        "organization_id": ORG,
        "status": "failed",
        "connection_id": connection_id,
        "bearer_token": None,
        "next_bearer_token": token,
        "error_type": "TokenLostError",
    }


def rotate_start(emulator: ThreadedEmulator, connection_id: str) -> str:
    """Start a rotation of ORG's connection; the next token."""

    async def start() -> str:
        async with scim.SCIMClient(
            emulator.project_id, emulator.secret, base_url=emulator.base_url
        ) as client:
            started = await client.rotate_start(ORG, connection_id)
            return started.connection.next_bearer_token

    return emulator.run(start())


def test_an_unconfirmed_token_that_is_live_is_confirmed_without_rotating(
    cli: Cli, emulator: ThreadedEmulator, tmp_path: Path
) -> None:
    live = emulator.add_connection(ORG, display_name="Org", identity_provider="okta")
    out = results_file(
        tmp_path, emulator, pending(), unconfirmed(live["bearer_token"], live["connection_id"])
    )
    result = cli("provision", str(source(tmp_path, ORG)), "--out", str(out))
    assert result.exit_code == 0, result.output
    last = results(out)[-1]
    assert last["status"] == "recovered" and last["token_confirmed"] is True
    assert last["bearer_token"] == live["bearer_token"] == emulator.active_token(ORG)
    assert emulator.count("rotate_start") == emulator.count("create") == 0
    assert "resumed (reconciled first): 1" in re.sub(r" +", " ", result.stderr)


def test_an_unconfirmed_token_still_pending_is_completed(
    cli: Cli, emulator: ThreadedEmulator, tmp_path: Path
) -> None:
    connection = emulator.add_connection(ORG, display_name="Org", identity_provider="okta")
    token = rotate_start(emulator, connection["connection_id"])
    out = results_file(
        tmp_path, emulator, pending(), unconfirmed(token, connection["connection_id"])
    )
    result = cli("provision", str(source(tmp_path, ORG)), "--out", str(out))
    assert result.exit_code == 0, result.output
    assert emulator.active_token(ORG) == token
    assert results(out)[-1]["bearer_token"] == token
    assert emulator.count("rotate_complete") == 1
    assert emulator.count("rotate_start") == 1  # only the one this test made


def test_an_unconfirmed_token_that_cannot_be_checked_stays_on_file(
    cli: Cli, emulator: ThreadedEmulator, tmp_path: Path
) -> None:
    live = emulator.add_connection(ORG, display_name="Org", identity_provider="okta")
    out = results_file(
        tmp_path, emulator, pending(), unconfirmed(live["bearer_token"], live["connection_id"])
    )
    before = out.read_text()
    emulator.script(fault="500_before_commit", route="get", times=100)
    result = cli("provision", str(source(tmp_path, ORG)), "--out", str(out))
    assert result.exit_code == 1, result.output
    assert out.read_text() == before  # its line stays the latest: the next run checks again
    assert "unconfirmed: 1" in re.sub(r" +", " ", result.stderr)
    assert "rerun the same command to check and settle them" in result.stderr
    assert emulator.count("create") == emulator.count("rotate_start") == 0


def test_a_named_connection_that_is_gone_is_created_again(
    cli: Cli, emulator: ThreadedEmulator, tmp_path: Path
) -> None:
    out = results_file(tmp_path, emulator, pending(), unconfirmed("tok", "scim-connection-gone"))
    result = cli("provision", str(source(tmp_path, ORG)), "--out", str(out))
    assert result.exit_code == 0, result.output
    last = results(out)[-1]
    assert last["status"] == "created"
    assert last["bearer_token"] == emulator.active_token(ORG)


def test_another_connection_than_the_one_named_is_never_rotated(
    cli: Cli, emulator: ThreadedEmulator, tmp_path: Path
) -> None:
    other = emulator.add_connection(ORG, display_name="Someone else's", identity_provider="okta")
    out = results_file(tmp_path, emulator, pending(), unconfirmed("tok", "scim-connection-old"))
    result = cli("provision", str(source(tmp_path, ORG)), "--out", str(out))
    assert result.exit_code == 1, result.output
    assert emulator.active_token(ORG) == other["bearer_token"]
    assert emulator.count("rotate_start") == 0
    assert results(out)[-1]["status"] in ("already_exists", "failed")


def test_a_connection_rotated_elsewhere_since_is_left_alone(
    cli: Cli, emulator: ThreadedEmulator, tmp_path: Path
) -> None:
    live = emulator.add_connection(ORG, display_name="Org", identity_provider="okta")
    out = results_file(
        tmp_path, emulator, pending(), unconfirmed("tok-not-its-token", live["connection_id"])
    )
    result = cli("provision", str(source(tmp_path, ORG)), "--out", str(out))
    assert result.exit_code == 1, result.output
    last = results(out)[-1]
    assert last["status"] == "failed" and last["error_type"] == "TokenSuperseded"
    assert "rotated elsewhere" in result.stderr
    assert emulator.active_token(ORG) == live["bearer_token"]
    assert emulator.count("rotate_start") == emulator.count("create") == 0
    again = cli("provision", str(source(tmp_path, ORG)), "--out", str(out))
    assert again.exit_code == 1  # checked again, and still left alone
    assert emulator.active_token(ORG) == live["bearer_token"]


def test_a_rotation_that_cannot_be_completed_stays_unconfirmed(
    cli: Cli, emulator: ThreadedEmulator, tmp_path: Path
) -> None:
    connection = emulator.add_connection(ORG, display_name="Org", identity_provider="okta")
    token = rotate_start(emulator, connection["connection_id"])
    out = results_file(
        tmp_path, emulator, pending(), unconfirmed(token, connection["connection_id"])
    )
    emulator.script(fault="500_before_commit", route="rotate_complete", times=100)
    result = cli("provision", str(source(tmp_path, ORG)), "--out", str(out))
    assert result.exit_code == 1, result.output
    assert results(out)[-1]["next_bearer_token"] == token  # still the latest line
    assert "unconfirmed: 1" in re.sub(r" +", " ", result.stderr)


def test_a_named_connection_that_cannot_be_checked_is_left_for_the_next_run(
    cli: Cli, emulator: ThreadedEmulator, tmp_path: Path
) -> None:
    live = emulator.add_connection(ORG, display_name="Org", identity_provider="okta")
    lost = {**unconfirmed("", live["connection_id"]), "next_bearer_token": None}
    out = results_file(tmp_path, emulator, pending(), lost)
    emulator.script(fault="500_before_commit", route="get", times=100)
    result = cli("provision", str(source(tmp_path, ORG)), "--out", str(out))
    assert result.exit_code == 1, result.output
    assert f"failed: {ORG}: its connection could not be checked" in result.stderr
    assert emulator.active_token(ORG) == live["bearer_token"]
    assert emulator.count("create") == emulator.count("rotate_start") == 0
