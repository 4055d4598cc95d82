"""Creates of one organization never overlap within a client, even now that an
uncontended organization lock is taken without awaiting: a second create waits for
the first to end, a waiter that gives up leaves the lock to the next, and other
organizations never wait."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

import stytch_scim_async as scim

ORG = "organization-test-locks"
CONNECTION = {
    "organization_id": ORG,
    "connection_id": "scim-connection-test-1",
    "status": "active",
    "display_name": "Okta",
    "identity_provider": "okta",
    "base_url": "https://test.stytch.com/v1/b2b/scim/scim-connection-test-1",
    "bearer_token": "token-test-" + "x" * 37,
    "bearer_token_expires_at": "2030-01-01T00:00:00Z",
    "scim_group_implicit_role_assignments": [],
}


class Server:
    """Holds each create until `release` lets it answer: the first of an organization
    commits, any later one is refused as Stytch refuses a second connection."""

    def __init__(self) -> None:
        self.arrived: list[str] = []
        self.in_flight: dict[str, int] = {}
        self.overlaps = 0
        self.release = asyncio.Event()
        self.committed: set[str] = set()

    async def create(self, request: web.Request) -> web.Response:
        org = request.match_info["org"]
        self.arrived.append(org)
        self.in_flight[org] = self.in_flight.get(org, 0) + 1
        self.overlaps += self.in_flight[org] > 1
        try:
            await self.release.wait()
        finally:
            self.in_flight[org] -= 1
        if org in self.committed:
            body = {
                "status_code": 400,
                "request_id": "r2",
                "error_type": "active_scim_connection_exists",
            }
            return web.json_response(body, status=400)
        self.committed.add(org)
        connection = {**CONNECTION, "organization_id": org}
        return web.Response(
            text=json.dumps({"request_id": "r1", "status_code": 200, "connection": connection}),
            content_type="application/json",
        )

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/v1/b2b/scim/{org}/connection", self.create)
        return app


async def _until(condition: Callable[[], bool], seconds: float = 2.0) -> None:
    async with asyncio.timeout(seconds):
        while not condition():
            await asyncio.sleep(0.005)


async def test_a_second_create_of_one_organization_waits_for_the_first() -> None:
    server = Server()
    policy = scim.RetryPolicy.disabled()
    async with TestServer(server.app(), host="127.0.0.1") as test_server:
        url = str(test_server.make_url("")).rstrip("/")
        async with scim.SCIMClient("project-test-1", "s", base_url=url, retry=policy) as c:
            first = asyncio.create_task(c.create_connection(ORG, display_name="Okta"))
            await _until(lambda: server.arrived == [ORG])
            second = asyncio.create_task(c.create_connection(ORG, display_name="Okta"))
            other = asyncio.create_task(c.create_connection(ORG + "-other"))
            # Another organization is not held back; the same one is.
            await _until(lambda: ORG + "-other" in server.arrived)
            await asyncio.sleep(0.05)
            assert server.arrived.count(ORG) == 1
            server.release.set()
            created = await first
            assert created.connection.bearer_token == CONNECTION["bearer_token"]
            with pytest.raises(scim.ConnectionExistsError):
                await second  # sent after the first committed, so refused
            await other
    assert server.arrived.count(ORG) == 2
    assert server.overlaps == 0


async def test_a_create_cancelled_while_waiting_for_the_lock_leaves_it_to_the_next() -> None:
    server = Server()
    policy = scim.RetryPolicy.disabled()
    async with TestServer(server.app(), host="127.0.0.1") as test_server:
        url = str(test_server.make_url("")).rstrip("/")
        async with scim.SCIMClient("project-test-1", "s", base_url=url, retry=policy) as c:
            first = asyncio.create_task(c.create_connection(ORG))
            await _until(lambda: server.arrived == [ORG])
            waiting = asyncio.create_task(c.create_connection(ORG))
            last = asyncio.create_task(c.create_connection(ORG))
            await asyncio.sleep(0.05)
            waiting.cancel()  # gives up while queued for the organization's lock
            server.release.set()
            await first
            with pytest.raises(scim.ConnectionExistsError):
                await last
            assert waiting.cancelled()
            # The lock is free again: a later create of the organization is sent.
            with pytest.raises(scim.ConnectionExistsError):
                await asyncio.wait_for(c.create_connection(ORG), 5)
    assert server.arrived == [ORG, ORG, ORG]  # the cancelled one never sent its POST
    assert server.overlaps == 0
