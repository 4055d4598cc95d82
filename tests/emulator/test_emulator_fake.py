"""The pure fake: routes, shapes, validation, pagination and state, without sockets."""

from __future__ import annotations

import re
from typing import Any

import pytest
from stytch.b2b.models.scim import (
    SCIMConnection,
    SCIMConnectionWithNextToken,
    SCIMConnectionWithToken,
)

from stytch_scim_async.testing import FakeStytch
from tests.support.emulator_api import (
    ORG,
    Api,
    assert_official_shape,
    backend_path,
    error_of,
)

UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"
TIMESTAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ"


@pytest.fixture
def fake() -> FakeStytch:
    return FakeStytch(seed=0, base_url="https://emulator.test/", clock=lambda: 1_700_000_000.0)


@pytest.fixture
def api(fake: FakeStytch) -> Api:
    return Api(fake)


def test_credentials_have_stytch_shapes(fake: FakeStytch) -> None:
    assert re.fullmatch(f"project-test-{UUID}", fake.project_id)
    assert re.fullmatch("secret-test-[A-Za-z0-9]{36}", fake.secret)
    assert re.fullmatch(f"public-token-test-{UUID}", fake.public_token)
    assert fake.base_url == "https://emulator.test"


def test_create_returns_connection_with_token(api: Api, fake: FakeStytch) -> None:
    response = api.create(display_name="Okta prod", identity_provider="okta")
    assert response.status == 200
    assert response.content_type == "application/json"
    assert response.action == "respond"
    body = response.json()
    assert re.fullmatch(f"request-id-test-{UUID}", body["request_id"])
    assert body["status_code"] == 200
    connection = body["connection"]
    assert_official_shape(connection, SCIMConnectionWithToken)
    assert re.fullmatch(f"scim-connection-test-{UUID}", connection["connection_id"])
    assert re.fullmatch("[A-Za-z0-9]{48}", connection["bearer_token"])
    assert connection["bearer_token_expires_at"] == "2027-11-13T22:13:20Z"
    assert connection["organization_id"] == ORG
    assert connection["status"] == "active"
    assert connection["display_name"] == "Okta prod"
    assert connection["identity_provider"] == "okta"
    assert connection["scim_group_implicit_role_assignments"] == []
    cid = connection["connection_id"]
    assert connection["base_url"] == f"https://emulator.test/v1/b2b/scim/{cid}"
    assert fake.active_token(ORG) == connection["bearer_token"]
    assert fake.tokens() == {ORG: connection["bearer_token"]}
    assert fake.stats.creates_committed == 1


def test_create_defaults_display_name_and_identity_provider(api: Api) -> None:
    connection = api.created()
    assert connection["display_name"] == ""
    assert connection["identity_provider"] == "generic"


def test_microsoft_entra_base_url_gets_the_compliance_flag(api: Api) -> None:
    connection = api.created(identity_provider="microsoft-entra")
    assert connection["base_url"].endswith(f"/{connection['connection_id']}?aadOptscim062020")


def test_second_create_is_a_duplicate(api: Api, fake: FakeStytch) -> None:
    api.created()
    assert error_of(api.create()) == (400, "active_scim_connection_exists")
    assert (fake.stats.creates_committed, fake.stats.duplicates) == (1, 1)


@pytest.mark.parametrize(
    ("body", "error_type"),
    [
        ({"identity_provider": "myspace"}, "invalid_scim_idp"),
        ({"display_name": ""}, "invalid_display_name"),
        ({"display_name": "   "}, "invalid_display_name"),
        ({"display_name": 7}, "bad_request"),
        ({"identity_provider": ["okta"]}, "bad_request"),
    ],
)
def test_create_validates(api: Api, body: dict[str, Any], error_type: str) -> None:
    assert error_of(api.create(**body)) == (400, error_type)
    assert api.fake.active_token(ORG) is None


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b"\xff\xfe"])
def test_malformed_bodies_are_bad_requests(api: Api, raw: bytes) -> None:
    assert error_of(api.backend("POST", backend_path(ORG), raw)) == (400, "bad_request")


def test_get_without_connection_omits_it(api: Api) -> None:
    body = api.backend("GET", backend_path(ORG)).json()
    assert body.get("connection") is None  # official schemas mark it optional


def test_get_returns_the_connection_view(api: Api) -> None:
    created = api.created(display_name="x")
    body = api.backend("GET", backend_path(ORG), query={"organization_id": ORG}).json()
    connection = body["connection"]
    assert_official_shape(connection, SCIMConnection)
    assert connection["bearer_token_last_four"] == created["bearer_token"][-4:]
    assert connection["next_bearer_token_last_four"] == ""
    assert re.fullmatch(TIMESTAMP, connection["bearer_token_expires_at"])


def test_update_changes_only_given_fields(api: Api) -> None:
    cid = api.created(display_name="before", identity_provider="okta")["connection_id"]
    response = api.backend("PUT", backend_path(ORG, cid), {"display_name": "after"})
    assert response.status == 200
    connection = response.json()["connection"]
    assert (connection["display_name"], connection["identity_provider"]) == ("after", "okta")
    response = api.backend("PUT", backend_path(ORG, cid), {"identity_provider": "microsoft-entra"})
    connection = response.json()["connection"]
    assert connection["identity_provider"] == "microsoft-entra"
    assert connection["base_url"].endswith("?aadOptscim062020")
    assert connection["display_name"] == "after"


def test_update_sets_role_assignments_with_group_names(api: Api, fake: FakeStytch) -> None:
    cid = api.created()["connection_id"]
    group = fake.add_group(ORG, cid, "Engineering")
    assignments = [{"group_id": group["group_id"], "role_id": "stytch_admin"}]
    response = api.backend(
        "PUT", backend_path(ORG, cid), {"scim_group_implicit_role_assignments": assignments}
    )
    expected = [
        {"role_id": "stytch_admin", "group_id": group["group_id"], "group_name": "Engineering"}
    ]
    assert response.json()["connection"]["scim_group_implicit_role_assignments"] == expected
    assert (
        api.backend("GET", backend_path(ORG)).json()["connection"][
            "scim_group_implicit_role_assignments"
        ]
        == expected
    )
    cleared = api.backend(
        "PUT", backend_path(ORG, cid), {"scim_group_implicit_role_assignments": []}
    )
    assert cleared.json()["connection"]["scim_group_implicit_role_assignments"] == []


@pytest.mark.parametrize(
    ("assignments", "error_type"),
    [
        ([{"role_id": "r"}], "scim_group_role_assignment_does_not_contain_group_id"),
        (
            [{"group_id": "", "role_id": "r"}],
            "scim_group_role_assignment_does_not_contain_group_id",
        ),
        (
            [{"group_id": "scim-group-test-nope", "role_id": "r"}],
            "scim_group_role_assignment_group_does_not_exist",
        ),
        ([{"group_id": "GROUP"}], "bad_request"),
        (["GROUP"], "bad_request"),
        ({"group_id": "GROUP"}, "bad_request"),
    ],
)
def test_update_validates_role_assignments(
    api: Api, fake: FakeStytch, assignments: Any, error_type: str
) -> None:
    cid = api.created()["connection_id"]
    group_id = fake.add_group(ORG, cid, "g")["group_id"]
    if isinstance(assignments, list) and assignments and isinstance(assignments[0], dict):
        assignments = [
            {k: group_id if v == "GROUP" else v for k, v in item.items()} for item in assignments
        ]
    body = {"scim_group_implicit_role_assignments": assignments}
    assert error_of(api.backend("PUT", backend_path(ORG, cid), body)) == (400, error_type)


def test_update_validates_display_name_and_idp(api: Api) -> None:
    cid = api.created()["connection_id"]
    path = backend_path(ORG, cid)
    assert error_of(api.backend("PUT", path, {"display_name": ""})) == (400, "invalid_display_name")
    assert error_of(api.backend("PUT", path, {"identity_provider": "x"})) == (
        400,
        "invalid_scim_idp",
    )


@pytest.mark.parametrize(
    ("method", "suffix"),
    [
        ("PUT", ()),
        ("DELETE", ()),
        ("GET", ()),
        ("POST", ("rotate", "start")),
        ("POST", ("rotate", "complete")),
        ("POST", ("rotate", "cancel")),
    ],
)
def test_connection_routes_need_the_active_connection(
    api: Api, method: str, suffix: tuple[str, ...]
) -> None:
    path = backend_path(ORG, "scim-connection-test-unknown", *suffix)
    assert error_of(api.backend(method, path)) == (400, "no_active_scim_connection")
    api.created()
    assert error_of(api.backend(method, path)) == (400, "no_active_scim_connection")


def test_delete_marks_deleted_and_allows_a_new_connection(api: Api, fake: FakeStytch) -> None:
    cid = api.created()["connection_id"]
    response = api.backend("DELETE", backend_path(ORG, cid))
    assert response.status == 200
    assert set(response.json()) == {"request_id", "status_code", "connection_id"}
    assert response.json()["connection_id"] == cid
    assert fake.state.connections[cid].status == "deleted"
    assert "connection" not in api.backend("GET", backend_path(ORG)).json()
    assert fake.active_token(ORG) is None
    assert error_of(api.backend("DELETE", backend_path(ORG, cid))) == (
        400,
        "no_active_scim_connection",
    )
    assert api.created()["connection_id"] != cid
    assert fake.stats.deletes_committed == 1


def test_rotation_start_complete(api: Api, fake: FakeStytch) -> None:
    created = api.created()
    cid, old = created["connection_id"], created["bearer_token"]
    started = api.backend("POST", backend_path(ORG, cid, "rotate", "start"), {}).json()
    connection = started["connection"]
    assert_official_shape(connection, SCIMConnectionWithNextToken)
    assert "next_bearer_token_last_four" not in connection  # no official schema has it
    new = connection["next_bearer_token"]
    assert re.fullmatch("[A-Za-z0-9]{48}", new) and new != old
    assert connection["bearer_token_last_four"] == old[-4:]
    assert re.fullmatch(TIMESTAMP, connection["next_bearer_token_expires_at"])
    assert fake.active_token(ORG) == old
    viewed = api.backend("GET", backend_path(ORG)).json()["connection"]
    assert viewed["next_bearer_token_last_four"] == new[-4:]
    assert re.fullmatch(TIMESTAMP, viewed["next_bearer_token_expires_at"])
    completed = api.backend("POST", backend_path(ORG, cid, "rotate", "complete"))
    connection = completed.json()["connection"]
    assert_official_shape(connection, SCIMConnection)
    assert connection["bearer_token_last_four"] == new[-4:]
    assert connection["next_bearer_token_last_four"] == ""
    assert fake.active_token(ORG) == new
    assert (fake.stats.rotations_started, fake.stats.rotations_completed) == (1, 1)


def test_rotation_cancel_keeps_the_old_token(api: Api, fake: FakeStytch) -> None:
    created = api.created()
    cid = created["connection_id"]
    first = api.backend("POST", backend_path(ORG, cid, "rotate", "start")).json()
    second = api.backend("POST", backend_path(ORG, cid, "rotate", "start")).json()
    assert first["connection"]["next_bearer_token"] != second["connection"]["next_bearer_token"]
    cancelled = api.backend("POST", backend_path(ORG, cid, "rotate", "cancel")).json()
    assert cancelled["connection"]["next_bearer_token_last_four"] == ""
    assert fake.active_token(ORG) == created["bearer_token"]
    assert fake.stats.rotations_cancelled == 1


@pytest.mark.parametrize("phase", ["complete", "cancel"])
def test_complete_or_cancel_without_rotation(api: Api, phase: str) -> None:
    cid = api.created()["connection_id"]
    response = api.backend("POST", backend_path(ORG, cid, "rotate", phase))
    assert error_of(response) == (400, "scim_connection_not_rotating_token")


def test_groups_paginate_with_opaque_cursors(api: Api, fake: FakeStytch) -> None:
    cid = api.created()["connection_id"]
    names = [f"group-{n}" for n in range(5)]
    for name in names:
        fake.add_group(ORG, cid, name)
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        query = {"limit": "2"} if cursor is None else {"limit": "2", "cursor": cursor}
        body = api.backend("GET", backend_path(ORG, cid), query=query).json()
        pages += 1
        for group in body["scim_groups"]:
            assert set(group) == {"group_id", "group_name", "organization_id", "connection_id"}
            assert (group["organization_id"], group["connection_id"]) == (ORG, cid)
            seen.append(group["group_name"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
        assert cursor.endswith("=")
    assert (seen, pages) == (names, 3)


def test_groups_default_and_maximum_limit(api: Api, fake: FakeStytch) -> None:
    cid = api.created()["connection_id"]
    for n in range(150):
        fake.add_group(ORG, cid, f"g{n}")
    path = backend_path(ORG, cid)
    assert len(api.backend("GET", path).json()["scim_groups"]) == 100
    assert len(api.backend("GET", path, query={"limit": "0"}).json()["scim_groups"]) == 100
    assert len(api.backend("GET", path, query={"limit": ""}).json()["scim_groups"]) == 100
    whole = api.backend("GET", path, query={"limit": "1000"}).json()
    assert (len(whole["scim_groups"]), whole["next_cursor"]) == (150, None)


@pytest.mark.parametrize(
    "query",
    [
        {"limit": "1001"},
        {"limit": "-1"},
        {"limit": "ten"},
        {"limit": "²"},
        {"cursor": "not base64!"},
        {"cursor": "aGVsbG86MQ=="},
        {"cursor": "//79"},
    ],
)
def test_groups_reject_bad_paging(api: Api, query: dict[str, str]) -> None:
    cid = api.created()["connection_id"]
    assert error_of(api.backend("GET", backend_path(ORG, cid), query=query)) == (400, "bad_request")


def test_last_page_cursor_is_configurable() -> None:
    api = Api(FakeStytch(last_page_cursor=""))
    cid = api.created()["connection_id"]
    body = api.backend("GET", backend_path(ORG, cid)).json()
    assert (body["scim_groups"], body["next_cursor"]) == ([], "")


def test_path_parameters_are_percent_decoded(api: Api) -> None:
    connection = api.created("org/with slash+plus")
    assert connection["organization_id"] == "org/with slash+plus"
    assert api.fake.active_token("org/with slash+plus") == connection["bearer_token"]


def test_empty_organization_id_is_invalid(api: Api) -> None:
    assert error_of(api.backend("POST", "/v1/b2b/scim//connection")) == (
        400,
        "invalid_organization_id",
    )


def test_strict_organizations() -> None:
    api = Api(FakeStytch(strict_organizations=True))
    assert error_of(api.create()) == (404, "organization_not_found")
    api.fake.add_organization(ORG)
    assert api.create().status == 200
    with pytest.raises(ValueError, match="must not be empty"):
        api.fake.add_organization("")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/"),
        ("GET", "/v1/b2b/scim"),
        ("GET", "/v1/b2b/scim/org/connections"),
        ("PATCH", "/v1/b2b/scim/org/connection"),
        ("POST", "/v1/b2b/scim/org/connection/cid"),
        ("POST", "/v1/b2b/scim/org/connection/cid/rotate/restart"),
        ("GET", "/v1/b2b/scim/org/connection/cid/rotate/start"),
        ("POST", "/v1/b2b/scim/org/connection/cid/rotate"),
        ("GET", "/v2/b2b/scim/org/connection"),
        ("PATCH", "/sdk/v1/b2b/scim"),
        ("GET", "/sdk/v1/b2b/scim/groups"),
        ("POST", "/sdk/v1/b2b/scim/cid"),
        ("POST", "/sdk/v1/b2b/scim/rotate/restart"),
        ("POST", "/sdk/v1/b2b/scim/other/start"),
        ("POST", "/sdk/v1/b2b/scim/a/b/c"),
        ("GET", "v1/b2b/scim/org/connection"),
    ],
)
def test_unknown_routes(api: Api, method: str, path: str) -> None:
    assert error_of(api.backend(method, path)) == (404, "route_not_found")
    assert api.fake.stats.requests[("unknown", 404)] == 1


def test_add_connection_and_add_group_helpers(fake: FakeStytch) -> None:
    connection = fake.add_connection(ORG, display_name="seeded", identity_provider="okta")
    assert_official_shape(connection, SCIMConnectionWithToken)
    assert fake.active_token(ORG) == connection["bearer_token"]
    with pytest.raises(ValueError, match="active_scim_connection_exists"):
        fake.add_connection(ORG)
    with pytest.raises(KeyError):
        fake.add_group(ORG, "scim-connection-test-nope", "g")
    with pytest.raises(KeyError):
        fake.add_group("organization-test-other", connection["connection_id"], "g")


def test_same_seed_same_answers() -> None:
    def run(seed: int) -> list[bytes]:
        api = Api(FakeStytch(seed=seed, clock=lambda: 0.0))
        bodies = [api.create(f"org-{n}").body for n in range(3)]
        session = api.fake.member_session("org-0")
        bodies.append(api.sdk("GET", "", session=session).body)
        return bodies

    assert run(7) == run(7)
    assert run(7) != run(8)


def test_reset_forgets_state_but_keeps_credentials(api: Api, fake: FakeStytch) -> None:
    project_id, secret = fake.project_id, fake.secret
    first = api.created()
    session = fake.member_session(ORG)
    fake.reset()
    assert (fake.project_id, fake.secret) == (project_id, secret)
    assert fake.active_token(ORG) is None
    assert fake.stats.total_requests == 0
    assert not fake.request_log
    assert session not in fake.state.sessions
    assert api.created() == first


def test_stats_and_request_log(api: Api, fake: FakeStytch) -> None:
    api.created()
    api.create()
    api.backend("GET", backend_path(ORG))
    assert fake.stats.count("create") == 2
    assert fake.stats.count("create", 400) == 1
    assert fake.stats.total_requests == 3
    assert fake.stats.to_dict() == {
        "requests": {"create": {"200": 1, "400": 1}, "get": {"200": 1}},
        "total_requests": 3,
        "creates_committed": 1,
        "duplicates": 1,
        "deletes_committed": 0,
        "rotations_started": 0,
        "rotations_completed": 0,
        "rotations_cancelled": 0,
        "faults": {},
    }
    assert [tuple(entry) for entry in fake.request_log] == [
        ("POST", "create", ORG, 200, None),
        ("POST", "create", ORG, 400, None),
        ("GET", "get", ORG, 200, None),
    ]


def test_request_log_is_bounded() -> None:
    api = Api(FakeStytch(request_log_size=2))
    for n in range(5):
        api.create(f"org-{n}")
    assert [entry.organization_id for entry in api.fake.request_log] == ["org-3", "org-4"]


def test_json_bytes_writes_what_json_dumps_writes() -> None:
    import json

    from stytch_scim_async.testing._wire import json_bytes

    values: list[object] = [
        {"request_id": "r", "status_code": 200, "connection": {"display_name": 'Ünïcode ☃ "q"'}},
        [1, 2.5, None, True, False, float("nan"), float("inf"), -0.0, 10**30],
        "a string",
        {"nested": [{"a": []}, {}], "": "empty key"},
    ]
    for value in values:
        assert json_bytes(value) == json.dumps(value, separators=(",", ":")).encode()
    with pytest.raises(TypeError):
        json_bytes({"not json": object()})
    assert json_bytes({"after": "a failure"}) == b'{"after":"a failure"}'
