"""This client's own CPU per call, with no network: a transport that answers at once.

    python benchmarks/bench_overhead.py [--calls 30000]
    PYTHONPATH=<another checkout> python benchmarks/bench_overhead.py   # the same, there

A diagnostic beside `bench_client.py`, not a comparison: one call at a time in a
tight loop, so it shows what the client's Python costs (argument checks, the request
build, the organization lock, the limiters, the engine, parsing and structuring the
reply) without the sockets, aiohttp and the event loop's interleaving, which
multiply every step's cost between 64 concurrent calls. Each figure is the best of
three runs of `--calls` calls (a page of groups: a tenth as many).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import stytch_scim_async as scim
from stytch_scim_async._transports.base import InFlight

_CONNECTION = {
    "organization_id": "organization-test-1",
    "connection_id": "scim-connection-test-1",
    "status": "active",
    "display_name": "Okta",
    "identity_provider": "okta",
    "base_url": "https://test.stytch.com/v1/b2b/scim/scim-connection-test-1",
    "bearer_token_expires_at": "2027-01-01T00:00:00Z",
    "scim_group_implicit_role_assignments": [],
}
_TOKEN = {"bearer_token": "Abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKL"}
_GROUPS = [
    {
        "group_id": f"scim-group-test-{i:012d}",
        "group_name": f"group {i}",
        "organization_id": "organization-test-1",
        "connection_id": "scim-connection-test-1",
    }
    for i in range(100)
]
REPLIES = {
    "create": {"request_id": "r", "status_code": 200, "connection": _CONNECTION | _TOKEN},
    "get": {"request_id": "r", "status_code": 200, "connection": _CONNECTION},
    "groups": {"request_id": "r", "status_code": 200, "scim_groups": _GROUPS},
}
_HEADERS: Mapping[str, str] = {"Content-Type": "application/json"}


class AnswerAtOnce(InFlight):
    """A transport whose every attempt gets its canned 200 without a wait."""

    def __init__(self) -> None:
        super().__init__()
        self._bodies = {op: json.dumps(reply).encode() for op, reply in REPLIES.items()}

    async def send(self, request: Any, ends: Any = None, attempt_timeout: Any = None) -> Any:
        if request.method == "POST":
            return 200, _HEADERS, self._bodies["create"]
        op = "groups" if "/connection/" in request.url else "get"
        return 200, _HEADERS, self._bodies[op]

    async def aclose(self) -> None:
        """Nothing to close."""


async def per_call(op: str, calls: int) -> float:
    """CPU µs per call of `op` over `AnswerAtOnce`, after 200 calls to warm up."""
    async with scim.SCIMClient(
        "project-test-x", "secret-test-y", base_url="http://127.0.0.1:1", _transport=AnswerAtOnce()
    ) as client:

        async def create(i: int) -> None:
            await client.create_connection(
                f"organization-test-{i}", display_name="Okta", identity_provider="okta"
            )

        async def get(i: int) -> None:
            await client.get_connection("organization-test-1")

        async def groups(i: int) -> None:
            async for _ in client.iter_groups("organization-test-1", "scim-connection-test-1"):
                pass

        call: Callable[[int], Awaitable[None]] = {"create": create, "get": get, "groups": groups}[
            op
        ]
        for i in range(200):
            await call(-i - 1)
        started = time.process_time()
        for i in range(calls):
            await call(i)
        return (time.process_time() - started) / calls * 1e6


def main() -> None:
    """Print each operation's best of three."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=30_000)
    args = parser.parse_args()
    for op in REPLIES:
        calls = args.calls // 10 if op == "groups" else args.calls
        best = min(asyncio.run(per_call(op, calls)) for _ in range(3))
        label = "a page of 100 groups" if op == "groups" else op
        print(f"{label}: {best:.1f} µs of this client's CPU per call (best of 3 x {calls})")


if __name__ == "__main__":
    main()
