"""`stytch-scim delete`: deleted, nothing to delete, or another connection left alone."""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from typing import Any

from .conftest import Cli, ThreadedEmulator

ORG = "organization-test-delete"
NEVER = "scim-connection-test-never-existed"


def create(cli: Cli) -> dict[str, Any]:
    """A connection made through the CLI, token included."""
    result = cli("create", ORG)
    assert result.exit_code == 0, result.output
    connection: dict[str, Any] = json.loads(result.stdout)["connection"]
    return connection


def test_a_connection_that_never_existed_is_nothing_to_delete(
    cli: Cli, emulator: ThreadedEmulator
) -> None:
    result = cli("delete", ORG, NEVER)
    assert result.exit_code == 0, result.output
    assert result.stdout == ""  # nothing was deleted: no document claims it was
    assert result.stderr == (
        f"nothing to delete: {ORG} has no connection ({NEVER} does not exist, or was "
        "deleted before)\n"
    )
    assert emulator.count("delete") == 0


def test_deleting_twice_is_nothing_to_delete_the_second_time(
    cli: Cli, emulator: ThreadedEmulator
) -> None:
    connection_id = create(cli)["connection_id"]
    first = cli("delete", ORG, connection_id)
    assert first.exit_code == 0, first.output
    assert json.loads(first.stdout)["connection_id"] == connection_id
    again = cli("delete", ORG, connection_id)
    assert again.exit_code == 0, again.output
    assert again.stderr.startswith("nothing to delete: ")
    assert emulator.count("delete") == 1


def test_another_connection_than_the_one_named_is_left_alone(
    cli: Cli, emulator: ThreadedEmulator
) -> None:
    connection = create(cli)
    result = cli("delete", ORG, NEVER)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"error: {ORG}'s connection is {connection['connection_id']}, not {NEVER}: nothing "
        f"was deleted (`stytch-scim get {ORG}` shows it)\n"
    )
    assert emulator.count("delete") == 0
    assert emulator.active_token(ORG) == connection["bearer_token"]  # still works


def test_the_emulator_answers_a_delete_of_an_unknown_id_with_400(
    emulator: ThreadedEmulator,
) -> None:
    """What `delete` is built on (the reference is silent; see `delete_reporting`): the
    emulator answers a DELETE naming a connection the organization does not have with
    400 `no_active_scim_connection`, neither a 404 nor a success. The raw answer, no
    client (whose delete reads that answer as done when nothing is left)."""
    credentials = f"{emulator.project_id}:{emulator.secret}".encode()
    request = urllib.request.Request(  # noqa: S310 - the loopback emulator
        f"{emulator.base_url}/v1/b2b/scim/{ORG}/connection/{NEVER}",
        method="DELETE",
        headers={"Authorization": "Basic " + base64.b64encode(credentials).decode()},
    )
    try:
        urllib.request.urlopen(request, timeout=10)  # noqa: S310 - the loopback emulator
    except urllib.error.HTTPError as answer:
        status, body = answer.code, json.loads(answer.read())
        answer.close()
    else:  # pragma: no cover - the failure this test exists to catch
        raise AssertionError("a DELETE of an unknown connection succeeded")
    assert (status, body["error_type"]) == (400, "no_active_scim_connection")
