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


@contextlib.contextmanager
def emulator_process(*flags: str) -> Iterator[dict[str, str]]:
    """Serve `python -m stytch_scim_async.testing` on a free port; yield its key=value
    lines, plus `pid`."""
    process = subprocess.Popen(
        [sys.executable, "-m", "stytch_scim_async.testing", "--port", "0", *flags],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        info: dict[str, str] = {"pid": str(process.pid)}
        while len(info) < 5:
            line = process.stdout.readline()
            if not line:
                raise RuntimeError("the emulator exited before it printed its address")
            key, _, value = line.strip().partition("=")
            if key in ("base_url", "project_id", "secret", "public_token"):
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
