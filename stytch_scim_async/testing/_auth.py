"""HTTP Basic credentials and the Member-session authorization rules."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping

from ._settings import Settings
from ._state import MemberSession
from ._wire import FakeStytchError

__all__ = ["authorize_member", "basic_credentials", "check_sdk_client"]


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    """``(user, password)`` from an ``Authorization: Basic`` header, else ``None``."""
    if header is None:
        return None
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, colon, password = decoded.partition(":")
    return (user, password) if colon else None


def authorize_member(session: MemberSession | None, organization_id: str) -> None:
    """Stytch's RBAC check for acting on ``stytch.scim`` in ``organization_id``.

    Unknown session: 404 ``session_not_found``; a Member of another organization:
    403 ``session_authorization_tenancy_error``; a Member who is not an admin:
    403 ``session_authorization_error``.
    """
    if session is None:
        raise FakeStytchError(404, "session_not_found")
    if session.organization_id != organization_id:
        raise FakeStytchError(403, "session_authorization_tenancy_error")
    if not session.admin:
        raise FakeStytchError(403, "session_authorization_error")


def check_sdk_client(settings: Settings, headers: Mapping[str, str]) -> None:
    """The project's frontend-SDK gates, before any authentication (``headers`` lowercased).

    With ``sdk_allowed_origins`` set, the ``Origin`` header must be one of them
    (400 ``bad_domain_for_stytch_sdk``); with ``http_only_cookies``, the request must
    have come to one of ``custom_domains``, as its ``Host`` header says (401
    ``cname_required_for_http_only_cookies``).
    """
    allowed = settings.sdk_allowed_origins
    if allowed is not None and headers.get("origin") not in allowed:
        raise FakeStytchError(400, "bad_domain_for_stytch_sdk")
    if settings.http_only_cookies and headers.get("host") not in settings.custom_domains:
        raise FakeStytchError(401, "cname_required_for_http_only_cookies")
