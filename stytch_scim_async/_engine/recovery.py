"""Creates and rotations that never lose a one-time token silently, nor revoke one.

A create is not idempotent: if a 5xx, a timeout or a dropped connection hides a
create that did commit, a blind retry answers `active_scim_connection_exists` and
the only copy of the bearer token is gone. So after every failure that may have
committed, the create looks (one GET) and `reconcile.decide` turns what it saw
into a verdict: post again, recover the token by rotation, report it lost, or
report the connection as someone else's. Rotation needs evidence that the
connection is ours: absence proven before the POST (`verify_absent`, the batch's
search, a GET that cleared an earlier doubt, or the caller's `proven_absent`).

The retry policy always decides on Stytch's real answer (a 401 ends the call at
once, a long `Retry-After` surfaces); the doubt an ambiguous attempt leaves is
carried along and only shapes the error the call ends with. Within one client,
creates and rotations of one organization never overlap (`OrgLocks`).

A token is reported as held only when Stytch's `bearer_token_last_four` agrees
with it: a recovery whose complete cannot be confirmed hands its token over in
`TokenLostError.next_bearer_token` instead.
"""

from __future__ import annotations

import asyncio
import time
from functools import partial
from typing import TYPE_CHECKING, Any

import attrs

from .. import errors
from .._policy.reconcile import Verdict, decide, evidence_for
from .._policy.retry import RetryPolicy
from .._sansio.endpoints import CREATE, GET, ROTATE_CANCEL, ROTATE_COMPLETE, ROTATE_START
from ..models import (
    CreateConnectionResponse,
    GetConnectionResponse,
    RotateCompleteResponse,
    SCIMConnection,
    SCIMConnectionWithToken,
    _ConnectionBase,
)
from .call import Call
from .receipt import current_receipt
from .rotations import Rotations, look, org_of
from .unclaimed import write_unclaimed

if TYPE_CHECKING:
    from .._sansio.wire import RequestHeaders
    from .engine import Engine

__all__ = ["Recovery"]

_BASE_FIELDS = tuple(f.name for f in attrs.fields(_ConnectionBase))
#: Stytch ends its own processing of a request within 30 s: an attempt that got no
#: answer (a timeout, a dropped connection) may still commit until then, so a look
#: that shows no connection sooner proves nothing about it.
STYTCH_PROCESSING_BOUND = 31.0


class _Create:
    """One create call's evidence, carried across its attempts. A plain object: its
    repr shows nothing (the token a recovery obtains is among its fields, and a
    locals-capturing traceback shows it), and a call that needs no recovery sets only
    the first three fields; the others are read from the class until set."""

    #: Absence was proven before the next POST (and nothing else ran for the org since).
    proven_absent: bool = False
    #: An attempt since the last proof of absence may have committed.
    in_doubt: bool = False
    #: When the latest attempt that got no answer at all failed (`time.monotonic()`):
    #: Stytch may commit it later, so absence seen sooner clears no doubt.
    unanswered_at: float | None = None
    #: The latest failure after which the create may have committed.
    ambiguity: errors.StytchSCIMError | None = None
    #: The call ended on a verdict, not on Stytch's answer.
    decided: bool = False
    #: A recovery's connection and token, so a deadline that cuts it short names both.
    connection: SCIMConnection | None = None
    next_token: str | None = None

    def __init__(self, params: dict[str, Any], headers: RequestHeaders, recover_token: bool):
        self.params = params
        self.headers = headers
        self.recover_token = recover_token

    def __repr__(self) -> str:
        return f"<_Create recover_token={self.recover_token} in_doubt={self.in_doubt}>"


def _held(call: _Create) -> str:
    assert call.next_token is not None
    return call.next_token


def _last_four(call: _Create) -> str:
    return _held(call)[-4:]


class Recovery:
    """The careful paths of one client."""

    def __init__(self, client: Engine, rotations: Rotations) -> None:
        self._client = client
        self._rotations = rotations

    # -- creates ----------------------------------------------------------------------

    async def create(
        self,
        params: dict[str, Any],
        headers: RequestHeaders,
        *,
        recover_token: bool,
        verify_absent: bool,
        maybe_sent: bool,
        proven_absent: bool,
        proof_mark: int | None = None,
    ) -> CreateConnectionResponse:
        """The whole create, under one deadline and the organization's lock.

        `proof_mark` (a `OrgLocks.mark()`) is when the caller's proof of absence was
        taken: it is void if another call for the organization ran since."""
        call = _Create(params, headers, recover_token)
        client = self._client
        transport = client._transport
        # The deadline (when there is one), the organization's lock and the POST in two
        # frames: every frame on the await chain is resumed on each I/O wake-up, and
        # `async with asyncio.timeout(None)` alone costs more than a frame.
        ends, limit = client._window(CREATE)
        transport.calls += 1  # aclose() waits for the whole call, checks included
        try:
            args = (call, verify_absent, maybe_sent, proven_absent, proof_mark, ends)
            if limit is None:
                return await self._locked_create(*args)
            try:
                async with asyncio.timeout(limit):
                    return await self._locked_create(*args)
            except TimeoutError as exc:
                raise client._deadline_passed(CREATE) from exc
        except errors.RequestTimeoutError as exc:
            if call.connection is not None:  # a recovery cut short: name the connection
                raise errors.TokenLostError(
                    call.connection, attempts=exc.attempts, next_bearer_token=call.next_token
                ) from None
            exc.may_have_committed = exc.may_have_committed or call.in_doubt
            raise
        except errors.StytchSCIMError as exc:
            if not call.decided:  # a verdict's error says what it means itself
                exc.may_have_committed = exc.may_have_committed or call.in_doubt
            raise
        except asyncio.CancelledError:
            self._hand_over_on_cancel(call)
            raise
        finally:
            transport.call_ended()

    @staticmethod
    def _hand_over_on_cancel(call: _Create) -> None:
        """A create cancelled mid-recovery holds a token nobody will receive: a batch's
        receipt takes it; a single call's goes to the last-resort file."""
        if call.next_token is None or call.connection is None:
            return
        receipt = current_receipt()
        if receipt is not None:
            receipt.connection, receipt.next_token = call.connection, call.next_token
            return
        connection = call.connection
        write_unclaimed(
            [call],
            lambda c: {
                "organization_id": connection.organization_id,
                "connection_id": connection.connection_id,
                "next_bearer_token": c.next_token,
                "token_confirmed": False,
            },
            "create_connection cancelled during a token recovery",
        )

    async def _locked_create(
        self,
        call: _Create,
        verify_absent: bool,
        maybe_sent: bool,
        proven_absent: bool,
        proof_mark: int | None,
        ends: float | None,
    ) -> CreateConnectionResponse:
        client = self._client
        locks = client._org_locks
        key = call.params.get("organization_id", "")
        quiet = await locks.acquire(key, proof_mark if proven_absent else None)
        try:
            # A proof taken before another call for this organization ran is stale.
            call.proven_absent = proven_absent and quiet
            if verify_absent or maybe_sent:
                early = await self._check_first(call, maybe_sent, ends)
                if early is not None:
                    return early
            post = Call(CREATE, call.params, call.headers, partial(self._after_failure, call))
            try:
                return await client._attempts(post, ends)
            except errors.StytchSCIMError as exc:
                raise self._ending(call, exc)  # noqa: B904 - the same error, or the doubt
        finally:
            locks.release(key)

    async def _check_first(
        self, call: _Create, maybe_sent: bool, ends: float | None
    ) -> CreateConnectionResponse | None:
        """GET before any POST: absence proven, or (`maybe_sent`: an earlier process may
        have sent this create) the table decides on what is there."""
        client = self._client
        call.in_doubt = maybe_sent  # until the look says otherwise
        current = await client._attempts(Call(GET, org_of(call.params), call.headers), ends)
        connection = current.connection
        if connection is None or not connection.active:
            call.proven_absent, call.in_doubt = True, False
            return None
        if not maybe_sent:
            call.decided = True
            raise self._exists(current, connection, "nothing was sent")
        return await self._act(call, current, None)

    @staticmethod
    def _ending(call: _Create, error: errors.StytchSCIMError) -> errors.StytchSCIMError:
        """The error the call ends with: Stytch's last answer, marked when an attempt
        may have committed. "Already exists" after an unresolved doubt would call our
        own connection someone else's: the doubt is raised instead."""
        if call.decided or not call.in_doubt:
            return error
        if isinstance(error, errors.ConnectionExistsError) and call.ambiguity is not None:
            ambiguity = call.ambiguity
            ambiguity.attempts = error.attempts
            error = ambiguity
        error.may_have_committed = True
        return error

    async def _after_failure(
        self, call: _Create, failure: errors.StytchSCIMError
    ) -> CreateConnectionResponse:
        """Seen by the engine after every failed POST: look when it may have committed."""
        if RetryPolicy.is_ambiguous(failure):
            call.in_doubt = True
            call.ambiguity = failure
            if isinstance(failure, errors.TransportError):  # no answer: it may commit later
                call.unanswered_at = time.monotonic()
        elif not (call.in_doubt and isinstance(failure, errors.ConnectionExistsError)):
            raise failure  # Stytch's real answer: the retry policy decides
        current = await look(self._client, call.params, call.headers)
        if current is None:
            raise failure  # unknowable yet: the doubt stands
        return await self._act(call, current, failure)

    async def _act(
        self,
        call: _Create,
        current: GetConnectionResponse,
        failure: errors.StytchSCIMError | None,
    ) -> CreateConnectionResponse:
        """Carry out the table's verdict on what the GET showed."""
        connection = current.connection
        evidence = evidence_for(
            connection,
            call.params,
            in_doubt=call.in_doubt,
            proven_absent=call.proven_absent,
            recover_token=call.recover_token,
        )
        verdict = decide(evidence)
        hooks = self._client._hooks
        if hooks is not None:
            seen = connection.connection_id if connection is not None else None
            hooks.reconciled("create", verdict.value, seen, current.request_id)
        if verdict is Verdict.POST_AGAIN:  # only after a POST: a first check returned
            assert failure is not None
            late = call.unanswered_at
            if late is None or time.monotonic() - late >= STYTCH_PROCESSING_BOUND:
                # Nothing of ours can still commit: the doubt is cleared, absence proven.
                call.in_doubt, call.ambiguity, call.proven_absent = False, None, True
                call.unanswered_at = None
            raise failure
        assert connection is not None
        call.decided = True
        if verdict is Verdict.EXISTS:
            raise self._exists(
                current, connection, "which this create has no evidence of having made"
            ) from failure
        if verdict is Verdict.TOKEN_LOST:
            if hooks is not None:
                hooks.recovery(connection.connection_id, recovered=False)
            raise errors.TokenLostError(connection, proven=evidence.proven_absent) from failure
        call.connection = connection
        if hooks is None:
            return await self.recover(call, connection)
        try:
            recovered = await self.recover(call, connection)
        except errors.TokenLostError:
            hooks.recovery(connection.connection_id, recovered=False)
            raise
        hooks.recovery(connection.connection_id, recovered=True)
        return recovered

    @staticmethod
    def _exists(
        current: GetConnectionResponse, connection: SCIMConnection, why: str
    ) -> errors.ConnectionExistsError:
        return errors.ConnectionExistsError(
            status_code=400,
            request_id=current.request_id,
            error_type="active_scim_connection_exists",
            error_message=(
                f"the organization already has SCIM connection {connection.connection_id}, "
                f"{why}; it was left unchanged"
            ),
            connection_id=connection.connection_id,
        )

    async def recover(self, call: _Create, connection: SCIMConnection) -> CreateConnectionResponse:
        """Give a connection whose token nobody holds a new one (rotate start + complete),
        reported only once Stytch's last four confirm it is the live token."""
        target = {**org_of(call.params), "connection_id": connection.connection_id}
        headers = call.headers
        try:
            if connection.rotating:  # our own recovery, cut short: its token is lost too
                await self._rotations.run(ROTATE_CANCEL, target, headers)
            started = await self._rotations.run(ROTATE_START, target, headers)
        except errors.StytchSCIMError as exc:
            raise errors.TokenLostError(connection) from exc
        # Kept only on `call` (its repr hides it), never in a local a traceback shows.
        call.next_token = started.connection.next_bearer_token
        receipt = current_receipt()
        if receipt is not None:
            receipt.connection, receipt.next_token = connection, call.next_token
        failure: errors.StytchSCIMError | None = None
        try:
            completed = await self._rotations.run(ROTATE_COMPLETE, target, headers)
        except errors.StytchSCIMError as exc:
            completed, failure = None, exc
        fresh: SCIMConnection | None = completed.connection if completed is not None else None
        answer: GetConnectionResponse | RotateCompleteResponse | None = completed
        if fresh is None or fresh.bearer_token_last_four != _last_four(call):
            # Unconfirmed (the complete failed, or its reply does not show our token):
            # one look tells whether the rotation completed with our token.
            answer = await look(self._client, call.params, headers)
            fresh = answer.connection if answer is not None else None
            if (
                answer is None
                or fresh is None
                or fresh.connection_id != connection.connection_id
                or fresh.bearer_token_last_four != _last_four(call)
            ):
                error = errors.TokenLostError(connection, next_bearer_token=call.next_token)
                raise error from failure
        assert answer is not None
        return CreateConnectionResponse(
            request_id=answer.request_id,
            status_code=answer.status_code,
            connection=SCIMConnectionWithToken(
                **{name: getattr(fresh, name) for name in _BASE_FIELDS},
                bearer_token=_held(call),
                bearer_token_expires_at=fresh.bearer_token_expires_at,
                scim_group_implicit_role_assignments=fresh.scim_group_implicit_role_assignments,
            ),
            recovered=True,
        )
