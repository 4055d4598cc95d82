"""Member mode, the seed's: the frontend-SDK endpoints, organization from the session."""

from __future__ import annotations

from collections.abc import AsyncIterator, Coroutine, Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from .._policy.retry import RetryPolicy
from .._policy.throttle import AdaptiveRateLimiter, RetryBudget
from .._sansio.config import AppInfo, Timeout
from .._sansio.endpoints import (
    DELETE,
    GET,
    ROTATE_CANCEL,
    ROTATE_COMPLETE,
    ROTATE_START,
    Endpoint,
    Mode,
)
from .._sansio.validate import check_id
from .._sansio.wire import Secret
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
from .base import LIVE_URL, TEST_URL, _BaseClient, env_or

if TYPE_CHECKING:
    import ssl

    import aiohttp

    from .._engine.hooks import Hook
    from .._transports.base import Transport

__all__ = ["MemberSCIMClient"]

R = TypeVar("R")


class MemberSCIMClient(_BaseClient):
    """Acts as one logged-in Member: HTTP Basic `public_token:session_token`.

    Stytch infers the organization from the session and checks the Member's RBAC
    permissions, so this client cannot touch another organization's connection.
    `public_token` defaults to `STYTCH_PUBLIC_TOKEN`; the base URL follows it
    (`public-token-live-…` → api.stytch.com, otherwise test.stytch.com).

    The frontend-SDK endpoints are made for browsers: a project may refuse them to
    an origin not on its allow-list (`SDKOriginNotAllowedError`) or, enforcing
    HttpOnly cookies, on any host but its custom domain (`CustomDomainRequiredError`:
    pass that domain as `base_url`). A server acting for a Member needs neither with
    `SCIMClient(...)` and `member_session_token=`. No `X-SDK-Client` header is sent
    (see the auth guide for why). `app_info`, `proxy`, `proxy_auth`, `trust_env` and
    `hooks` work as in `SCIMClient`.
    """

    _mode = Mode.MEMBER

    def __init__(
        self,
        public_token: str | None = None,
        session_token: str | None = None,
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
        box = Secret(session_token)
        del session_token  # from here on only in `box`, whose repr hides it
        self.public_token = check_id(
            "public_token (or STYTCH_PUBLIC_TOKEN)", env_or(public_token, "STYTCH_PUBLIC_TOKEN")
        )
        """The project's public token; `public-token-live-…` selects the live API."""
        if base_url is None:
            live = self.public_token.startswith("public-token-live-")
            base_url = LIVE_URL if live else TEST_URL
        super().__init__(
            user=self.public_token,
            password=box,
            secret_name="session_token",  # noqa: S106 - its name
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
        public_token = getattr(self, "public_token", None)
        base_url = getattr(self, "_base_url", None)
        return f"MemberSCIMClient(public_token={public_token!r}, base_url={base_url!r})"

    async def create_connection(
        self,
        *,
        display_name: str | None = None,
        identity_provider: str | None = None,
        recover_token: bool = False,
        verify_absent: bool | None = None,
        maybe_sent: bool = False,
        proven_absent: bool = False,
    ) -> CreateConnectionResponse:
        """Create the Member's organization's connection; the only time its token is shown.
        `recover_token`, `verify_absent`, `maybe_sent` and `proven_absent` work as in
        `SCIMClient.create_connection`."""
        return await self._create(
            None,
            display_name,
            identity_provider,
            self._headers,
            recover_token,
            verify_absent,
            maybe_sent,
            proven_absent,
        )

    async def get_connection(self) -> GetConnectionResponse:
        """The organization's connection (`.connection` is None when it has none)."""
        return await self._call(GET, {}, self._headers)

    async def update_connection(
        self,
        connection_id: str,
        *,
        display_name: str | None = None,
        identity_provider: str | None = None,
        role_assignments: Sequence[RoleAssignment] | None = None,
    ) -> UpdateConnectionResponse:
        """Change the name, IdP or group role assignments; None leaves a field as it is."""
        return await self._update(
            None, connection_id, display_name, identity_provider, role_assignments, self._headers
        )

    async def delete_connection(self, connection_id: str) -> DeleteConnectionResponse:
        """Delete the connection; the IdP's token stops working at once."""
        params = self._params(None, connection_id=connection_id)
        return await self._call(DELETE, params, self._headers)

    def _rotation(self, endpoint: Endpoint[R], connection_id: str) -> Coroutine[Any, Any, R]:
        params = self._params(None, connection_id=connection_id)
        return self._call(endpoint, params, self._headers)

    async def rotate_start(self, connection_id: str) -> RotateStartResponse:
        """Begin a rotation; install `.connection.next_bearer_token` in the IdP, then complete."""
        return await self._rotation(ROTATE_START, connection_id)

    async def rotate_complete(self, connection_id: str) -> RotateCompleteResponse:
        """Make the next token the active one; the old one stops working."""
        return await self._rotation(ROTATE_COMPLETE, connection_id)

    async def rotate_cancel(self, connection_id: str) -> RotateCancelResponse:
        """Abandon a rotation; the old token stays active."""
        return await self._rotation(ROTATE_CANCEL, connection_id)

    async def get_groups(
        self, *, cursor: str | None = None, limit: int | None = None
    ) -> GetGroupsResponse:
        """One page of the groups the IdP pushed (`limit` 1..1000)."""
        return await self._get_groups(None, None, cursor, limit, self._headers)

    async def iter_groups(self, *, limit: int | None = None) -> AsyncIterator[SCIMGroup]:
        """Every group, page after page."""

        async def fetch(cursor: str | None) -> GetGroupsResponse:
            return await self._get_groups(None, None, cursor, limit, self._headers)

        async for groups in self._group_pages(fetch):
            for group in groups:
                yield group
