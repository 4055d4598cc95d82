"""Authentication, RBAC, the frontend-SDK routes and the control routes of the fake."""

from __future__ import annotations

import json

import pytest

from stytch_scim_async.testing import FakeStytch
from tests.support.emulator_api import ORG, OTHER_ORG, Api, backend_path, basic, error_of


@pytest.fixture
def api() -> Api:
    return Api(FakeStytch(seed=3))


@pytest.mark.parametrize(
    "authorization",
    [
        None,
        "Bearer abc",
        "Basic !!!not-base64!!!",
        "Basic " + "bm8tY29sb24=",  # "no-colon"
        "Basic //79",  # not UTF-8
        "wrong-secret",
    ],
)
def test_backend_rejects_bad_credentials(api: Api, authorization: str | None) -> None:
    if authorization == "wrong-secret":
        authorization = basic(api.fake.project_id, "secret-test-wrong")
    response = api.backend("POST", backend_path(ORG), {}, authorization=authorization)
    assert error_of(response) == (401, "unauthorized_credentials")
    assert response.json()["error_message"] == "Unauthorized credentials."
    assert api.fake.active_token(ORG) is None


def test_backend_accepts_equivalent_basic_spellings(api: Api) -> None:
    authorization = api.project_auth.replace("Basic", "basic")
    response = api.backend("POST", backend_path(ORG), {}, authorization=authorization)
    assert response.status == 200


def test_rbac_admin_session_is_allowed(api: Api) -> None:
    session = api.fake.member_session(ORG, admin=True)
    jwt = api.fake.member_session_jwt(ORG, admin=True)
    headers = {"X-Stytch-Member-Session": session, "X-Stytch-Member-SessionJWT": jwt}
    assert api.backend("POST", backend_path(ORG), {}, headers=headers).status == 200


@pytest.mark.parametrize("header", ["X-Stytch-Member-Session", "X-Stytch-Member-SessionJWT"])
def test_rbac_failures(api: Api, header: str) -> None:
    jwt = header.endswith("JWT")
    make = api.fake.member_session_jwt if jwt else api.fake.member_session
    cases = [
        (make(ORG, admin=False), (403, "session_authorization_error")),
        (make(OTHER_ORG, admin=True), (403, "session_authorization_tenancy_error")),
        ("unknown-session", (404, "session_not_found")),
    ]
    for value, expected in cases:
        response = api.backend("POST", backend_path(ORG), {}, headers={header: value})
        assert error_of(response) == expected
    assert api.fake.active_token(ORG) is None
    denied = api.backend("POST", backend_path(ORG), {}, headers={header: cases[0][0]})
    assert denied.json()["error_message"] == (
        "The Member is not authorized to perform the requested action on that resource."
    )


def test_rbac_ignores_empty_headers(api: Api) -> None:
    headers = {"X-Stytch-Member-Session": ""}
    assert api.backend("POST", backend_path(ORG), {}, headers=headers).status == 200


def test_session_jwts_look_like_jwts(api: Api) -> None:
    jwt = api.fake.member_session_jwt(ORG)
    assert jwt.count(".") == 2 and jwt.startswith("eyJ")


def test_sdk_routes_cover_the_whole_lifecycle(api: Api) -> None:
    fake = api.fake
    session = fake.member_session(ORG)
    created = api.sdk(
        "POST", "", {"display_name": "Okta", "identity_provider": "okta"}, session=session
    )
    assert created.status == 200
    assert set(created.json()) == {"data"}
    data = created.json()["data"]
    assert (data["status_code"], data["connection"]["organization_id"]) == (200, ORG)
    cid = data["connection"]["connection_id"]
    assert fake.active_token(ORG) == data["connection"]["bearer_token"]

    got = api.sdk("GET", "", session=session).json()["data"]
    assert got["connection"]["connection_id"] == cid
    updated = api.sdk("PUT", f"/{cid}", {"display_name": "renamed"}, session=session).json()
    assert updated["data"]["connection"]["display_name"] == "renamed"

    for n in range(3):
        fake.add_group(ORG, cid, f"g{n}")
    page = api.sdk("POST", "/groups", {"limit": 2}, session=session).json()["data"]
    assert [g["group_name"] for g in page["scim_groups"]] == ["g0", "g1"]
    rest = api.sdk("POST", "/groups", {"cursor": page["next_cursor"]}, session=session).json()
    assert [g["group_name"] for g in rest["data"]["scim_groups"]] == ["g2"]
    assert rest["data"]["next_cursor"] is None

    started = api.sdk("POST", "/rotate/start", {"connection_id": cid}, session=session).json()
    new = started["data"]["connection"]["next_bearer_token"]
    api.sdk("POST", "/rotate/complete", {"connection_id": cid}, session=session)
    assert fake.active_token(ORG) == new
    api.sdk("POST", "/rotate/start", {"connection_id": cid}, session=session)
    cancelled = api.sdk("POST", "/rotate/cancel", {"connection_id": cid}, session=session).json()
    assert cancelled["data"]["connection"]["next_bearer_token_last_four"] == ""

    deleted = api.sdk("DELETE", f"/{cid}", session=session).json()
    assert deleted["data"]["connection_id"] == cid
    assert fake.active_token(ORG) is None
    assert fake.stats.count("create", 200) == 1


def test_sdk_errors_are_not_wrapped(api: Api) -> None:
    session = api.fake.member_session(ORG)
    api.sdk("POST", "", {}, session=session)
    assert error_of(api.sdk("POST", "", {}, session=session)) == (
        400,
        "active_scim_connection_exists",
    )


def test_sdk_session_may_be_a_jwt(api: Api) -> None:
    jwt = api.fake.member_session_jwt(ORG)
    assert api.sdk("POST", "", {}, session=jwt).status == 200


def test_sdk_rejects_unknown_sessions_and_tokens(api: Api) -> None:
    session = api.fake.member_session(ORG)
    assert error_of(api.sdk("GET", "", session="nope")) == (401, "unauthorized_credentials")
    wrong = api.sdk("GET", "", session=session, public_token="public-token-test-wrong")
    assert error_of(wrong) == (401, "unauthorized_credentials")
    no_auth = api.fake.handle("GET", "/sdk/v1/b2b/scim", {}, {}, b"")
    assert error_of(no_auth) == (401, "unauthorized_credentials")


def test_sdk_requires_an_admin(api: Api) -> None:
    session = api.fake.member_session(ORG, admin=False)
    assert error_of(api.sdk("POST", "", {}, session=session)) == (
        403,
        "session_authorization_error",
    )


@pytest.mark.parametrize("limit", [True, 2.5, "1001", -3])
def test_sdk_groups_validate_the_limit(api: Api, limit: object) -> None:
    session = api.fake.member_session(ORG)
    api.sdk("POST", "", {}, session=session)
    response = api.sdk("POST", "/groups", {"limit": limit}, session=session)
    assert error_of(response) == (400, "bad_request")


def test_sdk_groups_need_a_connection(api: Api) -> None:
    session = api.fake.member_session(ORG)
    response = api.sdk("POST", "/groups", {}, session=session)
    assert error_of(response) == (400, "no_active_scim_connection")


@pytest.mark.parametrize("body", [{}, {"connection_id": ""}, {"connection_id": 5}])
def test_sdk_rotation_needs_a_connection_id(api: Api, body: dict[str, object]) -> None:
    session = api.fake.member_session(ORG)
    assert error_of(api.sdk("POST", "/rotate/start", body, session=session)) == (400, "bad_request")


def test_sdk_cannot_reach_another_orgs_connection(api: Api) -> None:
    other = api.created(OTHER_ORG)["connection_id"]
    session = api.fake.member_session(ORG)
    response = api.sdk("DELETE", f"/{other}", session=session)
    assert error_of(response) == (400, "no_active_scim_connection")
    assert api.fake.active_token(OTHER_ORG) is not None


def _control(api: Api, method: str, path: str, body: bytes = b"") -> tuple[int, object]:
    response = api.fake.handle(method, path, {}, {}, body)
    return response.status, json.loads(response.body)


def test_control_routes(api: Api) -> None:
    created = api.created()
    status, stats = _control(api, "GET", "/_stats")
    assert status == 200 and isinstance(stats, dict)
    assert stats["creates_committed"] == 1
    assert _control(api, "GET", "/_tokens") == (200, {ORG: created["bearer_token"]})
    status, session = _control(api, "POST", "/_sessions", b'{"organization_id": "org-x"}')
    assert status == 200 and isinstance(session, dict)
    assert set(session) == {"organization_id", "member_id", "session_token", "session_jwt", "admin"}
    assert session["admin"] is True
    assert api.sdk("GET", "", session=str(session["session_token"])).status == 200
    status, nonadmin = _control(
        api, "POST", "/_sessions", b'{"organization_id": "o", "admin": false}'
    )
    assert isinstance(nonadmin, dict) and nonadmin["admin"] is False
    assert _control(api, "POST", "/_reset") == (200, {"reset": True})
    assert api.fake.active_token(ORG) is None
    assert api.fake.stats.total_requests == 0


@pytest.mark.parametrize("body", [b"{", b"[]", b"{}", b'{"organization_id": ""}'])
def test_control_sessions_validate(api: Api, body: bytes) -> None:
    status, error = _control(api, "POST", "/_sessions", body)
    assert status == 400 and isinstance(error, dict) and error["error_type"] == "bad_request"


@pytest.mark.parametrize(
    ("method", "path"), [("GET", "/_nope"), ("POST", "/_stats"), ("GET", "/_reset")]
)
def test_unknown_control_routes(api: Api, method: str, path: str) -> None:
    status, error = _control(api, method, path)
    assert status == 404 and isinstance(error, dict) and error["error_type"] == "route_not_found"
    assert api.fake.stats.total_requests == 0
