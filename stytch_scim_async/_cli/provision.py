"""`stytch-scim provision` and `stytch-scim demo`: many organizations at once.

Both validate everything they can before the first request, show live progress on
stderr (a rich bar on a terminal, plain lines in a log) and end with a summary.
Tokens go only to the 0600 results file, never to the terminal.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys

import click

from .._policy.throttle import AdaptiveRateLimiter
from .._provision.batch import ProvisionRequest
from .batch import graceful_stop, run_batch
from .options import Api, api_options, verbose_option
from .display import live_progress, print_summary
from .inputs import InputError, InputFormat, format_for, parse_requests
from .results import ResultsFile, ResultsFileError
from .tally import Tally, exit_code, failure_notes, plan, summary_rows

__all__ = ["demo", "provision"]

_RATE = click.FloatRange(min=0, min_open=True)


class BadFile(click.ClickException):
    """An input or results file that cannot be used: exit 2, like any usage error, but
    without the usage banner in front of what may be a long list of bad lines."""

    exit_code = 2


def _open_results(out: str, project_id: str) -> ResultsFile:
    try:
        return ResultsFile(out, project_id)
    except ResultsFileError as exc:
        raise BadFile(str(exc)) from None


def _load_requests(file: str, input_format: InputFormat | None, out: str) -> list[ProvisionRequest]:
    with contextlib.suppress(OSError):
        if file != "-" and os.path.samefile(file, out):
            raise click.UsageError("--out must not be the input file")
    try:
        kind = format_for(file, input_format)
        if file == "-":
            data = sys.stdin.buffer.read()
            name = "<stdin>"
        else:
            with open(file, "rb") as handle:
                data = handle.read()
            name = file
        return parse_requests(name, data, kind)
    except OSError as exc:
        raise BadFile(f"cannot read {file}: {exc.strerror}") from None
    except InputError as exc:
        raise BadFile(str(exc)) from None


@click.command(short_help="Create connections for every organization in a file.")
@click.argument("file")
@click.option(
    "--out",
    required=True,
    type=click.Path(dir_okay=False),
    help="Results file (JSON Lines, mode 0600); rerunning with it resumes.",
)
@click.option(
    "--format",
    "input_format",
    type=click.Choice(["csv", "jsonl"]),
    help="Input format [default: from the extension; required for '-'].",
)
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=32,
    show_default=True,
    help="Creates in flight at once.",
)
@click.option("--max-rate", type=_RATE, help="Never send more than this many requests/s.")
@click.option(
    "--allow-existing",
    is_flag=True,
    help="Count organizations that already had a connection as done.",
)
@click.option(
    "--verify-absent",
    is_flag=True,
    help=(
        "Also check each organization with a GET before its create (one request more "
        "each), even when the organizations search already proved it has none."
    ),
)
@api_options
@verbose_option
def provision(
    file: str,
    out: str,
    input_format: InputFormat | None,
    concurrency: int,
    max_rate: float | None,
    allow_existing: bool,
    verify_absent: bool,
    api: Api,
) -> None:
    """Create a SCIM connection for every organization in FILE (CSV, JSON Lines, or -).

    CSV needs the header organization_id,display_name,identity_provider; JSON Lines
    holds objects with those keys. The whole file is checked before anything is sent.
    Before a create is sent, a pending line for it is on disk in --out; each result,
    with its bearer token, is appended as soon as it is known. A rerun skips what
    --out records as done and reconciles what it left pending (it never creates
    those blindly), however the earlier run ended, kill -9 included.

    Exit status: 0 when every organization has a confirmed token in --out, 1 when
    some failed or are unconfirmed (or already had a connection, unless
    --allow-existing), 2 on bad input or an --out written for another project.
    """
    requests = _load_requests(file, input_format, out)
    client = api.client(AdaptiveRateLimiter(max_rate=max_rate))
    stderr = sys.stderr
    tty = stderr.isatty()

    def notify(message: str) -> None:
        click.echo(message, err=True)

    async def run(results: ResultsFile) -> Tally:
        todo, tally = plan(requests, results.ledger)
        progress = live_progress("provision", len(todo), stderr, tty=tty)
        async with client, graceful_stop(notify) as stop, progress as on_progress:
            return await run_batch(
                client,
                todo,
                tally,
                results=results,
                concurrency=concurrency,
                verify_absent=True if verify_absent else None,
                on_progress=on_progress,
                stop=stop,
            )

    with _open_results(out, api.project_id) as results:
        try:
            tally = asyncio.run(run(results))
        except (KeyboardInterrupt, asyncio.CancelledError):
            click.echo(f"interrupted: rerun the same command to resume from {out}", err=True)
            raise SystemExit(130) from None
        except OSError as exc:  # the results file could not be written (disk full, ...)
            click.echo(
                f"error: cannot write {out} ({exc.strerror}); stopped before sending "
                "anything it could not record. Free the space and rerun the same command: "
                "it reconciles every organization left pending",
                err=True,
            )
            raise SystemExit(1) from None
    rows = [*summary_rows(tally, allow_existing), ("results", out)]
    notes = failure_notes(tally)
    if tally.interrupted:
        notes.append(f"rerun the same command to resume from {out}")
    print_summary("stytch-scim provision", rows, stderr, tty=tty, notes=notes)
    raise SystemExit(130 if tally.interrupted else exit_code(tally, allow_existing))


@click.command(short_help="Provision through a misbehaving emulator; verify tokens.")
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
@click.option("--max-rate", type=_RATE, help="Client ceiling in requests/s [default: adapt].")
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
    from .demo import DemoConfig, DemoReport, demo_rows, run_demo, verdict

    config = DemoConfig(
        orgs=orgs, seed=seed, concurrency=concurrency, fault_rate=fault_rate, max_rate=max_rate
    )
    stderr, stdout = sys.stderr, sys.stdout

    def open_results(project_id: str) -> ResultsFile | None:
        return _open_results(out, project_id) if out is not None else None

    async def run() -> DemoReport:
        async with live_progress("demo", orgs, stderr, tty=stderr.isatty()) as on_progress:
            return await run_demo(config, open_results=open_results, on_progress=on_progress)

    report = asyncio.run(run())
    notes = failure_notes(report.tally)
    notes.append(verdict(report))
    rows = demo_rows(config, report)
    print_summary("stytch-scim demo", rows, stdout, tty=stdout.isatty(), notes=notes)
    raise SystemExit(0 if report.ok else 1)
