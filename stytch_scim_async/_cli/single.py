"""`create` and `rotate`: every token they may have made live reaches stdout.

A create or a rotation whose reply is lost may still have committed. The token it made
is then either live or about to be, and it exists nowhere else: these commands print
it (stdout, like any token they print) with what to do next (stderr, never a token),
and exit 1 because Stytch did not confirm it.
"""

from __future__ import annotations

from typing import Any

import click

from .. import errors
from .._clients.project import SCIMClient
from ..models import CreateConnectionResponse, GetConnectionResponse, RotateCompleteResponse
from .options import emit, ends_like, to_json

__all__ = ["create_reporting", "rotate_reporting"]


def _say(message: str) -> None:
    click.echo(message, err=True)


def _unconfirmed(connection: Any, token: str, note: str) -> None:
    """Print a token Stytch did not confirm, with the connection it belongs to."""
    document = to_json(connection)
    document.pop("next_bearer_token", None)
    emit({"connection": document, "next_bearer_token": token, "note": note})


async def create_reporting(
    client: SCIMClient,
    organization_id: str,
    display_name: str | None,
    identity_provider: str | None,
) -> CreateConnectionResponse:
    """`create_connection` with lost-token recovery; whatever it may have made live is
    printed, and what to do next said, before its error is raised."""
    try:
        return await client.create_connection(
            organization_id,
            display_name=display_name,
            identity_provider=identity_provider,
            recover_token=True,
        )
    except errors.TokenLostError as exc:
        connection_id = exc.connection.connection_id
        if exc.next_bearer_token is not None:
            _unconfirmed(
                exc.connection,
                exc.next_bearer_token,
                "active if the recovery's rotation completed; else complete it",
            )
            _say(
                f"the token printed is live if Stytch completed the recovery's rotation: "
                f"`stytch-scim get {organization_id}` shows bearer_token_last_four equal to "
                "its last four characters; if it shows them as next_bearer_token_last_four "
                "instead, the rotation is still pending"
            )
        else:
            _say(
                f"the connection {connection_id} exists but nobody holds its token: run "
                f"`stytch-scim rotate {organization_id} {connection_id}` to issue one"
            )
        raise
    except errors.StytchSCIMError as exc:
        if exc.may_have_committed:
            _say(
                f"the create may have committed: `stytch-scim get {organization_id}` tells; "
                "if it shows a connection, nobody holds its token, and `stytch-scim rotate "
                f"{organization_id} CONNECTION_ID` issues one"
            )
        raise


async def _state_after(
    client: SCIMClient, organization_id: str, connection_id: str, token: str
) -> tuple[str, GetConnectionResponse | None]:
    """Whether a rotation to `token` completed, is still pending, or cannot be told."""
    try:
        current = await client.get_connection(organization_id)
    except errors.StytchSCIMError:
        return "unknown", None
    connection = current.connection
    if connection is None or connection.connection_id != connection_id:
        return "unknown", None
    if not connection.rotating and ends_like(token, connection.bearer_token_last_four):
        return "completed", current
    if connection.rotating and ends_like(token, connection.next_bearer_token_last_four):
        return "pending", current
    return "unknown", None


async def rotate_reporting(
    client: SCIMClient, organization_id: str, connection_id: str
) -> dict[str, Any]:
    """Rotate start + complete. When the complete fails, Stytch is asked where the
    rotation stands: completed after all (the new token is printed, exit 0), still
    pending (the old token works: say how to cancel), or unknowable (the new token is
    printed anyway, since it may be the only live one)."""
    started = await client.rotate_start(organization_id, connection_id)
    token = started.connection.next_bearer_token
    try:
        response: RotateCompleteResponse | GetConnectionResponse = await client.rotate_complete(
            organization_id, connection_id
        )
    except errors.StytchSCIMError:
        state, seen = await _state_after(client, organization_id, connection_id, token)
        if state == "completed" and seen is not None:
            _say("the rotation completed, though its reply was lost: the old token is dead")
            response = seen
        elif state == "pending":
            _say(
                "error: the rotation was started but not completed, so the old token still "
                f"works; run 'stytch-scim rotate {organization_id} {connection_id} --cancel' "
                "before trying again"
            )
            raise
        else:
            _unconfirmed(
                started.connection,
                token,
                "the rotation may have completed: then this is the only live token",
            )
            _say(
                "error: the rotation was started and its completion could not be confirmed: "
                "the token printed may be the only live one now. Install it in the IdP, then "
                f"check `stytch-scim get {organization_id}`: if bearer_token_last_four is its "
                "last four characters it is live; if next_bearer_token_last_four is, the old "
                f"token still works and 'stytch-scim rotate {organization_id} {connection_id} "
                "--cancel' abandons the rotation"
            )
            raise
    document: dict[str, Any] = to_json(response)
    document["connection"]["bearer_token"] = token
    return document
