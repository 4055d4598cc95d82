"""Client CPU against raw aiohttp and the official SDK, in one interleaved run against
one emulator process.

    python benchmarks/bench_client.py [--creates 5000] [--gets 5000] [--pages 1000]
        [--concurrency 64] [--rounds 5] [--max-cpu-ratio R] [--max-rss-ratio R]

Each measurement is a fresh client process (so one client's garbage, caches and
pool never reach another's), the emulator a process of its own; a round runs every
client once, and the order of the clients changes from round to round (rotated,
and reversed every other round). A client
process warms up (200 calls: imports, the connection pool), then times N calls by
its own CPU time (user + system) and reports it with its peak RSS. Printed, the
medians over the rounds and the spread of the per-round ratios:

- CPU per `create_connection`: ours, raw aiohttp (one session, `post(json=…)`,
  `await resp.json()`, what a user writes by hand) and stytch-python's B2B client
  (`scim.connection.create_async`, pointed at the emulator with
  `environment="http://127.0.0.1:…/"`: its `custom_base_url` accepts https only);
- CPU per `get_connection`, and per page of `iter_groups` (one page of 100 groups),
  against raw aiohttp and the SDK doing the same GET;
- for each, the floor: aiohttp at its lowest well-supported level (prebuilt
  CIMultiDict headers and body bytes, `session.request` awaited, `read()` and
  `json.loads`, no checks, no models), what no client over aiohttp goes below;
- `import aiohttp` against importing the package and constructing a first client
  (medians of 15 fresh interpreters);
- peak RSS of the create processes (5,000 creates after the warm-up), ours vs raw.

Exits 1 when a call did not return what it must (a token, a connection, 100 groups),
the emulator did not commit exactly the creates sent (or saw a duplicate), or (when
asked) a ratio is past the given maximum.
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
import warnings
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _server import GROUPS_ORGANIZATION, Checks, control, emulator_process, peak_rss_mib

KINDS = ("ours", "raw", "sdk", "floor")


def order(r: int) -> tuple[str, ...]:
    """Round r's order of the clients: rotated by r, reversed every other round."""
    shift = r % len(KINDS)
    turned = KINDS[shift:] + KINDS[:shift]
    return turned if r % 2 == 0 else turned[::-1]


WARM_UP = 200
GROUPS = 100
Call = Callable[[str], Awaitable[None]]


# -- the clients: each yields `call(organization_id)` inside its session ------------


class _Raw:
    """Raw aiohttp as a user writes it: one session, the idiomatic calls."""

    def __init__(self, info: dict[str, str]) -> None:
        auth = base64.b64encode(f"{info['project_id']}:{info['secret']}".encode()).decode()
        self.headers = {"Authorization": f"Basic {auth}"}
        self.base = info["base_url"] + "/v1/b2b/scim/"
        self.groups_connection = info["groups_connection_id"]

    async def run(self, op: str, orgs: Iterator[str], concurrency: int) -> None:
        import aiohttp

        headers, base = self.headers, self.base
        async with aiohttp.ClientSession() as session:

            async def create(org: str) -> None:
                payload = {"display_name": "Okta", "identity_provider": "okta"}
                url = f"{base}{org}/connection"
                async with session.post(url, json=payload, headers=headers) as response:
                    data = await response.json()
                    assert data["connection"]["bearer_token"]

            async def get(org: str) -> None:
                async with session.get(f"{base}{org}/connection", headers=headers) as response:
                    data = await response.json()
                    assert data["connection"]["connection_id"]

            async def groups(org: str) -> None:
                url = f"{base}{org}/connection/{self.groups_connection}"
                async with session.get(url, headers=headers) as response:
                    data = await response.json()
                    assert len(data["scim_groups"]) == GROUPS and not data.get("next_cursor")

            await _workers({"create": create, "get": get, "groups": groups}[op], orgs, concurrency)


class _Floor(_Raw):
    """aiohttp at its lowest well-supported level, as this client uses it: headers
    built once as a CIMultiDict, the body bytes prebuilt, `session.request` awaited,
    the body read and `json.loads`-ed, the response released; no checks, no models.
    What no aiohttp client can go below."""

    async def run(self, op: str, orgs: Iterator[str], concurrency: int) -> None:
        import aiohttp
        from multidict import CIMultiDict

        headers = CIMultiDict({**self.headers, "Content-Type": "application/json"})
        base = self.base
        body = b'{"display_name":"Okta","identity_provider":"okta"}'
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def exchange(method: str, url: str, data: bytes | None) -> Any:
                response = await session.request(
                    method, url, headers=headers, data=data, allow_redirects=False
                )
                try:
                    raw = await response.read()
                finally:
                    response.release()
                return json.loads(raw.decode())

            async def create(org: str) -> None:
                data = await exchange("POST", f"{base}{org}/connection", body)
                assert data["connection"]["bearer_token"]

            async def get(org: str) -> None:
                data = await exchange("GET", f"{base}{org}/connection", None)
                assert data["connection"]["connection_id"]

            async def groups(org: str) -> None:
                url = f"{base}{org}/connection/{self.groups_connection}"
                data = await exchange("GET", url, None)
                assert len(data["scim_groups"]) == GROUPS and not data.get("next_cursor")

            await _workers({"create": create, "get": get, "groups": groups}[op], orgs, concurrency)


class _Ours:
    """This client."""

    def __init__(self, info: dict[str, str]) -> None:
        self.info = info

    async def run(self, op: str, orgs: Iterator[str], concurrency: int) -> None:
        import stytch_scim_async as scim

        info = self.info
        connection_id = info["groups_connection_id"]
        async with scim.SCIMClient(
            info["project_id"], info["secret"], base_url=info["base_url"]
        ) as client:

            async def create(org: str) -> None:
                created = await client.create_connection(
                    org, display_name="Okta", identity_provider="okta"
                )
                assert created.connection.bearer_token

            async def get(org: str) -> None:
                got = await client.get_connection(org)
                assert got.connection is not None

            async def groups(org: str) -> None:
                count = 0
                async for _ in client.iter_groups(org, connection_id):
                    count += 1
                assert count == GROUPS

            await _workers({"create": create, "get": get, "groups": groups}[op], orgs, concurrency)


class _SDK:
    """stytch-python's B2B client, its async methods."""

    def __init__(self, info: dict[str, str]) -> None:
        self.info = info

    async def run(self, op: str, orgs: Iterator[str], concurrency: int) -> None:
        from stytch import B2BClient

        warnings.simplefilter("ignore")  # its aiohttp.BasicAuth use; its test-env notice
        info = self.info
        connection_id = info["groups_connection_id"]
        # environment= is returned as the base URL when it is not "test"/"live";
        # custom_base_url= would refuse plain http.
        async with B2BClient(
            info["project_id"], info["secret"], environment=info["base_url"] + "/"
        ) as client:
            api = client.scim.connection

            async def create(org: str) -> None:
                created = await api.create_async(org, display_name="Okta", identity_provider="okta")
                assert created.connection is not None and created.connection.bearer_token

            async def get(org: str) -> None:
                got = await api.get_async(org)
                assert got.connection is not None

            async def groups(org: str) -> None:
                page = await api.get_groups_async(org, connection_id)
                assert len(page.scim_groups) == GROUPS and not page.next_cursor

            await _workers({"create": create, "get": get, "groups": groups}[op], orgs, concurrency)


CLIENTS: dict[str, Callable[[dict[str, str]], Any]] = {
    "raw": _Raw,
    "ours": _Ours,
    "sdk": _SDK,
    "floor": _Floor,
}


async def _workers(call: Call, orgs: Iterator[str], concurrency: int) -> None:
    """`concurrency` workers calling `call` on the organizations until none is left."""

    async def worker() -> None:
        for org in orgs:
            await call(org)

    await asyncio.gather(*(worker() for _ in range(concurrency)))


def _organizations(op: str, tag: str, n: int, creates: int) -> list[str]:
    if op == "create":
        return [f"organization-test-{tag}-{i}" for i in range(n)]
    return [GROUPS_ORGANIZATION] * n  # seeded with a connection (and its groups)


def child(kind: str, op: str, n: int, concurrency: int, tag: str, creates: int, info: str) -> None:
    """One client process: warm up, time `n` calls by CPU time, print JSON."""
    settings = json.loads(info)
    client = CLIENTS[kind](settings)

    async def both() -> float:
        await client.run(op, iter(_organizations(op, f"{tag}-warm", WARM_UP, creates)), concurrency)
        orgs = iter(_organizations(op, tag, n, creates))
        started = time.process_time()
        await client.run(op, orgs, concurrency)
        return time.process_time() - started

    cpu = asyncio.run(both())
    print(json.dumps({"cpu_per_call": cpu / n, "peak_rss_mib": peak_rss_mib()}))


def run_child(
    info: dict[str, str], kind: str, op: str, n: int, args: argparse.Namespace, tag: str
) -> dict[str, float]:
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            kind,
            op,
            str(n),
            tag,
            "--concurrency",
            str(args.concurrency),
            "--creates",
            str(args.creates),
            "--info",
            json.dumps(info),
        ],
        capture_output=True,
        text=True,
    )
    if out.returncode:
        print(out.stderr, file=sys.stderr)
        raise SystemExit(f"the {kind} {op} process failed (a call did not return what it must)")
    result: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def compile_package() -> str:
    """Write the package's bytecode, as installing a wheel does, and say so.

    aiohttp's bytecode was written when pip installed it; an editable checkout run
    with PYTHONDONTWRITEBYTECODE set would compile every one of our modules from
    source in every fresh interpreter, which no installed user pays."""
    import compileall
    import importlib.util

    spec = importlib.util.find_spec("stytch_scim_async")
    assert spec is not None and spec.origin is not None
    package = Path(spec.origin).parent
    if not compileall.compile_dir(package, quiet=1):
        raise RuntimeError(f"could not write the bytecode of {package}")
    return "both from bytecode"


def import_times(statements: dict[str, str], runs: int = 15) -> dict[str, float]:
    """Median wall time of each statement in fresh interpreters, run interleaved (one of
    each per round) so that a busy spell of the machine hits them all alike."""
    samples: dict[str, list[float]] = {name: [] for name in statements}
    for _ in range(runs):
        for name, statement in statements.items():
            code = f"import time; t = time.perf_counter(); {statement}; "
            code += "print(time.perf_counter() - t)"
            out = subprocess.run(
                [sys.executable, "-W", "ignore", "-c", code],
                capture_output=True,
                text=True,
                check=True,
            )
            samples[name].append(float(out.stdout))
    return {name: statistics.median(values) for name, values in samples.items()}


def _line(label: str, samples: dict[str, list[float]], kinds: tuple[str, ...], unit: str) -> str:
    medians = {kind: statistics.median(samples[kind]) for kind in kinds}
    parts = [f"{kind} {medians[kind] * 1e6:.0f} {unit}" for kind in kinds]
    ratios = []
    for base in kinds[1:]:
        per_round = sorted(o / b for o, b in zip(samples["ours"], samples[base], strict=True))
        ratios.append(
            f"ours/{base} {medians['ours'] / medians[base]:.3f} "
            f"(per round {per_round[0]:.3f} to {per_round[-1]:.3f})"
        )
    return f"{label}: " + ", ".join(parts) + "; " + ", ".join(ratios)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--creates", type=int, default=5000)
    parser.add_argument("--gets", type=int, default=5000)
    parser.add_argument("--pages", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--max-cpu-ratio", type=float, help="exit 1 if ours/raw is above")
    parser.add_argument("--max-rss-ratio", type=float, help="exit 1 if ours/raw RSS is above")
    parser.add_argument("--quick", action="store_true", help="CPU only: no import, no RSS")
    parser.add_argument("--ops", default=",".join(OPS), help="comma-separated: create,get,groups")
    parser.add_argument("--child", nargs=4, metavar=("KIND", "OP", "N", "TAG"))
    parser.add_argument("--info")
    args = parser.parse_args()

    if args.child:
        kind, op, n, tag = args.child
        child(kind, op, int(n), args.concurrency, tag, args.creates, args.info)
        return

    checks = Checks()
    ops = [op for op in OPS if op in args.ops.split(",")]
    cpu: dict[str, dict[str, list[float]]] = {op: {k: [] for k in KINDS} for op in OPS}
    rss: dict[str, list[float]] = {k: [] for k in KINDS}
    sizes = {"create": args.creates, "get": args.gets, "groups": args.pages}
    with emulator_process(groups=GROUPS) as info:
        for op in ops:
            for r in range(args.rounds):
                for kind in order(r):
                    result = run_child(info, kind, op, sizes[op], args, f"r{r}-{kind}")
                    cpu[op][kind].append(result["cpu_per_call"])
                    if op == "create":
                        rss[kind].append(result["peak_rss_mib"])
        stats = control(info, "/_stats")
    sent = args.rounds * len(KINDS) * (args.creates + WARM_UP) if "create" in ops else 0
    checks.expect(
        stats["creates_committed"] == sent and stats["duplicates"] == 0,
        f"{stats['creates_committed']} creates committed of {sent}, "
        f"{stats['duplicates']} duplicates",
    )
    common = f"medians of {args.rounds} rounds, concurrency {args.concurrency}"
    print(f"CPU per call, µs ({common}, each client a fresh process per round):")
    labels = {
        "create": f"  create x {args.creates}",
        "get": f"  get_connection x {args.gets}",
        "groups": f"  iter_groups, one page of {GROUPS} x {args.pages}",
    }
    for op in ops:
        print(_line(labels[op], cpu[op], ("ours", "raw", "sdk", "floor"), "µs"))
    if args.quick:
        checks.exit()
        return

    compiled = compile_package()
    times = import_times(
        {
            "aiohttp": "import aiohttp",
            "ours": "import stytch_scim_async",
            "client": "import stytch_scim_async as s; s.SCIMClient('project-test-x', 'y')",
        }
    )
    t_aiohttp, t_ours, t_client = times["aiohttp"], times["ours"], times["client"]
    print(
        f"import: aiohttp {t_aiohttp * 1e3:.1f} ms, stytch_scim_async {t_ours * 1e3:.1f} ms "
        f"(ratio {t_ours / t_aiohttp:.2f}); with a first client constructed "
        f"{t_client * 1e3:.1f} ms (ratio {t_client / t_aiohttp:.2f}) "
        f"(medians of 15 fresh interpreters each, interleaved, {compiled})"
    )
    if "create" not in ops:
        checks.exit()
        return
    peaks = {kind: statistics.median(rss[kind]) for kind in KINDS}
    print(
        f"peak RSS of a create process ({args.creates} creates after {WARM_UP} warm-up, "
        f"median of {args.rounds}): ours {peaks['ours']:.1f} MiB, raw aiohttp "
        f"{peaks['raw']:.1f} MiB (ours - raw {peaks['ours'] - peaks['raw']:+.1f} MiB), "
        f"sdk {peaks['sdk']:.1f} MiB"
    )
    ratio = statistics.median(cpu["create"]["ours"]) / statistics.median(cpu["create"]["raw"])
    if args.max_cpu_ratio is not None:
        checks.expect(
            ratio <= args.max_cpu_ratio,
            f"create CPU ratio {ratio:.3f} is above --max-cpu-ratio {args.max_cpu_ratio}",
        )
    if args.max_rss_ratio is not None:
        rss_ratio = peaks["ours"] / peaks["raw"]
        checks.expect(
            rss_ratio <= args.max_rss_ratio,
            f"RSS ratio {rss_ratio:.2f} is above --max-rss-ratio {args.max_rss_ratio}",
        )
    checks.exit()


OPS = ("create", "get", "groups")

if __name__ == "__main__":
    main()
