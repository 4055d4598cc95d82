"""Settling `unconfirmed` results: a token on file that Stytch never confirmed.

A lost-reply recovery that got a new token from rotate start but could not confirm
the complete leaves a token that is either the connection's active one (the complete
committed) or its pending next one. A rerun checks before doing anything else, with
one GET, never by rotating again (that would revoke a token that may be live):

| Stytch reports                                     | the rerun                               |
|----------------------------------------------------|-----------------------------------------|
| that connection, active token ending like ours     | records it `recovered` (confirmed)      |
| that connection, rotating to a token like ours     | completes the rotation, records it      |
| the GET (or the complete) fails                    | leaves it `unconfirmed`, for next time  |
| anything else                                      | reconciles the organization (`resume`)  |
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Sequence

import attrs

from . import errors
from ._cli_common import ends_like
from ._cli_tally import Todo
from ._client import SCIMClient
from ._provision import ProvisionOutcome, ProvisionStatus
from .models import SCIMConnection, SCIMConnectionWithToken, _ConnectionBase

__all__ = ["Settled", "confirm_tokens"]

_BASE_FIELDS = tuple(field.name for field in attrs.fields(_ConnectionBase))


class Settled(enum.Enum):
    """How a check of an unconfirmed token ended, when it produced no outcome."""

    UNSETTLED = "unsettled"
    RESUME = "resume"


def _confirmed(
    todo: Todo, connection: SCIMConnection, token: str, request_id: str | None
) -> ProvisionOutcome:
    held = SCIMConnectionWithToken(
        **{name: getattr(connection, name) for name in _BASE_FIELDS},
        bearer_token=token,
        bearer_token_expires_at=connection.bearer_token_expires_at,
        scim_group_implicit_role_assignments=connection.scim_group_implicit_role_assignments,
    )
    return ProvisionOutcome(
        todo.request, ProvisionStatus.RECOVERED, held, None, attempts=1, request_id=request_id
    )


async def _check(client: SCIMClient, todo: Todo) -> ProvisionOutcome | Settled:
    history = todo.history
    assert history is not None and history.token is not None
    token = history.token
    organization_id = todo.request.organization_id
    try:
        current = await client.get_connection(organization_id)
    except errors.StytchSCIMError:
        return Settled.UNSETTLED
    connection = current.connection
    if connection is None or connection.status != "active":
        return Settled.RESUME
    if history.connection_id is not None and connection.connection_id != history.connection_id:
        return Settled.RESUME
    if not connection.rotating and ends_like(token, connection.bearer_token_last_four):
        return _confirmed(todo, connection, token, current.request_id)
    if not (connection.rotating and ends_like(token, connection.next_bearer_token_last_four)):
        return Settled.RESUME
    # Our token is the pending one: the recovery's own rotation, on a connection whose
    # token nobody else holds. Completing it is what the recovery set out to do.
    try:
        completed = await client.rotate_complete(organization_id, connection.connection_id)
    except errors.StytchSCIMError:
        return Settled.UNSETTLED
    if not ends_like(token, completed.connection.bearer_token_last_four):
        return Settled.UNSETTLED
    return _confirmed(todo, completed.connection, token, completed.request_id)


async def confirm_tokens(
    client: SCIMClient, todo: Sequence[Todo], *, concurrency: int
) -> list[tuple[Todo, ProvisionOutcome | Settled]]:
    """Check every unconfirmed token of `todo`, at most `concurrency` at once."""
    slots = asyncio.Semaphore(concurrency)

    async def one(item: Todo) -> tuple[Todo, ProvisionOutcome | Settled]:
        async with slots:
            return item, await _check(client, item)

    return list(await asyncio.gather(*(one(item) for item in todo)))
