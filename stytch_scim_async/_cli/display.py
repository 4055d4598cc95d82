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
from collections.abc import AsyncIterator, Callable, Sequence
from typing import TextIO

import attrs
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table

__all__ = ["BatchProgress", "ProgressCallback", "live_progress", "plain_line", "print_summary"]


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

#: Seconds between two plain progress lines.
PLAIN_INTERVAL = 2.0


def plain_line(label: str, total: int, progress: BatchProgress, elapsed: float) -> str:
    """One log-friendly progress line, in the summary's words and numbers."""
    rate = progress.done / elapsed if elapsed > 0 else 0.0
    unconfirmed = f"{progress.unconfirmed} unconfirmed, " if progress.unconfirmed else ""
    return (
        f"{label}: {progress.done}/{total} done, {progress.created} created, "
        f"{progress.recovered} recovered, {unconfirmed}"
        f"{progress.already_exists} already had a connection, "
        f"{progress.failed} failed, {progress.requests} requests, "
        f"{progress.throttled} throttled, {rate:.1f} orgs/s"
    )


@contextlib.asynccontextmanager
async def _plain(
    label: str, total: int, stream: TextIO, interval: float
) -> AsyncIterator[ProgressCallback]:
    latest = [BatchProgress()]
    started = time.monotonic()

    def report() -> None:
        line = plain_line(label, total, latest[0], time.monotonic() - started)
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


@contextlib.asynccontextmanager
async def _rich(label: str, total: int, console: Console) -> AsyncIterator[ProgressCallback]:
    columns = (  # fits an 80-column terminal
        TextColumn("[bold]{task.description}"),
        BarColumn(bar_width=16),
        MofNCompleteColumn(),
        TextColumn("{task.fields[rate]:>5.0f}/s"),
        TextColumn("{task.fields[detail]}"),
        TextColumn("ETA"),
        TimeRemainingColumn(compact=True),
    )
    started = time.monotonic()
    with Progress(*columns, console=console, refresh_per_second=8) as bar:
        task = bar.add_task(label, total=total, rate=0.0, detail="")

        def update(progress: BatchProgress) -> None:
            elapsed = time.monotonic() - started
            detail = (
                f"{progress.created} created {progress.recovered} recovered "
                f"[red]{progress.failed} failed[/] {progress.throttled}x429"
            )
            bar.update(
                task,
                completed=progress.done,
                rate=progress.done / elapsed if elapsed > 0 else 0.0,
                detail=detail,
            )

        yield update


def live_progress(
    label: str,
    total: int,
    stream: TextIO,
    *,
    tty: bool,
    interval: float = PLAIN_INTERVAL,
) -> contextlib.AbstractAsyncContextManager[ProgressCallback]:
    """Progress on `stream` while a batch runs: a rich bar on a terminal, else plain
    lines every `interval` seconds (and one at the end), so logs stay readable."""
    if tty:
        return _rich(label, total, Console(file=stream, force_terminal=True))
    return _plain(label, total, stream, interval)


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
