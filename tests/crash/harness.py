"""Killing `stytch-scim provision` for real, and checking what it left against Stytch.

The emulator runs in a process of its own (`python -m stytch_scim_async.testing`,
with latency, so creates are in flight when the kill comes); the console script runs
in another and is SIGKILLed at random moments, then rerun until it finishes. The
emulator's control routes are the ground truth: `/_tokens` (every active token) and
`/_stats` (creates committed, duplicates refused).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs

import stytch_scim_async as scim

SCRIPT = Path(sys.executable).with_name("stytch-scim")


@attrs.frozen
class Served:
    """An emulator serving in a child process."""

    base_url: str
    project_id: str
    secret: str = attrs.field(repr=False)

    def control(self, route: str) -> Any:
        """GET one of the emulator's control routes (loopback only)."""
        assert self.base_url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(self.base_url + route, timeout=30) as answer:  # noqa: S310
            return json.load(answer)


@contextmanager
def emulator(latency: float, seed: int) -> Iterator[Served]:
    """Serve the emulator with `latency` seconds per request until the block ends."""
    command = [sys.executable, "-m", "stytch_scim_async.testing", "--port", "0"]
    command += ["--seed", str(seed), "--latency", str(latency)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        settings = dict(process.stdout.readline().strip().split("=", 1) for _ in range(4))
        yield Served(settings["base_url"], settings["project_id"], settings["secret"])
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout is not None:
            process.stdout.close()


def organization(n: int) -> str:
    """The n-th organization of a crash run."""
    return f"organization-test-crash-{n:06d}"


def write_input(path: Path, orgs: int) -> Path:
    """The input file: `orgs` organizations, display name "Org n", IdP okta."""
    rows = "".join(f"{organization(n)},Org {n},okta\n" for n in range(orgs))
    path.write_text("organization_id,display_name,identity_provider\n" + rows)
    return path


def seed_connections(served: Served, orgs: list[int]) -> dict[str, str]:
    """Give `orgs` a connection before any run, half of them identical to what the
    input asks for (the case a lost-reply recovery could mistake for its own); the
    organization -> token each was created with."""

    async def create() -> dict[str, str]:
        async with scim.SCIMClient(
            served.project_id, served.secret, base_url=served.base_url
        ) as client:
            tokens = {}
            for n in orgs:
                name = f"Org {n}" if n % 2 else "Legacy SCIM"
                created = await client.create_connection(
                    organization(n), display_name=name, identity_provider="okta"
                )
                tokens[organization(n)] = created.connection.bearer_token
            return tokens

    return asyncio.run(create())


@attrs.define
class Runs:
    """What the runs did: their exit statuses and how many were killed."""

    statuses: list[int] = attrs.field(factory=list)
    kills: int = 0
    elapsed: float = 0.0


def _lines(path: Path) -> int:
    return path.read_bytes().count(b"\n") if path.exists() else 0


def run_with_kills(
    served: Served,
    source: Path,
    out: Path,
    *,
    kills: int,
    rng: random.Random,
    concurrency: int = 32,
    max_delay: float = 1.0,
    runs_after: int = 5,
) -> Runs:
    """Run `stytch-scim provision` `kills` times, each SIGKILLed a random moment after
    its first new line reached the results file (creates are in flight then), then
    rerun it until it exits 0 (at most `runs_after` more runs)."""
    env = {**os.environ, "STYTCH_PROJECT_ID": served.project_id, "STYTCH_SECRET": served.secret}
    command = [str(SCRIPT), "provision", str(source), "--out", str(out)]
    command += ["--concurrency", str(concurrency), "--allow-existing"]
    command += ["--base-url", served.base_url]
    runs = Runs()
    started = time.monotonic()
    for attempt in range(kills + runs_after):
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        if attempt < kills:
            before = _lines(out)
            deadline = time.monotonic() + 60
            while process.poll() is None and _lines(out) <= before:
                assert time.monotonic() < deadline, "the run wrote nothing for a minute"
                time.sleep(0.005)
            time.sleep(rng.uniform(0, max_delay))
            if process.poll() is None:
                os.kill(process.pid, signal.SIGKILL)
                runs.kills += 1
        runs.statuses.append(process.wait(timeout=300))
        if attempt >= kills and runs.statuses[-1] == 0:
            break
    runs.elapsed = time.monotonic() - started
    return runs


@attrs.define
class Verdict:
    """Every organization checked against the emulator's ground truth."""

    organizations: int = 0
    #: Organizations with a connection but no token on file equal to the active one.
    lost: list[str] = attrs.field(factory=list)
    #: Pre-existing connections whose token changed (rotated by mistake).
    rotated: list[str] = attrs.field(factory=list)
    #: Tokens the file reports as held that are not the active one.
    wrong: list[str] = attrs.field(factory=list)
    #: Organizations of the input with no connection at all.
    missing: list[str] = attrs.field(factory=list)
    #: Statuses of the first done result of each organization.
    statuses: dict[str, int] = attrs.field(factory=dict)
    creates_committed: int = 0
    duplicates: int = 0
    pending_lines: int = 0


def verify(served: Served, out: Path, orgs: int, preexisting: dict[str, str]) -> Verdict:
    """Compare the results file with `/_tokens` and `/_stats`."""
    tokens: dict[str, str] = served.control("/_tokens")
    stats = served.control("/_stats")
    first_done: dict[str, dict[str, Any]] = {}
    verdict = Verdict(organizations=orgs)
    for line in out.read_text().splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue  # a line torn by a kill
        if record.get("kind") == "pending":
            verdict.pending_lines += 1
        if record.get("kind") == "result" and record["status"] in (
            "created",
            "recovered",
            "already_exists",
        ):
            first_done.setdefault(record["organization_id"], record)
    for n in range(orgs):
        org = organization(n)
        active = tokens.get(org)
        done = first_done.get(org)
        status = done["status"] if done is not None else "none"
        verdict.statuses[status] = verdict.statuses.get(status, 0) + 1
        if active is None:
            verdict.missing.append(org)
            continue
        if org in preexisting:
            if active != preexisting[org]:
                verdict.rotated.append(org)
            continue
        held = done.get("bearer_token") if done is not None else None
        if held is None:
            verdict.lost.append(org)
        elif held != active:
            verdict.wrong.append(org)
    verdict.creates_committed = stats["creates_committed"]
    verdict.duplicates = stats["duplicates"]
    return verdict
