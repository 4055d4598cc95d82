"""The engine both clients share: `_BaseClient._run` joins I/O (the transport) and
policy (retries, budget, rate limiter); everything it sends is built by the pure core."""

from __future__ import annotations

import copy
import itertools
import logging
import os
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable, Sequence
from functools import cached_property, partial
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self, TypeVar

import attrs

from .. import errors
from .._engine.engine import Engine
from .._engine.locks import OrgLocks
from .._engine.pacing import RateLimiters
from .._policy.retry import RetryPolicy
from .._policy.throttle import AdaptiveRateLimiter, RetryBudget
from .._sansio import endpoints
from .._sansio.config import AppInfo, Timeout, check_extra_headers
from .._sansio.endpoints import Endpoint, Mode, RetryKind
from .._sansio.validate import (
    check_id,
    check_identity_provider,
    check_limit,
    check_optional_text,
    check_role_assignments,
    check_secret,
)
from .._sansio.wire import RequestHeaders, Secret, basic_auth, check_base_url, user_agent
from .envlog import log_level_from_env
from .options import KEEP, Keep, build_hooks

if TYPE_CHECKING:
    import ssl

    import aiohttp

    from .. import models
    from .._engine.hooks import Hook
    from .._engine.recovery import Recovery
    from .._engine.rotations import Rotations
    from .._transports.base import Transport

#: Call ids for hooks, process-wide (see `_call_ids`).
_CALL_IDS = itertools.count(1)

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
        app_info: AppInfo | None = None,
        proxy: str | None = None,
        proxy_auth: tuple[str, str] | None = None,
        trust_env: bool = False,
        hooks: Iterable[Hook] | None = None,
    ) -> None:
        self._debug = log_level_from_env() == logging.DEBUG
        self._base_url = check_base_url(base_url)
        if app_info is not None and not isinstance(app_info, AppInfo):
            raise errors.InvalidRequestError("app_info", "must be an AppInfo")
        #: Numbers the calls the hooks see: one counter for the process, so a call id
        #: is unique among every client (one hook, e.g. OpenTelemetryHook, may serve many).
        self._call_ids = _CALL_IDS
        self._hooks = build_hooks(hooks, self._debug, self._call_ids)
        route = None
        if (
            proxy is not None
            or proxy_auth is not None
            or trust_env is not False
            or session is not None
        ):
            from .._transports.proxy import route_for  # most clients have no proxy

            route = route_for(self._base_url, proxy, proxy_auth, trust_env, session)
        del proxy_auth
        if route is not None and transport is not None:
            raise errors.InvalidRequestError("proxy", "cannot be combined with a transport")
        if retry is not None and not isinstance(retry, RetryPolicy):
            raise errors.InvalidRequestError("retry", "must be a RetryPolicy")
        if isinstance(max_connections, bool) or not isinstance(max_connections, int):
            raise errors.InvalidRequestError("max_connections", "must be an int")
        if max_connections < 1:
            raise errors.InvalidRequestError("max_connections", "must be >= 1")
        self.retry = retry or RetryPolicy()
        """The retry policy of every call (`with_retry` makes a view with another)."""
        self.timeout = Timeout.coerce(timeout)
        """How long one HTTP attempt may take."""
        self.retry_budget = retry_budget if retry_budget is not None else RetryBudget()
        """The retries all calls of this client share, so an outage is not multiplied by retries."""
        if rate_limiter is not None and not isinstance(rate_limiter, AdaptiveRateLimiter):
            raise errors.InvalidRequestError("rate_limiter", "must be an AdaptiveRateLimiter")
        self.rate_limiter = rate_limiter if rate_limiter is not None else AdaptiveRateLimiter()
        """The client-wide limiter: its `max_rate` caps all sends together, its tuning is
        each endpoint group's, its `throttles` counts every 429 (`rate_limiters` holds the
        groups)."""
        self.rate_limiters = RateLimiters(self.rate_limiter)
        """Each endpoint group's limiter (`rate_limiters.group("create")`), fed by its own 429s."""
        # The secret is checked and read last: every other argument can fail first
        # without it in a plain local.
        self._headers = RequestHeaders(
            {
                "Authorization": basic_auth(user, check_secret(secret_name, password.value)),
                "Content-Type": "application/json",
                "User-Agent": user_agent(app_info),
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
                proxy=route,
                base_url=self._base_url,
            )
        self._transport = transport
        #: Only the client built by the constructor owns the pool; its views do not.
        self._owner = True
        self._org_locks = OrgLocks()

    @cached_property
    def _rotations(self) -> Rotations:
        # Loaded at first use, not with the client (a view drops its copy's: see with_options).
        from .._engine.rotations import Rotations

        return Rotations(self)

    @cached_property
    def _recovery(self) -> Recovery:
        from .._engine.recovery import Recovery

        return Recovery(self, self._rotations)

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
        """A view of this client with another retry policy (`with_options(retry=...)`)."""
        if not isinstance(retry, RetryPolicy):
            raise errors.InvalidRequestError("retry", "must be a RetryPolicy")
        return self.with_options(retry=retry)

    def with_options(
        self,
        *,
        retry: RetryPolicy | None = None,
        timeout: Timeout | float | None = None,
        deadline: float | Keep | None = KEEP,
        headers: dict[str, str] | None = None,
        hooks: Iterable[Hook] | Keep | None = KEEP,
    ) -> Self:
        """A cheap view of this client with some options changed, for one call or a
        part of an app (as openai's and anthropic's `with_options`).

        The view shares the connection pool, retry budget, rate limiters, organization
        locks and transport with this client: a throttle one of them meets paces the
        other, and a create in one never overlaps a rotation in the other. `retry`
        replaces the policy; `deadline` replaces its deadline (None removes it);
        `timeout` is each attempt's (`Timeout`, or seconds); `headers` are sent on
        every request of the view, on top of this client's (they cannot replace a
        header the client sets, such as `Authorization` or `User-Agent`); `hooks`
        replaces the event hooks (an empty list removes them). Everything is checked
        here, before any request. Only the original client owns the pool: closing a
        view does nothing, close the original when done.
        """
        if retry is not None and not isinstance(retry, RetryPolicy):
            raise errors.InvalidRequestError("retry", "must be a RetryPolicy")
        policy = retry if retry is not None else self.retry
        if not isinstance(deadline, Keep):
            try:
                policy = attrs.evolve(policy, deadline=deadline)
            except errors.InvalidRequestError as exc:
                raise errors.InvalidRequestError("deadline", exc.problem) from None
        extra = check_extra_headers(headers) if headers is not None else None
        view_timeout = Timeout.coerce(timeout) if timeout is not None else self.timeout
        view_hooks = (
            self._hooks
            if isinstance(hooks, Keep)
            else build_hooks(hooks, self._debug, self._call_ids)
        )
        view = copy.copy(self)
        view.retry, view.timeout, view._hooks, view._owner = policy, view_timeout, view_hooks, False
        if extra:
            view._headers = self._headers.with_extra(extra)
        # Its own rotations and recovery, built at its first use (the org locks stay shared).
        view.__dict__.pop("_rotations", None)
        view.__dict__.pop("_recovery", None)
        return view

    async def aclose(self) -> None:
        """Refuse new calls, wait for the calls in flight, then release the connection
        pool (a session passed in by the caller stays open).

        Waiting matters: a create cut off mid-call could have committed, and its
        reconciliation needs the pool to find out. New calls get `ClientClosedError`,
        so steady traffic cannot keep a closing client open. A view (`with_options`)
        owns nothing: closing it does nothing; close the original.
        """
        if not self._owner:
            return
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
        hooks = self._hooks
        if endpoint.retry is RetryKind.ROTATE:  # rotate start, complete or cancel
            run = self._rotations.rotation(endpoint, params, headers)
        elif endpoint is endpoints.DELETE:
            rescue: Any = partial(self._rotations.rescue_delete, params, headers)
            run = self._run(endpoint, params, headers, rescue)
        else:
            run = self._run(endpoint, params, headers)
        return run if hooks is None else hooks.call(endpoint.name, params, run)

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
    ) -> Coroutine[Any, Any, models.CreateConnectionResponse]:
        self._admit()
        params = self._params(
            organization_id,
            display_name=check_optional_text("display_name", display_name, remember=True),
            identity_provider=check_identity_provider(identity_provider),
        )
        if not (type(recover_token) is type(maybe_sent) is type(proven_absent) is bool):
            for name, value in (
                ("recover_token", recover_token),
                ("maybe_sent", maybe_sent),
                ("proven_absent", proven_absent),
            ):
                if not isinstance(value, bool):
                    raise errors.InvalidRequestError(name, "must be a bool")
        if verify_absent is not None and not isinstance(verify_absent, bool):
            raise errors.InvalidRequestError("verify_absent", "must be a bool or None")
        if proven_absent and proof_mark is None:
            # The caller proved absence before calling: a create or rotation of this
            # organization that ends after this instant (even one that runs entirely
            # before this call's first await) voids that proof.
            proof_mark = self._org_locks.mark()
        create = self._recovery.create(
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
        hooks = self._hooks
        return create if hooks is None else hooks.call("create", params, create)

    def _update(
        self,
        organization_id: str | None,
        connection_id: str,
        display_name: str | None,
        identity_provider: str | None,
        role_assignments: Sequence[models.RoleAssignment] | None,
        headers: RequestHeaders,
    ) -> Coroutine[Any, Any, models.UpdateConnectionResponse]:
        params = self._params(
            organization_id,
            connection_id=connection_id,
            display_name=check_optional_text("display_name", display_name, remember=True),
            identity_provider=check_identity_provider(identity_provider),
            scim_group_implicit_role_assignments=check_role_assignments(role_assignments),
        )
        return self._call(endpoints.UPDATE, params, headers)

    async def _get_groups(
        self,
        organization_id: str | None,
        connection_id: str | None,
        cursor: str | None,
        limit: int | None,
        headers: RequestHeaders,
    ) -> models.GetGroupsResponse:
        cursor = check_optional_text("cursor", cursor)
        # The frontend-SDK lists the session's one connection: it takes no connection id.
        ids = {"connection_id": connection_id} if self._mode is Mode.PROJECT else {}
        params = self._params(
            organization_id, cursor=cursor or None, limit=check_limit(limit), **ids
        )
        return await self._call(endpoints.GET_GROUPS, params, headers)

    async def _group_pages(
        self, fetch: Callable[[str | None], Awaitable[models.GetGroupsResponse]]
    ) -> AsyncIterator[tuple[models.SCIMGroup, ...]]:
        """Each page's groups, page after page (`iter_groups` yields them one by one:
        a generator per page here, not one more generator frame per group)."""
        cursor: str | None = None
        while True:
            page = await fetch(cursor)
            yield page.scim_groups
            if not page.next_cursor:
                return
            if page.next_cursor == cursor:
                raise errors.ResponseDecodeError(
                    "the groups cursor did not advance",
                    status_code=page.status_code,
                    request_id=page.request_id or None,
                )
            cursor = page.next_cursor
