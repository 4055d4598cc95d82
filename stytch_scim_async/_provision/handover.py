"""How a batch left early still hands every outcome over: to the caller, a durable
file, or an error that carries them — never nowhere.

`ProvisionBatch` is what `provision()` returns. Entered with `async with`, it raises
`ProvisionAbandonedError` with every outcome the loop did not receive. The outcomes
of creates cancelled in flight carry the token a recovery had made (their
`Receipt`). A batch nobody can raise to (iterated without `async with`, or left by a
cancellation) writes its unreceived outcomes to the last-resort file.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

import attrs

from .. import errors
from .._engine.receipt import Receipt
from .._engine.unclaimed import write_unclaimed
from .records import ProvisionOutcome, ProvisionRequest, ProvisionStatus

__all__ = ["ProvisionAbandonedError", "ProvisionBatch", "Sink", "abandoned", "drain", "settle"]

logger = logging.getLogger("stytch_scim_async")


class ProvisionAbandonedError(errors.StytchSCIMError):
    """A batch was left before every outcome reached the caller; `outcomes` holds the
    ones nobody received (tokens included: store them before anything else)."""

    def __init__(self, outcomes: list[ProvisionOutcome]) -> None:
        self.outcomes = outcomes
        """The outcomes nobody received, tokens included: store them first."""
        held = sum(1 for outcome in outcomes if outcome.bearer_token is not None)
        super().__init__(
            f"the batch was left early: {len(outcomes)} outcome(s) were not received, "
            f"{held} holding a bearer token; they are in this error's `outcomes`"
        )

    def __repr__(self) -> str:
        return f"ProvisionAbandonedError({len(self.outcomes)} outcomes)"


@attrs.define
class Sink:
    """Where outcomes nobody received wait for their owner."""

    on_abandoned: Callable[[ProvisionOutcome], object] | None = None
    outcomes: list[ProvisionOutcome] = attrs.field(factory=list, repr=False)
    #: The batch was entered with `async with` (or is being closed by its owner):
    #: the owner receives what is left, so nothing goes to the file.
    owned: bool = False

    def deliver(self, outcome: ProvisionOutcome) -> None:
        """To `on_abandoned` if given; kept for the owner if it fails or is absent."""
        if self.on_abandoned is not None:
            try:
                result = self.on_abandoned(outcome)
            except Exception:
                logger.exception("provision: on_abandoned failed; the outcome is kept")
            else:
                if not inspect.isawaitable(result):
                    return
                # It is called, never awaited: what it would have done did not happen.
                close = getattr(result, "close", None)
                if close is not None:
                    close()
                logger.error("provision: on_abandoned returned an awaitable; the outcome is kept")
        self.outcomes.append(outcome)

    def write_down(self, why: str) -> None:
        """Nobody can be handed what is left: the last-resort file."""
        if self.outcomes:
            outcomes, self.outcomes = self.outcomes, []
            if write_unclaimed(outcomes, _record, why) is None:
                self.outcomes = outcomes  # kept: an owner closing later still gets them


def _record(outcome: ProvisionOutcome) -> dict[str, Any]:
    return {
        "organization_id": outcome.request.organization_id,
        "status": outcome.status.value,
        "connection_id": outcome.connection.connection_id if outcome.connection else None,
        "bearer_token": outcome.bearer_token,
        "token_confirmed": outcome.token_confirmed,
        "error": str(outcome.error) if outcome.error is not None else None,
    }


class ProvisionBatch:
    """The outcomes of one `provision` call: an async iterator, best used as an async
    context manager, which guarantees no outcome (and no token) is dropped.

    Leaving `async with` early (a `break`, an exception in the loop body or raised by
    the batch) starts nothing new, lets the creates in flight finish, and raises
    `ProvisionAbandonedError` carrying every outcome the loop did not receive (unless
    an `on_abandoned` callback took them). Cancelled, it cancels the creates in flight
    and, as a cancellation must go on, writes what is left to the last-resort file.
    Iterated without `async with` and left early, it has nobody to raise to: its
    unreceived outcomes are written to that private (0600) file, and an error is
    logged naming it.
    """

    def __init__(self, run: Callable[[Sink], AsyncGenerator[ProvisionOutcome, None]], sink: Sink):
        self._sink = sink
        self._outcomes = run(sink)

    def __aiter__(self) -> ProvisionBatch:
        return self

    def __anext__(self) -> Awaitable[ProvisionOutcome]:
        return self._outcomes.__anext__()

    async def __aenter__(self) -> ProvisionBatch:
        self._sink.owned = True
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        if exc is not None and not isinstance(exc, Exception):  # a cancellation goes on
            try:
                await self._outcomes.aclose()
            finally:
                self._sink.write_down("provision: a batch cancelled in flight")
            return
        await self.aclose()

    async def aclose(self) -> None:
        """Stop the batch; raise `ProvisionAbandonedError` if outcomes were not received."""
        sink = self._sink
        sink.owned = True
        try:
            await self._outcomes.aclose()
        except BaseException:
            # Cancelled (or failed) while the creates in flight finished: what was
            # handed over so far can no longer be raised to the caller.
            sink.write_down("provision: a batch cancelled while it was being closed")
            raise
        unclaimed, sink.outcomes = sink.outcomes, []
        if unclaimed:
            raise ProvisionAbandonedError(unclaimed)


def abandoned(request: ProvisionRequest, receipt: Receipt) -> ProvisionOutcome:
    """The outcome of a create cancelled in flight: it may have committed, and a
    recovery may already hold a token (then it is handed over, unconfirmed)."""
    if receipt.next_token is not None and receipt.connection is not None:
        error: errors.StytchSCIMError = errors.TokenLostError(
            receipt.connection, next_bearer_token=receipt.next_token
        )
        status = ProvisionStatus.UNCONFIRMED
    else:
        error = errors.TransportError(
            f"create for {request.organization_id} cancelled in flight: the organization "
            "may now have a connection whose token was lost (provision it again with "
            "maybe_sent=True: the client looks before it creates)"
        )
        status = ProvisionStatus.FAILED
    error.may_have_committed = True
    return ProvisionOutcome(request, status, None, error, receipt.requests)


Pending = dict["asyncio.Future[ProvisionOutcome]", tuple[ProvisionRequest, Receipt]]


async def drain(pending: Pending, sink: Sink, ready: list[ProvisionOutcome]) -> None:
    """Hand `ready` over, then let the creates in flight finish and hand each outcome
    over, exactly once."""
    for outcome in ready:
        sink.deliver(outcome)
    ready.clear()
    while pending:
        done, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        for finished in done:
            request, receipt = pending.pop(finished)
            sink.deliver(abandoned(request, receipt) if finished.cancelled() else finished.result())


async def settle(pending: Pending, sink: Sink) -> None:
    """Cancel what is still in flight and hand over what each had, even when this wait
    is cancelled in turn (each receipt already holds what its create got)."""
    if not pending:
        return
    for task in pending:
        task.cancel()
    try:
        await asyncio.gather(*pending, return_exceptions=True)
    finally:
        for task, (request, receipt) in list(pending.items()):
            del pending[task]
            if task.done() and not task.cancelled():  # finished while being cancelled
                outcome = task.result()
            else:
                outcome = abandoned(request, receipt)
                logger.warning("provision: %s", outcome.error)
            sink.deliver(outcome)
