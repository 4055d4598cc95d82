"""What the batch's proof of absence costs and saves, against a rate-limited emulator.

    python benchmarks/bench_prescan.py [--orgs 2000] [--rate 200] [--preexisting 0.05]
        [--lost 0.02] [--concurrency 64]

The emulator runs in its own process with Stytch's shape of rate limit (fixed
windows aligned to the clock, no Retry-After, the organizations search limited to
100 a minute) and loses the reply of `--lost` of the creates after they commit.
`--preexisting` of the organizations already have a connection identical to the
request (made first, by another client): the one case the API alone cannot tell
from a lost reply. Three ways to run the same batch, each on a fresh emulator:

- search: `provision()` as it is by default (one search query per 1,000 orgs);
- get-each: `prescan=False, verify_absent=True` (one GET per organization);
- no-proof: `prescan=False, verify_absent=False` (nothing proves absence: lost
  replies end `failed` with a TokenLostError, and nothing is rotated).

Each run checks the promise against the emulator's ground truth and exits 1 if it
breaks: a pre-existing connection rotated, a reported token that is not the live
one, more connections committed than organizations that had none.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import emulator_process

import stytch_scim_async as scim

#: mode -> (prescan, verify_absent)
MODES: dict[str, tuple[bool, bool | None]] = {
    "search": (True, None),
    "get-each": (False, True),
    "no-proof": (False, False),
}


def control(info: dict[str, str], path: str) -> dict[str, object]:
    """Read one of the emulator's control routes (loopback only)."""
    with urllib.request.urlopen(info["base_url"] + path) as response:  # noqa: S310
        return json.loads(response.read())  # type: ignore[no-any-return]


async def run(info: dict[str, str], args: argparse.Namespace, mode: str) -> dict[str, object]:
    requests = [
        scim.ProvisionRequest(f"organization-test-{i:06d}", f"Org {i}", "okta")
        for i in range(args.orgs)
    ]
    every = max(1, round(1 / args.preexisting)) if args.preexisting else 0
    preexisting = requests[::every] if every else []
    async with scim.SCIMClient(info["project_id"], info["secret"], base_url=info["base_url"]) as c:
        made = [o async for o in c.provision(preexisting, concurrency=args.concurrency)]
        assert all(o.ok for o in made)
    before = control(info, "/_tokens")
    stats_before = control(info, "/_stats")
    statuses: Counter[str] = Counter()
    held: dict[str, str] = {}
    started = time.perf_counter()
    async with scim.SCIMClient(info["project_id"], info["secret"], base_url=info["base_url"]) as c:
        prescan, verify_absent = MODES[mode]
        async with c.provision(
            requests, concurrency=args.concurrency, prescan=prescan, verify_absent=verify_absent
        ) as batch:
            async for outcome in batch:
                statuses[outcome.status.value] += 1
                if outcome.token_confirmed and outcome.bearer_token is not None:
                    held[outcome.request.organization_id] = outcome.bearer_token
    elapsed = time.perf_counter() - started
    after = control(info, "/_tokens")
    stats = control(info, "/_stats")
    routes: dict[str, int] = {}
    for route, by_status in stats["requests"].items():  # type: ignore[attr-defined]
        earlier = stats_before["requests"].get(route, {})  # type: ignore[attr-defined]
        routes[route] = sum(by_status.values()) - sum(earlier.values())
    rotated = sum(
        1 for r in preexisting if after.get(r.organization_id) != before[r.organization_id]
    )
    wrong = sum(1 for org, token in held.items() if after.get(org) != token)
    # An organization with a second connection committed would show as more commits
    # than organizations that had none.
    committed = int(stats["creates_committed"]) - int(stats_before["creates_committed"])  # type: ignore[call-overload]
    extra = max(0, committed - (len(requests) - len(preexisting)))
    return {
        "mode": mode,
        "seconds": round(elapsed, 2),
        "requests": sum(routes.values()),
        "routes": routes,
        "outcomes": dict(statuses),
        "preexisting": len(preexisting),
        "preexisting_rotated": rotated,
        "reported_not_live": wrong,
        "extra_connections": extra,
        "ok": rotated == 0 and wrong == 0 and extra == 0,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orgs", type=int, default=2000)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--preexisting", type=float, default=0.05)
    parser.add_argument("--lost", type=float, default=0.02)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--modes", default=",".join(MODES))
    args = parser.parse_args()
    flags = [
        "--rate-limit", str(args.rate),
        "--p-500-after-commit", str(args.lost),
        "--routes", "create",
    ]  # fmt: skip
    failures = 0
    print(f"{args.orgs} orgs, {args.rate:g} req/s fixed windows per route, no Retry-After, "
          f"search 100/min, {args.lost:.0%} lost create replies, "
          f"{args.preexisting:.0%} pre-existing identical connections")  # fmt: skip
    print("| mode | time | requests | by route | outcomes | pre-existing rotated | "
          "reported not live |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for mode in args.modes.split(","):
        with emulator_process(*flags) as info:
            result = asyncio.run(run(info, args, mode))
        failures += not result["ok"]
        print(
            f"| {mode} | {result['seconds']} s | {result['requests']} | {result['routes']} | "
            f"{result['outcomes']} | {result['preexisting_rotated']} of "
            f"{result['preexisting']} | {result['reported_not_live']} |"
        )
    if failures:
        print(f"FAIL: {failures} mode(s) broke the token promise", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
