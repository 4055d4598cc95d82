"""Throughput of the Stytch emulator: creates/second on loopback, no faults.

The emulator runs in a subprocess (``python -m stytch_scim_async.testing --port 0``)
so that the load generator does not share its event loop (``--server aiohttp``
serves it with aiohttp's server instead of the emulator's own); this script drives N
creates for distinct organizations at a fixed concurrency (one keep-alive
connection per concurrent request, one request in flight on each) and prints the
rate, and how busy each side's CPU was meanwhile. The default load generator is a
minimal HTTP/1.1 client over asyncio (``--driver lean``: prebuilt request bytes,
the status line and Content-Length read, nothing else), so that it needs a fraction
of the emulator's CPU; ``--driver aiohttp`` drives it with aiohttp's client instead.
On a machine with few cores the load generator still competes for them, so the
measured rate is a lower bound of the emulator's; the emulator's CPU time per create
(and the rate it implies for one fully busy core) does not depend on the load
generator.

    python benchmarks/bench_emulator.py --creates 20000 --concurrency 64

Exits 1 if a create failed or the emulator did not commit exactly the creates sent.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
from yarl import URL

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import cpu_seconds


async def _start_emulator(server: str) -> tuple[asyncio.subprocess.Process, dict[str, str]]:
    flags = [] if server == "lean" else ["--server", server]  # older trees lack the flag
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "stytch_scim_async.testing",
        "--port",
        "0",
        *flags,
        stdout=asyncio.subprocess.PIPE,
    )
    assert process.stdout is not None
    settings: dict[str, str] = {}
    while "public_token" not in settings:
        line = await asyncio.wait_for(process.stdout.readline(), timeout=30)
        if not line:
            raise RuntimeError("the emulator exited before announcing its address")
        key, _, value = line.decode().strip().partition("=")
        settings[key] = value
    return process, settings


class _Lean(asyncio.Protocol):
    """One keep-alive connection sending creates one at a time: the request bytes are
    built by the caller, the reply is read as far as its status and Content-Length."""

    def __init__(self, requests: Iterator[bytes], done: asyncio.Future[None]) -> None:
        self.requests, self.done = requests, done
        self.buffer = b""
        self.failures = 0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def send_next(self) -> None:
        assert self.transport is not None
        request = next(self.requests, None)
        if request is None:
            if not self.done.done():
                self.done.set_result(None)
            return
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer + data
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            self.buffer = buffer
            return
        head = buffer[:end].lower()
        start = head.find(b"content-length:") + 15
        length = int(head[start : head.find(b"\r\n", start) if b"\r\n" in head[start:] else None])
        if len(buffer) < end + 4 + length:
            self.buffer = buffer
            return
        if buffer[9:12] != b"200":
            self.failures += 1
        self.buffer = buffer[end + 4 + length :]
        self.send_next()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_exception(exc or ConnectionError("the emulator closed a connection"))


async def _drive_lean(
    settings: dict[str, str], creates: int, concurrency: int, server_pid: int
) -> tuple[float, float, float, int]:
    authorization = aiohttp.encode_basic_auth(settings["project_id"], settings["secret"])
    body = json.dumps({"display_name": "bench", "identity_provider": "okta"}).encode()
    url = URL(settings["base_url"])
    assert url.host is not None and url.port is not None
    head = (
        f"Host: {url.host}:{url.port}\r\nAuthorization: {authorization}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    requests = (
        f"POST /v1/b2b/scim/organization-test-bench-{n}/connection HTTP/1.1\r\n".encode()
        + head
        + body
        for n in range(creates)
    )
    loop = asyncio.get_running_loop()
    connections = []
    for _ in range(concurrency):
        done: asyncio.Future[None] = loop.create_future()
        _, protocol = await loop.create_connection(
            lambda done=done: _Lean(requests, done), url.host, url.port
        )
        connections.append(protocol)
    started, own_cpu = time.perf_counter(), time.process_time()
    server_cpu = cpu_seconds(server_pid)
    for protocol in connections:
        protocol.send_next()
    await asyncio.gather(*(protocol.done for protocol in connections))
    elapsed = time.perf_counter() - started
    server_cpu = cpu_seconds(server_pid) - server_cpu
    own_cpu = time.process_time() - own_cpu
    for protocol in connections:
        assert protocol.transport is not None
        protocol.transport.close()
    failures = sum(protocol.failures for protocol in connections)
    return creates / elapsed, own_cpu / elapsed, server_cpu / creates, failures


async def _drive_aiohttp(
    settings: dict[str, str], creates: int, concurrency: int, server_pid: int
) -> tuple[float, float, float, int]:
    authorization = aiohttp.encode_basic_auth(settings["project_id"], settings["secret"])
    headers = {"Authorization": authorization, "Content-Type": "application/json"}
    body = json.dumps({"display_name": "bench", "identity_provider": "okta"}).encode()
    base = settings["base_url"]
    queue = iter(range(creates))
    failures = 0

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal failures
        for n in queue:
            url = f"{base}/v1/b2b/scim/organization-test-bench-{n}/connection"
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()
                if response.status != 200:
                    failures += 1

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        # Warm up the connection pool so the measurement excludes TCP handshakes.
        async def warm() -> None:
            async with session.get(f"{base}/_stats") as response:
                await response.read()

        await asyncio.gather(*(warm() for _ in range(concurrency)))
        started, own_cpu = time.perf_counter(), time.process_time()
        server_cpu = cpu_seconds(server_pid)
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
        server_cpu = cpu_seconds(server_pid) - server_cpu
        own_cpu = time.process_time() - own_cpu
    return creates / elapsed, own_cpu / elapsed, server_cpu / creates, failures


DRIVERS = {"lean": _drive_lean, "aiohttp": _drive_aiohttp}


async def _stats(settings: dict[str, str]) -> dict[str, int]:
    async with (
        aiohttp.ClientSession() as session,
        session.get(settings["base_url"] + "/_stats") as response,
    ):
        stats: dict[str, int] = await response.json()
    return stats


async def main() -> None:
    """Parse flags, start the emulator, measure, print, stop the emulator."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--creates", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--driver", choices=sorted(DRIVERS), default="lean")
    parser.add_argument(
        "--server", choices=("lean", "aiohttp"), default="lean", help="the emulator's HTTP server"
    )
    args = parser.parse_args()
    process, settings = await _start_emulator(args.server)
    try:
        rate, busy, server_per_create, failures = await DRIVERS[args.driver](
            settings, args.creates, args.concurrency, process.pid
        )
        stats = await _stats(settings)
    finally:
        process.terminate()
        await process.wait()
    if failures or stats["creates_committed"] != args.creates:
        raise RuntimeError(f"{failures} creates failed; stats: {stats}")
    print(
        f"creates={args.creates} concurrency={args.concurrency} driver={args.driver} "
        f"server={args.server} "
        f"creates_per_second={rate:.0f} "
        f"load_generator_cpu={busy:.0%} emulator_cpu={rate * server_per_create:.0%} "
        f"emulator_cpu_per_create={server_per_create * 1e6:.0f}us "
        f"(one busy core: {1 / server_per_create:.0f} creates/s)"
    )
    if busy >= 0.9:
        print("the load generator was CPU-bound: the rate above is a lower bound")


if __name__ == "__main__":
    asyncio.run(main())
