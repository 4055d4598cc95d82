"""Client overhead against raw aiohttp, measured in one run against one emulator process.

    python benchmarks/bench_client.py [--creates 3000] [--concurrency 16] [--rounds 5]
        [--max-cpu-ratio R] [--max-rss-ratio R]

Prints, for the same server and the same machine:
- client CPU time per create_connection, ours vs raw aiohttp doing the same POST
  and `json()` (process CPU time of the client, the server is another process): the
  median of each over the rounds, and the spread of the per-round ratios (each
  round runs both, in alternating order);
- where the difference goes: the pure core's decoding into models and building of
  the request, timed alone against `json.loads` and a hand-built URL and body;
- `import stytch_scim_async` wall time vs `import aiohttp` (median of fresh interpreters),
  and the same with constructing a client (which imports aiohttp);
- peak RSS of a process doing 5,000 creates, ours vs raw aiohttp.

Exits 1 when a create did not return its token, the emulator did not commit exactly
the creates sent, or (when asked) a ratio is past the given maximum.
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
import urllib.request
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import Checks, control, emulator_process, peak_rss_mib


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


def per_call(function: Callable[[], object], calls: int = 20_000, repeats: int = 5) -> float:
    """Seconds per call of `function`, the best of `repeats` loops."""
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(calls):
            function()
        best = min(best, (time.perf_counter() - started) / calls)
    return best


def core_parts(info: dict[str, str]) -> dict[str, float]:
    """The pure core's share of a create, timed without I/O against the naive work."""
    from datetime import UTC, datetime

    from stytch_scim_async._sansio.endpoints import ENDPOINTS, Mode
    from stytch_scim_async._sansio.validate import (
        check_id,
        check_identity_provider,
        check_optional_text,
    )
    from stytch_scim_async._sansio.wire import build_request, parse_response

    auth = base64.b64encode(f"{info['project_id']}:{info['secret']}".encode()).decode()
    request = urllib.request.Request(  # noqa: S310 - the loopback emulator
        info["base_url"] + "/v1/b2b/scim/organization-test-parts/connection",
        data=b'{"display_name": "Okta", "identity_provider": "okta"}',
        headers={"Authorization": f"Basic {auth}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request) as response:  # noqa: S310
        body = response.read()
    endpoint, now = ENDPOINTS["create"], datetime.now(UTC)
    headers = {"Authorization": f"Basic {auth}"}
    base = info["base_url"]

    def build() -> object:
        params = {
            "organization_id": check_id("organization_id", "organization-test-parts"),
            "display_name": check_optional_text("display_name", "Okta"),
            "identity_provider": check_identity_provider("okta"),
        }
        return build_request(endpoint, Mode.PROJECT, base, params, headers)

    def build_by_hand() -> object:
        payload = {"display_name": "Okta", "identity_provider": "okta"}
        return f"{base}/v1/b2b/scim/organization-test-parts/connection", json.dumps(payload)

    return {
        "decode": per_call(lambda: parse_response(endpoint, 200, {}, body, now)),
        "json_loads": per_call(lambda: json.loads(body)),
        "build": per_call(build),
        "build_by_hand": per_call(build_by_hand),
    }


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


def peak_rss_child(kind: str, n: int, concurrency: int, checks: Checks) -> float:
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
        committed = control(info, "/_stats")["creates_committed"]
    checks.expect(committed == n, f"RSS run ({kind}): {committed} creates committed of {n}")
    return float(out.stdout.strip())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--creates", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--rss-creates", type=int, default=5000)
    parser.add_argument("--max-cpu-ratio", type=float, help="exit 1 if the CPU ratio is above")
    parser.add_argument("--max-rss-ratio", type=float, help="exit 1 if the RSS ratio is above")
    parser.add_argument("--rss-child", choices=sorted(RUNNERS))
    parser.add_argument("--info")
    args = parser.parse_args()

    if args.rss_child:  # a child process measuring its own peak RSS
        info = json.loads(args.info)
        orgs = [f"organization-test-rss-{i}" for i in range(args.creates)]
        asyncio.run(RUNNERS[args.rss_child](info, orgs, args.concurrency))
        print(peak_rss_mib())
        return

    checks = Checks()
    with emulator_process() as info:
        # Warm up both paths (imports, connection pool) before measuring.
        cpu_per_create(info, "raw", 200, args.concurrency, "warm")
        cpu_per_create(info, "ours", 200, args.concurrency, "warm")
        samples: dict[str, list[float]] = {"raw": [], "ours": []}
        for r in range(args.rounds):
            for kind in ("raw", "ours") if r % 2 == 0 else ("ours", "raw"):
                samples[kind].append(
                    cpu_per_create(info, kind, args.creates, args.concurrency, f"r{r}")
                )
        stats = control(info, "/_stats")
        sent = 400 + 2 * args.rounds * args.creates
        checks.expect(
            stats["creates_committed"] == sent and stats["duplicates"] == 0,
            f"{stats['creates_committed']} creates committed of {sent}, "
            f"{stats['duplicates']} duplicates",
        )
        parts = core_parts(info)
    raw = statistics.median(samples["raw"])
    ours = statistics.median(samples["ours"])
    ratios = sorted(o / r for o, r in zip(samples["ours"], samples["raw"], strict=True))
    print(
        f"CPU per create: raw aiohttp {raw * 1e6:.0f} µs, stytch-scim-async {ours * 1e6:.0f} µs, "
        f"ratio {ours / raw:.3f} (medians of {args.rounds} rounds x {args.creates} creates, "
        f"concurrency {args.concurrency}); per-round ratios {ratios[0]:.3f} to {ratios[-1]:.3f}"
    )
    decode, build = parts["decode"] - parts["json_loads"], parts["build"] - parts["build_by_hand"]
    print(
        f"where it goes: decoding into models {parts['decode'] * 1e6:.1f} µs "
        f"(json.loads alone {parts['json_loads'] * 1e6:.1f} µs: +{decode * 1e6:.1f} µs); "
        f"validating and building the request {parts['build'] * 1e6:.1f} µs "
        f"(URL and json.dumps by hand {parts['build_by_hand'] * 1e6:.1f} µs: "
        f"+{build * 1e6:.1f} µs); the remaining +{(ours - raw - decode - build) * 1e6:.1f} µs "
        "is the engine and the coroutine frames around the I/O"
    )

    t_aiohttp = import_time("import aiohttp")
    t_ours = import_time("import stytch_scim_async")
    t_client = import_time("import stytch_scim_async as s; s.SCIMClient('project-test-x', 'y')")
    print(
        f"import: aiohttp {t_aiohttp * 1e3:.1f} ms, stytch_scim_async {t_ours * 1e3:.1f} ms "
        f"(ratio {t_ours / t_aiohttp:.2f}); with a client constructed {t_client * 1e3:.1f} ms "
        f"(ratio {t_client / t_aiohttp:.2f}) (medians of 15 fresh interpreters)"
    )

    rss_raw = peak_rss_child("raw", args.rss_creates, args.concurrency, checks)
    rss_ours = peak_rss_child("ours", args.rss_creates, args.concurrency, checks)
    print(
        f"peak RSS, {args.rss_creates} creates: raw aiohttp {rss_raw:.1f} MiB, "
        f"stytch-scim-async {rss_ours:.1f} MiB (ratio {rss_ours / rss_raw:.2f})"
    )
    if args.max_cpu_ratio is not None:
        checks.expect(
            ours / raw <= args.max_cpu_ratio,
            f"CPU ratio {ours / raw:.3f} is above --max-cpu-ratio {args.max_cpu_ratio}",
        )
    if args.max_rss_ratio is not None:
        checks.expect(
            rss_ours / rss_raw <= args.max_rss_ratio,
            f"RSS ratio {rss_ours / rss_raw:.2f} is above --max-rss-ratio {args.max_rss_ratio}",
        )
    checks.exit()


if __name__ == "__main__":
    main()
