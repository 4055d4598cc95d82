"""Fidelity contract: Stytch's own Python SDK runs against the served emulator.

All eight async SCIM connection methods of the official ``stytch`` package are
called over HTTP, and every answer is parsed by the SDK's own pydantic models, so
the emulator's JSON cannot drift from the shapes Stytch's SDK expects.

The SDK is pointed at the emulator through ``environment=``: any value other than
"test"/"live" is taken as the base URL verbatim (``custom_base_url`` insists on
HTTPS). Under aiohttp 3.14 the SDK's use of ``aiohttp.BasicAuth`` raises
DeprecationWarnings; this module ignores exactly those two messages.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from stytch import B2BClient
from stytch.b2b.models.scim_connection import CreateRequestIdentityProvider, CreateRequestOptions
from stytch.core.response_base import StytchError
from stytch.shared.method_options import Authorization

from stytch_scim_async.testing import Settings, StytchEmulator
from tests.support.emulator_api import ORG, OTHER_ORG

pytestmark = [
    pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:The 'auth' parameter is deprecated:DeprecationWarning"),
]


@pytest.fixture
async def stytch_client(stytch_emulator: StytchEmulator) -> AsyncIterator[Any]:
    emu = stytch_emulator
    async with B2BClient(emu.project_id, emu.secret, environment=emu.base_url + "/") as client:
        yield client


async def test_all_eight_methods_parse_with_the_sdk_models(
    stytch_emulator: StytchEmulator, stytch_client: Any
) -> None:
    emu = stytch_emulator
    scim = stytch_client.scim.connection

    created = await scim.create_async(
        ORG,
        display_name="Okta prod",
        identity_provider=CreateRequestIdentityProvider.MICROSOFTENTRA,
    )
    connection = created.connection
    cid = connection.connection_id
    assert created.status_code == 200 and created.request_id.startswith("request-id-test-")
    assert connection.bearer_token == emu.active_token(ORG)
    assert connection.bearer_token_expires_at is not None
    assert connection.bearer_token_expires_at.tzinfo is not None
    assert connection.base_url.endswith("?aadOptscim062020")

    got = await scim.get_async(ORG)
    assert got.connection.connection_id == cid
    assert got.connection.bearer_token_last_four == connection.bearer_token[-4:]
    assert got.connection.next_bearer_token_last_four == ""
    assert got.connection.next_bearer_token_expires_at is None

    group = emu.add_group(ORG, cid, "Engineering")
    emu.add_group(ORG, cid, "Sales")
    updated = await scim.update_async(
        ORG,
        cid,
        display_name="Okta (renamed)",
        identity_provider="okta",
        scim_group_implicit_role_assignments=[
            {"group_id": group["group_id"], "role_id": "stytch_admin"}
        ],
    )
    assert updated.connection.display_name == "Okta (renamed)"
    assignment = updated.connection.scim_group_implicit_role_assignments[0]
    assert (assignment.group_name, assignment.role_id) == ("Engineering", "stytch_admin")

    first = await scim.get_groups_async(ORG, cid, limit=1)
    assert [g.group_name for g in first.scim_groups] == ["Engineering"]
    rest = await scim.get_groups_async(ORG, cid, cursor=first.next_cursor, limit=1)
    assert [g.group_name for g in rest.scim_groups] == ["Sales"]
    assert rest.next_cursor is None

    started = await scim.rotate_start_async(ORG, cid)
    new_token = started.connection.next_bearer_token
    assert started.connection.next_bearer_token_expires_at is not None
    completed = await scim.rotate_complete_async(ORG, cid)
    assert completed.connection.bearer_token_last_four == new_token[-4:]
    assert emu.active_token(ORG) == new_token
    await scim.rotate_start_async(ORG, cid)
    cancelled = await scim.rotate_cancel_async(ORG, cid)
    assert cancelled.connection.next_bearer_token_last_four == ""
    assert emu.active_token(ORG) == new_token

    deleted = await scim.delete_async(ORG, cid)
    assert deleted.connection_id == cid
    assert (await scim.get_async(ORG)).connection is None


async def test_errors_parse_as_stytch_errors(
    stytch_emulator: StytchEmulator, stytch_client: Any
) -> None:
    scim = stytch_client.scim.connection
    await scim.create_async(ORG)
    with pytest.raises(StytchError) as duplicate:
        await scim.create_async(ORG)
    details = duplicate.value.details
    assert (details.status_code, details.error_type) == (400, "active_scim_connection_exists")
    assert details.error_url == "https://stytch.com/docs/api/errors/400"
    assert details.request_id.startswith("request-id-test-")

    stytch_emulator.script(fault="rate_limit", retry_after=1)
    with pytest.raises(StytchError) as limited:
        await scim.get_async(ORG)
    assert limited.value.details.error_type == "too_many_requests"


async def test_rbac_through_sdk_method_options(
    stytch_emulator: StytchEmulator, stytch_client: Any
) -> None:
    scim = stytch_client.scim.connection
    foreign = stytch_emulator.member_session(OTHER_ORG)
    options = CreateRequestOptions(authorization=Authorization(session_token=foreign))
    with pytest.raises(StytchError) as denied:
        await scim.create_async(ORG, method_options=options)
    assert denied.value.details.error_type == "session_authorization_tenancy_error"
    jwt = stytch_emulator.member_session_jwt(ORG)
    options = CreateRequestOptions(authorization=Authorization(session_jwt=jwt))
    created = await scim.create_async(ORG, method_options=options)
    assert created.connection.organization_id == ORG


async def test_organizations_search_parses_with_the_sdk_models(
    stytch_emulator: StytchEmulator, stytch_client: Any
) -> None:
    emu = stytch_emulator
    created = emu.add_connection(ORG, display_name="Okta prod")
    ids = [ORG, OTHER_ORG, *(f"organization-test-{n}" for n in range(3))]
    query = {
        "operator": "AND",
        "operands": [{"filter_name": "organization_ids", "filter_value": ids}],
    }
    organizations: list[Any] = []
    cursor = None
    pages = 0
    while True:
        page = await stytch_client.organizations.search_async(cursor=cursor, limit=2, query=query)
        assert page.status_code == 200 and page.results_metadata.total == len(ids)
        organizations += page.organizations
        pages += 1
        cursor = page.results_metadata.next_cursor
        if cursor is None:
            break
    assert pages == 3
    assert [org.organization_id for org in organizations] == ids
    with_connection, without = organizations[0], organizations[1]
    active = with_connection.scim_active_connection
    assert active.connection_id == created["connection_id"]
    assert active.display_name == "Okta prod"
    assert active.bearer_token_last_four == created["bearer_token"][-4:]
    assert active.bearer_token_expires_at is not None
    assert active.bearer_token_expires_at.tzinfo is not None
    assert without.scim_active_connection is None
    assert emu.stats.count("search_organizations", 200) == 3

    with pytest.raises(StytchError) as bad:
        await stytch_client.organizations.search_async(
            query={"operator": "AND", "operands": [{"filter_name": "nope", "filter_value": []}]}
        )
    assert bad.value.details.error_type == "organization_search_filter_name_not_recognized"


async def test_a_deleted_connection_from_get_parses_with_the_sdk_models(
    stytch_emulator: StytchEmulator, stytch_client: Any
) -> None:
    stytch_emulator.settings = Settings(get_returns_deleted=True)
    seeded = stytch_emulator.add_connection(ORG, status="deleted")
    got = await stytch_client.scim.connection.get_async(ORG)
    assert (got.connection.connection_id, got.connection.status) == (
        seeded["connection_id"],
        "deleted",
    )
