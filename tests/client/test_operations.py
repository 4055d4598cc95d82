"""Every operation over real HTTP on 127.0.0.1 against the emulator, in both modes."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

import stytch_scim_async as scim
from stytch_scim_async.testing import StytchEmulator

#: The one module that runs every operation through the fixtures over real HTTP (the
#: others reach the same emulator through the memory transport).
pytestmark = pytest.mark.over_http

ORG = "organization-test-ops"


async def test_project_mode_lifecycle(client: scim.SCIMClient, emulator: StytchEmulator) -> None:
    created = await client.create_connection(
        ORG, display_name="Okta prod", identity_provider=scim.IdentityProvider.OKTA
    )
    assert created.status_code == 200
    assert created.request_id.startswith("request-id-test-")
    connection = created.connection
    assert connection.bearer_token == emulator.active_token(ORG)
    assert connection.bearer_token_expires_at is not None
    assert connection.bearer_token_expires_at.tzinfo is not None
    assert connection.bearer_token not in repr(created)

    got = await client.get_connection(ORG)
    assert got.connection is not None
    assert got.connection.connection_id == connection.connection_id
    assert got.connection.bearer_token_last_four == connection.bearer_token[-4:]

    cid = connection.connection_id
    group = emulator.add_group(ORG, cid, "Engineering")
    updated = await client.update_connection(
        ORG,
        cid,
        display_name="Okta (prod)",
        role_assignments=[scim.RoleAssignment(group_id=group["group_id"], role_id="stytch_admin")],
    )
    assert updated.connection.display_name == "Okta (prod)"
    assignment = updated.connection.scim_group_implicit_role_assignments[0]
    assert (assignment.group_id, assignment.role_id) == (group["group_id"], "stytch_admin")

    started = await client.rotate_start(ORG, cid)
    assert started.connection.rotating
    assert emulator.active_token(ORG) == connection.bearer_token
    completed = await client.rotate_complete(ORG, cid)
    assert not completed.connection.rotating
    assert emulator.active_token(ORG) == started.connection.next_bearer_token

    await client.rotate_start(ORG, cid)
    cancelled = await client.rotate_cancel(ORG, cid)
    assert not cancelled.connection.rotating
    assert emulator.active_token(ORG) == started.connection.next_bearer_token

    deleted = await client.delete_connection(ORG, cid)
    assert deleted.connection_id == cid
    assert (await client.get_connection(ORG)).connection is None
    assert emulator.active_token(ORG) is None


async def test_groups_pages_and_iteration(
    client: scim.SCIMClient, emulator: StytchEmulator
) -> None:
    cid = (await client.create_connection(ORG, display_name="g")).connection.connection_id
    names = [f"group-{i:02d}" for i in range(7)]
    for name in names:
        emulator.add_group(ORG, cid, name)
    page = await client.get_groups(ORG, cid, limit=3)
    assert [g.group_name for g in page.scim_groups] == names[:3]
    assert page.next_cursor
    second = await client.get_groups(ORG, cid, cursor=page.next_cursor, limit=3)
    assert [g.group_name for g in second.scim_groups] == names[3:6]
    assert [g.group_name async for g in client.iter_groups(ORG, cid, limit=2)] == names
    assert emulator.stats.count("get_groups") == 2 + 4


async def test_member_mode_lifecycle(
    member: scim.MemberSCIMClient, emulator: StytchEmulator
) -> None:
    created = await member.create_connection(
        display_name="Entra", identity_provider="microsoft-entra"
    )
    assert created.connection.organization_id == "organization-test-member"
    assert created.connection.base_url.endswith("?aadOptscim062020")
    assert created.connection.bearer_token == emulator.active_token("organization-test-member")
    cid = created.connection.connection_id
    assert (await member.get_connection()).connection is not None
    assert (await member.update_connection(cid, display_name="E2")).connection.display_name == "E2"
    started = await member.rotate_start(cid)
    await member.rotate_complete(cid)
    assert emulator.active_token("organization-test-member") == started.connection.next_bearer_token
    await member.rotate_start(cid)
    assert not (await member.rotate_cancel(cid)).connection.rotating
    emulator.add_group("organization-test-member", cid, "Sales")
    assert [g.group_name async for g in member.iter_groups(limit=1)] == ["Sales"]
    assert (await member.get_groups()).scim_groups[0].group_name == "Sales"
    assert (await member.delete_connection(cid)).connection_id == cid


async def test_unknown_identity_provider_passes_through(client: scim.SCIMClient) -> None:
    with pytest.raises(scim.BadRequestError) as info:
        await client.create_connection(ORG, identity_provider="brand-new-idp")
    assert info.value.error_type == "invalid_scim_idp"
    assert info.value.attempts == 1


async def test_second_create_is_connection_exists(
    client: scim.SCIMClient, emulator: StytchEmulator
) -> None:
    await client.create_connection(ORG, display_name="a")
    with pytest.raises(scim.ConnectionExistsError) as info:
        await client.create_connection(ORG, display_name="a")
    assert info.value.status_code == 400
    assert emulator.stats.duplicates == 1


async def test_rbac_headers(client: scim.SCIMClient, emulator: StytchEmulator) -> None:
    admin = emulator.member_session(ORG, admin=True)
    plain = emulator.member_session(ORG, admin=False)
    other = emulator.member_session("organization-test-other", admin=True)
    created = await client.create_connection(ORG, display_name="x", member_session_token=admin)
    assert created.connection.bearer_token == emulator.active_token(ORG)
    with pytest.raises(scim.ForbiddenError) as info:
        await client.get_connection(ORG, member_session_token=plain)
    assert info.value.error_type == "session_authorization_error"
    with pytest.raises(scim.ForbiddenError) as info:
        await client.get_connection(
            ORG,
            member_session_jwt=emulator.member_session_jwt("organization-test-other", admin=True),
        )
    assert info.value.error_type == "session_authorization_tenancy_error"
    with pytest.raises(scim.ForbiddenError):
        await client.get_connection(ORG, member_session_token=other)
    assert admin not in repr(info.value) and admin not in str(info.value)


async def test_member_without_admin_rights_is_forbidden(emulator: StytchEmulator) -> None:
    token = emulator.member_session(ORG, admin=False)
    async with scim.MemberSCIMClient(
        emulator.public_token, token, base_url=emulator.base_url
    ) as member:
        with pytest.raises(scim.ForbiddenError) as info:
            await member.create_connection(display_name="x")
    assert info.value.error_type == "session_authorization_error"
    assert info.value.request_id


async def test_wrong_secret_is_unauthorized_and_not_retried(emulator: StytchEmulator) -> None:
    async with scim.SCIMClient(
        emulator.project_id, "secret-test-wrong", base_url=emulator.base_url
    ) as c:
        with pytest.raises(scim.UnauthorizedError) as info:
            await c.get_connection(ORG)
    assert info.value.error_type == "unauthorized_credentials"
    assert info.value.attempts == 1
    assert "secret-test-wrong" not in str(info.value)


async def test_caller_owned_session_is_left_open(emulator: StytchEmulator) -> None:
    async with aiohttp.ClientSession() as session:
        async with scim.SCIMClient(
            emulator.project_id, emulator.secret, base_url=emulator.base_url, session=session
        ) as c:
            await c.get_connection(ORG)
        assert not session.closed
        async with scim.SCIMClient(
            emulator.project_id, emulator.secret, base_url=emulator.base_url, session=session
        ) as again:
            assert (await again.get_connection(ORG)).connection is None


async def test_without_async_with_and_explicit_aclose(emulator: StytchEmulator) -> None:
    c = scim.SCIMClient(emulator.project_id, emulator.secret, base_url=emulator.base_url)
    assert (await c.get_connection(ORG)).connection is None
    await c.aclose()
    await c.aclose()  # idempotent
    with pytest.raises(scim.errors.ClientClosedError, match="closing"):
        await c.get_connection(ORG)


async def test_aclose_waits_for_the_calls_in_flight(emulator: StytchEmulator) -> None:
    # A create cut off by a close could have committed; it must finish (and be
    # reconciled if it has to be) before the pool goes.
    emulator.script(fault="stall_after_commit", route="create", stall_seconds=0.3)
    c = scim.SCIMClient(emulator.project_id, emulator.secret, base_url=emulator.base_url)
    create = asyncio.create_task(c.create_connection(ORG, display_name="x"))
    while emulator.stats.total_requests < 1:
        await asyncio.sleep(0.01)
    await c.aclose()
    assert create.done()
    created = await create
    assert created.connection.bearer_token == emulator.active_token(ORG)
    with pytest.raises(scim.ClientClosedError, match="closing"):
        await c.get_connection(ORG)


async def test_credentials_from_environment(
    emulator: StytchEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("STYTCH_PROJECT_ID", emulator.project_id)
    monkeypatch.setenv("STYTCH_SECRET", emulator.secret)
    async with scim.SCIMClient(base_url=emulator.base_url) as c:
        assert (await c.get_connection(ORG)).connection is None
        assert emulator.secret not in repr(c)
    monkeypatch.setenv("STYTCH_PUBLIC_TOKEN", emulator.public_token)
    token = emulator.member_session(ORG, admin=True)
    async with scim.MemberSCIMClient(session_token=token, base_url=emulator.base_url) as m:
        assert (await m.get_connection()).connection is None
        assert token not in repr(m)
