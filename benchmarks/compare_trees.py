"""CPU per create and import time of several source trees, against one emulator process.

    python benchmarks/compare_trees.py NAME=PATH [NAME=PATH ...]
        (environment: ROUNDS=5, N=3000)

Each PATH is a checkout whose `stytch_scim_async` is imported (PYTHONPATH); each
round runs every tree's client in a fresh process (200 creates to warm up, then N
timed by the process's CPU time, concurrency 16), the order reversed every other
round, and prints the medians: the figure a refactoring must not make worse.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import emulator_process

CHILD = r"""
import asyncio, json, sys, time
info, n, tag = json.loads(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
import stytch_scim_async as scim
async def main():
    gate = asyncio.Semaphore(16)
    async with scim.SCIMClient(info["project_id"], info["secret"], base_url=info["base_url"]) as c:
        async def one(org):
            async with gate:
                made = await c.create_connection(org, display_name="Okta", identity_provider="okta")
                assert made.connection.bearer_token
        await asyncio.gather(*(one(f"organization-test-w{tag}-{i}") for i in range(200)))
        started = time.process_time()
        await asyncio.gather(*(one(f"organization-test-{tag}-{i}") for i in range(n)))
        print((time.process_time() - started) / n)
asyncio.run(main())
"""
CLIENT = "import stytch_scim_async as s; s.SCIMClient('project-test-1', 'secret-test-1')"


def _run(tree: str, *args: str) -> str:
    env = {**os.environ, "PYTHONPATH": tree}
    done = subprocess.run(
        [sys.executable, *args], env=env, cwd=tree, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def import_ms(tree: str, statement: str, runs: int = 9) -> float:
    timer = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    return statistics.median(float(_run(tree, "-c", timer)) for _ in range(runs)) * 1e3


def main() -> None:
    trees = dict(argument.split("=", 1) for argument in sys.argv[1:])
    names = list(trees)
    rounds, n = int(os.environ.get("ROUNDS", "5")), int(os.environ.get("N", "3000"))
    cpu: dict[str, list[float]] = {name: [] for name in names}
    with emulator_process() as served:
        info = json.dumps({k: served[k] for k in ("project_id", "secret", "base_url")})
        for r in range(rounds):
            for name in names if r % 2 == 0 else names[::-1]:
                cpu[name].append(float(_run(trees[name], "-c", CHILD, info, str(n), f"{name}{r}")))
    for name in names:
        rows = [round(x * 1e6) for x in cpu[name]]
        print(f"{name}: CPU per create {statistics.median(cpu[name]) * 1e6:.0f} µs, rounds {rows}")
    for name in names:
        alone, client = (
            import_ms(trees[name], "import stytch_scim_async"),
            import_ms(trees[name], CLIENT),
        )
        print(f"{name}: import {alone:.1f} ms, import + client {client:.1f} ms")


if __name__ == "__main__":
    main()
