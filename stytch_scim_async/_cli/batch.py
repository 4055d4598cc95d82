"""Driving one batch through `SCIMClient.provision` for the console script.

Shared by `provision` and `demo`. Intent first: before an organization's first create
is sent, a `pending` line for it is on disk (one fsync for the creates that start
together), so a run killed at any moment leaves every connection it may have made
findable by the next one. Then every outcome is written down (durably, off the event
loop) before the next is taken, and tallied. A batch that cannot reach Stytch at all
stops after its first few outcomes instead of failing every organization one by one.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator, Sequence

import attrs

from .. import errors
from .._clients.project import SCIMClient
from .._provision.batch import ProvisionOutcome, ProvisionRequest, ProvisionStatus
from .confirm import Settled, confirm_tokens
from .display import ProgressCallback
from .ledger import Action
from .output import log
from .records import outcome_record, pending_record
from .results import ResultsFile
from .tally import Tally, Todo

__all__ = [
    "UNREACHABLE_AFTER",
    "IntentLog",
    "Stopped",
    "graceful_stop",
    "library_request",
    "resumed",
    "run_batch",
]

#: A batch whose first this many outcomes all failed to connect (and none reached
#: Stytch) stops: nothing answers, and every further organization would fail the same.
UNREACHABLE_AFTER = 3


class Stopped(Exception):
    """Raised from `before_send` once a stop was asked for: no new create leaves, and
    the batch lets those in flight finish into `on_abandoned`."""


class IntentLog:
    """The batch's `before_send`: writes the `pending` lines of the creates about to be
    sent, with one fsync, off the loop; refuses them once `stop` is set."""

    def __init__(self, results: ResultsFile | None, stop: asyncio.Event | None) -> None:
        self._results = results
        self._stop = stop

    async def __call__(self, requests: Sequence[ProvisionRequest]) -> None:
        """Return once every request's `pending` line is on disk."""
        if self._stop is not None and self._stop.is_set():
            raise Stopped
        if requests and self._results is not None:
            records = [pending_record(request) for request in requests]
            await asyncio.to_thread(self._results.write_many, records)


def library_request(todo: Todo) -> ProvisionRequest:
    """The request handed to the client: an organization an earlier run may have sent a
    create for is reconciled (`maybe_sent`), with what that run sent, never blindly
    created again; `proven_absent` carries that run's proof that it had no connection."""
    history = todo.history
    if todo.action is Action.FRESH or history is None:
        return todo.request
    request = todo.request
    if not history.sent:  # pragma: no cover - only sent organizations are resumed
        return attrs.evolve(request, maybe_sent=True)
    return ProvisionRequest(
        request.organization_id,
        display_name=history.display_name,
        identity_provider=history.identity_provider,
        maybe_sent=True,
        proven_absent=history.proven_absent,
    )


def resumed(item: Todo, *, foreign: bool) -> Todo:
    """`item`, to be reconciled; a proof of absence does not cover another connection."""
    history = item.history
    if foreign and history is not None:
        history = attrs.evolve(history, proven_absent=False)
    return attrs.evolve(item, action=Action.RESUME, history=history)


async def run_batch(
    client: SCIMClient,
    todo: Iterable[Todo],
    tally: Tally,
    *,
    results: ResultsFile | None,
    concurrency: int,
    verify_absent: bool | None = None,
    on_progress: ProgressCallback | None = None,
    check: Callable[[ProvisionOutcome], None] | None = None,
    stop: asyncio.Event | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> Tally:
    """Provision `todo`, recording each outcome in `results` and counting it in `tally`.

    Each outcome is passed to `check` (the demo verifies tokens there), written to
    `results` and fsync'd in a worker thread, then counted, before the next is taken.
    Once `stop` is set no further create starts, but those in flight finish and are
    recorded: cancelling one could lose a token whose create already committed.
    Rejected credentials stop the batch at once (no other organization can succeed),
    and so does a Stytch that cannot be reached (`Reachability`).
    """

    def feed() -> Iterator[ProvisionRequest]:
        for item in todo:
            if stop is not None and stop.is_set():
                return
            yield library_request(item)

    def count(outcome: ProvisionOutcome) -> None:
        _log_outcome(outcome)
        tally.add(outcome)
        tally.throttled = client.rate_limiter.throttles
        if on_progress is not None:
            on_progress(tally.progress())

    def record(outcome: ProvisionOutcome) -> None:
        # Outcomes of creates still in flight when the loop is left (rejected
        # credentials, a second interrupt): written down too, tokens included.
        if results is not None:
            results.write(outcome_record(outcome))
        count(outcome)

    started = clock()
    todo = list(todo)
    confirming = [item for item in todo if item.action is Action.CONFIRM]
    todo = [item for item in todo if item.action is not Action.CONFIRM]
    for item, settled in await confirm_tokens(client, confirming, concurrency=concurrency):
        if isinstance(settled, ProvisionOutcome):
            record(settled)
        elif settled is Settled.UNSETTLED:  # its line stays the latest: checked next time
            tally.unsettled(item.request.organization_id, item.history)
        else:
            todo.append(resumed(item, foreign=settled is Settled.FOREIGN))
    # Leaving the batch early lets the creates in flight finish into `record`.
    batch = client.provision(
        feed(),
        concurrency=concurrency,
        verify_absent=verify_absent,
        on_abandoned=record,
        before_send=IntentLog(results, stop),
    )
    reachability = Reachability()
    try:
        async with batch:
            async for outcome in batch:
                if check is not None:
                    check(outcome)
                if results is not None:
                    await asyncio.to_thread(results.write, outcome_record(outcome))
                count(outcome)
                if isinstance(outcome.error, errors.UnauthorizedError):
                    tally.aborted = f"stopped: the credentials were rejected ({outcome.error})"
                    break
                if reachability.unreachable_after(outcome):
                    tally.unreachable = True
                    tally.aborted = (
                        f"stopped: Stytch could not be reached at {client.base_url} "
                        f"({outcome.error}): the organizations not attempted are left "
                        "for the rerun, which also reconciles those that were"
                    )
                    break
    except Stopped:
        pass  # the creates in flight were finished and recorded
    finally:
        tally.elapsed = clock() - started
    if stop is not None and stop.is_set():
        tally.interrupted = True
        tally.aborted = tally.aborted or "interrupted: the creates in flight were finished"
    return tally


@attrs.define
class Reachability:
    """Tells a batch that reaches nothing from one that meets a few refusals.

    Only an outcome whose create was certainly never sent (a `ConnectError`, which
    cannot have committed anything) counts against Stytch; any outcome with an answer
    or a doubt (a timeout may hide a committed create) shows it reachable, for good.
    The organizations of the counted outcomes keep their `pending` lines, so the rerun
    reconciles them; those never started stay out of the results file."""

    refused: int = 0
    reached: bool = False

    def unreachable_after(self, outcome: ProvisionOutcome) -> bool:
        """Count `outcome`; True once `UNREACHABLE_AFTER` outcomes, and nothing else
        before them, failed to connect."""
        if self.reached:
            return False
        error = outcome.error
        if isinstance(error, errors.ConnectError) and not error.may_have_committed:
            self.refused += 1
        elif not isinstance(error, errors.InvalidRequestError):  # a local refusal proves nothing
            self.reached = True
        return not self.reached and self.refused >= UNREACHABLE_AFTER


def _log_outcome(outcome: ProvisionOutcome) -> None:
    """`-v`: say which organizations had a lost reply and how it ended."""
    organization = outcome.request.organization_id
    connection = outcome.connection
    if outcome.status is ProvisionStatus.RECOVERED and connection is not None:
        log.info(
            "%s: recovered: the create's reply was lost; connection %s got a new token "
            "by rotation (on file)",
            organization,
            connection.connection_id,
        )
    elif outcome.status is ProvisionStatus.UNCONFIRMED:
        log.warning(
            "%s: unconfirmed: a lost reply's recovery holds a token Stytch did not "
            "confirm (on file; the rerun checks it)",
            organization,
        )


@contextlib.asynccontextmanager
async def graceful_stop(notify: Callable[[str], None]) -> AsyncIterator[asyncio.Event]:
    """An event set by the first SIGINT or SIGTERM, for `run_batch(stop=...)`.

    A create in flight may already have committed, so killing it could lose the only
    copy of a token: the first signal only stops new creates and lets the running
    ones finish and be written down. A second signal abandons them (cancels the task):
    their `pending` lines are on disk, and the next run reconciles them.
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
            notify(
                "abandoning the creates in flight: rerun the same command, and it "
                "reconciles them before anything else"
            )
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
