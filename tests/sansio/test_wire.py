"""Table-driven tests of the pure core: request building, response parsing, errors."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from stytch_scim_async import errors, models
from stytch_scim_async._sansio.endpoints import ENDPOINTS, Mode
from stytch_scim_async._sansio.replies import (
    error_from_response,
    excerpt,
    parse_response,
    retry_after,
)
from stytch_scim_async._sansio.wire import basic_auth, build_request, check_base_url

NOW = datetime(2026, 11, 26, 12, 0, 0, tzinfo=UTC)
BASE = "https://test.stytch.com"
ORG = "organization-test-07971b06"
CID = "scim-connection-test-cdd5415a"

CONNECTION = {
    "organization_id": ORG,
    "connection_id": CID,
    "status": "active",
    "display_name": "My SCIM Connection",
    "identity_provider": "okta",
    "base_url": f"https://test.stytch.com/v1/b2b/scim/{CID}",
    "bearer_token_last_four": "abcd",
    "bearer_token_expires_at": "2029-03-20T21:28:28Z",
    "next_bearer_token_last_four": "",
    "scim_group_implicit_role_assignments": [],
}
WITH_TOKEN = {
    k: v
    for k, v in CONNECTION.items()
    if not k.endswith("last_four") and k != "scim_group_implicit_role_assignments"
} | {"bearer_token": "9LmcAfUxGGMSNzfROGY762wTD3A6DQsD3hmxbrAJaEjTsdko"}


def body(**fields: Any) -> bytes:
    return json.dumps({"request_id": "request-id-test-1", "status_code": 200, **fields}).encode()


@pytest.mark.parametrize(
    ("operation", "mode", "params", "method", "url", "payload"),
    [
        (
            "create",
            Mode.PROJECT,
            {"organization_id": ORG, "display_name": "Okta", "identity_provider": None},
            "POST",
            f"{BASE}/v1/b2b/scim/{ORG}/connection",
            {"display_name": "Okta"},
        ),
        (
            "get",
            Mode.PROJECT,
            {"organization_id": ORG},
            "GET",
            f"{BASE}/v1/b2b/scim/{ORG}/connection",
            None,
        ),
        (
            "update",
            Mode.PROJECT,
            {"organization_id": ORG, "connection_id": CID, "display_name": "x"},
            "PUT",
            f"{BASE}/v1/b2b/scim/{ORG}/connection/{CID}",
            {"display_name": "x"},
        ),
        (
            "delete",
            Mode.PROJECT,
            {"organization_id": ORG, "connection_id": CID},
            "DELETE",
            f"{BASE}/v1/b2b/scim/{ORG}/connection/{CID}",
            None,
        ),
        (
            "get_groups",
            Mode.PROJECT,
            {"organization_id": ORG, "connection_id": CID, "cursor": None, "limit": 5},
            "GET",
            f"{BASE}/v1/b2b/scim/{ORG}/connection/{CID}?limit=5",
            None,
        ),
        (
            "rotate_start",
            Mode.PROJECT,
            {"organization_id": ORG, "connection_id": CID},
            "POST",
            f"{BASE}/v1/b2b/scim/{ORG}/connection/{CID}/rotate/start",
            {},
        ),
        (
            "create",
            Mode.MEMBER,
            {"display_name": "Okta"},
            "POST",
            f"{BASE}/sdk/v1/b2b/scim",
            {"display_name": "Okta"},
        ),
        ("get", Mode.MEMBER, {}, "GET", f"{BASE}/sdk/v1/b2b/scim", None),
        (
            "get_groups",
            Mode.MEMBER,
            {"cursor": "c1", "limit": None},
            "POST",
            f"{BASE}/sdk/v1/b2b/scim/groups",
            {"cursor": "c1"},
        ),
        (
            "rotate_complete",
            Mode.MEMBER,
            {"connection_id": CID},
            "POST",
            f"{BASE}/sdk/v1/b2b/scim/rotate/complete",
            {"connection_id": CID},
        ),
        (
            "delete",
            Mode.MEMBER,
            {"connection_id": CID},
            "DELETE",
            f"{BASE}/sdk/v1/b2b/scim/{CID}",
            None,
        ),
    ],
)
def test_build_request(
    operation: str, mode: Mode, params: dict[str, Any], method: str, url: str, payload: Any
) -> None:
    request = build_request(ENDPOINTS[operation], mode, BASE, params, {"A": "b"})
    assert (request.method, request.url) == (method, url)
    assert (json.loads(request.body) if request.body is not None else None) == payload
    assert request.headers == {"A": "b"}


@pytest.mark.parametrize("hostile", ["../x", "a/b", "a?b=c", "a#b", "%2e%2e", "é ü"])
def test_path_params_are_quoted_so_they_never_change_the_path(hostile: str) -> None:
    request = build_request(
        ENDPOINTS["delete"],
        Mode.PROJECT,
        BASE,
        {"organization_id": hostile, "connection_id": CID},
        {},
    )
    path = request.url.removeprefix(BASE)
    assert path.count("/") == 6
    assert "?" not in path and "#" not in path and "/../" not in path


def test_a_missing_path_parameter_is_refused_not_sent_literally() -> None:
    with pytest.raises(errors.InvalidRequestError) as info:
        build_request(ENDPOINTS["delete"], Mode.PROJECT, BASE, {"organization_id": ORG}, {})
    assert info.value.argument == "connection_id"


def test_request_repr_hides_headers_and_body() -> None:
    request = build_request(
        ENDPOINTS["get"],
        Mode.PROJECT,
        BASE,
        {"organization_id": ORG},
        {"Authorization": "Basic c2VjcmV0"},
    )
    assert "c2VjcmV0" not in repr(request)


def test_basic_auth() -> None:
    assert basic_auth("project-test-1", "secret") == "Basic cHJvamVjdC10ZXN0LTE6c2VjcmV0"


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://test.stytch.com", True),
        ("https://proxy.example.com/stytch/", True),
        ("http://127.0.0.1:8080", True),
        ("http://127.5.0.1:8080", True),
        ("http://localhost:1", True),
        ("http://[::1]:1", True),
        ("http://test.stytch.com", False),
        ("http://10.0.0.1", False),
        ("ftp://x", False),
        ("https://", False),
        ("https://user:pw@x.com", False),
        ("https://x.com?q=1", False),
        # An empty query or fragment too: "/?" sent every request to "/", its route
        # in the query string, and "/#" to "/".
        ("http://127.0.0.1:9/?", False),
        ("http://127.0.0.1:9/#", False),
        ("http://127.0.0.1:9?#", False),
        ("https://x.com?", False),
        ("https://[bad", False),
        ("https://x.com:99999", False),
        ("", False),
    ],
)
def test_check_base_url(url: str, ok: bool) -> None:
    if ok:
        assert check_base_url(url) == url.rstrip("/")
    else:
        with pytest.raises(errors.InvalidRequestError) as info:
            check_base_url(url)
        assert info.value.argument == "base_url"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("3", 3.0),
        ("0", 0.0),
        ("1.5", 1.5),
        (" 7 ", 7.0),
        ("-1", None),
        ("nan", None),
        ("inf", None),
        ("soon", None),
        ("Thu, 26 Nov 2026 12:00:30 GMT", 30.0),
        ("Thu, 26 Nov 2026 11:00:00 GMT", 0.0),
        ("Thu, 26 Nov 2026 12:00:30", None),
        ("", None),
    ],
)
def test_retry_after(header: str, expected: float | None) -> None:
    assert retry_after({"retry-after": header}, NOW) == expected


def test_retry_after_absent() -> None:
    assert retry_after({}, NOW) is None


SEED_ERRORS = [
    (401, "unauthorized_credentials", errors.UnauthorizedError),
    (403, "session_authorization_error", errors.ForbiddenError),
    (429, "too_many_requests", errors.RateLimitError),
    (500, "internal_server_error", errors.ServerError),
    (400, "active_scim_connection_exists", errors.ConnectionExistsError),
    (400, "invalid_scim_idp", errors.BadRequestError),
    (404, "organization_not_found", errors.NotFoundError),
    (409, "conflict", errors.APIStatusError),
    (503, "server_unavailable", errors.ServerError),
]


@pytest.mark.parametrize(("status", "error_type", "cls"), SEED_ERRORS)
def test_error_bodies_map_by_status(status: int, error_type: str, cls: type[Exception]) -> None:
    payload = {
        "status_code": status,
        "request_id": "request-id-test-b05c",
        "error_type": error_type,
        "error_message": "Something.",
        "error_url": f"https://stytch.com/docs/api/errors/{status}",
        "error_details": {"k": "v"},
    }
    error = error_from_response(status, {}, json.dumps(payload).encode(), NOW)
    assert type(error) is cls
    assert (error.status_code, error.request_id, error.error_type) == (
        status,
        "request-id-test-b05c",
        error_type,
    )
    assert error.error_url == f"https://stytch.com/docs/api/errors/{status}"
    assert error.error_details == {"k": "v"}
    assert error_type in str(error) and "request-id-test-b05c" in str(error)


def test_oauth_spellings_are_understood() -> None:
    payload = {"error": "invalid_client", "error_description": "Bad.", "error_uri": "https://e"}
    error = error_from_response(401, {"X-Request-Id": "rid"}, json.dumps(payload).encode(), NOW)
    assert (error.error_type, error.error_message, error.error_url, error.request_id) == (
        "invalid_client",
        "Bad.",
        "https://e",
        "rid",
    )


@pytest.mark.parametrize(
    "raw", [b"<html><body><h1>502 Bad Gateway</h1></body></html>", b"", b"[1, 2]", b"\xff\xfe"]
)
def test_non_json_error_bodies_still_give_a_server_error(raw: bytes) -> None:
    error = error_from_response(502, {}, raw, NOW)
    assert isinstance(error, errors.ServerError)
    assert error.status_code == 502
    assert error.body_excerpt == excerpt(raw)
    assert "502" in str(error)


def test_rate_limit_carries_retry_after() -> None:
    error = error_from_response(429, {"Retry-After": "2"}, b"{}", NOW)
    assert isinstance(error, errors.RateLimitError)
    assert error.retry_after == 2.0


def test_excerpt_is_short_single_line_and_secret_free() -> None:
    raw = b'{"connection": {"bearer_token": "9LmcAfUxGGMSNzfROGY762wTD3A6",\n'
    raw += b' "next_bearer_token": "Zq'
    text = excerpt(raw)
    assert "9LmcAf" not in text and "Zq" not in text
    assert "\n" not in text
    assert len(excerpt(b"x" * 10_000)) == 200


@pytest.mark.parametrize("wrapped", [False, True])
def test_parse_create_response(wrapped: bool) -> None:
    inner = {"request_id": "request-id-test-1", "status_code": 200, "connection": WITH_TOKEN}
    raw = json.dumps({"data": inner} if wrapped else inner).encode()
    response = parse_response(ENDPOINTS["create"], 200, {}, raw, NOW)
    assert isinstance(response, models.CreateConnectionResponse)
    connection = response.connection
    assert connection.bearer_token == WITH_TOKEN["bearer_token"]
    assert connection.bearer_token_expires_at == datetime(2029, 3, 20, 21, 28, 28, tzinfo=UTC)
    assert connection.bearer_token_expires_at.tzinfo is not None
    assert response.recovered is False
    assert WITH_TOKEN["bearer_token"] not in repr(response)
    assert WITH_TOKEN["bearer_token"] not in str(connection)


def test_parse_get_without_connection_and_unknown_keys() -> None:
    response = parse_response(
        ENDPOINTS["get"], 200, {}, body(connection=None, brand_new_field=1), NOW
    )
    assert response.connection is None
    response = parse_response(ENDPOINTS["get"], 200, {}, body(), NOW)
    assert response.connection is None


def test_parse_connection_defaults_missing_list_and_timestamps() -> None:
    minimal = {
        k: CONNECTION[k]
        for k in (
            "organization_id",
            "connection_id",
            "status",
            "display_name",
            "identity_provider",
            "base_url",
        )
    }
    response = parse_response(
        ENDPOINTS["update"],
        200,
        {},
        body(connection=minimal | {"next_bearer_token_expires_at": ""}),
        NOW,
    )
    assert response.connection.scim_group_implicit_role_assignments == ()
    assert response.connection.bearer_token_expires_at is None
    assert response.connection.next_bearer_token_expires_at is None
    assert not response.connection.rotating


def test_parse_naive_timestamp_is_taken_as_utc() -> None:
    response = parse_response(
        ENDPOINTS["get"],
        200,
        {},
        body(connection=CONNECTION | {"bearer_token_expires_at": "2029-03-20T21:28:28"}),
        NOW,
    )
    assert response.connection.bearer_token_expires_at.tzinfo is UTC


def test_a_byte_order_mark_before_a_success_body_is_tolerated() -> None:
    body = b"\xef\xbb\xbf" + json.dumps({"request_id": "r", "status_code": 200}).encode()
    parsed = parse_response(ENDPOINTS["get"], 200, {}, body)
    assert parsed.request_id == "r" and parsed.connection is None


def test_parse_groups() -> None:
    group = {"group_id": "g1", "group_name": "Eng", "organization_id": ORG, "connection_id": CID}
    raw = json.dumps({"status_code": 200, "scim_groups": [group], "next_cursor": None}).encode()
    page = parse_response(ENDPOINTS["get_groups"], 200, {}, raw, NOW)
    assert page.scim_groups == (models.SCIMGroup("g1", "Eng", ORG, CID),)
    assert page.next_cursor is None and page.request_id == ""


def test_parse_role_assignments_and_next_token() -> None:
    conn = CONNECTION | {
        "next_bearer_token": "nexttokennexttoken",
        "next_bearer_token_last_four": "oken",
        "scim_group_implicit_role_assignments": [
            {"role_id": "r", "group_id": "g", "group_name": "G"}
        ],
    }
    response = parse_response(ENDPOINTS["rotate_start"], 200, {}, body(connection=conn), NOW)
    assert response.connection.next_bearer_token == "nexttokennexttoken"
    assert response.connection.rotating
    assert response.connection.scim_group_implicit_role_assignments[0].group_name == "G"
    assert "nexttokennexttoken" not in repr(response)


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b"<html>502</html>", "not JSON"),
        (
            b'{"request_id": "r", "connection": {"organization_id": "o", "bearer_token": "9LmcAfUx',
            "not JSON",
        ),
        (b"[]", "expected a JSON object"),
        (b"\xff", "not JSON"),
        (body(connection={"organization_id": 5}), "$.connection"),
        (body(connection=WITH_TOKEN | {"bearer_token": 5}), "bearer_token"),
        (
            body(connection=WITH_TOKEN | {"bearer_token_expires_at": "tomorrow"}),
            "bearer_token_expires_at",
        ),
        (body(connection=WITH_TOKEN | {"scim_group_implicit_role_assignments": "x"}), "scim_group"),
        (body(connection=WITH_TOKEN | {"bearer_token_expires_at": 5}), "bearer_token_expires_at"),
        (json.dumps({"connection": WITH_TOKEN}).encode(), "request_id"),
        (body(connection=WITH_TOKEN, status_code=True), "status_code"),
    ],
)
def test_malformed_success_bodies_become_response_decode_errors(raw: bytes, problem: str) -> None:
    with pytest.raises(errors.ResponseDecodeError) as info:
        parse_response(ENDPOINTS["create"], 200, {"X-Request-Id": "rid-h"}, raw, NOW)
    error = info.value
    assert problem in error.problem
    assert error.status_code == 200
    # The parser's error (a JSONDecodeError's `doc` is the whole body, token included)
    # is neither its cause nor its context: nothing reachable from the error holds it.
    assert error.__cause__ is None
    assert error.__context__ is None
    assert "9LmcAfUx" not in str(error)
    assert "9LmcAfUx" not in repr(vars(error))
    assert error.request_id in ("rid-h", "r", "request-id-test-1")


def test_error_status_raises_from_parse_response() -> None:
    with pytest.raises(errors.ForbiddenError):
        parse_response(
            ENDPOINTS["get"], 403, {}, b'{"error_type": "session_authorization_error"}', NOW
        )
