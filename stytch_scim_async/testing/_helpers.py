"""The test helpers, written once for both the pure fake and the served emulator.

`FakeStytch` and `StytchEmulator` both inherit `EmulatorHelpers`; each names
the `FakeStytch` the helpers act on (itself, or the one it serves).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from ._faults import FaultKind, Faults, RetryAfterMode, ScriptedFault
from ._ids import rfc3339
from ._settings import Settings
from ._state import MemberSession
from ._wire import FakeStytchError, connection_with_token

if TYPE_CHECKING:
    from ._core import Core

__all__ = ["EmulatorHelpers"]


class EmulatorHelpers:
    """Seed state, mint sessions, read tokens and script faults."""

    __slots__ = ()

    if TYPE_CHECKING:  # each subclass names the FakeStytch its helpers act on

        @property
        def _core(self) -> Core: ...

    @property
    def faults(self) -> Faults:
        """The failure model; assign a new `Faults` to change it mid-test."""
        return self._core.injector.faults

    @faults.setter
    def faults(self, faults: Faults) -> None:
        self._core.injector.faults = faults

    @property
    def settings(self) -> Settings:
        """The emulator's assumptions and project settings; assign to change them."""
        return self._core.operations.settings

    @settings.setter
    def settings(self, settings: Settings) -> None:
        core = self._core
        core._settings = settings
        core.operations.settings = settings

    def add_organization(
        self, organization_id: str, *, name: str | None = None, slug: str | None = None
    ) -> None:
        """Make an organization exist (needed with ``strict_organizations``).

        ``name`` and ``slug`` (both default to the id) are what the organizations
        search reports; a backend path may name the organization by its slug.
        """
        if not organization_id:
            raise ValueError("organization_id must not be empty")
        core = self._core
        core.state.add_organization(organization_id, rfc3339(core.clock()), name=name, slug=slug)

    def add_connection(
        self,
        organization_id: str,
        *,
        display_name: str = "",
        identity_provider: str | None = None,
        status: Literal["active", "deleted"] = "active",
    ) -> dict[str, Any]:
        """Pre-seed a connection; returns it as create would (with the token).

        ``identity_provider`` defaults to ``Settings.default_identity_provider``.
        ``status="deleted"`` seeds one that was deleted (beside the active one, if
        any; the organization may create another); a GET shows it only with
        ``Settings.get_returns_deleted`` and no active connection.
        """
        if status not in ("active", "deleted"):
            raise ValueError("status must be 'active' or 'deleted'")
        self.add_organization(organization_id)
        core = self._core
        try:
            connection = core.operations.new_connection(
                organization_id, display_name, identity_provider, deleted=status == "deleted"
            )
        except FakeStytchError as exc:
            raise ValueError(f"{organization_id}: {exc.error_type}") from None
        return connection_with_token(connection, core.base_url)

    def add_group(
        self, organization_id: str, connection_id: str, group_name: str
    ) -> dict[str, str]:
        """Add a SCIM group to a connection, as an IdP would; returns the group."""
        return self._core.operations.add_group(organization_id, connection_id, group_name)

    def new_session(self, organization_id: str, *, admin: bool = True) -> MemberSession:
        """A new Member session of ``organization_id`` (token and JWT both work)."""
        self.add_organization(organization_id)
        ids = self._core.ids
        member_id = ids.member_id()
        session = MemberSession(
            session_token=ids.session_token(),
            session_jwt=ids.session_jwt(member_id, organization_id),
            member_id=member_id,
            organization_id=organization_id,
            admin=admin,
        )
        self._core.state.add_session(session)
        return session

    def member_session(self, organization_id: str, *, admin: bool = True) -> str:
        """A new Member session token; ``admin`` Members may manage SCIM."""
        return self.new_session(organization_id, admin=admin).session_token

    def member_session_jwt(self, organization_id: str, *, admin: bool = True) -> str:
        """A new Member session, identified by its JWT."""
        return self.new_session(organization_id, admin=admin).session_jwt

    def active_token(self, organization_id: str) -> str | None:
        """The bearer token Stytch would accept now, or ``None`` without a connection."""
        connection = self._core.state.active_connection(organization_id)
        return None if connection is None else connection.bearer_token

    def tokens(self) -> dict[str, str]:
        """Every organization's active bearer token."""
        state = self._core.state
        return {org: state.connections[cid].bearer_token for org, cid in state.active.items()}

    def script(
        self,
        *,
        fault: FaultKind,
        route: str | None = None,
        organization_id: str | None = None,
        times: int = 1,
        retry_after: float | None = None,
        retry_after_format: RetryAfterMode = "seconds",
        stall_seconds: float | None = None,
    ) -> None:
        """Give the next ``times`` requests matching ``route``/``organization_id`` ``fault``.

        Scripted faults win over probabilistic ones and over the rate limits.
        ``retry_after`` (for ``rate_limit``) sets the ``Retry-After`` header;
        ``None`` sends none.
        """
        self._core.injector.script(
            ScriptedFault(
                fault=fault,
                route=route,
                organization_id=organization_id,
                remaining=times,
                retry_after=retry_after,
                retry_after_format=retry_after_format,
                stall_seconds=stall_seconds,
            )
        )

    def reset(self) -> None:
        """Forget all state, stats, scripts and sessions, as if freshly built.

        Credentials are derived from the seed, so they stay the same.
        """
        self._core.initialize()
