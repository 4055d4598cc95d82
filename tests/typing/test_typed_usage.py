"""Ordinary code a user writes, checked by `mypy --strict` (the typecheck session
covers tests/) and run here: if a public type stops narrowing, CI fails."""

from __future__ import annotations

import asyncio

import stytch_scim_async as scim
from stytch_scim_async.testing import StytchEmulator


async def store_tokens(
    client: scim.SCIMClient, rows: list[scim.ProvisionRequest]
) -> dict[str, str]:
    tokens: dict[str, str] = {}
    async with client.provision(rows) as batch:
        async for outcome in batch:
            token = outcome.bearer_token  # str | None: narrows with a plain check
            if token is not None:
                tokens[outcome.request.organization_id] = token
            error = outcome.error  # the library's error, or None
            if error is not None:
                _ = (error.request_id, error.attempts, error.may_have_committed)
    return tokens


async def one_create(client: scim.SCIMClient, org: str) -> str | None:
    try:
        created = await client.create_connection(org, display_name="Okta", recover_token=True)
    except scim.TokenLostError as exc:
        return exc.next_bearer_token  # str | None
    except scim.RateLimitError as exc:
        _ = exc.retry_after  # float | None
        return None
    return created.connection.bearer_token  # str


async def background(client: scim.SCIMClient, org: str) -> scim.GetConnectionResponse:
    task = asyncio.create_task(client.get_connection(org))  # a coroutine, so a task
    return await task


async def test_the_typed_usage_runs(stytch_emulator: StytchEmulator) -> None:
    emu = stytch_emulator
    async with scim.SCIMClient(emu.project_id, emu.secret, base_url=emu.base_url) as client:
        rows = [scim.ProvisionRequest(f"organization-test-typed-{i}", "Okta") for i in range(3)]
        tokens = await store_tokens(client, rows)
        assert tokens == {r.organization_id: emu.active_token(r.organization_id) for r in rows}
        assert await one_create(client, "organization-test-typed-x") == emu.active_token(
            "organization-test-typed-x"
        )
        current = await background(client, "organization-test-typed-x")
        assert current.connection is not None
