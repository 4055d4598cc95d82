"""Shared by the benchmarks: the emulator in its own process, its control routes, the
CPU and memory of a process, and the rule that a benchmark whose checks fail exits 1."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterable, Iterator
from typing import Any

#: The organization `emulator_process(groups=N)` seeds with one connection and N groups.
GROUPS_ORGANIZATION = "organization-test-bench-groups"
_KEYS = ("base_url", "project_id", "secret", "public_token", "groups_connection_id")


@contextlib.contextmanager
def emulator_process(*flags: str, groups: int = 0) -> Iterator[dict[str, str]]:
    """Serve `python -m stytch_scim_async.testing` on a free port; yield its key=value
    lines, plus `pid`. With `groups`, the same server is started by this module
    instead (see `_serve_seeded`), `GROUPS_ORGANIZATION` holding a connection with
    that many SCIM groups (`groups_connection_id`); no flags then."""
    if groups:
        assert not flags, "a seeded emulator takes no fault flags"
        command = [sys.executable, __file__, "--groups", str(groups)]
    else:
        command = [sys.executable, "-m", "stytch_scim_async.testing", "--port", "0", *flags]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        info: dict[str, str] = {"pid": str(process.pid)}
        while len(info) < (6 if groups else 5):
            line = process.stdout.readline()
            if not line:
                raise RuntimeError("the emulator exited before it printed its address")
            key, _, value = line.strip().partition("=")
            if key in _KEYS:
                info[key] = value
        yield info
    finally:
        process.terminate()
        process.wait(timeout=10)


def control(info: dict[str, str], path: str) -> Any:
    """Read one of the emulator's control routes (`/_stats`, `/_tokens`; loopback only)."""
    with urllib.request.urlopen(info["base_url"] + path) as response:  # noqa: S310
        return json.loads(response.read())


def cpu_seconds(pid: int | str) -> float:
    """User + system CPU time a process has used so far, from /proc."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mib() -> float:
    """This process's peak resident set size in MiB.

    Read from `VmHWM`, which starts afresh at exec; `ru_maxrss` would carry over the
    parent's peak into a child started with fork + exec.
    """
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def token_digest(pairs: Iterable[tuple[str, str]]) -> str:
    """An order-independent digest of (organization, token) pairs: lets a process check
    100,000 tokens against the emulator's without holding them all."""
    total = 0
    for organization_id, token in pairs:
        line = f"{organization_id}\0{token}".encode()
        total = (total + int.from_bytes(hashlib.sha256(line).digest()[:16], "big")) % 2**128
    return f"{total:032x}"


class Checks:
    """A benchmark's own checks: each failure is printed; `exit()` exits 1 if any."""

    def __init__(self) -> None:
        self.failures: list[str] = []

    def expect(self, ok: bool, what: str) -> None:
        if not ok:
            self.failures.append(what)
            print(f"CHECK FAILED: {what}", flush=True)

    def exit(self) -> None:
        if self.failures:
            print(f"{len(self.failures)} check(s) failed", file=sys.stderr)
            raise SystemExit(1)
        print("all checks passed")


def _serve_seeded(groups: int) -> None:
    """The emulator's own server with one connection of `groups` SCIM groups seeded
    (an IdP's groups cannot be pushed over its HTTP routes), until SIGTERM."""
    import asyncio
    import signal

    from stytch_scim_async.testing import StytchEmulator

    async def serve() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        async with StytchEmulator() as emulator:
            connection = emulator.add_connection(GROUPS_ORGANIZATION, display_name="Okta")
            for n in range(groups):
                emulator.add_group(GROUPS_ORGANIZATION, connection["connection_id"], f"g{n}")
            print(f"base_url={emulator.base_url}")
            print(f"project_id={emulator.project_id}")
            print(f"secret={emulator.secret}")
            print(f"public_token={emulator.public_token}")
            print(f"groups_connection_id={connection['connection_id']}", flush=True)
            await stop.wait()

    asyncio.run(serve())


if __name__ == "__main__":
    _serve_seeded(int(sys.argv[sys.argv.index("--groups") + 1]))
