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
    OKTA = "okta"
    MICROSOFT_ENTRA = "microsoft-entra"
    CYBERARK = "cyberark"
    JUMPCLOUD = "jumpcloud"
    ONELOGIN = "onelogin"
    PINGFEDERATE = "pingfederate"
    RIPPLING = "rippling"
    CLASSLINK = "classlink"
    DUO = "duo"
    GOOGLE_WORKSPACE = "google-workspace"
    KEYCLOAK = "keycloak"
    MINIORANGE = "miniorange"
    SALESFORCE = "salesforce"
    SHIBBOLETH = "shibboleth"


@attrs.frozen
class RoleAssignment:
    """An implicit role that members of an IdP group receive (the update request's item)."""

    group_id: str
    role_id: str


@attrs.frozen
class SCIMGroupImplicitRoleAssignment:
    """An implicit role assignment as Stytch reports it on a connection."""

    role_id: str
    group_id: str
    group_name: str = ""


@attrs.frozen
class _ConnectionBase:
    organization_id: str
    connection_id: str
    status: str
    display_name: str
    identity_provider: str
    base_url: str


@attrs.frozen
class SCIMConnection(_ConnectionBase):
    """A connection as `get`, `update` and rotate complete/cancel return it: no token,
    only its last four characters."""

    bearer_token_last_four: str = ""
    bearer_token_expires_at: datetime | None = None
    next_bearer_token_last_four: str = ""
    next_bearer_token_expires_at: datetime | None = None
    scim_group_implicit_role_assignments: tuple[SCIMGroupImplicitRoleAssignment, ...] = ()

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
    bearer_token_expires_at: datetime | None = None
    scim_group_implicit_role_assignments: tuple[SCIMGroupImplicitRoleAssignment, ...] = ()


@attrs.frozen
class SCIMConnectionWithNextToken(SCIMConnection):
    """The connection as rotate start returns it, carrying the new (next) token."""

    next_bearer_token: str = attrs.field(repr=_redacted, kw_only=True)

    @property
    def rotating(self) -> bool:
        """Always True: rotate start's reply is a rotation in progress (the official
        schema has no `next_bearer_token_last_four` to say so)."""
        return True


@attrs.frozen
class SCIMGroup:
    """A group the IdP pushed through the connection."""

    group_id: str
    group_name: str
    organization_id: str
    connection_id: str


@attrs.frozen
class _Envelope:
    request_id: str
    status_code: int


@attrs.frozen
class CreateConnectionResponse(_Envelope):
    """Result of a create. `recovered` is True when the create committed, its reply was
    lost, and the token shown is a fresh one obtained by rotating the new connection.

    Stytch's schemas mark `connection` optional everywhere; a create answered without
    one committed all the same and its token is lost, which the client handles as a
    lost reply (`TokenLostError`, or a recovery): `connection` is always set here."""

    connection: SCIMConnectionWithToken
    recovered: bool = False


@attrs.frozen
class GetConnectionResponse(_Envelope):
    """Result of a get; `connection` is None when the organization has none."""

    connection: SCIMConnection | None = None


@attrs.frozen
class UpdateConnectionResponse(_Envelope):
    """Result of an update. An update answered without its `connection` raises
    `ResponseDecodeError` naming `$.connection` (the update itself went through)."""

    connection: SCIMConnection


@attrs.frozen
class DeleteConnectionResponse(_Envelope):
    """Result of a delete."""

    connection_id: str


@attrs.frozen
class RotateStartResponse(_Envelope):
    """Result of rotate start: `connection.next_bearer_token` is the token to install.
    Without a `connection` the start is reconciled as a lost reply (cancelled, started
    again) and, if it never comes, a typed error names `$.connection`."""

    connection: SCIMConnectionWithNextToken


@attrs.frozen
class RotateCompleteResponse(_Envelope):
    """Result of rotate complete: the next token is now the active one. Answered
    without its `connection`, the client reads the connection back with a GET."""

    connection: SCIMConnection


@attrs.frozen
class RotateCancelResponse(_Envelope):
    """Result of rotate cancel: the old token stays active. Answered without its
    `connection`, the client reads the connection back with a GET."""

    connection: SCIMConnection


@attrs.frozen
class GetGroupsResponse:
    """One page of groups. `next_cursor` is None on the last page."""

    scim_groups: tuple[SCIMGroup, ...]
    status_code: int
    next_cursor: str | None = None
    request_id: str = ""


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
