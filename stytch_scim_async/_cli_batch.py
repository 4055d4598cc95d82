"""Driving one batch through `SCIMClient.provision` for the console script.

Shared by `provision` and `demo`: every outcome is written down (durably, off the
event loop) before the next one is taken, then tallied. The tally keeps counts and a
few failure lines, never a token, so memory stays flat in the number of organizations.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import signal
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence

import attrs

from . import errors
from ._cli_results import ResultsFile, error_type, outcome_record
from ._client import SCIMClient
from ._provision import ProvisionOutcome, ProvisionProgress, ProvisionRequest, ProvisionStatus

__all__ = [
    "Tally",
    "exit_code",
    "failure_notes",
    "graceful_stop",
    "plan",
    "run_batch",
    "summary_rows",
]

#: Failed organizations listed in the summary; the results file has all of them.
MAX_FAILURES_SHOWN = 10


@attrs.define
class Tally:
    """What a batch did: counts by status, requests sent, the first few failures."""

    total: int
    skipped: dict[str, str] = attrs.field(factory=dict)
    counts: collections.Counter[str] = attrs.field(factory=collections.Counter)
    requests: int = 0
    elapsed: float = 0.0
    failures: list[str] = attrs.field(factory=list)
    failures_hidden: int = 0
    aborted: str | None = None
    interrupted: bool = False

    def add(self, outcome: ProvisionOutcome) -> None:
        """Count one outcome (and note it if it failed)."""
        self.counts[outcome.status.value] += 1
        self.requests += outcome.attempts
        if outcome.status is ProvisionStatus.FAILED:
            if len(self.failures) < MAX_FAILURES_SHOWN:
                error = outcome.error
                why = f"{error_type(error)}: {error}" if error is not None else "unknown error"
                self.failures.append(f"{outcome.request.organization_id}: {why}")
            else:
                self.failures_hidden += 1

    def status_count(self, status: str) -> int:
        """Organizations with `status`, in this run and (skipped) earlier runs."""
        earlier = sum(1 for value in self.skipped.values() if value == status)
        return self.counts[status] + earlier

    def succeeded(self, allow_existing: bool) -> bool:
        """True when every organization has a token we hold (or, with `allow_existing`,
        already had a connection)."""
        bad = self.status_count("failed")
        if not allow_existing:
            bad += self.status_count("already_exists")
        return bad == 0 and sum(self.counts.values()) + len(self.skipped) == self.total


def exit_code(tally: Tally, allow_existing: bool) -> int:
    """0 when the whole batch succeeded, 1 otherwise (the results file says which)."""
    return 0 if tally.succeeded(allow_existing) else 1


def plan(
    requests: Sequence[ProvisionRequest], done: dict[str, str]
) -> tuple[list[ProvisionRequest], Tally]:
    """Split `requests` into those still to send and a tally that already counts the
    ones an earlier run finished (`done`: organization → status)."""
    tally = Tally(total=len(requests))
    todo = []
    for request in requests:
        status = done.get(request.organization_id)
        if status is None:
            todo.append(request)
        else:
            tally.skipped[request.organization_id] = status
    return todo, tally


async def run_batch(
    client: SCIMClient,
    todo: Iterable[ProvisionRequest],
    tally: Tally,
    *,
    results: ResultsFile | None,
    concurrency: int,
    verify_absent: bool = False,
    on_progress: Callable[[ProvisionProgress], None] | None = None,
    check: Callable[[ProvisionOutcome], None] | None = None,
    stop: asyncio.Event | None = None,
) -> Tally:
    """Provision `todo`, recording each outcome in `results` and counting it in `tally`.

    Each outcome is passed to `check` (the demo verifies tokens there), written to
    `results` and fsync'd in a worker thread, then counted, before the next is taken.
    Once `stop` is set no further create starts, but those in flight finish and are
    recorded: cancelling one could lose a token whose create already committed.
    Rejected credentials stop the batch at once (no other organization can succeed).
    """

    async def feed() -> AsyncIterator[ProvisionRequest]:
        for request in todo:
            if stop is not None and stop.is_set():
                return
            yield request

    def record(outcome: ProvisionOutcome) -> None:
        # Outcomes of creates still in flight when the loop is left (rejected
        # credentials, a second interrupt): written down too, tokens included.
        if results is not None:
            results.write(outcome_record(outcome))
        tally.add(outcome)

    started = time.monotonic()
    # Closing the batch on the way out settles the creates in flight at once, not
    # whenever the garbage collector gets to it.
    batch = client.provision(
        feed(),
        concurrency=concurrency,
        verify_absent=verify_absent,
        on_progress=on_progress,
        on_abandoned=record,
    )
    try:
        async with contextlib.aclosing(batch):
            async for outcome in batch:
                if check is not None:
                    check(outcome)
                if results is not None:
                    await asyncio.to_thread(results.write, outcome_record(outcome))
                tally.add(outcome)
                if isinstance(outcome.error, errors.UnauthorizedError):
                    tally.aborted = f"stopped: the credentials were rejected ({outcome.error})"
                    break
    finally:
        tally.elapsed = time.monotonic() - started
    if stop is not None and stop.is_set():
        tally.interrupted = True
        tally.aborted = tally.aborted or "interrupted: the creates in flight were finished"
    return tally


@contextlib.asynccontextmanager
async def graceful_stop(notify: Callable[[str], None]) -> AsyncIterator[asyncio.Event]:
    """An event set by the first SIGINT or SIGTERM, for `run_batch(stop=...)`.

    A create in flight may already have committed, so killing it could lose the only
    copy of a token: the first signal only stops new creates and lets the running
    ones finish and be written down. A second signal abandons them (cancels the task).
    """
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    signals = (signal.SIGINT, signal.SIGTERM)

    def on_signal() -> None:
        if not stop.is_set():
            stop.set()
            notify("stopping: finishing the creates in flight (interrupt again to abandon them)")
        elif task is not None:
            notify("abandoning the creates in flight; their organizations may need a rotate")
            task.cancel()

    installed = []
    for signum in signals:
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            loop.add_signal_handler(signum, on_signal)
            installed.append(signum)
    try:
        yield stop
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)


def summary_rows(tally: Tally, allow_existing: bool) -> list[tuple[str, str]]:
    """The rows of the end-of-run table, shared by `provision` and `demo`."""
    rate = sum(tally.counts.values()) / tally.elapsed if tally.elapsed > 0 else 0.0
    existing = str(tally.counts["already_exists"])
    if tally.counts["already_exists"] and not allow_existing:
        existing += " (failures: no token; --allow-existing accepts them)"
    rows = [("organizations", str(tally.total))]
    if tally.skipped:
        earlier = collections.Counter(tally.skipped.values())
        detail = ", ".join(f"{n} {status}" for status, n in sorted(earlier.items()))
        rows.append(("skipped (done earlier)", f"{len(tally.skipped)} ({detail})"))
    rows += [
        ("created", str(tally.counts["created"])),
        ("recovered (token re-issued)", str(tally.counts["recovered"])),
        ("already had a connection", existing),
        ("failed", str(tally.counts["failed"])),
    ]
    unattempted = tally.total - len(tally.skipped) - sum(tally.counts.values())
    if unattempted:
        rows.append(("not attempted", str(unattempted)))
    rows += [
        ("requests sent", str(tally.requests)),
        ("elapsed", f"{tally.elapsed:.2f} s"),
        ("rate", f"{rate:.1f} orgs/s"),
    ]
    return rows


def failure_notes(tally: Tally) -> list[str]:
    """Lines naming the first failed organizations and why."""
    notes = [f"failed: {line}" for line in tally.failures]
    if tally.aborted:
        notes.append(tally.aborted)
    if tally.failures_hidden:
        notes.append(f"... and {tally.failures_hidden} more failures (see the results file)")
    return notes
