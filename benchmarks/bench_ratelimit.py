"""Batch creates at Stytch-like fixed-window rate limits, with no Retry-After.

    python benchmarks/bench_ratelimit.py [--orgs 2000] [--rate 200] [--concurrency 64]
        [--minute-allowance 1000] [--scenario second|minute|mixed|all] [--check-targets]

The emulator runs in its own process (`python -m stytch_scim_async.testing`) with a
create-only limit counted over clock-aligned fixed windows, as Stytch counts, and
429s that carry no Retry-After. Each run starts just after a window boundary, so
the best any client can do is (N - W) / R: W creates in the first window, then R a
second, finishing as the window that admits the last create opens.

- second: N creates via `client.provision`, R per 1-second window (W = R).
- minute: N creates, `--minute-allowance` per 60-second window (W = the allowance).
- mixed: the `second` batch while one task GETs connections in a loop on the same
  client; the GETs are not limited, and their latency must stay within 2 x the
  latency measured on the idle client before the batch.
- recovery: six GETs answered 429 with `Retry-After: 0` (what turns the adaptive
  rate on), then 400 GETs at once, right after and after 1 s and 6 s of quiet,
  against a fresh client's time (an in-process emulator; no target, printed only).

Targets (`--check-targets` exits 1 when one is missed): completion time at most
1.08 x (N - W) / R, amplification (create requests sent / N) at most 1.08, no failed
outcome, and the mixed run's GET median within 2 x. Correctness (always checked,
exit 1): every token the batch reports is the one the emulator holds, none is lost,
no organization got two connections.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
import urllib.request
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import emulator_process

import stytch_scim_async as scim

TARGET = 1.08
SCENARIOS = ["second", "minute", "mixed", "recovery"]


def control(info: dict[str, str], path: str) -> dict[str, object]:
    """Read one of the emulator's control routes (loopback only)."""
    with urllib.request.urlopen(info["base_url"] + path) as response:  # noqa: S310
        return json.loads(response.read())  # type: ignore[no-any-return]


def requests_for(n: int, tag: str) -> Iterator[scim.ProvisionRequest]:
    for i in range(n):
        yield scim.ProvisionRequest(
            f"organization-test-{tag}-{i:06d}", display_name=f"Org {i}", identity_provider="okta"
        )


async def after_boundary(window: float) -> None:
    """Sleep until just after the next multiple of `window` seconds of Unix time."""
    now = time.time()
    await asyncio.sleep((now // window + 1) * window - now + 0.01)


async def get_latencies(client: scim.SCIMClient, stop: asyncio.Event, count: int) -> list[float]:
    """GET one organization's connection in a loop: each call's latency, in seconds."""
    latencies: list[float] = []
    while not stop.is_set() and len(latencies) < count:
        started = time.perf_counter()
        await client.get_connection("organization-test-reader")
        latencies.append(time.perf_counter() - started)
        await asyncio.sleep(0.01)
    return latencies


async def recovery_run(throttle: bool, pause: float) -> float:
    """Seconds for 400 concurrent GETs, on a client throttled `pause` s before or fresh."""
    from stytch_scim_async.testing import StytchEmulator

    async with StytchEmulator(seed=0) as emu:
        c = scim.SCIMClient(emu.project_id, emu.secret, base_url=emu.base_url)
        async with c:
            if throttle:
                emu.script(fault="rate_limit", route="get", times=6, retry_after=0)
                warm = (c.get_connection(f"organization-test-w{i}") for i in range(6))
                await asyncio.gather(*warm)
                await asyncio.sleep(pause)
            started = time.perf_counter()
            await asyncio.gather(*(c.get_connection(f"organization-test-{i}") for i in range(400)))
            return time.perf_counter() - started


def recovery() -> None:
    fresh = asyncio.run(recovery_run(False, 0.0))
    after = [(pause, asyncio.run(recovery_run(True, pause))) for pause in (0.0, 1.0, 6.0)]
    print(
        f"recovery: 400 GETs on a fresh client {fresh:.2f} s; after throttling stopped: "
        + ", ".join(f"{seconds:.2f} s ({pause:g} s later)" for pause, seconds in after),
        flush=True,
    )


async def batch(
    info: dict[str, str], args: argparse.Namespace, tag: str, window: float, mixed: bool
) -> dict[str, object]:
    statuses: Counter[str] = Counter()
    tokens: dict[str, str] = {}
    async with scim.SCIMClient(info["project_id"], info["secret"], base_url=info["base_url"]) as c:
        idle = await get_latencies(c, asyncio.Event(), 100) if mixed else []
        await after_boundary(window)
        stop = asyncio.Event()
        reader = asyncio.create_task(get_latencies(c, stop, 1_000_000)) if mixed else None
        started = time.perf_counter()
        async for outcome in c.provision(
            requests_for(args.orgs, tag), concurrency=args.concurrency
        ):
            statuses[outcome.status.value] += 1
            if outcome.connection is not None:
                tokens[outcome.request.organization_id] = outcome.connection.bearer_token
        elapsed = time.perf_counter() - started
        stop.set()
        busy = await reader if reader is not None else []
        throttles = c.rate_limiter.throttles
    return {
        "elapsed": elapsed,
        "statuses": dict(statuses),
        "tokens": tokens,
        "throttles": throttles,
        "idle": idle,
        "busy": busy,
    }


def run(name: str, args: argparse.Namespace) -> tuple[bool, bool]:
    """One scenario: (correct, targets met)."""
    if name == "minute":
        window, allowance = 60.0, args.minute_allowance
    else:
        window, allowance = 1.0, int(args.rate)
    rate = allowance / window
    flags = ["--seed", "1", "--retry-after", "none", "--limit", f"create:{allowance}/{window:g}"]
    flags += ["--limit", "search_organizations:100/60"]
    with emulator_process(*flags) as info:
        result = asyncio.run(batch(info, args, name, window, mixed=name == "mixed"))
        stats = control(info, "/_stats")
        active = control(info, "/_tokens")
    tokens: dict[str, str] = result["tokens"]  # type: ignore[assignment]
    mismatched = sum(1 for org, token in tokens.items() if active.get(org) != token)
    lost = sum(1 for org in active if org not in tokens and "-reader" not in org)
    duplicates = int(stats["duplicates"])  # type: ignore[call-overload]
    by_route: dict[str, dict[str, int]] = stats["requests"]  # type: ignore[assignment]
    creates = sum(by_route.get("create", {}).values())
    reads = len(result["idle"]) + len(result["busy"])  # type: ignore[arg-type]
    sent = int(stats["total_requests"]) - reads  # type: ignore[call-overload]
    ideal = (args.orgs - allowance) / rate
    elapsed = float(result["elapsed"])  # type: ignore[arg-type]
    statuses: dict[str, int] = result["statuses"]  # type: ignore[assignment]
    failed = statuses.get("failed", 0) + statuses.get("unconfirmed", 0)
    line = (
        f"{name}: N={args.orgs} W={allowance}/{window:g}s concurrency={args.concurrency}: "
        f"{elapsed:.2f} s = {elapsed / ideal:.3f} x (N-W)/R ({ideal:.1f} s); "
        f"requests {sent} (creates {creates}) = amplification {sent / args.orgs:.3f}; "
        f"429s {by_route.get('create', {}).get('429', 0)}; outcomes {statuses}; "
        f"client throttles {result['throttles']}; duplicates {duplicates}; "
        f"mismatched {mismatched}; lost {lost}"
    )
    met = elapsed / ideal <= TARGET and sent / args.orgs <= TARGET and not failed
    if name == "mixed":
        idle = statistics.median(result["idle"])  # type: ignore[arg-type]
        busy: list[float] = result["busy"]  # type: ignore[assignment]
        median = statistics.median(busy) if busy else float("inf")
        p95 = statistics.quantiles(busy, n=20)[-1] if len(busy) > 1 else float("inf")
        line += (
            f"; GET median idle {idle * 1000:.1f} ms, during the batch {median * 1000:.1f} ms "
            f"({median / idle:.2f} x), p95 {p95 * 1000:.1f} ms, {len(busy)} GETs"
        )
        met = met and median <= 2 * idle
    print(line, flush=True)
    return not (mismatched or lost or duplicates), met


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orgs", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=200.0, help="creates per 1-s window")
    parser.add_argument("--minute-allowance", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--scenario", choices=[*SCENARIOS, "all"], default="all")
    parser.add_argument("--check-targets", action="store_true")
    args = parser.parse_args()
    correct = met = True
    for name in SCENARIOS if args.scenario == "all" else [args.scenario]:
        if name == "recovery":
            recovery()
            continue
        ok, hit = run(name, args)
        correct, met = correct and ok, met and hit
    if not correct:
        print("FAILED: a token was lost or mismatched, or an organization got two")
        sys.exit(1)
    if args.check_targets and not met:
        print(f"FAILED: a target was missed (each ratio <= {TARGET}, GET median <= 2 x idle)")
        sys.exit(1)


if __name__ == "__main__":
    main()
