"""The fake Stytch's in-memory state: organizations, connections, groups, sessions.

Plain mutable records, no behaviour beyond lookups. The request handlers in
``_operations`` change them; tests may read them through ``StytchEmulator.state``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Connection", "EmulatorState", "MemberSession", "Organization"]


@dataclass(slots=True)
class Connection:
    """One SCIM connection, active or deleted, with its tokens and groups."""

    organization_id: str
    """The organization it belongs to."""
    connection_id: str
    """Its id, as the client sees it."""
    display_name: str
    """The name it was created or updated with."""
    identity_provider: str
    """The IdP it is for."""
    bearer_token: str = field(repr=False)
    """The token the IdP must present now (a secret, kept out of the repr)."""
    bearer_token_expires_at: str
    """When that token expires (RFC 3339)."""
    status: str = "active"
    """`active`, or `deleted` once deleted."""
    next_bearer_token: str = field(default="", repr=False)
    """The pending token during a rotation, else empty (a secret, kept out of the repr)."""
    next_bearer_token_expires_at: str = ""
    """When the pending token expires, else empty."""
    role_assignments: list[dict[str, str]] = field(default_factory=list)
    """Its implicit role assignments, as Stytch reports them (`group_id`, `role_id`,
    `group_name`)."""
    groups: list[dict[str, str]] = field(default_factory=list)
    """The groups an IdP pushed (`add_group`), as Stytch reports them."""

    @property
    def rotating(self) -> bool:
        """Whether a token rotation is in progress."""
        return self.next_bearer_token != ""

    def group(self, group_id: str) -> dict[str, str] | None:
        """The SCIM group with that id, if the connection has it."""
        for group in self.groups:
            if group["group_id"] == group_id:
                return group
        return None


@dataclass(slots=True)
class Organization:
    """An organization the fake knows, with what the organizations search shows of it.

    EMULATOR ASSUMPTION: an organization that appears on first use is named and slugged
    after its id (Stytch would have them from the organization's create).
    """

    organization_id: str
    organization_name: str
    organization_slug: str
    created_at: str


@dataclass(frozen=True, slots=True)
class MemberSession:
    """A logged-in Member of one organization; ``admin`` may manage SCIM."""

    session_token: str = field(repr=False)
    """The session token (a secret, kept out of the repr)."""
    session_jwt: str = field(repr=False)
    """The same session as a JWT (a secret, kept out of the repr)."""
    member_id: str
    """The Member's id."""
    organization_id: str
    """The organization the Member belongs to."""
    admin: bool
    """Whether the Member's role may manage SCIM (else 403 on SCIM routes)."""


@dataclass(slots=True)
class EmulatorState:
    """Everything the fake Stytch remembers between requests."""

    organizations: dict[str, Organization] = field(default_factory=dict)
    """By id, in the order they became known (the organizations search's order)."""
    slugs: dict[str, str] = field(default_factory=dict)
    """``organization_slug`` -> ``organization_id``."""
    connections: dict[str, Connection] = field(default_factory=dict)
    """Every connection ever made, active or deleted, by connection id."""
    active: dict[str, str] = field(default_factory=dict)
    """Each organization's active connection id."""
    deleted: dict[str, str] = field(default_factory=dict)
    """Each organization's most recently deleted connection id."""
    sessions: dict[str, MemberSession] = field(default_factory=dict, repr=False)
    """By session token and by JWT (kept out of the repr: the keys are secrets)."""

    def add_organization(
        self,
        organization_id: str,
        created_at: str,
        *,
        name: str | None = None,
        slug: str | None = None,
    ) -> Organization:
        """The organization with that id, registered now if it is new."""
        organization = self.organizations.get(organization_id)
        if organization is None:
            if slug is None:
                slug = organization_id
                if slug in self.slugs:  # another organization's slug: keep slugs unique
                    slug = f"{organization_id}-{len(self.organizations)}"
            elif self.slugs.get(slug, organization_id) != organization_id:
                raise ValueError(f"organization_slug {slug!r} is taken")
            organization = Organization(organization_id, name or organization_id, slug, created_at)
            self.organizations[organization_id] = organization
            self.slugs[slug] = organization_id
        return organization

    def active_connection(self, organization_id: str) -> Connection | None:
        """The organization's active connection (at most one exists)."""
        connection_id = self.active.get(organization_id)
        return None if connection_id is None else self.connections[connection_id]

    def mark_deleted(self, connection: Connection) -> None:
        """Delete an active connection: its organization may create a new one."""
        connection.status = "deleted"
        if self.active.get(connection.organization_id) == connection.connection_id:
            del self.active[connection.organization_id]
        self.deleted[connection.organization_id] = connection.connection_id

    def add_session(self, session: MemberSession) -> None:
        """Register a session under both its opaque token and its JWT."""
        self.sessions[session.session_token] = session
        self.sessions[session.session_jwt] = session
