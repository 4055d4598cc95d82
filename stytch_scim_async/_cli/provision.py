"""`stytch-scim provision`: a connection for every organization of a file, resumably.

Everything that can be checked is checked before the first request (the whole input,
then the results file), progress shows live on stderr (a rich bar on a terminal,
plain lines in a log), and a summary ends the run. Tokens go only to the 0600 results
file, never to the terminal.
"""

from __future__ import annotations

import asyncio
import contextlib
import os

import click

from .._policy.throttle import AdaptiveRateLimiter
from .._provision.batch import ProvisionRequest
from .batch import graceful_stop, run_batch
from .display import live_progress, print_summary
from .env import Environment
from .exit import ExitStatus
from .inputs import InputError, InputFormat, format_for, parse_requests
from .options import Api, Command, api_options, environment, verbose_option
from .results import ResultsFile, ResultsFileError
from .tally import Tally, exit_status, failure_notes, plan, summary_rows

__all__ = ["RATE", "BadFile", "open_results", "provision"]

#: A requests-per-second ceiling: any positive number.
RATE = click.FloatRange(min=0, min_open=True)


class BadFile(click.ClickException):
    """An input or results file that cannot be used: exit 2, like any usage error, but
    without the usage banner in front of what may be a long list of bad lines."""

    exit_code = ExitStatus.USAGE


def open_results(out: str, project_id: str) -> ResultsFile:
    """The results file `out` for `project_id`, or `BadFile` saying why it is unusable
    (it was left exactly as it was)."""
    try:
        return ResultsFile(out, project_id)
    except ResultsFileError as exc:
        raise BadFile(str(exc)) from None


def _load_requests(
    env: Environment, file: str, input_format: InputFormat | None, out: str
) -> list[ProvisionRequest]:
    with contextlib.suppress(OSError):
        if file != "-" and os.path.samefile(file, out):
            raise click.UsageError("--out must not be the input file")
    try:
        kind = format_for(file, input_format)
        if file == "-":
            data = env.stdin.read()
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


@click.command(cls=Command, short_help="Create connections for every organization in a file.")
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
@click.option("--max-rate", type=RATE, help="Never send more than this many requests/s.")
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
    --allow-existing), 2 on bad or empty input or an --out this tool cannot use, 3
    when Stytch could not be reached at all (stopped early), 130 when interrupted.
    """
    env = environment()
    requests = _load_requests(env, file, input_format, out)
    client = api.client(AdaptiveRateLimiter(max_rate=max_rate))
    tty = env.stderr_isatty

    async def run(results: ResultsFile) -> Tally:
        todo, tally = plan(requests, results.ledger)
        progress = live_progress(
            "provision", len(todo), env.stderr, tty=tty, env=env, clock=env.clock
        )
        async with client, graceful_stop(env.say) as stop, progress as on_progress:
            return await run_batch(
                client,
                todo,
                tally,
                results=results,
                concurrency=concurrency,
                verify_absent=True if verify_absent else None,
                on_progress=on_progress,
                stop=stop,
                clock=env.clock,
            )

    with open_results(out, api.project_id) as results:
        try:
            tally = asyncio.run(run(results))
        except (KeyboardInterrupt, asyncio.CancelledError):
            env.say(f"interrupted: rerun the same command to resume from {out}")
            raise SystemExit(ExitStatus.INTERRUPTED) from None
        except OSError as exc:  # the results file could not be written (disk full, ...)
            env.say(
                f"error: cannot write {out} ({exc.strerror}); stopped before sending "
                "anything it could not record. Free the space and rerun the same command: "
                "it reconciles every organization left pending"
            )
            raise SystemExit(ExitStatus.FAILURE) from None
    rows = [*summary_rows(tally, allow_existing), ("results", out)]
    notes = failure_notes(tally)
    if tally.interrupted:
        notes.append(f"rerun the same command to resume from {out}")
    print_summary("stytch-scim provision", rows, env.stderr, tty=tty, notes=notes)
    raise SystemExit(exit_status(tally, allow_existing))
