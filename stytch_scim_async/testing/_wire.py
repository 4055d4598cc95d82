"""What goes on the wire: response records, JSON shapes and error bodies.

Shapes follow Stytch's documentation exactly (field names, key order, RFC 3339
timestamps). Everything is built from plain dicts, never from the library's models.
"""

from __future__ import annotations

import email.utils
import json
import json.encoder
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from ._state import Connection

__all__ = [
    "ERROR_MESSAGES",
    "HTML_502",
    "Action",
    "FakeResponse",
    "FakeStytchError",
    "connection_view",
    "connection_with_next_token",
    "connection_with_token",
    "error_body",
    "json_bytes",
    "json_object",
    "retry_after_header",
]

Action = Literal["respond", "drop", "stall", "truncate"]
"""What the serving adapter does with a `FakeResponse`."""

_EMPTY: Final[Mapping[str, str]] = {}


@dataclass(slots=True)
class FakeResponse:
    """One answer of the fake, plus the I/O-level fault the adapter must carry out.

    ``action``: ``"respond"`` writes the response; ``"truncate"`` also writes it
    (the body is already cut, with a matching Content-Length); ``"drop"`` closes
    the connection without writing anything; ``"stall"`` waits ``stall_seconds``
    and then writes it. ``delay`` (latency) is waited before any of these.
    """

    status: int
    """The HTTP status."""
    body: bytes
    """The body's bytes (already cut for `truncate`)."""
    content_type: str = "application/json"
    """The `Content-Type` header."""
    headers: Mapping[str, str] = field(default_factory=lambda: _EMPTY)
    """Further headers (`Retry-After`, ...)."""
    action: Action = "respond"
    """What the adapter does: `respond`, `truncate`, `drop` or `stall`."""
    delay: float = 0.0
    """Seconds to wait before any of it (the latency)."""
    stall_seconds: float = 0.0
    """Seconds a `stall` waits before writing the answer."""

    def json(self) -> Any:
        """The body decoded as JSON (tests use it; fails on HTML or truncated bodies)."""
        return json.loads(self.body)


class FakeStytchError(Exception):
    """Raised inside a handler to answer with a Stytch error body."""

    def __init__(self, status: int, error_type: str, message: str | None = None) -> None:
        super().__init__(error_type)
        self.status = status
        self.error_type = error_type
        self.message = message if message is not None else ERROR_MESSAGES[error_type]


ERROR_MESSAGES: Final[Mapping[str, str]] = {
    "bad_request": "The request was malformed.",
    "unauthorized_credentials": "Unauthorized credentials.",
    "session_authorization_error": (
        "The Member is not authorized to perform the requested action on that resource."
    ),
    "session_authorization_tenancy_error": (
        "The Member's session does not belong to the requested Organization."
    ),
    "too_many_requests": "Too many requests have been made.",
    "internal_server_error": (
        "Oops, something seems to have gone wrong, please reach out to "
        "support@stytch.com to let us know what went wrong."
    ),
    "active_scim_connection_exists": (
        "An active SCIM connection already exists for this organization."
    ),
    "invalid_scim_idp": "The identity_provider is not a supported SCIM identity provider.",
    "no_active_scim_connection": "No active SCIM connection with that connection_id was found.",
    "scim_connection_not_rotating_token": "The SCIM connection is not rotating its bearer token.",
    "scim_group_role_assignment_does_not_contain_group_id": (
        "Every SCIM group implicit role assignment must contain a group_id."
    ),
    "scim_group_role_assignment_group_does_not_exist": (
        "A SCIM group named in scim_group_implicit_role_assignments does not exist."
    ),
    "invalid_organization_id": "The organization_id is invalid.",
    "invalid_display_name": "The display_name must not be empty.",
    "organization_not_found": "Organization could not be found.",
    "session_not_found": "Session could not be found.",
    "route_not_found": "The requested route could not be found.",
    "organization_search_filter_name_not_recognized": (
        "The filter_name of a search operand is not recognized."
    ),
    "organization_search_expected_array_of_strings": (
        "The filter_value of this search operand must be an array of strings."
    ),
    "user_search_invalid_cursor": "The search cursor is invalid.",
    "bad_domain_for_stytch_sdk": (
        "This domain has not been registered as an allowed domain for the Stytch SDK. "
        "Please add it here: https://stytch.com/dashboard/sdk-configuration"
    ),
    "cname_required_for_http_only_cookies": (
        "This project requires HttpOnly cookies, which need a custom domain (CNAME) "
        "for the Stytch SDK's requests."
    ),
}
"""The ``error_message`` of each ``error_type`` (the seed document's wording where it has one)."""

HTML_502: Final[bytes] = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n</body>\r\n</html>\r\n"
)
"""The page a proxy in front of Stytch answers with when the backend is away."""


#: One encoder for every body: `json.dumps` with any option builds a new one per call.
_ENCODER: Final = json.JSONEncoder(separators=(",", ":"))
# And `JSONEncoder.encode` builds a new C encoder per call: this one is built once,
# with the same options but no check for cycles (the fake's bodies have none).
_make_c_encoder: Callable[..., Callable[[object, int], Iterable[str]]] | None = getattr(
    json.encoder, "c_make_encoder", None
)
_C_ENCODER: Final = (
    None
    if _make_c_encoder is None
    else _make_c_encoder(
        None,
        _ENCODER.default,
        json.encoder.encode_basestring_ascii,
        None,
        ":",
        ",",
        False,
        False,
        True,
    )
)


def json_bytes(value: object) -> bytes:
    """Compact JSON, as an API server writes it."""
    if _C_ENCODER is None:  # pragma: no cover - CPython has the C encoder
        return _ENCODER.encode(value).encode()
    return "".join(_C_ENCODER(value, 0)).encode()


def json_object(body: bytes) -> dict[str, Any]:
    """Parse a request body that must be a JSON object; empty means ``{}``."""
    if not body.strip():
        return {}
    try:
        # A body opening with "{" and no NUL byte after it is UTF-8 (json.loads would
        # detect as much): decoding it here skips that detection. Others go to json.
        if body[:1] == b"{" and body[1:2] != b"\x00":
            value = json.loads(body.decode("utf-8", "surrogatepass"))
        else:
            value = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise FakeStytchError(400, "bad_request", "The request body is not valid JSON.") from None
    if not isinstance(value, dict):
        raise FakeStytchError(400, "bad_request", "The request body must be a JSON object.")
    return value


def error_body(status: int, error_type: str, message: str, request_id: str) -> bytes:
    """A Stytch error body, field for field as in the seed document."""
    return json_bytes(
        {
            "status_code": status,
            "request_id": request_id,
            "error_type": error_type,
            "error_message": message,
            "error_url": f"https://stytch.com/docs/api/errors/{status}",
        }
    )


def retry_after_header(
    mode: Literal["seconds", "http-date"] | None, wait: float | None, now: float
) -> dict[str, str]:
    """The ``Retry-After`` header for a 429, or no header at all."""
    if mode is None or wait is None:
        return {}
    if mode == "seconds":
        return {"Retry-After": str(math.ceil(wait))}
    return {"Retry-After": email.utils.formatdate(math.ceil(now + wait), usegmt=True)}


def _base_url(emulator_base: str, connection: Connection) -> str:
    url = f"{emulator_base}/v1/b2b/scim/{connection.connection_id}"
    if connection.identity_provider == "microsoft-entra":
        url += "?aadOptscim062020"
    return url


def connection_view(connection: Connection, emulator_base: str) -> dict[str, Any]:
    """A ``SCIMConnection`` object: token shown by its last four characters only."""
    view: dict[str, Any] = {
        "organization_id": connection.organization_id,
        "connection_id": connection.connection_id,
        "status": connection.status,
        "display_name": connection.display_name,
        "identity_provider": connection.identity_provider,
        "base_url": _base_url(emulator_base, connection),
        "bearer_token_last_four": connection.bearer_token[-4:],
        "bearer_token_expires_at": connection.bearer_token_expires_at,
        "next_bearer_token_last_four": connection.next_bearer_token[-4:],
        "scim_group_implicit_role_assignments": [
            dict(assignment) for assignment in connection.role_assignments
        ],
    }
    if connection.rotating:
        view["next_bearer_token_expires_at"] = connection.next_bearer_token_expires_at
    return view


def connection_with_token(connection: Connection, emulator_base: str) -> dict[str, Any]:
    """A ``SCIMConnectionWithToken``: the only shape that carries the full token."""
    return {
        "organization_id": connection.organization_id,
        "connection_id": connection.connection_id,
        "status": connection.status,
        "display_name": connection.display_name,
        "identity_provider": connection.identity_provider,
        "base_url": _base_url(emulator_base, connection),
        "bearer_token": connection.bearer_token,
        "bearer_token_expires_at": connection.bearer_token_expires_at,
        "scim_group_implicit_role_assignments": [
            dict(assignment) for assignment in connection.role_assignments
        ],
    }


def connection_with_next_token(connection: Connection, emulator_base: str) -> dict[str, Any]:
    """A ``SCIMConnectionWithNextToken`` (rotate start), field for field as the official
    schemas have it: no ``next_bearer_token_last_four`` (no official schema has it)."""
    return {
        "organization_id": connection.organization_id,
        "connection_id": connection.connection_id,
        "status": connection.status,
        "display_name": connection.display_name,
        "identity_provider": connection.identity_provider,
        "base_url": _base_url(emulator_base, connection),
        "bearer_token_last_four": connection.bearer_token[-4:],
        "bearer_token_expires_at": connection.bearer_token_expires_at,
        "next_bearer_token": connection.next_bearer_token,
        "next_bearer_token_expires_at": connection.next_bearer_token_expires_at,
        "scim_group_implicit_role_assignments": [
            dict(assignment) for assignment in connection.role_assignments
        ],
    }
