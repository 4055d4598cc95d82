"""What the console script shows while a batch runs and when it ends.

A person at a terminal gets a live rich progress bar and a table; a CI log or a pipe
gets plain lines every couple of seconds and plain `label: value` rows, because
cursor tricks in a log file are noise. Nothing here ever sees a token: it is handed
counts (`BatchProgress`) and pre-formatted rows only.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from typing import TYPE_CHECKING, TextIO

import attrs
from rich.console import Console, RenderableType
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from .env import Environment

__all__ = [
    "STATUS_WORDS",
    "BatchProgress",
    "ProgressCallback",
    "counts_text",
    "live_progress",
    "plain_line",
    "print_summary",
    "shown_statuses",
]

Clock = Callable[[], float]


@attrs.frozen
class BatchProgress:
    """This run's counts, as the summary will show them: the progress line and the
    summary are built from the same tally, so they never disagree."""

    done: int = 0
    created: int = 0
    recovered: int = 0
    unconfirmed: int = 0
    already_exists: int = 0
    failed: int = 0
    requests: int = 0
    throttled: int = 0


ProgressCallback = Callable[[BatchProgress], None]

#: The one vocabulary of outcomes, in display order: the progress line ("19
#: recovered") and the summary ("recovered: 19") name each status so, with the same
#: number (`created` never includes `recovered`: they are separate outcomes).
STATUS_WORDS = {
    "created": "created",
    "recovered": "recovered",
    "unconfirmed": "unconfirmed",
    "already_exists": "already had a connection",
    "failed": "failed",
}

#: Seconds between two plain progress lines.
PLAIN_INTERVAL = 2.0


def shown_statuses(progress: BatchProgress) -> list[str]:
    """The statuses the progress line and the summary both show: all of them, but
    `unconfirmed` only when there is one (it is rare, and alarming)."""
    return [s for s in STATUS_WORDS if s != "unconfirmed" or progress.unconfirmed]


def counts_text(progress: BatchProgress) -> str:
    """`281 created, 19 recovered, 0 already had a connection, 0 failed`."""
    return ", ".join(
        f"{getattr(progress, status)} {STATUS_WORDS[status]}" for status in shown_statuses(progress)
    )


def plain_line(label: str, total: int, progress: BatchProgress, elapsed: float) -> str:
    """One log-friendly progress line, in the summary's words and numbers."""
    rate = progress.done / elapsed if elapsed > 0 else 0.0
    return (
        f"{label}: {progress.done}/{total} done, {counts_text(progress)}, "
        f"{progress.requests} requests, {progress.throttled} throttled, {rate:.1f} orgs/s"
    )


@contextlib.asynccontextmanager
async def _plain(
    label: str, total: int, stream: TextIO, interval: float, clock: Clock
) -> AsyncIterator[ProgressCallback]:
    latest = [BatchProgress()]
    started = clock()

    def report() -> None:
        line = plain_line(label, total, latest[0], clock() - started)
        stream.write(line + "\n")
        stream.flush()

    async def ticker() -> None:
        while True:
            await asyncio.sleep(interval)
            report()

    def update(progress: BatchProgress) -> None:
        latest[0] = progress

    task = asyncio.create_task(ticker())
    try:
        yield update
    finally:
        task.cancel()
        await asyncio.wait([task])  # unlike awaiting it, never raises the cancellation
        report()


class _CountedProgress(Progress):
    """A rich progress bar with the counts on a line of their own below it, in the
    plain line's words (a column of its own would squeeze the bar, or wrap mid-count)."""

    counts = ""

    def get_renderables(self) -> Iterable[RenderableType]:
        """The bar, then the counts."""
        yield self.make_tasks_table(self.tasks)
        if self.counts:
            yield Text(self.counts)


@contextlib.asynccontextmanager
async def _rich(
    label: str, total: int, console: Console, env: Environment | None, clock: Clock
) -> AsyncIterator[ProgressCallback]:
    columns = (  # fits an 80-column terminal
        TextColumn("[bold]{task.description}"),
        BarColumn(bar_width=16),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]:>5.0f}/s"),
        TextColumn("ETA"),
        TimeRemainingColumn(compact=True),
    )
    started = clock()

    def above(message: str) -> None:  # a message, printed above the bar
        console.print(message, markup=False, highlight=False, soft_wrap=True)

    # The bar owns the stream while it is drawn: messages and the -v log go through
    # its console (rich would swap sys.stderr for that; the environment is told).
    diverted = env.diverted(above) if env is not None else contextlib.nullcontext()
    bar = _CountedProgress(
        *columns,
        console=console,
        refresh_per_second=8,
        redirect_stdout=False,
        redirect_stderr=False,
    )
    with bar, diverted:
        task = bar.add_task(label, total=total, rate=0.0)

        def update(progress: BatchProgress) -> None:
            elapsed = clock() - started
            bar.counts = f"{counts_text(progress)}, {progress.throttled} throttled"
            bar.update(
                task,
                completed=progress.done,
                rate=progress.done / elapsed if elapsed > 0 else 0.0,
            )

        yield update


def live_progress(
    label: str,
    total: int,
    stream: TextIO,
    *,
    tty: bool,
    interval: float = PLAIN_INTERVAL,
    env: Environment | None = None,
    clock: Clock = time.monotonic,
) -> contextlib.AbstractAsyncContextManager[ProgressCallback]:
    """Progress on `stream` while a batch runs: a rich bar on a terminal, else plain
    lines every `interval` seconds (and one at the end), so logs stay readable.
    `env`'s messages are printed above the bar while it is drawn."""
    if tty:
        return _rich(label, total, Console(file=stream, force_terminal=True), env, clock)
    return _plain(label, total, stream, interval, clock)


def print_summary(
    title: str,
    rows: Sequence[tuple[str, str]],
    stream: TextIO,
    *,
    tty: bool,
    notes: Sequence[str] = (),
) -> None:
    """The end-of-run summary: a rich table on a terminal, `label: value` lines otherwise.
    `notes` (for example failed organizations) follow the table as plain lines."""
    if tty:
        console = Console(file=stream, force_terminal=True)
        table = Table(title=title, show_header=False, title_justify="left")
        table.add_column(style="bold")
        table.add_column(justify="right")
        for label, value in rows:
            table.add_row(label, value)
        console.print(table)
        for note in notes:
            console.print(note, markup=False, highlight=False)
        return
    width = max((len(label) for label, _ in rows), default=0)
    lines = [title]
    lines.extend(f"  {label + ':':<{width + 1}} {value}" for label, value in rows)
    lines.extend(notes)
    stream.write("\n".join(lines) + "\n")
    stream.flush()
