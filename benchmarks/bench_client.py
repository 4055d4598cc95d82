"""Client overhead against raw aiohttp, measured in one run against one emulator process.

    python benchmarks/bench_client.py [--creates 3000] [--concurrency 16] [--rounds 3]

Prints, for the same server and the same machine:
- client CPU time per create_connection, ours vs raw aiohttp doing the same POST
  and `json()` (process CPU time of the client, the server is another process);
- `import stytch_scim_async` wall time vs `import aiohttp` (median of fresh interpreters),
  and the same with constructing a client (which imports aiohttp);
- peak RSS of a process doing 5,000 creates, ours vs raw aiohttp.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import emulator_process, peak_rss_mib


async def run_raw(info: dict[str, str], orgs: list[str], concurrency: int) -> None:
    import aiohttp

    auth = base64.b64encode(f"{info['project_id']}:{info['secret']}".encode()).decode()
    headers = {"Authorization": f"Basic {auth}"}
    semaphore = asyncio.Semaphore(concurrency)
    async with aiohttp.ClientSession() as session:

        async def one(org: str) -> None:
            async with semaphore:
                # What a user writes by hand: the idiomatic aiohttp call, body per request.
                url = f"{info['base_url']}/v1/b2b/scim/{org}/connection"
                payload = {"display_name": "Okta", "identity_provider": "okta"}
                async with session.post(url, json=payload, headers=headers) as response:
                    data = await response.json()
                    assert data["connection"]["bearer_token"]

        await asyncio.gather(*(one(org) for org in orgs))


async def run_ours(info: dict[str, str], orgs: list[str], concurrency: int) -> None:
    import stytch_scim_async as scim

    semaphore = asyncio.Semaphore(concurrency)
    async with scim.SCIMClient(info["project_id"], info["secret"], base_url=info["base_url"]) as c:

        async def one(org: str) -> None:
            async with semaphore:
                created = await c.create_connection(
                    org, display_name="Okta", identity_provider="okta"
                )
                assert created.connection.bearer_token

        await asyncio.gather(*(one(org) for org in orgs))


RUNNERS = {"raw": run_raw, "ours": run_ours}


def cpu_per_create(info: dict[str, str], kind: str, n: int, concurrency: int, tag: str) -> float:
    orgs = [f"organization-test-{tag}-{kind}-{i}" for i in range(n)]
    started = time.process_time()
    asyncio.run(RUNNERS[kind](info, orgs, concurrency))
    return (time.process_time() - started) / n


def import_time(statement: str, runs: int = 15) -> float:
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    samples = [
        float(
            subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(runs)
    ]
    return statistics.median(samples)


def peak_rss_child(kind: str, n: int, concurrency: int) -> float:
    with emulator_process() as info:
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--rss-child",
                kind,
                "--creates",
                str(n),
                "--concurrency",
                str(concurrency),
                "--info",
                json.dumps(info),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
    return float(out.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--creates", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rss-creates", type=int, default=5000)
    parser.add_argument("--rss-child", choices=sorted(RUNNERS))
    parser.add_argument("--info")
    args = parser.parse_args()

    if args.rss_child:  # a child process measuring its own peak RSS
        info = json.loads(args.info)
        orgs = [f"organization-test-rss-{i}" for i in range(args.creates)]
        asyncio.run(RUNNERS[args.rss_child](info, orgs, args.concurrency))
        print(peak_rss_mib())
        return

    with emulator_process() as info:
        # Warm up both paths (imports, connection pool) before measuring.
        cpu_per_create(info, "raw", 200, args.concurrency, "warm")
        cpu_per_create(info, "ours", 200, args.concurrency, "warm")
        samples: dict[str, list[float]] = {"raw": [], "ours": []}
        for r in range(args.rounds):
            for kind in ("raw", "ours"):
                samples[kind].append(
                    cpu_per_create(info, kind, args.creates, args.concurrency, f"r{r}")
                )
    raw = statistics.median(samples["raw"])
    ours = statistics.median(samples["ours"])
    print(
        f"CPU per create: raw aiohttp {raw * 1e6:.0f} µs, stytch-scim-async {ours * 1e6:.0f} µs, "
        f"ratio {ours / raw:.3f}  (median of {args.rounds} rounds × {args.creates} creates, "
        f"concurrency {args.concurrency})"
    )

    t_aiohttp = import_time("import aiohttp")
    t_ours = import_time("import stytch_scim_async")
    t_client = import_time("import stytch_scim_async as s; s.SCIMClient('project-test-x', 'y')")
    print(
        f"import: aiohttp {t_aiohttp * 1e3:.1f} ms, stytch_scim_async {t_ours * 1e3:.1f} ms "
        f"(ratio {t_ours / t_aiohttp:.2f}); with a client constructed {t_client * 1e3:.1f} ms "
        f"(ratio {t_client / t_aiohttp:.2f})"
    )

    rss_raw = peak_rss_child("raw", args.rss_creates, args.concurrency)
    rss_ours = peak_rss_child("ours", args.rss_creates, args.concurrency)
    print(
        f"peak RSS, {args.rss_creates} creates: raw aiohttp {rss_raw:.1f} MiB, "
        f"stytch-scim-async {rss_ours:.1f} MiB (ratio {rss_ours / rss_raw:.2f})"
    )


if __name__ == "__main__":
    main()
