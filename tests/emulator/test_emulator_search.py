"""The organizations search: who has a SCIM connection, paging, errors, faults."""

from __future__ import annotations

from typing import Any

import pytest
from stytch.b2b.models.organizations import Organization

from stytch_scim_async.testing import FakeStytch
from tests.support.emulator_api import (
    ORG,
    OTHER_ORG,
    Api,
    assert_official_shape,
    backend_path,
    basic,
    error_of,
)

SEARCH = "/v1/b2b/organizations/search"


def by_ids(*ids: str, operator: str = "AND", **body: Any) -> dict[str, Any]:
    operands = [{"filter_name": "organization_ids", "filter_value": list(ids)}]
    return {"query": {"operator": operator, "operands": operands}, **body}


@pytest.fixture
def api() -> Api:
    return Api(FakeStytch(seed=0, base_url="https://emulator.test", clock=lambda: 1.7e9))


def test_search_tells_which_organizations_have_an_active_connection(api: Api) -> None:
    created = api.created(ORG, display_name="Okta prod")
    response = api.search(by_ids(ORG, OTHER_ORG))
    assert response.status == 200
    body = response.json()
    assert body["status_code"] == 200
    assert body["request_id"].startswith("request-id-test-")
    organizations = {org["organization_id"]: org for org in body["organizations"]}
    for org in body["organizations"]:
        assert_official_shape(org, Organization)
    assert organizations[ORG]["scim_active_connection"] == {
        "connection_id": created["connection_id"],
        "display_name": "Okta prod",
        "bearer_token_last_four": created["bearer_token"][-4:],
        "bearer_token_expires_at": created["bearer_token_expires_at"],
    }
    # Lenient organizations: any id exists on first use, without a connection.
    assert organizations[OTHER_ORG]["scim_active_connection"] is None
    assert body["results_metadata"] == {"total": 2, "next_cursor": None}
    assert api.fake.stats.count("search_organizations", 200) == 1


def test_a_deleted_connection_is_not_active(api: Api) -> None:
    cid = api.created(ORG)["connection_id"]
    assert api.backend("DELETE", backend_path(ORG, cid)).status == 200
    [org] = api.search(by_ids(ORG)).json()["organizations"]
    assert org["scim_active_connection"] is None


def test_strict_organizations_leave_unknown_ids_out() -> None:
    api = Api(FakeStytch(strict_organizations=True))
    api.fake.add_organization(ORG)
    body = api.search(by_ids(ORG, OTHER_ORG)).json()
    assert [org["organization_id"] for org in body["organizations"]] == [ORG]
    assert body["results_metadata"]["total"] == 1
    assert OTHER_ORG not in api.fake.state.organizations


def test_paging_walks_every_match_once(api: Api) -> None:
    ids = [f"organization-test-{n:03d}" for n in range(7)]
    seen: list[str] = []
    cursor: str | None = None
    pages = 0
    while True:
        body = by_ids(*ids, limit=3) if cursor is None else by_ids(*ids, limit=3, cursor=cursor)
        answer = api.search(body).json()
        assert answer["results_metadata"]["total"] == 7
        seen += [org["organization_id"] for org in answer["organizations"]]
        pages += 1
        cursor = answer["results_metadata"]["next_cursor"]
        if cursor is None:
            break
    assert (seen, pages) == (ids, 3)


def test_default_limit_is_100_and_no_query_means_every_organization(api: Api) -> None:
    for n in range(120):
        api.fake.add_organization(f"organization-test-{n:03d}")
    body = api.search({}).json()
    assert len(body["organizations"]) == 100
    assert body["results_metadata"]["total"] == 120
    assert body["results_metadata"]["next_cursor"] is not None
    no_operands = api.search({"query": {"operator": "AND", "operands": []}, "limit": 1000})
    assert len(no_operands.json()["organizations"]) == 120


def test_and_intersects_or_unites(api: Api) -> None:
    api.fake.add_organization(ORG, slug="acme")
    api.fake.add_organization(OTHER_ORG, slug="globex")
    ids = {"filter_name": "organization_ids", "filter_value": [ORG, OTHER_ORG]}
    slugs = {"filter_name": "organization_slugs", "filter_value": ["acme"]}
    both = api.search({"query": {"operator": "AND", "operands": [ids, slugs]}}).json()
    assert [org["organization_slug"] for org in both["organizations"]] == ["acme"]
    either = api.search({"query": {"operator": "OR", "operands": [slugs, ids]}}).json()
    assert [org["organization_id"] for org in either["organizations"]] == [ORG, OTHER_ORG]


@pytest.mark.parametrize(
    ("body", "error_type"),
    [
        ({"limit": 0}, "bad_request"),
        ({"limit": 1001}, "bad_request"),
        ({"limit": "10"}, "bad_request"),
        ({"limit": True}, "bad_request"),
        ({"cursor": "not-a-cursor"}, "user_search_invalid_cursor"),
        ({"cursor": 5}, "user_search_invalid_cursor"),
        ({"query": {"operator": "XOR", "operands": []}}, "bad_request"),
        ({"query": {"operands": []}}, "bad_request"),
        ({"query": "organization_ids"}, "bad_request"),
        (
            {"query": {"operator": "AND", "operands": [{"filter_name": "member_emails"}]}},
            "organization_search_filter_name_not_recognized",
        ),
        (
            {
                "query": {
                    "operator": "AND",
                    "operands": [{"filter_name": "organization_ids", "filter_value": ORG}],
                }
            },
            "organization_search_expected_array_of_strings",
        ),
        (
            {
                "query": {
                    "operator": "AND",
                    "operands": [{"filter_name": "organization_ids", "filter_value": [1]}],
                }
            },
            "organization_search_expected_array_of_strings",
        ),
    ],
)
def test_search_errors(api: Api, body: dict[str, Any], error_type: str) -> None:
    assert error_of(api.search(body)) == (400, error_type)
    assert api.fake.stats.count("search_organizations", 400) == 1


def test_search_needs_project_credentials(api: Api) -> None:
    session = api.fake.member_session(ORG)
    wrong = basic(api.fake.public_token, session)
    assert error_of(api.search({}, authorization=wrong)) == (401, "unauthorized_credentials")
    assert error_of(api.search({}, authorization=None)) == (401, "unauthorized_credentials")
    other_method = api.backend("GET", SEARCH)
    assert error_of(other_method) == (404, "route_not_found")


def test_search_is_subject_to_fault_injection(api: Api) -> None:
    api.fake.script(fault="500_before_commit", route="search_organizations")
    assert error_of(api.search(by_ids(ORG))) == (500, "internal_server_error")
    api.fake.script(fault="drop_after_commit", route="search_organizations")
    assert api.search(by_ids(ORG)).action == "drop"
    assert api.search(by_ids(ORG)).status == 200
    stats = api.fake.stats
    assert (stats.count("search_organizations", 500), stats.count("search_organizations", 0)) == (
        1,
        1,
    )
    assert stats.faults == {"500_before_commit": 1, "drop_after_commit": 1}
    # A search commits nothing: no create, no duplicate is counted.
    assert (stats.creates_committed, stats.duplicates) == (0, 0)
