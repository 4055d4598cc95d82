"""What a batch did, counted once: the progress line, the summary and the exit status
all read the same `Tally`, so they never disagree.

The tally keeps counts and a few failure lines, never a token, so memory stays flat in
the number of organizations.
"""

from __future__ import annotations

import collections
from collections.abc import Sequence

import attrs

from .._provision.batch import ProvisionOutcome, ProvisionRequest, ProvisionStatus
from .display import STATUS_WORDS, BatchProgress, shown_statuses
from .exit import ExitStatus
from .ledger import Action, History, Ledger, classify
from .records import error_type

__all__ = ["Tally", "Todo", "exit_status", "failure_notes", "plan", "status_rows", "summary_rows"]

#: Failed organizations listed in the summary; the results file has all of them.
MAX_FAILURES_SHOWN = 10


@attrs.frozen
class Todo:
    """One organization this run works on, and how (`Action.FRESH`, `RESUME`, `CONFIRM`)."""

    request: ProvisionRequest
    action: Action = Action.FRESH
    history: History | None = None


@attrs.define
class Tally:
    """What a batch did: counts by status, requests sent, the first few failures."""

    total: int
    skipped: dict[str, str] = attrs.field(factory=dict)
    counts: collections.Counter[str] = attrs.field(factory=collections.Counter)
    #: Organizations an earlier run left pending (or failed after sending): reconciled.
    resumed: int = 0
    #: Organizations the results file leaves pending but the input no longer lists.
    stranded: list[str] = attrs.field(factory=list)
    requests: int = 0
    throttled: int = 0
    elapsed: float = 0.0
    failures: list[str] = attrs.field(factory=list)
    failures_hidden: int = 0
    aborted: str | None = None
    interrupted: bool = False
    #: Stopped early: Stytch could not be reached at all.
    unreachable: bool = False

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

    def unsettled(self, organization_id: str, history: History | None) -> None:
        """An organization whose connection could not be checked: it stays as the file
        says (`unconfirmed` when a token is on file, else `failed`), for the next run."""
        if history is not None and history.token is not None:
            self.counts["unconfirmed"] += 1
            return
        self.counts["failed"] += 1
        if len(self.failures) < MAX_FAILURES_SHOWN:
            self.failures.append(f"{organization_id}: its connection could not be checked")
        else:
            self.failures_hidden += 1

    def progress(self) -> BatchProgress:
        """This run's counts, for the progress display."""
        counts = self.counts
        return BatchProgress(
            done=sum(counts.values()),
            created=counts["created"],
            recovered=counts["recovered"],
            unconfirmed=counts["unconfirmed"],
            already_exists=counts["already_exists"],
            failed=counts["failed"],
            requests=self.requests,
            throttled=self.throttled,
        )

    def status_count(self, status: str) -> int:
        """Organizations with `status`, in this run and (skipped) earlier runs."""
        earlier = sum(1 for value in self.skipped.values() if value == status)
        return self.counts[status] + earlier

    def succeeded(self, allow_existing: bool) -> bool:
        """True when every organization has a confirmed token on file (or, with
        `allow_existing`, already had a connection)."""
        bad = self.status_count("failed") + self.status_count("unconfirmed")
        if not allow_existing:
            bad += self.status_count("already_exists")
        return bad == 0 and sum(self.counts.values()) + len(self.skipped) == self.total


def exit_status(tally: Tally, allow_existing: bool) -> ExitStatus:
    """`OK` when the whole batch succeeded; `INTERRUPTED` or `UNREACHABLE` when it was
    stopped early for that; `FAILURE` otherwise (the results file says which)."""
    if tally.interrupted:
        return ExitStatus.INTERRUPTED
    if tally.unreachable:
        return ExitStatus.UNREACHABLE
    return ExitStatus.OK if tally.succeeded(allow_existing) else ExitStatus.FAILURE


def plan(requests: Sequence[ProvisionRequest], ledger: Ledger | None) -> tuple[list[Todo], Tally]:
    """Decide, for each of `requests`, what this run does (`_cli.ledger.classify`), and
    start a tally that already counts the organizations earlier runs finished."""
    tally = Tally(total=len(requests))
    todo = []
    wanted = set()
    for request in requests:
        wanted.add(request.organization_id)
        history = ledger.history(request.organization_id) if ledger is not None else None
        action = classify(history)
        if action is Action.SKIP:
            assert history is not None and history.done is not None
            tally.skipped[request.organization_id] = history.done
            continue
        if action is not Action.FRESH:
            tally.resumed += 1
        todo.append(Todo(request, action, history))
    if ledger is not None:
        tally.stranded = sorted(
            org
            for org, history in ledger.histories.items()
            if org not in wanted and classify(history) in (Action.RESUME, Action.CONFIRM)
        )
    return todo, tally


#: What the summary adds after a status's number (the progress line shows it bare).
_NOTES = {
    "recovered": "token re-issued",
    "unconfirmed": "token on file, not confirmed",
}


def status_rows(progress: BatchProgress, allow_existing: bool) -> list[tuple[str, str]]:
    """One row per outcome status, in the progress line's words, order and numbers
    (`display.STATUS_WORDS`); the note in parentheses is the summary's own."""
    notes = dict(_NOTES)
    if progress.already_exists and not allow_existing:
        notes["already_exists"] = "failures: no token; --allow-existing accepts them"
    rows = []
    for status in shown_statuses(progress):
        count = str(getattr(progress, status))
        note = notes.get(status)
        rows.append((STATUS_WORDS[status], f"{count} ({note})" if note else count))
    return rows


def summary_rows(tally: Tally, allow_existing: bool) -> list[tuple[str, str]]:
    """The rows of the end-of-run table of `provision` (the demo's starts the same
    way); the statuses are counted in the progress line's words and numbers."""
    progress = tally.progress()
    rate = progress.done / tally.elapsed if tally.elapsed > 0 else 0.0
    rows = [("organizations", str(tally.total))]
    if tally.skipped:
        earlier = collections.Counter(tally.skipped.values())
        detail = ", ".join(f"{n} {status}" for status, n in sorted(earlier.items()))
        rows.append(("skipped (done earlier)", f"{len(tally.skipped)} ({detail})"))
    if tally.resumed:
        rows.append(("resumed (reconciled first)", str(tally.resumed)))
    rows += status_rows(progress, allow_existing)
    unattempted = tally.total - len(tally.skipped) - progress.done
    if unattempted:
        rows.append(("not attempted", str(unattempted)))
    rows += [
        ("requests sent", str(progress.requests)),
        ("elapsed", f"{tally.elapsed:.2f} s"),
        ("rate", f"{rate:.1f} orgs/s"),
    ]
    return rows


def failure_notes(tally: Tally) -> list[str]:
    """Lines naming the first failed organizations and why, and what needs a rerun."""
    notes = [f"failed: {line}" for line in tally.failures]
    if tally.aborted:
        notes.append(tally.aborted)
    if tally.failures_hidden:
        notes.append(f"... and {tally.failures_hidden} more failures (see the results file)")
    if tally.counts["unconfirmed"]:
        notes.append(
            f"{tally.counts['unconfirmed']} unconfirmed: each has a token on file that "
            "Stytch did not confirm; rerun the same command to check and settle them"
        )
    if tally.stranded:
        shown = ", ".join(tally.stranded[:3]) + (", ..." if len(tally.stranded) > 3 else "")
        notes.append(
            f"{len(tally.stranded)} organizations the results file leaves pending are not "
            f"in this input ({shown}): rerun with them, or their connections may keep a "
            "token nobody holds"
        )
    return notes
