"""Settling what an earlier run left unsettled on a connection that is its own.

When an organization's create was sent after absence was proven, or a result after
its `pending` line names a connection or holds a token Stytch did not confirm, a
rerun looks at the organization (one GET) before anything else, and never rotates a
token that may be live:

| Stytch reports                                   | the rerun                              |
|--------------------------------------------------|----------------------------------------|
| no connection                                    | reconciles, then creates (`resume`)    |
| another connection than the one named            | reconciles, without the proof of       |
|                                                  | absence: not provably ours (`foreign`) |
| that one, active token ending like the one on file | records it `recovered` (confirmed)   |
| that one, rotating to the token on file          | completes the rotation, records it     |
| that one, neither token being the one on file    | `failed`, untouched: rotated elsewhere |
|                                                  | (and so on every later run)            |
| that one (or, none named, any), no token on file | reconciles: ours, its token recovered  |
|                                                  | (a rotation a kill left pending on it  |
|                                                  | is cancelled first, if provably ours)  |
| the GET (or the complete, or the cancel) fails   | as it was, for the next run            |
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Sequence

import attrs

from .. import errors
from .._clients.project import SCIMClient
from .._provision.batch import ProvisionOutcome, ProvisionStatus
from ..models import SCIMConnection, SCIMConnectionWithToken, _ConnectionBase
from .output import ORGANIZATION
from .tally import Todo

__all__ = ["Settled", "TokenSuperseded", "confirm_tokens", "ends_like"]

_BASE_FIELDS = tuple(field.name for field in attrs.fields(_ConnectionBase))


def ends_like(token: str, last_four: str) -> bool:
    """Whether Stytch's `*_last_four` of a connection names `token`."""
    return bool(last_four) and token.endswith(last_four)


class Settled(enum.Enum):
    """How a check ended when it produced no outcome."""

    UNSETTLED = "unsettled"
    RESUME = "resume"
    FOREIGN = "foreign"


class TokenSuperseded(errors.StytchSCIMError):
    """The connection's token is neither the one on file nor its pending next one."""

    def __init__(self, organization_id: str, connection_id: str) -> None:
        self.connection_id = connection_id
        super().__init__(
            f"connection {connection_id} of {organization_id} has been rotated elsewhere "
            "since: the token on file is not its token. It was left unchanged; "
            f"`stytch-scim rotate {organization_id} {connection_id}` issues a new one"
        )


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
    assert history is not None
    organization_id = todo.request.organization_id
    try:
        current = await client.get_connection(organization_id)
    except errors.StytchSCIMError:
        return Settled.UNSETTLED
    connection = current.connection
    if connection is None or connection.status != "active":
        return Settled.RESUME
    if history.connection_id is not None and connection.connection_id != history.connection_id:
        return Settled.FOREIGN
    token = history.token
    superseded = ProvisionOutcome(
        todo.request,
        ProvisionStatus.FAILED,
        None,
        TokenSuperseded(organization_id, connection.connection_id),
        attempts=1,
    )
    if token is None:
        if history.superseded:
            return superseded  # found rotated elsewhere before: still not ours to rotate
        return await _reclaim(client, organization_id, connection, history.proven_absent)
    if not connection.rotating and ends_like(token, connection.bearer_token_last_four):
        return _confirmed(todo, connection, token, current.request_id)
    if not (connection.rotating and ends_like(token, connection.next_bearer_token_last_four)):
        return superseded
    # The token on file is the pending one: the recovery's own rotation, on a connection
    # whose token nobody else holds. Completing it is what the recovery set out to do.
    try:
        completed = await client.rotate_complete(organization_id, connection.connection_id)
    except errors.StytchSCIMError:
        return Settled.UNSETTLED
    if not ends_like(token, completed.connection.bearer_token_last_four):
        return Settled.UNSETTLED
    return _confirmed(todo, completed.connection, token, completed.request_id)


async def _reclaim(
    client: SCIMClient, organization_id: str, connection: SCIMConnection, ours: bool
) -> Settled:
    """A connection whose token nobody holds. When it is provably ours (made by a create
    sent after absence was proven), a rotation left pending on it is a recovery's that
    a kill or a lost reply cut short, its token never written down: it is cancelled,
    so that the client's reconciliation can recover a token by rotating it."""
    if connection.rotating and ours:
        try:
            await client.rotate_cancel(organization_id, connection.connection_id)
        except errors.StytchSCIMError:
            return Settled.UNSETTLED
    return Settled.RESUME


async def confirm_tokens(
    client: SCIMClient, todo: Sequence[Todo], *, concurrency: int
) -> list[tuple[Todo, ProvisionOutcome | Settled]]:
    """Check the connection each of `todo` names, at most `concurrency` at once."""
    slots = asyncio.Semaphore(concurrency)

    async def one(item: Todo) -> tuple[Todo, ProvisionOutcome | Settled]:
        ORGANIZATION.set(item.request.organization_id)  # this task's own context
        async with slots:
            return item, await _check(client, item)

    return list(await asyncio.gather(*(one(item) for item in todo)))
