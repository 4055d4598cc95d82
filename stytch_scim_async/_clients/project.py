"""`SCIMClient`, the backend client: thin, typed signatures over the shared engine in `base`."""

from __future__ import annotations

from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Iterable,
    Sequence,
)
from typing import TYPE_CHECKING, Any, TypeVar

from .._policy.retry import RetryPolicy
from .._policy.throttle import AdaptiveRateLimiter, RetryBudget
from .._sansio import endpoints
from .._sansio.config import AppInfo, Timeout
from .._sansio.endpoints import Endpoint, Mode
from .._sansio.validate import check_id
from .._sansio.wire import Secret
from .base import LIVE_URL, TEST_URL, _BaseClient, env_or

if TYPE_CHECKING:
    import ssl

    import aiohttp

    from .._engine.hooks import Hook
    from .._provision.batch import (
        ProvisionBatch,
        ProvisionOutcome,
        ProvisionProgress,
        ProvisionRequest,
    )
    from .._transports.base import Transport
    from ..models import (
        CreateConnectionResponse,
        DeleteConnectionResponse,
        GetConnectionResponse,
        GetGroupsResponse,
        RoleAssignment,
        RotateCancelResponse,
        RotateCompleteResponse,
        RotateStartResponse,
        SCIMGroup,
        UpdateConnectionResponse,
    )

__all__ = ["SCIMClient"]

R = TypeVar("R")


class SCIMClient(_BaseClient):
    """Backend ("project") mode: HTTP Basic `project_id:secret`, explicit organization.

    Keep one long-lived client per process (it pools connections) and close it with
    `async with` or `await client.aclose()`. Credentials default to the environment
    variables `STYTCH_PROJECT_ID` and `STYTCH_SECRET`; the base URL follows the
    project id (`project-live-…` → api.stytch.com, otherwise test.stytch.com).
    `member_session_token`/`member_session_jwt` on any call make Stytch check that
    Member's RBAC permissions before acting.

    `app_info` names your integration in the `User-Agent`; `proxy` (with
    `proxy_auth=(user, password)`), or `trust_env=True` for `HTTPS_PROXY`/`NO_PROXY`,
    routes requests through a proxy (see the timeouts docs); `hooks` receive an
    event per call, attempt, retry, throttle and recovery (see observability).
    """

    _mode = Mode.PROJECT

    def __init__(
        self,
        project_id: str | None = None,
        secret: str | None = None,
        *,
        base_url: str | None = None,
        retry: RetryPolicy | None = None,
        timeout: Timeout | float | None = None,
        session: aiohttp.ClientSession | None = None,
        max_connections: int = 100,
        ssl_context: ssl.SSLContext | None = None,
        retry_budget: RetryBudget | None = None,
        rate_limiter: AdaptiveRateLimiter | None = None,
        app_info: AppInfo | None = None,
        proxy: str | None = None,
        proxy_auth: tuple[str, str] | None = None,
        trust_env: bool = False,
        hooks: Iterable[Hook] | None = None,
        _transport: Transport | None = None,
    ) -> None:
        box = Secret(env_or(secret, "STYTCH_SECRET"))
        del secret  # from here on only in `box`, whose repr hides it
        self.project_id = check_id(
            "project_id (or STYTCH_PROJECT_ID)", env_or(project_id, "STYTCH_PROJECT_ID")
        )
        """The Stytch project the client acts for; `project-live-…` selects the live API."""
        if base_url is None:
            base_url = LIVE_URL if self.project_id.startswith("project-live-") else TEST_URL
        super().__init__(
            user=self.project_id,
            password=box,
            secret_name="secret (or STYTCH_SECRET)",  # noqa: S106 - its name
            base_url=base_url,
            retry=retry,
            timeout=timeout,
            session=session,
            max_connections=max_connections,
            ssl_context=ssl_context,
            retry_budget=retry_budget,
            rate_limiter=rate_limiter,
            transport=_transport,
            app_info=app_info,
            proxy=proxy,
            proxy_auth=proxy_auth,
            trust_env=trust_env,
            hooks=hooks,
        )

    def __repr__(self) -> str:  # safe on a half-built client (a failed constructor)
        project_id = getattr(self, "project_id", None)
        return (
            f"SCIMClient(project_id={project_id!r}, base_url={getattr(self, '_base_url', None)!r})"
        )

    def create_connection(
        self,
        organization_id: str,
        *,
        display_name: str | None = None,
        identity_provider: str | None = None,
        member_session_token: str | None = None,
        member_session_jwt: str | None = None,
        recover_token: bool = False,
        verify_absent: bool | None = None,
        maybe_sent: bool = False,
        proven_absent: bool = False,
    ) -> Coroutine[Any, Any, CreateConnectionResponse]:
        """Create the organization's SCIM connection; the response holds its bearer token,
        which Stytch never shows again.

        If the reply is lost after the create committed, `recover_token=True` rotates
        the new connection and returns a fresh token (`recovered=True`), but only with
        evidence that the connection is this call's: so it first proves (one GET) that
        the organization has none, unless `proven_absent=True` says the caller already
        did (`verify_absent` overrides that choice). Without evidence,
        `TokenLostError` names the connection and nothing is rotated.

        `maybe_sent=True`: an earlier process may have sent this create already (it
        crashed before it learnt the answer). The client looks first: no connection →
        create; a matching one, with `proven_absent` (the earlier process had proven
        absence) → recover its token; anything else → `TokenLostError` or
        `ConnectionExistsError`, untouched.
        """
        # A plain function returning the coroutine: the session token arguments are
        # gone from every frame by the time anything can fail.
        headers = self._headers_for(member_session_token, member_session_jwt)
        return self._create(
            organization_id,
            display_name,
            identity_provider,
            headers,
            recover_token,
            verify_absent,
            maybe_sent,
            proven_absent,
        )

    def get_connection(
        self,
        organization_id: str,
        *,
        member_session_token: str | None = None,
        member_session_jwt: str | None = None,
    ) -> Coroutine[Any, Any, GetConnectionResponse]:
        """The organization's connection (`.connection` is None when it has none)."""
        headers = self._headers_for(member_session_token, member_session_jwt)
        return self._call(endpoints.GET, self._params(organization_id), headers)

    def update_connection(
        self,
        organization_id: str,
        connection_id: str,
        *,
        display_name: str | None = None,
        identity_provider: str | None = None,
        role_assignments: Sequence[RoleAssignment] | None = None,
        member_session_token: str | None = None,
        member_session_jwt: str | None = None,
    ) -> Coroutine[Any, Any, UpdateConnectionResponse]:
        """Change the name, IdP or group role assignments; None leaves a field as it is."""
        headers = self._headers_for(member_session_token, member_session_jwt)
        return self._update(
            organization_id,
            connection_id,
            display_name,
            identity_provider,
            role_assignments,
            headers,
        )

    def delete_connection(
        self,
        organization_id: str,
        connection_id: str,
        *,
        member_session_token: str | None = None,
        member_session_jwt: str | None = None,
    ) -> Coroutine[Any, Any, DeleteConnectionResponse]:
        """Delete the connection; the IdP's token stops working at once."""
        headers = self._headers_for(member_session_token, member_session_jwt)
        params = self._params(organization_id, connection_id=connection_id)
        return self._call(endpoints.DELETE, params, headers)

    def _rotation(
        self,
        endpoint: Endpoint[R],
        organization_id: str,
        connection_id: str,
        session_token: str | None,
        session_jwt: str | None,
    ) -> Coroutine[Any, Any, R]:
        headers = self._headers_for(session_token, session_jwt)
        params = self._params(organization_id, connection_id=connection_id)
        return self._call(endpoint, params, headers)

    def rotate_start(
        self,
        organization_id: str,
        connection_id: str,
        *,
        member_session_token: str | None = None,
        member_session_jwt: str | None = None,
    ) -> Coroutine[Any, Any, RotateStartResponse]:
        """Begin a token rotation; `.connection.next_bearer_token` is the token to install
        in the IdP before `rotate_complete`. The old token keeps working until then."""
        return self._rotation(
            endpoints.ROTATE_START,
            organization_id,
            connection_id,
            member_session_token,
            member_session_jwt,
        )

    def rotate_complete(
        self,
        organization_id: str,
        connection_id: str,
        *,
        member_session_token: str | None = None,
        member_session_jwt: str | None = None,
    ) -> Coroutine[Any, Any, RotateCompleteResponse]:
        """Make the next token the active one; the old one stops working."""
        return self._rotation(
            endpoints.ROTATE_COMPLETE,
            organization_id,
            connection_id,
            member_session_token,
            member_session_jwt,
        )

    def rotate_cancel(
        self,
        organization_id: str,
        connection_id: str,
        *,
        member_session_token: str | None = None,
        member_session_jwt: str | None = None,
    ) -> Coroutine[Any, Any, RotateCancelResponse]:
        """Abandon a rotation; the old token stays active."""
        return self._rotation(
            endpoints.ROTATE_CANCEL,
            organization_id,
            connection_id,
            member_session_token,
            member_session_jwt,
        )

    async def get_groups(
        self,
        organization_id: str,
        connection_id: str,
        *,
        cursor: str | None = None,
        limit: int | None = None,
        member_session_token: str | None = None,
        member_session_jwt: str | None = None,
    ) -> GetGroupsResponse:
        """One page of the groups the IdP pushed (`limit` 1..1000, Stytch's default 100)."""
        headers = self._headers_for(member_session_token, member_session_jwt)
        return await self._get_groups(organization_id, connection_id, cursor, limit, headers)

    async def iter_groups(
        self,
        organization_id: str,
        connection_id: str,
        *,
        limit: int | None = None,
        member_session_token: str | None = None,
        member_session_jwt: str | None = None,
    ) -> AsyncIterator[SCIMGroup]:
        """Every group, page after page, fetched as the iteration needs them."""
        headers = self._headers_for(member_session_token, member_session_jwt)
        check_id("connection_id", connection_id)

        async def fetch(cursor: str | None) -> GetGroupsResponse:
            return await self._get_groups(organization_id, connection_id, cursor, limit, headers)

        async for groups in self._group_pages(fetch):
            for group in groups:
                yield group

    def provision(
        self,
        requests: Iterable[ProvisionRequest] | AsyncIterable[ProvisionRequest],
        *,
        concurrency: int = 32,
        recover_token: bool = True,
        verify_absent: bool | None = None,
        prescan: bool = True,
        retry: RetryPolicy | None = None,
        on_progress: Callable[[ProvisionProgress], None] | None = None,
        on_abandoned: Callable[[ProvisionOutcome], object] | None = None,
        before_send: Callable[[Sequence[ProvisionRequest]], Awaitable[None]] | None = None,
    ) -> ProvisionBatch:
        """Create connections for many organizations at once, at most `concurrency` in
        flight, yielding one `ProvisionOutcome` per request as each finishes.

        Use it as `async with client.provision(rows) as batch: async for outcome in
        batch: ...`. Leaving that block early lets the creates in flight finish and
        raises `ProvisionAbandonedError` with every outcome the loop did not receive
        (tokens included), unless `on_abandoned` takes them. Cancelling the task
        cancels them at once; such a create may have committed, so its outcome is
        `failed` with `error.may_have_committed`.

        The input is read lazily, 1,000 at a time: `prescan=True` (the default) asks
        the organizations search which of them already have a connection (they end
        `already_exists`, untouched, with no POST) and so proves the rest absent, which
        makes lost-token recovery sound; where the search is refused, each
        organization gets one GET first instead. An organization listed twice is sent
        once (the repeat fails: two creates would revoke each other's token).
        `before_send` is awaited with the requests about to get their first POST
        (write them down durably there: a crash then leaves a record to resume from).
        One organization's failure never stops the batch; `retry` defaults to this
        client's policy with at least 6 attempts; `on_progress` receives a
        `ProvisionProgress` after every outcome.
        """
        from .._provision.batch import provision

        return provision(
            self,
            requests,
            concurrency=concurrency,
            recover_token=recover_token,
            verify_absent=verify_absent,
            prescan=prescan,
            retry=retry,
            on_progress=on_progress,
            on_abandoned=on_abandoned,
            before_send=before_send,
        )
