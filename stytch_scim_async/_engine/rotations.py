"""Rotations and deletes that find out whether a lost reply's request took effect.

A rotate start that committed but whose reply (with the next token) was lost is
cancelled and started again; a complete or cancel that committed is reported as done;
a delete answered "no active connection" after a lost reply is reported as done when
the organization has no active connection.
"""

from __future__ import annotations

from collections.abc import Coroutine
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from .. import errors
from .._policy.retry import RetryPolicy
from .._sansio.endpoints import (
    GET,
    ROTATE_CANCEL,
    ROTATE_COMPLETE,
    ROTATE_START,
    Endpoint,
)
from ..models import (
    DeleteConnectionResponse,
    GetConnectionResponse,
    RotateCancelResponse,
    RotateCompleteResponse,
)
from .call import Call, Rescue

if TYPE_CHECKING:
    from .._sansio.wire import RequestHeaders
    from .engine import Engine

__all__ = ["ROTATIONS", "Rotations", "look", "org_of"]

ROTATIONS: frozenset[Endpoint[Any]] = frozenset({ROTATE_START, ROTATE_COMPLETE, ROTATE_CANCEL})
R = TypeVar("R")


def org_of(params: dict[str, Any]) -> dict[str, Any]:
    """The organization part of a call's parameters (none in member mode)."""
    return {"organization_id": params["organization_id"]} if "organization_id" in params else {}


async def look(
    client: Engine, params: dict[str, Any], headers: RequestHeaders
) -> GetConnectionResponse | None:
    """One GET (never retried: each doubt costs one look), or None when it failed."""
    try:
        return await client._exchange(GET, org_of(params), headers)
    except errors.StytchSCIMError:
        return None


def _verdict(
    endpoint: Endpoint[Any], params: dict[str, Any], current: GetConnectionResponse | None
) -> str:
    """What a rotation's look concluded, as its event reports it."""
    connection = current.connection if current is not None else None
    if current is None:
        return "unknown"
    if (
        connection is None
        or not connection.active
        or connection.connection_id != params["connection_id"]
    ):
        return "absent"
    if endpoint is ROTATE_START:
        return "restart" if connection.rotating else "not_committed"
    return "not_committed" if connection.rotating else "committed"


@attrs.define
class _Rotation:
    in_doubt: bool = False


class Rotations:
    """The reconciled rotations and deletes of one client."""

    def __init__(self, client: Engine) -> None:
        self._client = client

    def run(
        self, endpoint: Endpoint[R], params: dict[str, Any], headers: RequestHeaders
    ) -> Coroutine[Any, Any, R]:
        """A rotate start/complete/cancel under the retry policy, reconciled (no lock:
        the caller holds the organization's, or takes it through `rotation`)."""
        return self._client._run(endpoint, params, headers, self._rescue(endpoint, params, headers))

    def _rescue(
        self, endpoint: Endpoint[R], params: dict[str, Any], headers: RequestHeaders
    ) -> Rescue[R]:
        return partial(self._rescue_rotation, endpoint, params, headers, _Rotation())

    async def rotation(
        self, endpoint: Endpoint[R], params: dict[str, Any], headers: RequestHeaders
    ) -> R:
        """A public rotate start/complete/cancel: reconciled, and never overlapping a
        create or another rotation of the same organization in this client."""
        client = self._client
        key = params.get("organization_id", "")
        locks = client._org_locks
        call = Call(endpoint, params, headers, self._rescue(endpoint, params, headers))

        async def locked(ends: float | None) -> R:
            await locks.acquire(key)
            try:
                return await client._attempts(call, ends)
            finally:
                locks.release(key)

        # The wait for the lock is inside the deadline, and counted as a call in
        # flight (aclose() waits for it), as a create's is.
        return await client._bounded(endpoint, locked)

    async def rescue_delete(
        self, params: dict[str, Any], headers: RequestHeaders, failure: errors.StytchSCIMError
    ) -> DeleteConnectionResponse:
        """A delete whose reply was lost is re-sent and answered "no active connection":
        if the organization has no active connection now, the delete did its job."""
        gone = (
            isinstance(failure, errors.BadRequestError)
            and failure.error_type == "no_active_scim_connection"
        )
        current = await look(self._client, params, headers) if gone else None
        if current is None or (current.connection is not None and current.connection.active):
            raise failure
        return DeleteConnectionResponse(
            request_id=current.request_id,
            status_code=current.status_code,
            connection_id=params["connection_id"],
        )

    async def _rescue_rotation(
        self,
        endpoint: Endpoint[R],
        params: dict[str, Any],
        headers: RequestHeaders,
        state: _Rotation,
        failure: errors.StytchSCIMError,
    ) -> R:
        """After a failed rotate start/complete/cancel: find out whether it took effect.

        `state.in_doubt` remembers, across the attempts of one call, that an earlier
        one may have committed: a complete or cancel then answered "not rotating" is
        most likely the repeat of one that did, so that answer is checked too."""
        if RetryPolicy.is_ambiguous(failure):
            state.in_doubt = True
        elif not (
            state.in_doubt
            and endpoint is not ROTATE_START
            and isinstance(failure, errors.BadRequestError)
            and failure.error_type == "scim_connection_not_rotating_token"
        ):
            raise failure
        current = await look(self._client, params, headers)
        connection = current.connection if current is not None else None
        hooks = self._client._hooks
        if hooks is not None:
            hooks.reconciled(
                endpoint.name,
                _verdict(endpoint, params, current),
                connection.connection_id if connection is not None else None,
                current.request_id if current is not None else None,
            )
        if current is None or connection is None or not connection.active:
            raise failure
        if connection.connection_id != params["connection_id"]:
            raise failure
        if endpoint is ROTATE_START:
            if connection.rotating:
                # It committed and the next token was lost: cancel, then start again.
                try:
                    await self._client._exchange(ROTATE_CANCEL, params, headers)
                except errors.StytchSCIMError:
                    raise failure from None
                state.in_doubt = False
            raise failure
        if connection.rotating:
            raise failure  # the complete/cancel did not take effect: try it again
        envelope = RotateCompleteResponse if endpoint is ROTATE_COMPLETE else RotateCancelResponse
        done = envelope(
            request_id=current.request_id, status_code=current.status_code, connection=connection
        )
        assert isinstance(done, endpoint.response)
        return done
