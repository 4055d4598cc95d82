"""``POST /v1/b2b/organizations/search``: which organizations have a SCIM connection.

Only what this project needs of the search is modelled: the ``organization_ids``
and ``organization_slugs`` filters, ``AND``/``OR``, paging, and every field the
official SDK's ``Organization`` model requires. EMULATOR ASSUMPTIONS are marked.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Mapping
from typing import Any, Final

from ._state import EmulatorState, Organization
from ._wire import FakeStytchError

__all__ = ["DEFAULT_SEARCH_LIMIT", "MAX_SEARCH_LIMIT", "SEARCH_FILTERS", "search_organizations"]

DEFAULT_SEARCH_LIMIT: Final = 100
MAX_SEARCH_LIMIT: Final = 1000

SEARCH_FILTERS: Final[frozenset[str]] = frozenset({"organization_ids", "organization_slugs"})
"""The filter names the fake understands. EMULATOR ASSUMPTION: Stytch knows more
(fuzzy names, domains, ...); here any other name answers 400
``organization_search_filter_name_not_recognized``."""

_CURSOR_PREFIX: Final = "organizations-search"


def _bad_request(message: str) -> FakeStytchError:
    return FakeStytchError(400, "bad_request", message)


def _limit(params: Mapping[str, Any]) -> int:
    # EMULATOR ASSUMPTION: an absent/null limit means 100 (documented); anything
    # outside 1..1000, 0 included, is 400 bad_request (the error type is not documented).
    raw = params.get("limit")
    if raw is None:
        return DEFAULT_SEARCH_LIMIT
    if isinstance(raw, bool) or not isinstance(raw, int):
        raise _bad_request("limit must be an integer.")
    if not 1 <= raw <= MAX_SEARCH_LIMIT:
        raise _bad_request(f"limit must be between 1 and {MAX_SEARCH_LIMIT}.")
    return raw


def encode_search_cursor(offset: int) -> str:
    """An opaque search cursor."""
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}:{offset}".encode()).decode()


def _offset(params: Mapping[str, Any]) -> int:
    cursor = params.get("cursor")
    if cursor is None or cursor == "":
        return 0
    if isinstance(cursor, str):
        try:
            decoded = base64.urlsafe_b64decode(cursor.encode()).decode()
        except (binascii.Error, UnicodeDecodeError, ValueError):
            decoded = ""
        prefix, _, offset = decoded.partition(":")
        if prefix == _CURSOR_PREFIX and offset.isascii() and offset.isdigit():
            return int(offset)
    raise FakeStytchError(400, "user_search_invalid_cursor")


def _strings(operand: Mapping[str, Any]) -> list[str]:
    value = operand.get("filter_value")
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise FakeStytchError(400, "organization_search_expected_array_of_strings")
    return value


def _operands(params: Mapping[str, Any]) -> tuple[str, list[tuple[str, list[str]]]]:
    query = params.get("query")
    if query is None:
        return "AND", []
    if not isinstance(query, dict):
        raise _bad_request("query must be an object.")
    operator = query.get("operator")
    if operator not in ("AND", "OR"):
        raise _bad_request("query.operator must be AND or OR.")
    raw = query.get("operands")
    if raw is None:
        raw = []
    if not isinstance(raw, list):
        raise _bad_request("query.operands must be an array.")
    operands: list[tuple[str, list[str]]] = []
    for operand in raw:
        if not isinstance(operand, dict):
            raise _bad_request("Each operand must be an object.")
        name = operand.get("filter_name")
        if name not in SEARCH_FILTERS:
            raise FakeStytchError(400, "organization_search_filter_name_not_recognized")
        operands.append((name, _strings(operand)))
    return operator, operands


def search_organizations(
    state: EmulatorState,
    params: Mapping[str, Any],
    known: Callable[[str], Organization | None],
) -> dict[str, Any]:
    """One page of the search. ``known(id)`` is the organization with that id, or
    ``None`` when it does not exist (the fake's organization rules decide)."""
    limit = _limit(params)
    offset = _offset(params)
    operator, operands = _operands(params)
    matches: list[set[str]] = []
    for name, values in operands:
        if name == "organization_ids":
            found = {org.organization_id for org in map(known, values) if org is not None}
        else:
            found = {state.slugs[slug] for slug in values if slug in state.slugs}
        matches.append(found)
    if not matches:
        selected = list(state.organizations)
    else:
        chosen = set.intersection(*matches) if operator == "AND" else set.union(*matches)
        selected = [org for org in state.organizations if org in chosen]
    end = offset + limit
    page = [organization_view(state, state.organizations[org]) for org in selected[offset:end]]
    return {
        "organizations": page,
        "results_metadata": {
            "total": len(selected),
            "next_cursor": encode_search_cursor(end) if end < len(selected) else None,
        },
    }


def _active_scim_connection(state: EmulatorState, organization_id: str) -> dict[str, str] | None:
    connection = state.active_connection(organization_id)
    if connection is None:
        return None
    return {
        "connection_id": connection.connection_id,
        "display_name": connection.display_name,
        "bearer_token_last_four": connection.bearer_token[-4:],
        "bearer_token_expires_at": connection.bearer_token_expires_at,
    }


def organization_view(state: EmulatorState, organization: Organization) -> dict[str, Any]:
    """An ``Organization`` object with every field stytch-python's model requires.

    EMULATOR ASSUMPTION: the settings carry the defaults Stytch's docs name
    (``ALL_ALLOWED``, ``NOT_ALLOWED``, ``OPTIONAL``); an organization has no SSO,
    no custom roles and no external id. Only ``scim_active_connection`` matters here:
    null, or the organization's active connection (a deleted one is not active).
    """
    return {
        "organization_id": organization.organization_id,
        "organization_name": organization.organization_name,
        "organization_logo_url": "",
        "organization_slug": organization.organization_slug,
        "organization_external_id": None,
        "sso_jit_provisioning": "ALL_ALLOWED",
        "sso_jit_provisioning_allowed_connections": [],
        "sso_active_connections": [],
        "sso_default_connection_id": None,
        "email_allowed_domains": [],
        "email_jit_provisioning": "NOT_ALLOWED",
        "email_invites": "ALL_ALLOWED",
        "auth_methods": "ALL_ALLOWED",
        "allowed_auth_methods": [],
        "mfa_policy": "OPTIONAL",
        "rbac_email_implicit_role_assignments": [],
        "mfa_methods": "ALL_ALLOWED",
        "allowed_mfa_methods": [],
        "oauth_tenant_jit_provisioning": "NOT_ALLOWED",
        "allowed_oauth_tenants": {},
        "claimed_email_domains": [],
        "first_party_connected_apps_allowed_type": "ALL_ALLOWED",
        "allowed_first_party_connected_apps": [],
        "third_party_connected_apps_allowed_type": "ALL_ALLOWED",
        "allowed_third_party_connected_apps": [],
        "custom_roles": [],
        "trusted_metadata": {},
        "created_at": organization.created_at,
        "updated_at": organization.created_at,
        "scim_active_connection": _active_scim_connection(state, organization.organization_id),
    }
