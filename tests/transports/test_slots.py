"""Connection slots taken without awaiting when free: a queue still forms when none is,
is served in order, and a waiter cancelled (even as its slot is handed over) leaks none."""

from __future__ import annotations

import asyncio

from aiohttp import web
from aiohttp.test_utils import TestServer

import stytch_scim_async as scim
from stytch_scim_async._transports.slots import Slots


def _app(order: list[str], gate: asyncio.Event) -> web.Application:
    async def handler(request: web.Request) -> web.Response:
        order.append(request.match_info["org"])
        await gate.wait()
        return web.json_response({"request_id": "r", "status_code": 200})

    app = web.Application()
    app.router.add_get("/v1/b2b/scim/{org}/connection", handler)
    return app


async def test_one_slot_serves_waiters_in_order_and_a_cancelled_waiter_leaks_none() -> None:
    order: list[str] = []
    gate = asyncio.Event()
    policy = scim.RetryPolicy.disabled()
    async with TestServer(_app(order, gate), host="127.0.0.1") as server:
        url = str(server.make_url("")).rstrip("/")
        async with scim.SCIMClient(
            "project-test-1", "s", base_url=url, retry=policy, max_connections=1
        ) as c:
            first = asyncio.create_task(c.get_connection("org-a"))
            while not order:  # the first holds the one slot, its reply held back
                await asyncio.sleep(0.01)
            waiting = [asyncio.create_task(c.get_connection(f"org-{n}")) for n in "bcd"]
            await asyncio.sleep(0.05)
            assert order == ["org-a"]  # nobody jumped the queue
            waiting[0].cancel()  # org-b gives up while queued
            gate.set()
            await first
            await asyncio.gather(waiting[1], waiting[2])
            assert waiting[0].cancelled()
            assert order == ["org-a", "org-c", "org-d"]
            # Every slot came back: one more call still gets one.
            await asyncio.wait_for(c.get_connection("org-e"), 5)
    assert order[-1] == "org-e"


async def test_a_waiter_cancelled_as_its_slot_is_handed_over_passes_it_on() -> None:
    # The race the client cannot time from outside: the release hands the slot to a
    # waiter whose task is cancelled before it runs. The slot must go to the next one.
    slots = Slots(1)
    assert slots.take()
    assert not slots.take()
    second = asyncio.create_task(slots.wait())
    third = asyncio.create_task(slots.wait())
    await asyncio.sleep(0)
    assert slots.waiting == 2
    slots.release()  # handed to the second waiter...
    second.cancel()  # ...cancelled before it resumes
    await asyncio.wait_for(third, 1)  # the third got it
    assert second.cancelled()
    assert slots.free == 0
    slots.release()
    assert slots.free == 1 and slots.take()
