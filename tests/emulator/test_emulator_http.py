"""The HTTP layer over real sockets on 127.0.0.1: framing, keep-alive, pipelining,
refusals, disconnects and close. Behaviour both servers share runs over both."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import time
import urllib.request
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from stytch_scim_async.testing import Faults, StytchEmulator
from stytch_scim_async.testing._http import HttpServer
from stytch_scim_async.testing._server import ServerKind
from tests.support.emulator_api import ORG

Reply = tuple[int, dict[str, str], bytes]


@pytest.fixture(params=["lean", "aiohttp"])
def server(request: pytest.FixtureRequest) -> ServerKind:
    kind: ServerKind = request.param
    return kind


@pytest.fixture
async def emu(server: ServerKind) -> AsyncIterator[StytchEmulator]:
    async with StytchEmulator(server=server) as emulator:
        yield emulator


@pytest.fixture
async def lean() -> AsyncIterator[StytchEmulator]:
    async with StytchEmulator() as emulator:
        yield emulator


async def connect(emu: StytchEmulator) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    port = int(emu.base_url.rsplit(":", 1)[1])
    return await asyncio.open_connection("127.0.0.1", port)


async def close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    await writer.wait_closed()


async def read_reply(reader: asyncio.StreamReader) -> Reply:
    head = await reader.readuntil(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")[:-2]
    headers = {name.lower(): value.strip() for name, _, value in (h.partition(":") for h in lines)}
    body = await reader.readexactly(int(headers.get("content-length", "0")))
    return int(status_line.split(" ")[1]), headers, body


def create_request(emu: StytchEmulator, org: str = ORG, *, extra: str = "") -> bytes:
    body = json.dumps({"display_name": "raw", "identity_provider": "okta"})
    authorization = aiohttp.encode_basic_auth(emu.project_id, emu.secret)
    return (
        f"POST /v1/b2b/scim/{org}/connection HTTP/1.1\r\nHost: emulator\r\n"
        f"Authorization: {authorization}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n{extra}\r\n{body}"
    ).encode()


STATS = b"GET /_stats HTTP/1.1\r\nHost: emulator\r\n\r\n"


async def test_keep_alive_serves_many_requests_on_one_connection(emu: StytchEmulator) -> None:
    reader, writer = await connect(emu)
    for n in range(3):
        writer.write(create_request(emu, f"org-keep-{n}"))
        status, headers, _ = await read_reply(reader)
        assert status == 200 and headers.get("connection", "") != "close"
    writer.write(STATS)
    assert json.loads((await read_reply(reader))[2])["creates_committed"] == 3
    await close(writer)


async def test_pipelined_requests_are_answered_in_order(emu: StytchEmulator) -> None:
    reader, writer = await connect(emu)
    unrouted = b"GET /nope HTTP/1.1\r\nHost: emulator\r\n\r\n"
    writer.write(unrouted + create_request(emu) + STATS)
    replies = [await read_reply(reader) for _ in range(3)]
    assert [status for status, _, _ in replies] == [404, 200, 200]
    assert json.loads(replies[2][2])["requests"] == {"unknown": {"404": 1}, "create": {"200": 1}}
    await close(writer)


async def test_a_delayed_answer_holds_back_the_pipelined_ones(server: ServerKind) -> None:
    async with StytchEmulator(faults=Faults(latency=0.1), server=server) as emu:
        reader, writer = await connect(emu)
        started = time.monotonic()
        writer.write(create_request(emu) + STATS)
        assert (await read_reply(reader))[0] == 200
        _, _, stats = await read_reply(reader)
        assert time.monotonic() - started >= 0.1
        assert json.loads(stats)["creates_committed"] == 1
        await close(writer)


async def test_chunked_request_body(emu: StytchEmulator) -> None:
    reader, writer = await connect(emu)
    authorization = aiohttp.encode_basic_auth(emu.project_id, emu.secret)
    body = b'{"display_name": "chunked", "identity_provider": "okta"}'
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:10], body[10:]))
    writer.write(
        f"POST /v1/b2b/scim/{ORG}/connection HTTP/1.1\r\nHost: emulator\r\n"
        f"Authorization: {authorization}\r\nTransfer-Encoding: chunked\r\n\r\n".encode()
        + chunks[:7]
    )
    await asyncio.sleep(0.02)  # the body arrives in pieces
    writer.write(chunks[7:] + b"0\r\n\r\n")
    status, _, reply = await read_reply(reader)
    assert status == 200 and json.loads(reply)["connection"]["display_name"] == "chunked"
    await close(writer)


async def test_connection_close_and_http_1_0_end_the_connection(emu: StytchEmulator) -> None:
    for request in (
        b"GET /_stats HTTP/1.1\r\nHost: emulator\r\nConnection: close\r\n\r\n",
        b"GET /_stats HTTP/1.0\r\n\r\n",
    ):
        reader, writer = await connect(emu)
        writer.write(request)
        assert (await read_reply(reader))[0] == 200
        assert await reader.read() == b""
        await close(writer)


async def test_a_malformed_request_gets_400_and_the_connection_closes(emu: StytchEmulator) -> None:
    reader, writer = await connect(emu)
    writer.write(b"NOT HTTP AT ALL\r\n\r\n" + STATS)
    assert (await read_reply(reader))[0] == 400
    assert await reader.read() == b""
    await close(writer)


async def test_urllib_reads_the_control_routes(emu: StytchEmulator) -> None:
    def stats() -> Any:
        with urllib.request.urlopen(emu.base_url + "/_stats", timeout=10) as answer:  # noqa: S310
            return json.load(answer)

    assert (await asyncio.to_thread(stats))["total_requests"] == 0


async def test_a_client_going_away_cancels_its_stall(server: ServerKind) -> None:
    faults = Faults(p_stall_after_commit=1.0, stall_seconds=30)
    async with StytchEmulator(faults=faults, server=server) as emu:
        _reader, writer = await connect(emu)
        writer.write(create_request(emu))
        while not emu._waiters:
            await asyncio.sleep(0.005)
        await close(writer)
        deadline = time.monotonic() + 5
        while emu._waiters:
            assert time.monotonic() < deadline, "the stall outlived its client"
            await asyncio.sleep(0.005)
        assert emu.active_token(ORG) is not None  # committed before the stall


async def test_close_ends_idle_partial_and_stalled_connections(server: ServerKind) -> None:
    faults = Faults(p_stall_after_commit=1.0, stall_seconds=30)
    emu = await StytchEmulator(faults=faults, server=server, shutdown_timeout=2).start()
    idle = await connect(emu)
    idle[1].write(STATS)
    assert (await read_reply(idle[0]))[0] == 200
    partial = await connect(emu)
    partial[1].write(b"GET /_stats HTTP/1.1\r\nHost: emu")
    stalled = await connect(emu)
    stalled[1].write(create_request(emu))
    while not emu._waiters:
        await asyncio.sleep(0.005)
    started = time.monotonic()
    await emu.close()
    assert time.monotonic() - started < 2
    for reader, writer in (idle, partial, stalled):
        assert await asyncio.wait_for(reader.read(), 5) == b""
        await close(writer)
    gc.collect()  # an unclosed transport would warn here (-W error)


# -- the emulator's own server only ----------------------------------------------------


async def test_an_oversized_head_gets_431_and_the_connection_closes(lean: StytchEmulator) -> None:
    reader, writer = await connect(lean)
    writer.write(b"GET /_stats HTTP/1.1\r\nHost: emulator\r\nX-Big: " + b"a" * 9000 + b"\r\n\r\n")
    assert (await read_reply(reader))[0] == 431
    assert await reader.read() == b""
    await close(writer)


async def test_expect_100_continue_is_answered_before_the_body(lean: StytchEmulator) -> None:
    reader, writer = await connect(lean)
    writer.write(
        b"POST /_reset HTTP/1.1\r\nHost: emulator\r\nExpect: 100-continue\r\n"
        b"Content-Length: 2\r\n\r\n"
    )
    assert await reader.readuntil(b"\r\n\r\n") == b"HTTP/1.1 100 Continue\r\n\r\n"
    writer.write(b"{}")
    assert (await read_reply(reader))[0] == 200
    await close(writer)


async def test_a_failing_fake_answers_500_and_closes(
    lean: StytchEmulator, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(*_: object) -> None:
        raise RuntimeError("boom")

    monkeypatch.setattr(lean.fake, "handle", broken)
    reader, writer = await connect(lean)
    with caplog.at_level(logging.ERROR, logger="stytch_scim_async.testing"):
        writer.write(STATS)
        assert (await read_reply(reader))[0] == 500
        assert await reader.read() == b""
    assert "boom" in caplog.text
    await close(writer)


async def test_head_requests_get_no_body(lean: StytchEmulator) -> None:
    reader, writer = await connect(lean)
    writer.write(b"HEAD /nope HTTP/1.1\r\nHost: emulator\r\n\r\n" + STATS)
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 404 ") and b"Content-Length: " in head
    assert (await read_reply(reader))[0] == 200
    await close(writer)


async def test_a_request_sent_a_byte_at_a_time(lean: StytchEmulator) -> None:
    reader, writer = await connect(lean)
    for byte in create_request(lean):
        writer.write(bytes([byte]))
        await writer.drain()
    assert (await read_reply(reader))[0] == 200
    await close(writer)


async def test_a_flood_of_pipelined_requests_read_late_is_answered_in_order(
    lean: StytchEmulator,
) -> None:
    # Megabytes each way: the server's writes back up (it stops answering) and its
    # read-ahead fills (it stops reading) before the client reads a byte.
    reader, writer = await connect(lean)
    count = 15_000
    writer.write(b"".join(create_request(lean, f"org-flood-{n}") for n in range(count)))
    await asyncio.sleep(0.2)
    replies = [await read_reply(reader) for _ in range(count)]
    organizations = [json.loads(body)["connection"]["organization_id"] for _, _, body in replies]
    assert organizations == [f"org-flood-{n}" for n in range(count)]
    await close(writer)


async def test_close_aborts_a_connection_still_flushing_after_the_timeout(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    emu = await StytchEmulator(shutdown_timeout=0.3).start()
    reader, writer = await connect(emu)
    writer.write(STATS)
    assert (await read_reply(reader))[0] == 200
    server = emu._runner
    assert isinstance(server, HttpServer)
    (connection,) = server.connections
    # A flush that never ends (a client that never reads), without megabytes of it.
    monkeypatch.setattr(connection._transport, "close", lambda: None)
    started = time.monotonic()
    await emu.close()
    assert 0.3 <= time.monotonic() - started < 3
    assert not server.connections
    with contextlib.suppress(ConnectionResetError):
        assert await reader.read() == b""
    await close(writer)
    gc.collect()
