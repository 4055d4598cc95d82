"""The single-call commands: `create`, `get`, `delete`, `rotate`.

`create` and `rotate` are the only places a bearer token leaves this process, on
stdout, because showing it is their point. A create or a rotation whose reply is lost
may still have committed: the token it made is then either live or about to be, and
exists nowhere else, so these commands print it too (stdout) with what to do next
(stderr, never a token), and exit 1 because Stytch did not confirm it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import click

from .. import errors
from .._clients.project import SCIMClient
from ..models import (
    CreateConnectionResponse,
    DeleteConnectionResponse,
    GetConnectionResponse,
    RotateCompleteResponse,
)
from .confirm import ends_like
from .env import Environment
from .exit import ExitStatus
from .options import Api, Command, api_options, environment, verbose_option
from .output import ORGANIZATION, emit, fail, log, to_json

__all__ = ["create", "create_reporting", "delete", "get", "rotate", "rotate_reporting"]

T = TypeVar("T")


def call(
    env: Environment,
    api: Api,
    organization_id: str,
    operation: Callable[[SCIMClient], Awaitable[T]],
) -> T:
    """Run one async operation for `organization_id` with a fresh client in its own
    event loop; a library error is reported (`fail`) with its exit status."""
    client = api.client()

    async def run() -> T:
        ORGANIZATION.set(organization_id)  # names the organization in the -v log
        async with client:
            return await operation(client)

    try:
        return asyncio.run(run())
    except errors.StytchSCIMError as exc:
        fail(env, exc)


def _unconfirmed(env: Environment, connection: Any, token: str, note: str) -> None:
    """Print a token Stytch did not confirm, with the connection it belongs to."""
    document = to_json(connection)
    document.pop("next_bearer_token", None)
    emit(env, {"connection": document, "next_bearer_token": token, "note": note})


async def create_reporting(
    env: Environment,
    client: SCIMClient,
    organization_id: str,
    display_name: str | None,
    identity_provider: str | None,
) -> CreateConnectionResponse:
    """`create_connection` with lost-token recovery; whatever it may have made live is
    printed, and what to do next said, before its error is raised."""
    try:
        created = await client.create_connection(
            organization_id,
            display_name=display_name,
            identity_provider=identity_provider,
            recover_token=True,
        )
    except errors.TokenLostError as exc:
        connection_id = exc.connection.connection_id
        if exc.next_bearer_token is not None:
            _unconfirmed(
                env,
                exc.connection,
                exc.next_bearer_token,
                "active if the recovery's rotation completed; else complete it",
            )
            env.say(
                f"the token printed is live if Stytch completed the recovery's rotation: "
                f"`stytch-scim get {organization_id}` shows bearer_token_last_four equal to "
                "its last four characters; if it shows them as next_bearer_token_last_four "
                "instead, the rotation is still pending"
            )
        else:
            env.say(
                f"the connection {connection_id} exists but nobody holds its token: run "
                f"`stytch-scim rotate {organization_id} {connection_id}` to issue one"
            )
        raise
    except errors.StytchSCIMError as exc:
        if exc.may_have_committed:
            env.say(
                f"the create may have committed: `stytch-scim get {organization_id}` tells; "
                "if it shows a connection, nobody holds its token, and `stytch-scim rotate "
                f"{organization_id} CONNECTION_ID` issues one"
            )
        raise
    if created.recovered:
        log.info(
            "recovered: the create's reply was lost; connection %s got a new token by "
            "rotation (printed)",
            created.connection.connection_id,
        )
    return created


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
    env: Environment, client: SCIMClient, organization_id: str, connection_id: str
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
            env.say("the rotation completed, though its reply was lost: the old token is dead")
            response = seen
        elif state == "pending":
            env.say(
                "error: the rotation was started but not completed, so the old token still "
                f"works; run 'stytch-scim rotate {organization_id} {connection_id} --cancel' "
                "before trying again"
            )
            raise
        else:
            _unconfirmed(
                env,
                started.connection,
                token,
                "the rotation may have completed: then this is the only live token",
            )
            env.say(
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


async def delete_reporting(
    env: Environment, client: SCIMClient, organization_id: str, connection_id: str
) -> DeleteConnectionResponse | None:
    """Delete `connection_id` if it is the organization's connection; None (and a
    "nothing to delete" message) when the organization has no connection at all.

    One GET first, because the delete itself cannot tell: the reference lists no
    answer for a DELETE of an id the organization does not have (no
    `scim_connection_not_found`); the emulator answers 400 `no_active_scim_connection`,
    and the client reads that answer as done when the organization has no active
    connection left, since it is what the repeat of a delete whose reply was lost
    gets. Assumption (labelled): the real API answers such a DELETE with an error, 400
    or 404, and never deletes another connection than the one named."""
    current = await client.get_connection(organization_id)
    connection = current.connection
    if connection is None or not connection.active:
        gone = connection is not None and connection.connection_id == connection_id
        env.say(
            f"nothing to delete: connection {connection_id} was already deleted"
            if gone
            else f"nothing to delete: {organization_id} has no connection "
            f"({connection_id} does not exist, or was deleted before)"
        )
        return None
    if connection.connection_id != connection_id:
        env.say(
            f"error: {organization_id}'s connection is {connection.connection_id}, not "
            f"{connection_id}: nothing was deleted (`stytch-scim get {organization_id}` "
            "shows it)"
        )
        raise SystemExit(ExitStatus.FAILURE)
    return await client.delete_connection(organization_id, connection_id)


@click.command(cls=Command, short_help="Create a connection; print it with its bearer token.")
@click.argument("organization_id")
@click.option("--display-name", help="Name shown in the Stytch dashboard.")
@click.option("--idp", "identity_provider", help="Identity provider: okta, microsoft-entra, ...")
@api_options
@verbose_option
def create(
    organization_id: str, display_name: str | None, identity_provider: str | None, api: Api
) -> None:
    """Create an organization's SCIM connection; print it with its bearer token.

    Stytch shows the token only this once: the JSON on stdout is the only copy. If the
    reply is lost after the create committed, a new token is issued by rotation; one
    Stytch could not confirm is printed too (exit 1), with how to check it.
    """
    env = environment()
    created = call(
        env,
        api,
        organization_id,
        lambda client: create_reporting(
            env, client, organization_id, display_name, identity_provider
        ),
    )
    emit(env, created)


@click.command(cls=Command, short_help="Print an organization's connection (no token).")
@click.argument("organization_id")
@api_options
@verbose_option
def get(organization_id: str, api: Api) -> None:
    """Print an organization's SCIM connection (null when it has none); no token."""
    env = environment()
    emit(
        env, call(env, api, organization_id, lambda client: client.get_connection(organization_id))
    )


@click.command(cls=Command, short_help="Delete a connection.")
@click.argument("organization_id")
@click.argument("connection_id")
@api_options
@verbose_option
def delete(organization_id: str, connection_id: str, api: Api) -> None:
    """Delete a SCIM connection; the IdP's token stops working at once.

    An organization with no connection is "nothing to delete" (exit 0, nothing on
    stdout); one whose connection is another than CONNECTION_ID is left alone (exit 1).
    """
    env = environment()
    deleted = call(
        env,
        api,
        organization_id,
        lambda client: delete_reporting(env, client, organization_id, connection_id),
    )
    if deleted is not None:
        emit(env, deleted)


@click.command(cls=Command, short_help="Rotate a connection's token; print the new one.")
@click.argument("organization_id")
@click.argument("connection_id")
@click.option("--cancel", is_flag=True, help="Abandon a started rotation; the old token stays.")
@api_options
@verbose_option
def rotate(organization_id: str, connection_id: str, cancel: bool, api: Api) -> None:
    """Replace a connection's bearer token (start + complete); print the new one.

    The old token stops working when this returns: install the new one in the IdP.
    If Stytch cannot confirm the completion, the new token is printed anyway (exit 1),
    since it may be the only live one; stderr says how to tell.
    With --cancel, abandon a rotation started elsewhere instead (no token printed).
    """
    env = environment()
    if cancel:
        cancelled = call(
            env,
            api,
            organization_id,
            lambda client: client.rotate_cancel(organization_id, connection_id),
        )
        emit(env, cancelled)
        return
    rotated = call(
        env,
        api,
        organization_id,
        lambda client: rotate_reporting(env, client, organization_id, connection_id),
    )
    emit(env, rotated)
