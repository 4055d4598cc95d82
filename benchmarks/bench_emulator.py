"""Throughput of the Stytch emulator: creates/second on loopback, no faults.

The emulator runs in a subprocess (``python -m stytch_scim_async.testing --port 0``)
so that the load generator does not share its event loop; this script drives N
creates for distinct organizations with raw aiohttp at a fixed concurrency and
prints the rate, and how busy each side's CPU was meanwhile. On a machine with few
cores the load generator itself can saturate one, so the measured rate is then a
lower bound of the emulator's; the emulator's CPU time per create (and the rate it
implies for one fully busy core) does not depend on the load generator.

    python benchmarks/bench_emulator.py --creates 20000 --concurrency 64

Exits 1 if a create failed or the emulator did not commit exactly the creates sent.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import cpu_seconds


async def _start_emulator() -> tuple[asyncio.subprocess.Process, dict[str, str]]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "stytch_scim_async.testing",
        "--port",
        "0",
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


async def _drive(
    settings: dict[str, str], creates: int, concurrency: int, server_pid: int
) -> tuple[float, float, float]:
    """(creates/s, load generator CPU busy share, emulator CPU seconds per create)."""
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
        async with session.get(f"{base}/_stats") as response:
            stats = await response.json()
    if failures or stats["creates_committed"] != creates:
        raise RuntimeError(f"{failures} creates failed; stats: {stats}")
    return creates / elapsed, own_cpu / elapsed, server_cpu / creates


async def main() -> None:
    """Parse flags, start the emulator, measure, print, stop the emulator."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--creates", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()
    process, settings = await _start_emulator()
    try:
        rate, busy, server_per_create = await _drive(
            settings, args.creates, args.concurrency, process.pid
        )
    finally:
        process.terminate()
        await process.wait()
    print(
        f"creates={args.creates} concurrency={args.concurrency} creates_per_second={rate:.0f} "
        f"load_generator_cpu={busy:.0%} emulator_cpu={rate * server_per_create:.0%} "
        f"emulator_cpu_per_create={server_per_create * 1e6:.0f}us "
        f"(one busy core: {1 / server_per_create:.0f} creates/s)"
    )
    if busy >= 0.9:
        print("the load generator was CPU-bound: the rate above is a lower bound")


if __name__ == "__main__":
    asyncio.run(main())
