"""A recovered token is reported as held only when Stytch's last four agree with it
(a scripted server on 127.0.0.1: the emulator never disagrees with itself)."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

import stytch_scim_async as scim

BASE = "/v1/b2b/scim/org-1/connection"
NEXT = "next-token-0123456789-abcd"


class Script:
    """Answers each request with the first scripted reply whose method and path match."""

    def __init__(self) -> None:
        self.replies: list[tuple[str, re.Pattern[str], int, dict[str, Any], float]] = []

    def post(
        self, path: str, *, payload: dict[str, Any], status: int = 200, delay: float = 0.0
    ) -> None:
        self.replies.append(("POST", re.compile(path), status, payload, delay))

    def get(self, path: str, *, payload: dict[str, Any], status: int = 200) -> None:
        self.replies.append(("GET", re.compile(path), status, payload, 0.0))

    async def handle(self, request: web.Request) -> web.Response:
        for i, (method, path, status, payload, delay) in enumerate(self.replies):
            if method == request.method and path.fullmatch(request.path):
                del self.replies[i]
                await asyncio.sleep(delay)
                return web.Response(status=status, text=json.dumps(payload))
        raise AssertionError(f"unexpected {request.method} {request.path}")


def connection(**changes: Any) -> dict[str, Any]:
    return {
        "organization_id": "org-1",
        "connection_id": "scim-connection-test-1",
        "status": "active",
        "display_name": "x",
        "identity_provider": "okta",
        "base_url": "https://test.stytch.com/v1/b2b/scim/scim-connection-test-1",
        "bearer_token_last_four": "wxyz",
        "next_bearer_token_last_four": "",
        "scim_group_implicit_role_assignments": [],
        **changes,
    }


def envelope(**fields: Any) -> dict[str, Any]:
    return {"request_id": "request-id-test-1", "status_code": 200, **fields}


@pytest.fixture
async def served(
    fast_retry: scim.RetryPolicy,
) -> AsyncIterator[tuple[Script, scim.SCIMClient]]:
    script = Script()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", script.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        async with scim.SCIMClient(
            "project-test-1", "secret-test-1", base_url=f"http://127.0.0.1:{port}", retry=fast_retry
        ) as c:
            yield script, c
    finally:
        await runner.cleanup()


def lost_create_then_rotation(script: Script, completed_last_four: str) -> None:
    script.post(BASE, status=500, payload={"status_code": 500})
    script.get(BASE, payload=envelope(connection=connection()))
    script.post(
        re.escape(BASE) + r"/.*/rotate/start",
        payload=envelope(connection={**connection(), "next_bearer_token": NEXT}),
    )
    script.post(
        re.escape(BASE) + r"/.*/rotate/complete",
        payload=envelope(connection=connection(bearer_token_last_four=completed_last_four)),
    )


async def test_a_rotation_stytch_confirms_is_reported_recovered(
    served: tuple[Script, scim.SCIMClient],
) -> None:
    script, client = served
    lost_create_then_rotation(script, NEXT[-4:])
    created = await client.create_connection(
        "org-1", display_name="x", recover_token=True, proven_absent=True
    )
    assert created.recovered
    assert created.connection.bearer_token == NEXT


async def test_a_rotation_whose_last_four_disagree_is_not_reported_held(
    served: tuple[Script, scim.SCIMClient],
) -> None:
    # Someone else's rotation completed in between: Stytch's live token is not ours.
    script, client = served
    lost_create_then_rotation(script, "zzzz")
    script.get(BASE, payload=envelope(connection=connection(bearer_token_last_four="zzzz")))
    with pytest.raises(scim.TokenLostError) as info:
        await client.create_connection(
            "org-1", display_name="x", recover_token=True, proven_absent=True
        )
    assert info.value.next_bearer_token == NEXT  # handed over, never claimed live
    assert NEXT not in str(info.value) and NEXT not in repr(info.value)


async def test_a_complete_reply_without_our_last_four_is_confirmed_by_a_look(
    served: tuple[Script, scim.SCIMClient],
) -> None:
    script, client = served
    lost_create_then_rotation(script, "zzzz")
    script.get(BASE, payload=envelope(connection=connection(bearer_token_last_four=NEXT[-4:])))
    created = await client.create_connection(
        "org-1", display_name="x", recover_token=True, proven_absent=True
    )
    assert created.recovered
    assert created.connection.bearer_token == NEXT


async def test_a_look_before_stytch_can_have_finished_an_unanswered_attempt_clears_nothing(
    served: tuple[Script, scim.SCIMClient],
) -> None:
    # The first POST gets no answer in time (Stytch is still working on it); the look
    # right after shows no connection; then the create commits. The retried POST is
    # answered "already exists": the connection is this call's own, never someone
    # else's (ConnectionExistsError would lose its token silently).
    script, client = served
    script.post(
        BASE, payload=envelope(connection={**connection(), "bearer_token": "t" * 40}), delay=0.8
    )
    script.get(BASE, payload=envelope(connection=None))
    script.post(
        BASE,
        status=400,
        payload={"status_code": 400, "error_type": "active_scim_connection_exists"},
    )
    script.get(BASE, payload=envelope(connection=connection()))
    async with scim.SCIMClient(
        "project-test-1", "secret-test-1", base_url=client.base_url, timeout=0.3, retry=client.retry
    ) as short:
        with pytest.raises(scim.TokenLostError) as info:
            await short.create_connection("org-1", display_name="x", proven_absent=True)
    assert info.value.proven  # the caller's proof, and nothing else ran: ours
