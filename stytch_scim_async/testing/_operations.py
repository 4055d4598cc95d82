"""The eight SCIM connection operations, acting on `EmulatorState`.

Each operation takes the organization, the connection id from the path (or body)
and the request parameters, changes state, and returns the success payload
(without ``status_code``/``request_id``) or raises `FakeStytchError`.
Both API families share these functions; only authentication and envelopes differ.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from typing import Any, Final

from ._ids import IdFactory, rfc3339
from ._settings import IDENTITY_PROVIDERS, Settings
from ._state import Connection, EmulatorState
from ._wire import (
    FakeStytchError,
    connection_view,
    connection_with_next_token,
    connection_with_token,
)

__all__ = [
    "BEARER_TOKEN_LIFETIME",
    "IDENTITY_PROVIDERS",
    "Operations",
]

BEARER_TOKEN_LIFETIME: Final[float] = 4 * 365 * 86400.0
"""Seconds until a bearer token expires. Stytch documents no lifetime; four years
keeps expiry out of every test's way while still filling ``*_expires_at``."""

DEFAULT_GROUP_LIMIT: Final = 100
MAX_GROUP_LIMIT: Final = 1000


def _bad_request(message: str) -> FakeStytchError:
    return FakeStytchError(400, "bad_request", message)


def _optional_str(params: Mapping[str, Any], key: str) -> str | None:
    value = params.get(key)
    if value is None or isinstance(value, str):
        return value
    raise _bad_request(f"{key} must be a string.")


def _display_name(params: Mapping[str, Any]) -> str | None:
    name = _optional_str(params, "display_name")
    if name is not None and not name.strip():
        raise FakeStytchError(400, "invalid_display_name")
    return name


def _identity_provider(params: Mapping[str, Any], settings: Settings) -> str | None:
    idp = _optional_str(params, "identity_provider")
    if idp is not None and not settings.accepts_identity_provider(idp):
        raise FakeStytchError(400, "invalid_scim_idp")
    return idp


def _limit(params: Mapping[str, Any]) -> int:
    raw = params.get("limit")
    if raw is None or raw == "":
        return DEFAULT_GROUP_LIMIT
    if isinstance(raw, bool):
        raise _bad_request("limit must be an integer.")
    if isinstance(raw, int):
        limit = raw
    elif isinstance(raw, str) and raw.isascii() and raw.isdigit():
        limit = int(raw)
    else:
        raise _bad_request("limit must be an integer.")
    if limit == 0:
        return DEFAULT_GROUP_LIMIT
    if not 0 < limit <= MAX_GROUP_LIMIT:
        raise _bad_request(f"limit must be between 1 and {MAX_GROUP_LIMIT}.")
    return limit


def encode_cursor(offset: int) -> str:
    """An opaque page cursor (base64 with padding, so clients must URL-encode it)."""
    return base64.b64encode(f"scim-groups:{offset:07d}".encode()).decode()


def _offset(params: Mapping[str, Any]) -> int:
    cursor = _optional_str(params, "cursor")
    if not cursor:
        return 0
    try:
        prefix, _, offset = base64.b64decode(cursor, validate=True).decode().partition(":")
        if prefix == "scim-groups" and offset.isascii() and offset.isdigit():
            return int(offset)
    except (binascii.Error, UnicodeDecodeError):
        pass
    raise _bad_request("cursor is invalid.")


class Operations:
    """Implements the SCIM connection API over an `EmulatorState`."""

    __slots__ = ("base_url", "clock", "ids", "last_page_cursor", "settings", "state")

    def __init__(
        self,
        state: EmulatorState,
        ids: IdFactory,
        clock: Callable[[], float],
        base_url: str,
        last_page_cursor: str | None,
        settings: Settings,
    ) -> None:
        self.settings = settings
        self.state = state
        self.ids = ids
        self.clock = clock
        self.base_url = base_url
        self.last_page_cursor = last_page_cursor

    def _expiry(self) -> str:
        return rfc3339(self.clock() + BEARER_TOKEN_LIFETIME)

    def _connection(self, organization_id: str, connection_id: str | None) -> Connection:
        connection = self.state.active_connection(organization_id)
        if connection is None or connection.connection_id != connection_id:
            raise FakeStytchError(400, "no_active_scim_connection")
        return connection

    def new_connection(
        self,
        organization_id: str,
        display_name: str | None,
        identity_provider: str | None,
        *,
        deleted: bool = False,
    ) -> Connection:
        """Commit a new active connection; fails if the org already has one.
        ``deleted`` seeds one that was deleted instead (test helpers only)."""
        if not deleted and organization_id in self.state.active:
            raise FakeStytchError(400, "active_scim_connection_exists")
        connection = Connection(
            organization_id=organization_id,
            connection_id=self.ids.connection_id(),
            display_name=display_name or "",
            identity_provider=identity_provider or self.settings.default_identity_provider,
            bearer_token=self.ids.bearer_token(),
            bearer_token_expires_at=self._expiry(),
        )
        if organization_id not in self.state.organizations:  # (the lenient rule's first use)
            self.state.add_organization(organization_id, rfc3339(self.clock()))
        self.state.connections[connection.connection_id] = connection
        if deleted:
            connection.status = "deleted"
            self.state.deleted[organization_id] = connection.connection_id
        else:
            self.state.active[organization_id] = connection.connection_id
        return connection

    def create(
        self, organization_id: str, _connection_id: str | None, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        """POST .../connection: a new connection and its one-time bearer token."""
        display_name = _display_name(params)
        identity_provider = _identity_provider(params, self.settings)
        connection = self.new_connection(organization_id, display_name, identity_provider)
        return {"connection": connection_with_token(connection, self.base_url)}

    def get(
        self, organization_id: str, _connection_id: str | None, _params: Mapping[str, Any]
    ) -> dict[str, Any]:
        """GET .../connection: the active connection; the key is absent when none
        (or, with ``Settings.get_returns_deleted``, the last deleted one)."""
        connection = self.state.active_connection(organization_id)
        if connection is None and self.settings.get_returns_deleted:
            deleted = self.state.deleted.get(organization_id)
            connection = None if deleted is None else self.state.connections[deleted]
        if connection is None:
            return {}
        return {"connection": connection_view(connection, self.base_url)}

    def update(
        self, organization_id: str, connection_id: str | None, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        """PUT .../connection/{id}: change only the fields present in the body."""
        connection = self._connection(organization_id, connection_id)
        display_name = _display_name(params)
        identity_provider = _identity_provider(params, self.settings)
        assignments = self._role_assignments(connection, params)
        if display_name is not None:
            connection.display_name = display_name
        if identity_provider is not None:
            connection.identity_provider = identity_provider
        if assignments is not None:
            connection.role_assignments = assignments
        return {"connection": connection_view(connection, self.base_url)}

    def _role_assignments(
        self, connection: Connection, params: Mapping[str, Any]
    ) -> list[dict[str, str]] | None:
        raw = params.get("scim_group_implicit_role_assignments")
        if raw is None:
            return None
        if not isinstance(raw, list):
            raise _bad_request("scim_group_implicit_role_assignments must be a list.")
        assignments: list[dict[str, str]] = []
        for item in raw:
            if not isinstance(item, dict):
                raise _bad_request("Each role assignment must be an object.")
            group_id = item.get("group_id")
            if not isinstance(group_id, str) or not group_id:
                raise FakeStytchError(400, "scim_group_role_assignment_does_not_contain_group_id")
            role_id = item.get("role_id")
            if not isinstance(role_id, str) or not role_id:
                raise _bad_request("Each role assignment must contain a role_id.")
            group = connection.group(group_id)
            if group is None:
                raise FakeStytchError(400, "scim_group_role_assignment_group_does_not_exist")
            assignments.append(
                {"role_id": role_id, "group_id": group_id, "group_name": group["group_name"]}
            )
        return assignments

    def delete(
        self, organization_id: str, connection_id: str | None, _params: Mapping[str, Any]
    ) -> dict[str, Any]:
        """DELETE .../connection/{id}: mark it deleted; the org may create a new one."""
        connection = self._connection(organization_id, connection_id)
        self.state.mark_deleted(connection)
        return {"connection_id": connection.connection_id}

    def get_groups(
        self, organization_id: str, connection_id: str | None, params: Mapping[str, Any]
    ) -> dict[str, Any]:
        """GET .../connection/{id}: one page of SCIM groups and the next cursor."""
        connection = self._connection(organization_id, connection_id)
        limit = _limit(params)
        offset = _offset(params)
        end = offset + limit
        page = [dict(group) for group in connection.groups[offset:end]]
        next_cursor = encode_cursor(end) if end < len(connection.groups) else None
        return {
            "scim_groups": page,
            "next_cursor": self.last_page_cursor if next_cursor is None else next_cursor,
        }

    def rotate_start(
        self, organization_id: str, connection_id: str | None, _params: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Issue a next token (replacing any unfinished one); the old one stays valid."""
        connection = self._connection(organization_id, connection_id)
        connection.next_bearer_token = self.ids.bearer_token()
        connection.next_bearer_token_expires_at = self._expiry()
        return {"connection": connection_with_next_token(connection, self.base_url)}

    def rotate_complete(
        self, organization_id: str, connection_id: str | None, _params: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Make the next token the active one."""
        connection = self._connection(organization_id, connection_id)
        if not connection.rotating:
            raise FakeStytchError(400, "scim_connection_not_rotating_token")
        connection.bearer_token = connection.next_bearer_token
        connection.bearer_token_expires_at = connection.next_bearer_token_expires_at
        connection.next_bearer_token = ""
        connection.next_bearer_token_expires_at = ""
        return {"connection": connection_view(connection, self.base_url)}

    def rotate_cancel(
        self, organization_id: str, connection_id: str | None, _params: Mapping[str, Any]
    ) -> dict[str, Any]:
        """Drop the next token; the old one stays active."""
        connection = self._connection(organization_id, connection_id)
        if not connection.rotating:
            raise FakeStytchError(400, "scim_connection_not_rotating_token")
        connection.next_bearer_token = ""
        connection.next_bearer_token_expires_at = ""
        return {"connection": connection_view(connection, self.base_url)}

    def add_group(
        self, organization_id: str, connection_id: str, group_name: str
    ) -> dict[str, str]:
        """Add a SCIM group, as an IdP pushing groups over SCIM would."""
        connection = self.state.connections.get(connection_id)
        if connection is None or connection.organization_id != organization_id:
            raise KeyError(f"no connection {connection_id!r} in organization {organization_id!r}")
        group = {
            "group_id": self.ids.group_id(),
            "group_name": group_name,
            "organization_id": organization_id,
            "connection_id": connection_id,
        }
        connection.groups.append(group)
        return dict(group)
