"""Where a call's client CPU goes, layer by layer: cProfile over a client process.

    python benchmarks/profile_client.py [--op create|get|groups] [--calls 5000]
        [--concurrency 64] [--kinds ours,raw,floor] [--top 0]

The emulator runs in its own process. The client process warms up, times `--calls`
calls without the profiler (CPU time per call), then the same number under cProfile;
each function's own time is put in a layer by where its code lives (a C function's
time goes to the layer of the Python code that called it), and each layer's share of
the profiled time is scaled to the unprofiled CPU per call. The profiler's overhead
is not spread evenly (it costs per Python call, so call-heavy layers look dearer),
so the µs are an estimate; they add up to the measured CPU per call. `floor` is
bench_client's aiohttp at its lowest well-supported level.

Layers: the argument checks and the request build (`_clients`, `_sansio.validate`,
`wire.build_request`); the limiter and locks (`_engine.pacing`, `.locks`,
`.receipt`, `_policy.throttle`, `.window`); the engine and retry wrapper
(`_engine.engine`, `.recovery`, `.rotations`, `_policy.retry`, tenacity); the
transport (`_transports`, aiohttp, multidict, yarl); the structuring (`wire`'s
parsing, `_sansio.convert`, cattrs, attrs' generated code, `models`, json); the
event loop (asyncio, selectors, sockets) and the benchmark's own loop.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import json
import pstats
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_client
from _server import emulator_process

LAYERS = (
    "request build",
    "limiter/locks",
    "engine/retry",
    "transport (aiohttp)",
    "structuring",
    "event loop",
    "benchmark loop",
)

_BUILD = ("build_request", "_params", "_create", "_call", "_headers_for", "_admit", "check_")
_PARSE = ("parse_response", "_text", "error_from_response", "excerpt", "_header", "describe_")


def layer(filename: str, function: str) -> str | None:
    """The layer a Python function belongs to; None for a C function (its caller's)."""
    path = filename.replace("\\", "/")
    if path == "~" or path.startswith("<built-in"):
        return None
    if "/stytch_scim_async/" in path:
        part = path.rsplit("/stytch_scim_async/", 1)[1]
        if part.startswith("_sansio/wire.py"):
            if function.startswith(_BUILD):
                return "request build"
            return "structuring" if function.startswith(_PARSE) else "request build"
        if part.startswith(
            ("_sansio/convert.py", "_sansio/compiled.py", "_sansio/replies.py", "models.py")
        ):
            return "structuring"
        if part.startswith(("_clients/", "_sansio/")):
            return "request build"
        if part.startswith(
            (
                "_engine/pacing",
                "_engine/locks",
                "_engine/receipt",
                "_policy/throttle",
                "_policy/window",
            )
        ):
            return "limiter/locks"
        if part.startswith(("_engine/", "_policy/")):
            return "engine/retry"
        if part.startswith("_transports/"):
            return "transport (aiohttp)"
        return "request build"
    if "/tenacity/" in path:
        return "engine/retry"
    if "/cattrs/" in path or "/attr/" in path or "/attrs/" in path or "/json/" in path:
        return "structuring"
    if path.startswith(("<attrs generated", "<cattrs generated")):
        return "structuring"
    if path == "<string>" and function.startswith("structure_"):  # `_sansio/compiled`
        return "structuring"
    if any(name in path for name in ("/aiohttp/", "/multidict/", "/yarl/", "/propcache/")):
        return "transport (aiohttp)"
    if "bench_client.py" in path or "profile_client.py" in path:
        return "benchmark loop"
    return "event loop"


def breakdown(stats: pstats.Stats) -> dict[str, float]:
    """Own time per layer, C functions' time given to their callers' layers."""
    totals: dict[str, float] = defaultdict(float)
    raw = stats.stats  # type: ignore[attr-defined]
    for (filename, _, function), (_, _, own, _, callers) in raw.items():
        where = layer(filename, function)
        if where is not None:
            totals[where] += own
            continue
        edges = {caller: edge[2] for caller, edge in callers.items()}
        spread = sum(edges.values())
        if not spread:
            totals["event loop"] += own
            continue
        for (c_file, _, c_function), edge_time in edges.items():
            totals[layer(c_file, c_function) or "event loop"] += own * edge_time / spread
    return totals


def child(kind: str, op: str, calls: int, concurrency: int, info_json: str, top: int) -> None:
    """Warm up, time `calls` calls, profile as many; print the layers as JSON."""
    info = json.loads(info_json)
    client = bench_client.CLIENTS[kind](info)
    orgs = bench_client._organizations

    async def run(tag: str, n: int) -> None:
        await client.run(op, iter(orgs(op, tag, n, calls)), concurrency)

    asyncio.run(run(f"profile-{kind}-warm", bench_client.WARM_UP))
    started = time.process_time()
    asyncio.run(run(f"profile-{kind}-timed", calls))
    per_call = (time.process_time() - started) / calls
    profiler = cProfile.Profile()
    profiler.enable()
    asyncio.run(run(f"profile-{kind}-profiled", calls))
    profiler.disable()
    stats = pstats.Stats(profiler)
    totals = breakdown(stats)
    if top:
        stats.sort_stats("tottime").print_stats(top)
    whole = sum(totals.values())
    layers = {name: per_call * totals.get(name, 0.0) / whole for name in LAYERS}
    print(json.dumps({"per_call": per_call, "layers": layers}))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--op", choices=("create", "get", "groups"), default="create")
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument(
        "--kinds", default="ours,raw,floor", help="comma-separated: ours, raw, sdk, floor"
    )
    parser.add_argument("--top", type=int, default=0, help="also print the top N functions")
    parser.add_argument("--child", nargs=2, metavar=("KIND", "INFO"))
    args = parser.parse_args()
    if args.child:
        child(args.child[0], args.op, args.calls, args.concurrency, args.child[1], args.top)
        return
    kinds = tuple(args.kinds.split(","))
    results = {}
    with emulator_process(groups=bench_client.GROUPS) as info:
        for kind in kinds:
            command = [sys.executable, __file__, "--op", args.op, "--calls", str(args.calls)]
            command += ["--concurrency", str(args.concurrency), "--top", str(args.top)]
            out = subprocess.run(
                [*command, "--child", kind, json.dumps(info)],
                capture_output=True,
                text=True,
                check=True,
            )
            lines = out.stdout.strip().splitlines()
            if args.top:
                print("\n".join(lines[:-1]))
            results[kind] = json.loads(lines[-1])
    header = " | ".join(kinds)
    print(f"| layer ({args.op}, µs per call) | {header} |")
    print("|---" * (len(kinds) + 1) + "|")
    for name in LAYERS:
        cells = " | ".join(f"{results[k]['layers'][name] * 1e6:.1f}" for k in kinds)
        print(f"| {name} | {cells} |")
    cells = " | ".join(f"{results[k]['per_call'] * 1e6:.1f}" for k in kinds)
    print(f"| total (CPU per call, unprofiled) | {cells} |")


if __name__ == "__main__":
    main()
