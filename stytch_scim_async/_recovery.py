"""Creates and rotations that never lose a one-time token silently.

A create is not idempotent: if a 5xx, a timeout or a dropped connection hides a
create that did commit, a blind retry answers `active_scim_connection_exists` and
the only copy of the bearer token is gone. So after an ambiguous failure we first
ask Stytch (a GET) what happened:

- no connection: the create did not commit; POST again (within the retry policy);
- a connection matching the request: it committed and its token was lost; with
  `recover_token` rotate it (start + complete — safe, since no IdP can be using a
  token nobody received) and return the new token marked `recovered`, otherwise
  raise `TokenLostError` carrying the connection;
- any other connection: it was there before the call; `ConnectionExistsError`, and
  it is never touched.

A connection "matches" when it is active, has the requested display name and IdP,
is not mid-rotation and has no role assignments: what a fresh create looks like.
Stytch's API cannot tell such a connection from one that already existed, identical,
before the call (nothing in a connection says when it was created). Where that can
happen, pass `verify_absent=True`: one GET before the POST proves the organization
had no connection, so a matching one found after an ambiguous failure is ours.
Rotations are reconciled the same way: a rotate start that committed is cancelled
and started again; a complete or cancel that committed is reported as done. A delete
answered `no_active_scim_connection` (as a repeat of one that committed is) is
checked with a GET and reported as done when the organization has no connection.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import partial
from typing import TYPE_CHECKING, Any

import attrs

from . import errors
from ._endpoints import ENDPOINTS, RetryKind
from ._retry import RetryPolicy
from .models import (
    CreateConnectionResponse,
    DeleteConnectionResponse,
    GetConnectionResponse,
    SCIMConnection,
    SCIMConnectionWithToken,
    _ConnectionBase,
)

if TYPE_CHECKING:
    from ._base import _BaseClient

__all__ = ["Recovery"]

_BASE_FIELDS = tuple(f.name for f in attrs.fields(_ConnectionBase))
_ROTATIONS = frozenset({"rotate_start", "rotate_complete", "rotate_cancel"})


def _org(params: dict[str, Any]) -> dict[str, Any]:
    return {"organization_id": params["organization_id"]} if "organization_id" in params else {}


def _matches(connection: SCIMConnection, params: dict[str, Any]) -> bool:
    wanted_name = params.get("display_name")
    wanted_idp = params.get("identity_provider")
    return (
        connection.status == "active"
        and (wanted_name is None or connection.display_name == wanted_name)
        and (wanted_idp is None or connection.identity_provider == wanted_idp)
        and not connection.rotating
        and not connection.scim_group_implicit_role_assignments
    )


@attrs.define
class _Found:
    """What one call's reconciliation learnt: whether an attempt may have committed,
    and, for a create (when a deadline cuts its recovery short), the connection and
    its token."""

    connection: SCIMConnection | None = None
    next_token: str | None = attrs.field(default=None, repr=False)
    #: The latest failure after which the create may have committed.
    ambiguity: errors.StytchSCIMError | None = None


class Recovery:
    """The careful paths of one client."""

    def __init__(self, client: _BaseClient) -> None:
        self._client = client

    async def _current(
        self, params: dict[str, Any], headers: dict[str, str]
    ) -> GetConnectionResponse | None:
        """The organization's connection as Stytch reports it, or None when asking failed."""
        try:
            response: GetConnectionResponse = await self._client._call("get", _org(params), headers)
        except errors.StytchSCIMError:
            return None
        return response

    def create(
        self,
        params: dict[str, Any],
        headers: dict[str, str],
        *,
        recover_token: bool,
        verify_absent: bool = False,
    ) -> Awaitable[CreateConnectionResponse]:
        """POST under the retry policy, reconciling every ambiguous failure."""
        if verify_absent:
            return self._create_if_absent(params, headers, recover_token)
        found = _Found()

        async def rescue(failure: errors.StytchSCIMError) -> CreateConnectionResponse:
            if RetryPolicy.is_ambiguous(failure):
                found.ambiguity = failure
            elif found.ambiguity is None:
                raise failure
            # Whatever answered now ("already exists", a 429, a connect error…), an
            # earlier attempt may have committed: look before giving up.
            return await self._reconcile_create(params, headers, failure, recover_token, found)

        run = self._client._run("create", RetryKind.CREATE, params, headers, rescue)
        if self._client.retry.deadline is None:
            return run
        return self._naming_the_connection(run, found)

    @staticmethod
    async def _naming_the_connection(
        run: Awaitable[CreateConnectionResponse], found: _Found
    ) -> CreateConnectionResponse:
        """A deadline that cuts a recovery short must still say which connection lost
        its token."""
        try:
            return await run
        except errors.RequestTimeoutError as exc:
            if found.connection is not None:
                raise errors.TokenLostError(
                    found.connection, attempts=exc.attempts, next_bearer_token=found.next_token
                ) from exc
            raise

    async def _create_if_absent(
        self, params: dict[str, Any], headers: dict[str, str], recover_token: bool
    ) -> CreateConnectionResponse:
        current: GetConnectionResponse = await self._client._call("get", _org(params), headers)
        if current.connection is not None:
            raise errors.ConnectionExistsError(
                status_code=400,
                request_id=current.request_id,
                error_type="active_scim_connection_exists",
                error_message=(
                    f"the organization already has SCIM connection "
                    f"{current.connection.connection_id}; nothing was sent"
                ),
            )
        return await self.create(params, headers, recover_token=recover_token)

    async def _reconcile_create(
        self,
        params: dict[str, Any],
        headers: dict[str, str],
        failure: errors.StytchSCIMError,
        recover_token: bool,
        found: _Found,
    ) -> CreateConnectionResponse:
        current = await self._current(params, headers)
        if current is None:
            # Unknowable yet. Whatever this attempt was answered, an earlier one may have
            # committed: say so (the retry policy may look again).
            raise found.ambiguity or failure
        if current.connection is None:
            raise failure  # not committed: the retry policy decides
        connection = current.connection
        if not _matches(connection, params):
            raise errors.ConnectionExistsError(
                status_code=400,
                request_id=current.request_id,
                error_type="active_scim_connection_exists",
                error_message=(
                    f"the organization already has SCIM connection {connection.connection_id}, "
                    "which does not match this create; it was left unchanged"
                ),
            ) from failure
        if not recover_token:
            raise errors.TokenLostError(connection) from failure
        found.connection = connection
        return await self.recover(connection, params, headers, found)

    async def recover(
        self,
        connection: SCIMConnection,
        params: dict[str, Any],
        headers: dict[str, str],
        found: _Found | None = None,
    ) -> CreateConnectionResponse:
        """Give a connection whose token nobody holds a new one (rotate start + complete)."""
        target = {**_org(params), "connection_id": connection.connection_id}
        try:
            started = await self._client._call("rotate_start", target, headers)
        except errors.StytchSCIMError as exc:
            raise errors.TokenLostError(connection) from exc
        next_token = started.connection.next_bearer_token
        if found is not None:  # a deadline may cut what follows: keep the token reachable
            found.next_token = next_token
        try:
            completed = await self._client._call("rotate_complete", target, headers)
        except errors.StytchSCIMError as exc:
            # The rotation may or may not have completed: hand over the token it made.
            raise errors.TokenLostError(connection, next_bearer_token=next_token) from exc
        fresh: SCIMConnection = completed.connection
        return CreateConnectionResponse(
            request_id=completed.request_id,
            status_code=completed.status_code,
            connection=SCIMConnectionWithToken(
                **{name: getattr(fresh, name) for name in _BASE_FIELDS},
                bearer_token=next_token,
                bearer_token_expires_at=fresh.bearer_token_expires_at,
                scim_group_implicit_role_assignments=fresh.scim_group_implicit_role_assignments,
            ),
            recovered=True,
        )

    def rescue(
        self, operation: str, params: dict[str, Any], headers: dict[str, str]
    ) -> Callable[[errors.StytchSCIMError], Awaitable[Any]] | None:
        """The reconciliation for one call of `operation`, if it needs any."""
        if operation in _ROTATIONS:
            return partial(self.rescue_rotation, operation, params, headers, _Found())
        if operation == "delete":
            return partial(self._rescue_delete, params, headers)
        return None

    async def _rescue_delete(
        self, params: dict[str, Any], headers: dict[str, str], failure: errors.StytchSCIMError
    ) -> DeleteConnectionResponse:
        # A delete whose reply was lost is re-sent (by the retry policy, or by aiohttp
        # itself for a dropped pooled connection) and answered "no active connection".
        # If the organization has no connection now, the delete did its job.
        gone = (
            isinstance(failure, errors.BadRequestError)
            and failure.error_type == "no_active_scim_connection"
        )
        current = await self._current(params, headers) if gone else None
        if current is None or current.connection is not None:
            raise failure
        return DeleteConnectionResponse(
            request_id=current.request_id,
            status_code=current.status_code,
            connection_id=params["connection_id"],
        )

    async def rescue_rotation(
        self,
        operation: str,
        params: dict[str, Any],
        headers: dict[str, str],
        found: _Found,
        failure: errors.StytchSCIMError,
    ) -> Any:
        """After a failed rotate start/complete/cancel: find out whether it took effect.

        `found.ambiguity` remembers, across the attempts of one call, that an earlier one
        may have committed: a complete or cancel then answered "not rotating" is most
        likely the repeat of one that did, so that answer is checked too."""
        if RetryPolicy.is_ambiguous(failure):
            found.ambiguity = failure
        elif not (
            found.ambiguity is not None
            and operation != "rotate_start"
            and isinstance(failure, errors.BadRequestError)
            and failure.error_type == "scim_connection_not_rotating_token"
        ):
            raise failure
        current = await self._current(params, headers)
        connection = current.connection if current is not None else None
        if current is None or connection is None:
            raise failure
        if connection.connection_id != params["connection_id"]:
            raise failure
        if operation == "rotate_start":
            if connection.rotating:
                # It committed and the next token was lost: cancel, then start again.
                try:
                    await self._client._call("rotate_cancel", params, headers)
                except errors.StytchSCIMError:
                    raise failure from None
            raise failure
        if connection.rotating:
            raise failure  # the complete/cancel did not take effect: try it again
        envelope = ENDPOINTS[operation].response
        return envelope(
            request_id=current.request_id,
            status_code=current.status_code,
            connection=connection,
        )
