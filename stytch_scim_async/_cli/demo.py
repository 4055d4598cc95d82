"""`stytch-scim demo`: the batch provisioner against a misbehaving fake Stytch.

No credentials, no network: an emulator starts on 127.0.0.1 with a rate limit and a
few percent of every fault a real deployment meets (500s before and after the
commit, HTML 502s from a proxy, truncated JSON, dropped connections, stalls longer
than the client's timeout, 429s with and without `Retry-After`). Then every token the
client reports is checked against the one the emulator would accept: the claim "no
token is ever lost or wrong" is verified, not assumed.

The emulator is imported only when the command runs (its types for checkers only),
so no other command pays for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING

import attrs
import click

from .._clients.project import SCIMClient
from .._policy.throttle import AdaptiveRateLimiter
from .._provision.batch import ProvisionOutcome, ProvisionRequest
from .batch import run_batch
from .display import BatchProgress, ProgressCallback, live_progress, print_summary
from .exit import ExitStatus
from .options import Command, environment, verbose_option
from .provision import RATE, open_results
from .results import ResultsFile
from .tally import Tally, failure_notes, plan, status_rows

if TYPE_CHECKING:
    from ..testing import Faults, StytchEmulator

__all__ = [
    "DemoConfig",
    "DemoReport",
    "demo",
    "demo_faults",
    "demo_requests",
    "demo_rows",
    "run_demo",
    "verdict",
    "verify",
]

_IDPS = ("okta", "microsoft-entra", "generic", "jumpcloud", "onelogin", "google-workspace")


@attrs.frozen
class DemoConfig:
    """The demo's knobs; the defaults finish 300 organizations in a few seconds."""

    orgs: int = 300
    seed: int = 0
    concurrency: int = 32
    rate_limit: float = 200.0
    fault_rate: float = 0.02
    stall_seconds: float = 2.0
    timeout: float = 1.0
    max_rate: float | None = None


@attrs.define
class DemoReport:
    """What the demo saw, client side (the tally) and server side (the emulator)."""

    tally: Tally
    mismatches: int = 0
    orphans: int = 0
    budget_left: int = 0
    budget_capacity: int = 0
    server_requests: int = 0
    commits: int = 0
    faults: dict[str, int] = attrs.field(factory=dict)

    @property
    def ok(self) -> bool:
        """The demo passes when every organization holds the token Stytch accepts."""
        return (
            self.tally.counts["failed"] == 0
            and self.tally.counts["already_exists"] == 0
            and self.mismatches == 0
            and self.orphans == 0
        )


def demo_faults(config: DemoConfig) -> Faults:
    """The failure model: Stytch's shape of rate limit (per route, fixed windows aligned
    to the clock, 429s without `Retry-After`), plus `fault_rate` of each probabilistic
    fault (half that for the slow ones)."""
    from ..testing import Faults

    p = config.fault_rate
    return Faults(
        rate_limit=config.rate_limit,
        retry_after=None,
        p_500_before_commit=p,
        p_500_after_commit=p,
        p_html_502=p,
        p_truncated_json=p,
        p_drop_before_commit=p / 2,
        p_drop_after_commit=p / 2,
        p_stall_after_commit=p / 2,
        stall_seconds=config.stall_seconds,
    )


def demo_requests(config: DemoConfig) -> list[ProvisionRequest]:
    """Organizations with Stytch-shaped ids, reproducible from the seed."""
    rng = random.Random(config.seed)
    return [
        ProvisionRequest(
            f"organization-test-{uuid.UUID(int=rng.getrandbits(128), version=4)}",
            display_name=f"Demo org {index + 1:04d}",
            identity_provider=_IDPS[index % len(_IDPS)],
        )
        for index in range(config.orgs)
    ]


def _throttle_later(emulator: StytchEmulator, total: int) -> ProgressCallback:
    """Mid-run bursts of 429s: without `Retry-After` at a third, as an HTTP-date at two
    thirds, so the client meets every spelling a proxy or Stytch may use."""
    times = max(1, total // 100)

    def hook(progress: BatchProgress) -> None:
        if progress.done == max(1, total // 3):
            emulator.script(fault="rate_limit", route="create", times=times, retry_after=None)
        elif progress.done == max(2, 2 * total // 3):
            emulator.script(
                fault="rate_limit",
                route="create",
                times=times,
                retry_after=0.5,
                retry_after_format="http-date",
            )

    return hook


def verify(report: DemoReport, outcome: ProvisionOutcome, active: str | None) -> None:
    """Count a wrong token (held but not the one Stytch accepts) or an orphan (a
    connection exists, but the outcome holds no token for it) in `report`."""
    if outcome.ok:
        held = outcome.connection.bearer_token if outcome.connection is not None else None
        if held != active:
            report.mismatches += 1
    elif active is not None:
        report.orphans += 1


async def run_demo(
    config: DemoConfig,
    *,
    open_results: Callable[[str], ResultsFile | None] | None = None,
    on_progress: ProgressCallback | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> DemoReport:
    """Start the emulator, provision `config.orgs` organizations through it and verify
    every token; `on_progress` sees the running counts. `open_results`, given the
    emulator's project id, opens the results file to write (if any)."""
    from ..testing import StytchEmulator

    requests = demo_requests(config)
    async with contextlib.AsyncExitStack() as stack:
        emulator = await stack.enter_async_context(
            StytchEmulator(faults=demo_faults(config), seed=config.seed)
        )
        results = open_results(emulator.project_id) if open_results is not None else None
        if results is not None:
            stack.enter_context(results)
        return await _provision_and_verify(config, emulator, requests, results, on_progress, clock)


async def _provision_and_verify(
    config: DemoConfig,
    emulator: StytchEmulator,
    requests: list[ProvisionRequest],
    results: ResultsFile | None,
    on_progress: ProgressCallback | None,
    clock: Callable[[], float],
) -> DemoReport:
    throttle = _throttle_later(emulator, len(requests))
    report = DemoReport(tally=Tally(total=len(requests)))

    def progress(update: BatchProgress) -> None:
        throttle(update)
        if on_progress is not None:
            on_progress(update)

    def check(outcome: ProvisionOutcome) -> None:
        # An organization is never touched again after its outcome, so the token the
        # emulator accepts now is the one it must accept for good.
        verify(report, outcome, emulator.active_token(outcome.request.organization_id))

    limiter = AdaptiveRateLimiter(max_rate=config.max_rate)
    async with SCIMClient(
        emulator.project_id,
        emulator.secret,
        base_url=emulator.base_url,
        timeout=config.timeout,
        rate_limiter=limiter,
    ) as client:
        todo, tally = plan(requests, None)
        report.tally = await run_batch(
            client,
            todo,
            tally,
            results=results,
            concurrency=config.concurrency,
            on_progress=progress,
            check=check,
            clock=clock,
        )
        report.budget_left = client.retry_budget.available
        report.budget_capacity = client.retry_budget.capacity
    stats = emulator.stats
    report.server_requests = stats.total_requests
    report.commits = stats.creates_committed
    report.faults = dict(sorted(stats.faults.items()))
    return report


def demo_rows(config: DemoConfig, report: DemoReport) -> list[tuple[str, str]]:
    """The demo's summary table: outcomes, amplification, rate, verification, faults."""
    tally = report.tally
    elapsed = tally.elapsed
    rate = report.server_requests / elapsed if elapsed > 0 else 0.0
    orgs_rate = sum(tally.counts.values()) / elapsed if elapsed > 0 else 0.0
    amplification = tally.requests / config.orgs if config.orgs else 0.0
    limit = f"{config.rate_limit:g} req/s per route, fixed 1 s windows, no Retry-After"
    injected = sum(report.faults.values())
    rows = [
        ("organizations", str(config.orgs)),
        *status_rows(tally.progress(), allow_existing=False),
        ("requests sent", f"{tally.requests} (emulator saw {report.server_requests})"),
        ("request amplification", f"{amplification:.2f} requests/org"),
        ("elapsed", f"{elapsed:.2f} s"),
        ("achieved rate", f"{rate:.1f} req/s, {orgs_rate:.1f} orgs/s"),
        ("emulator limit", limit),
        ("token mismatches", str(report.mismatches)),
        ("connections without a held token", str(report.orphans)),
        ("retry budget left", f"{report.budget_left} of {report.budget_capacity}"),
        ("faults injected", str(injected)),
    ]
    rows.extend((f"  {kind}", str(count)) for kind, count in report.faults.items())
    return rows


def verdict(report: DemoReport) -> str:
    """The demo's last line: PASS, or FAIL with the likeliest reason."""
    if report.ok:
        return "PASS: every token verified"
    if report.mismatches:
        return "FAIL: some tokens differ from the ones the emulator accepts"
    if report.budget_left < report.budget_capacity // 10:
        return (
            "FAIL: the retry budget ran dry: with this many faults the client stops "
            "retrying, by design, rather than multiply the load on a failing server"
        )
    return "FAIL: some organizations failed (see above)"


@click.command(cls=Command, short_help="Provision through a misbehaving emulator; verify tokens.")
@click.option(
    "--orgs",
    type=click.IntRange(min=1),
    default=300,
    show_default=True,
    help="Organizations to provision.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for ids and faults.")
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=32,
    show_default=True,
    help="Creates in flight at once.",
)
@click.option(
    "--fault-rate",
    type=click.FloatRange(0, 0.1),
    default=0.02,
    show_default=True,
    help="Probability of each fault kind per request.",
)
@click.option("--max-rate", type=RATE, help="Client ceiling in requests/s [default: adapt].")
@click.option(
    "--out",
    type=click.Path(dir_okay=False),
    help="Also write the results (JSON Lines, mode 0600).",
)
@verbose_option
def demo(
    orgs: int,
    seed: int,
    concurrency: int,
    fault_rate: float,
    max_rate: float | None,
    out: str | None,
) -> None:
    """Provision many organizations through a local Stytch emulator that misbehaves on
    purpose (rate limit, 5xx, HTML 502, truncated JSON, dropped and stalled
    connections), then check every token against the emulator. No credentials, no
    network. Exit 0 iff no organization failed and no token is wrong or lost.
    """
    env = environment()
    config = DemoConfig(
        orgs=orgs, seed=seed, concurrency=concurrency, fault_rate=fault_rate, max_rate=max_rate
    )

    def results_for(project_id: str) -> ResultsFile | None:
        return open_results(out, project_id) if out is not None else None

    async def run() -> DemoReport:
        progress = live_progress(
            "demo", orgs, env.stderr, tty=env.stderr_isatty, env=env, clock=env.clock
        )
        async with progress as on_progress:
            return await run_demo(
                config, open_results=results_for, on_progress=on_progress, clock=env.clock
            )

    report = asyncio.run(run())
    notes = failure_notes(report.tally)
    notes.append(verdict(report))
    rows = demo_rows(config, report)
    print_summary("stytch-scim demo", rows, env.stdout, tty=env.stdout_isatty, notes=notes)
    raise SystemExit(ExitStatus.OK if report.ok else ExitStatus.FAILURE)
