"""The engine both clients share: `_BaseClient._run` joins I/O (the transport) and
policy (retries, budget, rate limiter); everything it sends is built by the pure core."""

from __future__ import annotations

import copy
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from functools import partial
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar

from .. import errors
from .._engine.engine import Engine
from .._engine.locks import OrgLocks
from .._engine.pacing import RateLimiters
from .._engine.recovery import Recovery
from .._engine.rotations import ROTATIONS, Rotations
from .._policy.retry import RetryPolicy
from .._policy.throttle import AdaptiveRateLimiter, RetryBudget
from .._sansio.config import Timeout
from .._sansio.endpoints import DELETE, GET_GROUPS, UPDATE, Endpoint, Mode
from .._sansio.validate import (
    check_id,
    check_identity_provider,
    check_limit,
    check_optional_text,
    check_role_assignments,
    check_secret,
)
from .._sansio.wire import (
    USER_AGENT,
    RequestHeaders,
    Secret,
    basic_auth,
    check_base_url,
)
from ..models import (
    CreateConnectionResponse,
    GetGroupsResponse,
    RoleAssignment,
    SCIMGroup,
    UpdateConnectionResponse,
)

if TYPE_CHECKING:
    import ssl

    import aiohttp

    from .._transports.base import Transport

__all__ = ["LIVE_URL", "TEST_URL", "env_or"]

R = TypeVar("R")
T = TypeVar("T")

LIVE_URL = "https://api.stytch.com"
TEST_URL = "https://test.stytch.com"


def env_or(value: str | None, variable: str) -> str | None:
    return value if value is not None else os.environ.get(variable) or None


class _BaseClient(Engine):
    """Session ownership, lifecycle and the operations both modes share; the engine
    (attempts, retries, deadline) is `Engine`'s."""

    _mode: Mode

    def __init__(
        self,
        *,
        user: str,
        password: Secret,
        secret_name: str,
        base_url: str,
        retry: RetryPolicy | None,
        timeout: Timeout | float | None,
        session: aiohttp.ClientSession | None,
        max_connections: int,
        ssl_context: ssl.SSLContext | None,
        retry_budget: RetryBudget | None,
        rate_limiter: AdaptiveRateLimiter | None,
        transport: Transport | None = None,
    ) -> None:
        self._base_url = check_base_url(base_url)
        if retry is not None and not isinstance(retry, RetryPolicy):
            raise errors.InvalidRequestError("retry", "must be a RetryPolicy")
        if isinstance(max_connections, bool) or not isinstance(max_connections, int):
            raise errors.InvalidRequestError("max_connections", "must be an int")
        if max_connections < 1:
            raise errors.InvalidRequestError("max_connections", "must be >= 1")
        self.retry = retry or RetryPolicy()
        self.timeout = Timeout.coerce(timeout)
        self.retry_budget = retry_budget if retry_budget is not None else RetryBudget()
        if rate_limiter is not None and not isinstance(rate_limiter, AdaptiveRateLimiter):
            raise errors.InvalidRequestError("rate_limiter", "must be an AdaptiveRateLimiter")
        #: The client-wide limiter: its `max_rate` caps all sends together, its tuning
        #: is each endpoint group's, its `throttles` counts every 429 (see `_engine.pacing`).
        self.rate_limiter = rate_limiter if rate_limiter is not None else AdaptiveRateLimiter()
        self.rate_limiters = RateLimiters(self.rate_limiter)
        # The secret is checked and read last: every other argument can fail first
        # without it in a plain local.
        self._headers = RequestHeaders(
            {
                "Authorization": basic_auth(user, check_secret(secret_name, password.value)),
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
            }
        )
        if transport is None:
            # aiohttp is imported with the first client, not with the package: a CLI's
            # --help or an app that only reads the models stays fast to start.
            from .._transports.aiohttp import AiohttpTransport

            transport = AiohttpTransport(
                session=session,
                timeout=self.timeout,
                max_connections=max_connections,
                ssl_context=ssl_context,
            )
        self._transport = transport
        self._rotations = Rotations(self)
        self._recovery = Recovery(self, self._rotations)
        self._org_locks = OrgLocks()

    @property
    def base_url(self) -> str:
        """The API root requests go to."""
        return self._base_url

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def with_retry(self, retry: RetryPolicy) -> Self:
        """A view of this client with another retry policy.

        It shares the connection pool, retry budget and rate limiter; closing either
        closes the pool, so close the original when done.
        """
        if not isinstance(retry, RetryPolicy):
            raise errors.InvalidRequestError("retry", "must be a RetryPolicy")
        clone = copy.copy(self)
        clone.retry = retry
        clone._rotations = Rotations(clone)
        clone._recovery = Recovery(clone, clone._rotations)  # the org locks stay shared
        return clone

    async def aclose(self) -> None:
        """Refuse new calls, wait for the calls in flight, then release the connection
        pool (a session passed in by the caller stays open).

        Waiting matters: a create cut off mid-call could have committed, and its
        reconciliation needs the pool to find out. New calls get `ClientClosedError`,
        so steady traffic cannot keep a closing client open.
        """
        self._transport.closing = True
        await self._transport.drain()
        await self._transport.aclose()

    # -- the engine ---------------------------------------------------------------

    def _headers_for(self, session_token: str | None, session_jwt: str | None) -> RequestHeaders:
        if session_token is None and session_jwt is None:
            return self._headers
        extra = {}
        if session_token is not None:
            extra["X-Stytch-Member-Session"] = check_secret("member_session_token", session_token)
        if session_jwt is not None:
            extra["X-Stytch-Member-SessionJWT"] = check_secret("member_session_jwt", session_jwt)
        return self._headers.with_extra(extra)

    def _admit(self) -> None:
        """Refuse a new call on a closing client."""
        if self._transport.closing:
            raise errors.ClientClosedError(
                "the client is closing: it admits no new calls (those in flight finish)"
            )

    def _call(
        self, endpoint: Endpoint[R], params: dict[str, Any], headers: RequestHeaders
    ) -> Coroutine[Any, Any, R]:
        """A public call of any operation but create (see `Recovery.create`)."""
        self._admit()
        if endpoint in ROTATIONS:
            return self._rotations.rotation(endpoint, params, headers)
        if endpoint is DELETE:
            rescue: Any = partial(self._rotations.rescue_delete, params, headers)
            return self._run(endpoint, params, headers, rescue)
        return self._run(endpoint, params, headers)

    # -- the operations, shared by both modes (org is None in member mode) ----------

    def _params(self, organization_id: str | None, **params: Any) -> dict[str, Any]:
        if self._mode is Mode.PROJECT:  # member mode: the session decides the organization
            params["organization_id"] = check_id("organization_id", organization_id)
        if "connection_id" in params:
            check_id("connection_id", params["connection_id"])
        return params

    def _create(
        self,
        organization_id: str | None,
        display_name: str | None,
        identity_provider: str | None,
        headers: RequestHeaders,
        recover_token: bool,
        verify_absent: bool | None = None,
        maybe_sent: bool = False,
        proven_absent: bool = False,
        proof_mark: int | None = None,
    ) -> Coroutine[Any, Any, CreateConnectionResponse]:
        self._admit()
        params = self._params(
            organization_id,
            display_name=check_optional_text("display_name", display_name),
            identity_provider=check_identity_provider(identity_provider),
        )
        for name, value in (
            ("recover_token", recover_token),
            ("maybe_sent", maybe_sent),
            ("proven_absent", proven_absent),
        ):
            if not isinstance(value, bool):
                raise errors.InvalidRequestError(name, "must be a bool")
        if verify_absent is not None and not isinstance(verify_absent, bool):
            raise errors.InvalidRequestError("verify_absent", "must be a bool or None")
        return self._recovery.create(
            params,
            headers,
            recover_token=recover_token,
            # Rotating needs evidence: a recovery is sound only after a proof of absence.
            verify_absent=(recover_token and not proven_absent)
            if verify_absent is None
            else verify_absent,
            maybe_sent=maybe_sent,
            proven_absent=proven_absent,
            proof_mark=proof_mark,
        )

    def _update(
        self,
        organization_id: str | None,
        connection_id: str,
        display_name: str | None,
        identity_provider: str | None,
        role_assignments: Sequence[RoleAssignment] | None,
        headers: RequestHeaders,
    ) -> Coroutine[Any, Any, UpdateConnectionResponse]:
        params = self._params(
            organization_id,
            connection_id=connection_id,
            display_name=check_optional_text("display_name", display_name),
            identity_provider=check_identity_provider(identity_provider),
            scim_group_implicit_role_assignments=check_role_assignments(role_assignments),
        )
        return self._call(UPDATE, params, headers)

    async def _get_groups(
        self,
        organization_id: str | None,
        connection_id: str | None,
        cursor: str | None,
        limit: int | None,
        headers: RequestHeaders,
    ) -> GetGroupsResponse:
        cursor = check_optional_text("cursor", cursor)
        # The frontend-SDK lists the session's one connection: it takes no connection id.
        ids = {"connection_id": connection_id} if self._mode is Mode.PROJECT else {}
        params = self._params(
            organization_id, cursor=cursor or None, limit=check_limit(limit), **ids
        )
        return await self._call(GET_GROUPS, params, headers)

    async def _iter_groups(
        self, fetch: Callable[[str | None], Awaitable[GetGroupsResponse]]
    ) -> AsyncIterator[SCIMGroup]:
        cursor: str | None = None
        while True:
            page = await fetch(cursor)
            for group in page.scim_groups:
                yield group
            if not page.next_cursor:
                return
            if page.next_cursor == cursor:
                raise errors.ResponseDecodeError(
                    "the groups cursor did not advance",
                    status_code=page.status_code,
                    request_id=page.request_id or None,
                )
            cursor = page.next_cursor
