"""Batch provisioning at Stytch's rate limit, against the emulator in its own process.

    python benchmarks/bench_provision.py [--orgs 2000] [--rate 200] [--burst 200]
        [--concurrency 64] [--max-limit-ratio X] [--memory-orgs 10000 100000]
        [--scenario retry-after|no-retry-after|lost-replies|sdk-baseline|memory|all]

Scenarios:
- retry-after: the emulator limits creates to R/s (a bucket admitting B at once) and
  answers 429 with Retry-After; the physical limit is (N - B) / R seconds.
- no-retry-after: the same without Retry-After headers.
- lost-replies: 5 % of creates answer 500 after committing; every org must end
  created or recovered with the emulator's active token, and no duplicates.
- sdk-baseline: what users write today, for comparison: the official `stytch` SDK's
  `create_async` wrapped in a textbook tenacity policy (random exponential backoff,
  5 attempts), same limit, Retry-After, and 5 % of creates answering 500 after commit.
- memory: N organizations streamed from a generator with no rate limit; the peak RSS
  of a process of its own, for 10k and 100k. Both runs do the same work per
  organization: tokens are folded into a digest (not kept), which is checked
  against the emulator's after the peak is read.

Every run checks each token against the emulator's (GET /_tokens). The script exits 1
when one of our scenarios loses or mismatches a token, creates a duplicate, leaves an
organization not created or recovered, or (with --max-limit-ratio) takes longer than
that many times the physical limit. The SDK baseline's losses are what it is there to
show and never fail the run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import Checks, control, emulator_process, peak_rss_mib, token_digest

import stytch_scim_async as scim


def requests_for(n: int, tag: str) -> Iterator[scim.ProvisionRequest]:
    for i in range(n):
        yield scim.ProvisionRequest(
            f"organization-test-{tag}-{i:06d}", display_name=f"Org {i}", identity_provider="okta"
        )


async def provision(
    info: dict[str, str], n: int, concurrency: int, tag: str, keep_tokens: bool = True
) -> dict[str, object]:
    """Provision N organizations; the tokens are kept, or (`keep_tokens` False, for the
    memory runs) only folded into a digest so memory does not grow with N."""
    statuses: Counter[str] = Counter()
    tokens: dict[str, str] = {}
    pairs: list[tuple[str, str]] = []
    digest = token_digest([])
    started = time.perf_counter()
    async with scim.SCIMClient(info["project_id"], info["secret"], base_url=info["base_url"]) as c:
        async for outcome in c.provision(requests_for(n, tag), concurrency=concurrency):
            statuses[outcome.status.value] += 1
            if outcome.connection is None:
                continue
            pair = (outcome.request.organization_id, outcome.connection.bearer_token)
            if keep_tokens:
                tokens[pair[0]] = pair[1]
            else:
                pairs.append(pair)
                if len(pairs) == 1000:
                    digest = combine(digest, token_digest(pairs))
                    pairs.clear()
        throttles = c.rate_limiter.throttles
    elapsed = time.perf_counter() - started
    return {
        "elapsed": elapsed,
        "statuses": dict(statuses),
        "tokens": tokens,
        "digest": combine(digest, token_digest(pairs)),
        "throttles": throttles,
    }


def combine(a: str, b: str) -> str:
    """Two digests of disjoint sets of pairs: the digest of their union."""
    return f"{(int(a, 16) + int(b, 16)) % 2**128:032x}"


async def sdk_baseline(
    info: dict[str, str], n: int, concurrency: int, tag: str
) -> dict[str, object]:
    """The official SDK under tenacity, as a user would wire it by hand."""
    import warnings

    import tenacity
    from stytch import B2BClient
    from stytch.core.response_base import StytchError

    warnings.simplefilter("ignore", DeprecationWarning)  # the SDK's aiohttp.BasicAuth use
    statuses: Counter[str] = Counter()
    tokens: dict[str, str] = {}
    semaphore = asyncio.Semaphore(concurrency)
    retry = tenacity.retry(
        wait=tenacity.wait_random_exponential(multiplier=0.5, max=8),
        stop=tenacity.stop_after_attempt(5),
        retry=tenacity.retry_if_exception(
            lambda e: isinstance(e, StytchError) and e.details.status_code in (429, 500, 502, 503)
        ),
        reraise=True,
    )
    started = time.perf_counter()
    async with B2BClient(
        info["project_id"], info["secret"], environment=info["base_url"] + "/"
    ) as c:

        @retry
        async def create(request: scim.ProvisionRequest) -> str:
            response = await c.scim.connection.create_async(
                request.organization_id, display_name=request.display_name
            )
            return str(response.connection.bearer_token)

        async def one(request: scim.ProvisionRequest) -> None:
            async with semaphore:
                try:
                    tokens[request.organization_id] = await create(request)
                    statuses["created"] += 1
                except StytchError as error:
                    statuses[f"failed:{error.details.error_type}"] += 1

        await asyncio.gather(*(one(r) for r in requests_for(n, tag)))
    elapsed = time.perf_counter() - started
    return {"elapsed": elapsed, "statuses": dict(statuses), "tokens": tokens, "throttles": "n/a"}


def run_scenario(name: str, args: argparse.Namespace, checks: Checks) -> None:
    flags = ["--seed", "1"]
    if name in ("retry-after", "no-retry-after", "lost-replies"):
        flags += ["--rate-limit", str(args.rate), "--burst", str(args.burst), "--routes", "create"]
        flags += ["--retry-after", "none" if name == "no-retry-after" else "seconds"]
    if name in ("lost-replies", "sdk-baseline"):
        flags += ["--p-500-after-commit", "0.05"]
    if name == "sdk-baseline":
        flags += ["--rate-limit", str(args.rate), "--burst", str(args.burst), "--routes", "create"]
    runner = sdk_baseline if name == "sdk-baseline" else provision
    with emulator_process(*flags) as info:
        result = asyncio.run(runner(info, args.orgs, args.concurrency, name))
        stats = control(info, "/_stats")
        active = control(info, "/_tokens")
    tokens: dict[str, str] = result["tokens"]  # type: ignore[assignment]
    statuses: dict[str, int] = result["statuses"]  # type: ignore[assignment]
    mismatches = sum(1 for org, token in tokens.items() if active.get(org) != token)
    lost = sum(1 for org in active if org not in tokens)
    total = int(stats["total_requests"])
    elapsed = float(result["elapsed"])  # type: ignore[arg-type]
    limit = (args.orgs - args.burst) / args.rate
    print(
        f"{name}: N={args.orgs} R={args.rate}/s B={args.burst} concurrency={args.concurrency}: "
        f"{elapsed:.2f} s = {elapsed / limit:.3f} x the limit ({limit:.1f} s); "
        f"requests {total} = amplification {total / args.orgs:.3f}; outcomes {statuses}; "
        f"client throttles seen {result['throttles']}; creates committed "
        f"{stats['creates_committed']}, duplicates {stats['duplicates']}; "
        f"token mismatches {mismatches}; tokens lost {lost}; faults {stats['faults']}",
        flush=True,
    )
    if name == "sdk-baseline":
        return  # its losses are the point of the comparison
    done = statuses.get("created", 0) + statuses.get("recovered", 0)
    checks.expect(done == args.orgs, f"{name}: {done} of {args.orgs} created or recovered")
    checks.expect(mismatches == 0, f"{name}: {mismatches} tokens do not match the emulator's")
    checks.expect(lost == 0, f"{name}: {lost} connections whose token we do not hold")
    checks.expect(stats["duplicates"] == 0, f"{name}: {stats['duplicates']} duplicate creates")
    checks.expect(
        stats["creates_committed"] == args.orgs,
        f"{name}: {stats['creates_committed']} creates committed for {args.orgs} organizations",
    )
    if args.max_limit_ratio is not None:
        checks.expect(
            elapsed / limit <= args.max_limit_ratio,
            f"{name}: {elapsed / limit:.3f} x the limit, above --max-limit-ratio "
            f"{args.max_limit_ratio}",
        )


def memory_child(n: int, concurrency: int, info: dict[str, str]) -> None:
    result = asyncio.run(provision(info, n, concurrency, f"mem{n}", keep_tokens=False))
    peak = peak_rss_mib()  # read before anything else is allocated
    print(json.dumps({"rss": peak, "digest": result["digest"], "statuses": result["statuses"]}))


def run_memory(args: argparse.Namespace, checks: Checks) -> None:
    for n in args.memory_orgs:
        with emulator_process() as info:
            started = time.perf_counter()
            out = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--memory-child",
                    str(n),
                    "--info",
                    json.dumps(info),
                    "--concurrency",
                    str(args.concurrency),
                ],
                capture_output=True,
                text=True,
                check=True,
            )
            elapsed = time.perf_counter() - started
            active = control(info, "/_tokens")
        child = json.loads(out.stdout)
        created = child["statuses"].get("created", 0)
        verified = child["digest"] == token_digest(active.items()) and len(active) == n
        print(
            f"memory: {n} orgs streamed from a generator, no rate limit, tokens folded into a "
            f"digest: peak RSS {child['rss']:.1f} MiB, {elapsed:.1f} s ({n / elapsed:.0f} orgs/s); "
            f"outcomes {child['statuses']}; tokens "
            + ("all match the emulator's" if verified else "DO NOT match the emulator's"),
            flush=True,
        )
        checks.expect(created == n, f"memory {n}: {created} of {n} created")
        checks.expect(verified, f"memory {n}: the tokens' digest differs from the emulator's")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orgs", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--burst", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument(
        "--scenario",
        choices=["retry-after", "no-retry-after", "lost-replies", "sdk-baseline", "memory", "all"],
        default="all",
    )
    parser.add_argument(
        "--max-limit-ratio",
        type=float,
        help="exit 1 if one of our rate-limited runs takes longer than this x the limit",
    )
    parser.add_argument(
        "--memory-orgs", type=int, nargs="+", default=[10_000, 100_000], help="memory run sizes"
    )
    parser.add_argument("--memory-child", type=int)
    parser.add_argument("--info")
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.memory_child, args.concurrency, json.loads(args.info))
        return
    checks = Checks()
    names = ["retry-after", "no-retry-after", "lost-replies", "sdk-baseline", "memory"]
    for name in names if args.scenario == "all" else [args.scenario]:
        if name == "memory":
            run_memory(args, checks)
        else:
            run_scenario(name, args, checks)
    checks.exit()


if __name__ == "__main__":
    main()
