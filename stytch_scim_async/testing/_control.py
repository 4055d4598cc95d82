"""The fault-free control routes (``/_stats``, ``/_reset``, ``/_tokens``, ``/_sessions``).

They let a process that only has the emulator's URL (a benchmark, a demo, a
client test in another language) inspect and steer it. No authentication.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._wire import (
    ERROR_MESSAGES,
    FakeResponse,
    FakeStytchError,
    error_body,
    json_bytes,
    json_object,
)

if TYPE_CHECKING:
    from ._core import Steerable

__all__ = ["control"]


def _bad_request(message: str) -> FakeResponse:
    return FakeResponse(400, error_body(400, "bad_request", message, ""))


def _new_session(fake: Steerable, body: bytes) -> FakeResponse:
    try:
        params = json_object(body)
    except FakeStytchError as exc:
        return _bad_request(exc.message)
    organization_id = params.get("organization_id")
    if not isinstance(organization_id, str) or not organization_id:
        return _bad_request("organization_id is required.")
    session = fake.new_session(organization_id, admin=params.get("admin", True) is True)
    return FakeResponse(
        200,
        json_bytes(
            {
                "organization_id": organization_id,
                "member_id": session.member_id,
                "session_token": session.session_token,
                "session_jwt": session.session_jwt,
                "admin": session.admin,
            }
        ),
    )


def control(fake: Steerable, method: str, path: str, body: bytes) -> FakeResponse:
    """Answer a control route; anything else under ``/_`` is ``route_not_found``."""
    if method == "GET" and path == "/_stats":
        return FakeResponse(200, json_bytes(fake.stats.to_dict()))
    if method == "GET" and path == "/_tokens":
        return FakeResponse(200, json_bytes(fake.tokens()))
    if method == "POST" and path == "/_reset":
        fake.reset()
        return FakeResponse(200, json_bytes({"reset": True}))
    if method == "POST" and path == "/_sessions":
        return _new_session(fake, body)
    message = ERROR_MESSAGES["route_not_found"]
    return FakeResponse(404, error_body(404, "route_not_found", message, ""))
