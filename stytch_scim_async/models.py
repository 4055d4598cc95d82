"""Frozen attrs models named, field for field, as Stytch names them.

Secrets (`bearer_token`, `next_bearer_token`) are excluded from `repr`/`str` so a
logged response or a test snapshot can never carry one.
"""

from __future__ import annotations

import enum
from datetime import datetime

import attrs

__all__ = [
    "CreateConnectionResponse",
    "DeleteConnectionResponse",
    "GetConnectionResponse",
    "GetGroupsResponse",
    "IdentityProvider",
    "RoleAssignment",
    "RotateCancelResponse",
    "RotateCompleteResponse",
    "RotateStartResponse",
    "SCIMConnection",
    "SCIMConnectionWithNextToken",
    "SCIMConnectionWithToken",
    "SCIMGroup",
    "SCIMGroupImplicitRoleAssignment",
    "UpdateConnectionResponse",
]


def _redacted(value: object) -> str:
    return "'<redacted>'" if value else "''"


class IdentityProvider(enum.StrEnum):
    """The IdPs Stytch documents. The set is open: any other string passes through."""

    GENERIC = "generic"
    """Any SCIM 2.0 IdP not listed here."""
    OKTA = "okta"
    """Okta."""
    MICROSOFT_ENTRA = "microsoft-entra"
    """Microsoft Entra ID; Stytch appends `?aadOptscim062020` to the `base_url`."""
    CYBERARK = "cyberark"
    """CyberArk."""
    JUMPCLOUD = "jumpcloud"
    """JumpCloud."""
    ONELOGIN = "onelogin"
    """OneLogin."""
    PINGFEDERATE = "pingfederate"
    """PingFederate."""
    RIPPLING = "rippling"
    """Rippling."""
    CLASSLINK = "classlink"
    """ClassLink (in Stytch's newer docs)."""
    DUO = "duo"
    """Duo (in Stytch's newer docs)."""
    GOOGLE_WORKSPACE = "google-workspace"
    """Google Workspace (in Stytch's newer docs)."""
    KEYCLOAK = "keycloak"
    """Keycloak (in Stytch's newer docs)."""
    MINIORANGE = "miniorange"
    """miniOrange (in Stytch's newer docs)."""
    SALESFORCE = "salesforce"
    """Salesforce (in Stytch's newer docs)."""
    SHIBBOLETH = "shibboleth"
    """Shibboleth (in Stytch's newer docs)."""


@attrs.frozen
class RoleAssignment:
    """An implicit role that members of an IdP group receive (the update request's item)."""

    group_id: str
    """The IdP group whose members receive the role."""
    role_id: str
    """The Stytch role they receive."""


@attrs.frozen
class SCIMGroupImplicitRoleAssignment:
    """An implicit role assignment as Stytch reports it on a connection."""

    role_id: str
    """The Stytch role the group's members receive."""
    group_id: str
    """The IdP group, as Stytch knows it."""
    group_name: str = ""
    """The group's name (empty when Stytch sent none)."""


@attrs.frozen
class _ConnectionBase:
    organization_id: str
    """The organization the connection belongs to."""
    connection_id: str
    """Stytch's id of the connection; every other call names it."""
    status: str
    """`active` or `deleted`; anything but `active` counts as no connection."""
    display_name: str
    """The name the admin gave it, as the admin console shows it."""
    identity_provider: str
    """The IdP it is configured for (`okta`, `microsoft-entra`, ...), an open set."""
    base_url: str
    """The SCIM base URL to configure in the IdP."""


@attrs.frozen
class SCIMConnection(_ConnectionBase):
    """A connection as `get`, `update` and rotate complete/cancel return it: no token,
    only its last four characters."""

    bearer_token_last_four: str = ""
    """The active token's last four characters: enough to recognise it, never to use it."""
    bearer_token_expires_at: datetime | None = None
    """When the active token expires; None when it does not."""
    next_bearer_token_last_four: str = ""
    """The pending token's last four characters during a rotation; empty otherwise."""
    next_bearer_token_expires_at: datetime | None = None
    """When the pending token expires, during a rotation."""
    scim_group_implicit_role_assignments: tuple[SCIMGroupImplicitRoleAssignment, ...] = ()
    """The roles members of each IdP group receive (empty when none)."""

    @property
    def rotating(self) -> bool:
        """True while a token rotation has been started and not completed or cancelled."""
        return bool(self.next_bearer_token_last_four)

    @property
    def active(self) -> bool:
        """True for an active connection; any other status (`deleted`) counts as none."""
        return self.status == "active"


@attrs.frozen
class SCIMConnectionWithToken(_ConnectionBase):
    """The connection as create returns it: the only time Stytch ever sends the token."""

    bearer_token: str = attrs.field(repr=_redacted, kw_only=True)
    """The bearer token the IdP must present: sent this once, hidden from `repr()`; hand it to the
    IdP now."""
    bearer_token_expires_at: datetime | None = None
    """When the token expires; None when it does not."""
    scim_group_implicit_role_assignments: tuple[SCIMGroupImplicitRoleAssignment, ...] = ()
    """The roles members of each IdP group receive (empty for a new connection)."""


@attrs.frozen
class SCIMConnectionWithNextToken(SCIMConnection):
    """The connection as rotate start returns it, carrying the new (next) token."""

    next_bearer_token: str = attrs.field(repr=_redacted, kw_only=True)
    """The new token: sent this once, hidden from `repr()`; install it in the IdP, then complete the
    rotation."""

    @property
    def rotating(self) -> bool:
        """Always True: rotate start's reply is a rotation in progress (the official
        schema has no `next_bearer_token_last_four` to say so)."""
        return True


@attrs.frozen
class SCIMGroup:
    """A group the IdP pushed through the connection."""

    group_id: str
    """Stytch's id of the group."""
    group_name: str
    """The group's name in the IdP."""
    organization_id: str
    """The organization the group belongs to."""
    connection_id: str
    """The connection that pushed it."""


@attrs.frozen
class _Envelope:
    request_id: str
    """Stytch's id of the request: log it, Stytch's support asks for it."""
    status_code: int
    """The HTTP status Stytch answered with (a 2xx)."""


@attrs.frozen
class CreateConnectionResponse(_Envelope):
    """Result of a create. `recovered` is True when the create committed, its reply was
    lost, and the token shown is a fresh one obtained by rotating the new connection.

    Stytch's schemas mark `connection` optional everywhere; a create answered without
    one committed all the same and its token is lost, which the client handles as a
    lost reply (`TokenLostError`, or a recovery): `connection` is always set here."""

    connection: SCIMConnectionWithToken
    """The new connection, with its one-time `bearer_token`."""
    recovered: bool = False
    """True when the reply was lost and the token is a fresh one, from rotating the new
    connection."""


@attrs.frozen
class GetConnectionResponse(_Envelope):
    """Result of a get; `connection` is None when the organization has none."""

    connection: SCIMConnection | None = None
    """The organization's connection, or None when it has none."""


@attrs.frozen
class UpdateConnectionResponse(_Envelope):
    """Result of an update. An update answered without its `connection` raises
    `ResponseDecodeError` naming `$.connection` (the update itself went through)."""

    connection: SCIMConnection
    """The connection as updated."""


@attrs.frozen
class DeleteConnectionResponse(_Envelope):
    """Result of a delete."""

    connection_id: str
    """The connection that was deleted."""


@attrs.frozen
class RotateStartResponse(_Envelope):
    """Result of rotate start: `connection.next_bearer_token` is the token to install.
    Without a `connection` the start is reconciled as a lost reply (cancelled, started
    again) and, if it never comes, a typed error names `$.connection`."""

    connection: SCIMConnectionWithNextToken
    """The connection, with the `next_bearer_token` to install."""


@attrs.frozen
class RotateCompleteResponse(_Envelope):
    """Result of rotate complete: the next token is now the active one. Answered
    without its `connection`, the client reads the connection back with a GET."""

    connection: SCIMConnection
    """The connection, the next token now its active one."""


@attrs.frozen
class RotateCancelResponse(_Envelope):
    """Result of rotate cancel: the old token stays active. Answered without its
    `connection`, the client reads the connection back with a GET."""

    connection: SCIMConnection
    """The connection, its old token still active."""


@attrs.frozen
class GetGroupsResponse:
    """One page of groups. `next_cursor` is None on the last page."""

    scim_groups: tuple[SCIMGroup, ...]
    """The groups on this page."""
    status_code: int
    """The HTTP status Stytch answered with (a 2xx)."""
    next_cursor: str | None = None
    """Pass it as `cursor` for the next page; None on the last page."""
    request_id: str = ""
    """Stytch's id of the request (empty when Stytch sent none, as this endpoint may)."""


@attrs.frozen
class _ActiveConnectionSummary:
    connection_id: str
    display_name: str = ""
    bearer_token_last_four: str = ""


@attrs.frozen
class _SearchedOrganization:
    organization_id: str
    scim_active_connection: _ActiveConnectionSummary | None = None


@attrs.frozen
class _ResultsMetadata:
    total: int = 0
    next_cursor: str | None = None


@attrs.frozen
class OrganizationSearchResponse(_Envelope):
    """One page of an organizations search: only what a batch's proof of absence needs
    (each organization's active SCIM connection, if any)."""

    organizations: tuple[_SearchedOrganization, ...] = ()
    results_metadata: _ResultsMetadata = _ResultsMetadata()
