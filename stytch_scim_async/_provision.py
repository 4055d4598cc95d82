"""Batch provisioning: one SCIM connection (and one usable token) per organization.

The input is read lazily, at most `concurrency` creates are in flight, and each
outcome is yielded as soon as its organization is done, so a caller can write it
down (the token is shown only once) before anything else can go wrong. Every
request goes through the client, so the client's retry budget and adaptive rate
limiter govern the whole batch.
"""

from __future__ import annotations

import asyncio
import collections
import enum
import json
import logging
import os
import time
from collections.abc import (
    AsyncGenerator,
    AsyncIterable,
    AsyncIterator,
    Awaitable,
    Callable,
    Iterable,
    Sequence,
)
from functools import partial
from typing import TYPE_CHECKING, Any

import attrs

from . import errors
from ._base import count_requests_in
from ._retry import RetryPolicy
from ._search import screened
from .models import SCIMConnectionWithToken

if TYPE_CHECKING:
    from ._client import SCIMClient

logger = logging.getLogger("stytch_scim_async")

__all__ = [
    "ProvisionAbandonedError",
    "ProvisionBatch",
    "ProvisionOutcome",
    "ProvisionProgress",
    "ProvisionRequest",
    "ProvisionStatus",
    "provision",
]

#: Provisioning retries harder than single calls: a batch at the rate limit sees 429s.
MIN_PROVISION_ATTEMPTS = 6


@attrs.frozen
class ProvisionRequest:
    """One organization to give a SCIM connection.

    `maybe_sent=True` says an earlier process may already have sent this create (it
    crashed before it learnt the answer): the client looks first and never POSTs
    blindly. `proven_absent=True` says the organization was proven to have no
    connection before that create was sent (or, without `maybe_sent`, before this
    one is): a matching connection found after a lost reply is then ours, and its
    token is recovered by rotation.
    """

    organization_id: str
    display_name: str | None = None
    identity_provider: str | None = None
    maybe_sent: bool = attrs.field(default=False, kw_only=True)
    proven_absent: bool = attrs.field(default=False, kw_only=True)


class ProvisionStatus(enum.StrEnum):
    """How one organization ended."""

    CREATED = "created"
    """Created; `bearer_token` is the new token."""
    RECOVERED = "recovered"
    """The create committed but its reply was lost; the token was recovered by rotation
    and Stytch confirmed it is the live one."""
    UNCONFIRMED = "unconfirmed"
    """A recovery rotation made a new token (`bearer_token`) but Stytch did not confirm
    it is the live one: store it, then check the connection (a rerun does)."""
    ALREADY_EXISTS = "already_exists"
    """The organization already had a connection this batch did not make; it was left
    unchanged (`error.connection_id` names it when known)."""
    FAILED = "failed"
    """Anything else; `error` says what (`error.may_have_committed` when the create may
    have taken effect)."""


@attrs.frozen
class ProvisionOutcome:
    """The result for one request. `attempts` counts every HTTP request sent for it."""

    request: ProvisionRequest
    status: ProvisionStatus
    connection: SCIMConnectionWithToken | None = None
    error: errors.StytchSCIMError | Exception | None = None
    attempts: int = 0
    request_id: str | None = None

    @property
    def ok(self) -> bool:
        """True when the organization now has a connection whose live token we hold."""
        return self.status in (ProvisionStatus.CREATED, ProvisionStatus.RECOVERED)

    @property
    def bearer_token(self) -> str | None:
        """Every token the library holds for this organization, confirmed or not: store
        it whenever it is not None (`token_confirmed` says whether it is the live one)."""
        if self.connection is not None:
            return self.connection.bearer_token
        error = self.error
        return error.next_bearer_token if isinstance(error, errors.TokenLostError) else None

    @property
    def token_confirmed(self) -> bool:
        """True when `bearer_token` is verifiably the connection's live token."""
        return self.connection is not None and self.ok


@attrs.frozen
class ProvisionProgress:
    """Running totals, handed to `on_progress` after every outcome."""

    done: int
    in_flight: int
    created: int
    recovered: int
    already_exists: int
    failed: int
    requests: int
    throttled: int
    unconfirmed: int = 0


class ProvisionAbandonedError(errors.StytchSCIMError):
    """A batch was left before every outcome reached the caller; `outcomes` holds the
    ones nobody received (tokens included: store them before anything else)."""

    def __init__(self, outcomes: list[ProvisionOutcome]) -> None:
        self.outcomes = outcomes
        held = sum(1 for outcome in outcomes if outcome.bearer_token is not None)
        super().__init__(
            f"the batch was left early: {len(outcomes)} outcome(s) were not received, "
            f"{held} holding a bearer token; they are in this error's `outcomes`"
        )

    def __repr__(self) -> str:
        return f"ProvisionAbandonedError({len(self.outcomes)} outcomes)"


async def _provision_one(
    client: SCIMClient,
    request: ProvisionRequest,
    proven: bool,
    recover_token: bool,
    verify_absent: bool | None,
) -> ProvisionOutcome:
    counter = [0]
    count_requests_in(counter)  # this task's own context: counts only its requests
    try:
        if not isinstance(request, ProvisionRequest):
            raise errors.InvalidRequestError(
                "requests", f"items must be ProvisionRequest, got {type(request).__name__}"
            )
        response = await client.create_connection(
            request.organization_id,
            display_name=request.display_name,
            identity_provider=request.identity_provider,
            recover_token=recover_token,
            verify_absent=verify_absent,
            maybe_sent=request.maybe_sent,
            proven_absent=request.proven_absent or proven,
        )
    except errors.StytchSCIMError as exc:
        return ProvisionOutcome(request, _status_of(exc), None, exc, counter[0], exc.request_id)
    except Exception as exc:  # a bug of ours or of an injected hook: still one outcome
        logger.exception("provision: unexpected error for %r", request)
        return ProvisionOutcome(request, ProvisionStatus.FAILED, None, exc, counter[0])
    status = ProvisionStatus.RECOVERED if response.recovered else ProvisionStatus.CREATED
    return ProvisionOutcome(
        request, status, response.connection, None, counter[0], response.request_id
    )


def _status_of(error: errors.StytchSCIMError) -> ProvisionStatus:
    if isinstance(error, errors.TokenLostError) and error.next_bearer_token is not None:
        return ProvisionStatus.UNCONFIRMED
    if isinstance(error, errors.ConnectionExistsError) and not error.may_have_committed:
        return ProvisionStatus.ALREADY_EXISTS
    return ProvisionStatus.FAILED


def _abandoned(request: object) -> ProvisionOutcome:
    request = request if isinstance(request, ProvisionRequest) else ProvisionRequest(str(request))
    error = errors.TransportError(
        f"create for {request.organization_id} cancelled in flight: the organization may "
        "now have a connection whose token was lost (provision it again with "
        "maybe_sent=True: the client looks before it creates)"
    )
    error.may_have_committed = True
    return ProvisionOutcome(request, ProvisionStatus.FAILED, None, error)


def _duplicate(request: ProvisionRequest) -> ProvisionOutcome:
    error = errors.InvalidRequestError(
        "requests",
        f"organization {request.organization_id} appears more than once in the batch; "
        "only its first request is sent (two creates would revoke each other's token)",
    )
    return ProvisionOutcome(request, ProvisionStatus.FAILED, None, error)


@attrs.define
class _Sink:
    """Where outcomes nobody received go when no `on_abandoned` was given."""

    outcomes: list[ProvisionOutcome] = attrs.field(factory=list, repr=False)
    #: The batch's owner closes it (`async with`, `aclose()`): it receives them.
    owner_closing: bool = False


class ProvisionBatch:
    """The outcomes of one `provision` call: an async iterator, best used as an async
    context manager, which guarantees no outcome (and no token) is dropped.

    Leaving `async with` early (a `break`, an exception in the loop body) starts
    nothing new, lets the creates in flight finish, and raises
    `ProvisionAbandonedError` carrying every outcome the loop did not receive
    (unless an `on_abandoned` callback took them). A batch iterated without
    `async with` and left early cannot raise to anyone: its unreceived outcomes are
    written to a private (0600) JSON Lines file and an error is logged naming it.
    """

    def __init__(self, run: Callable[[_Sink], AsyncGenerator[ProvisionOutcome, None]]) -> None:
        self._sink = _Sink()
        self._outcomes = run(self._sink)

    def __aiter__(self) -> ProvisionBatch:
        return self

    def __anext__(self) -> Awaitable[ProvisionOutcome]:
        return self._outcomes.__anext__()

    async def __aenter__(self) -> ProvisionBatch:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Stop the batch; raise `ProvisionAbandonedError` if outcomes were not received."""
        sink = self._sink
        sink.owner_closing = True
        await self._outcomes.aclose()
        unclaimed, sink.outcomes = sink.outcomes, []
        if unclaimed:
            raise ProvisionAbandonedError(unclaimed)


def provision(
    client: SCIMClient,
    requests: Iterable[ProvisionRequest] | AsyncIterable[ProvisionRequest],
    *,
    concurrency: int = 32,
    recover_token: bool = True,
    verify_absent: bool | None = None,
    prescan: bool = True,
    retry: RetryPolicy | None = None,
    on_progress: Callable[[ProvisionProgress], None] | None = None,
    on_abandoned: Callable[[ProvisionOutcome], object] | None = None,
    before_send: Callable[[Sequence[ProvisionRequest]], Awaitable[None]] | None = None,
) -> ProvisionBatch:
    """The batch of `requests` (see `SCIMClient.provision`), checked before any I/O."""
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise errors.InvalidRequestError("concurrency", "must be an int >= 1")
    if not isinstance(requests, Iterable | AsyncIterable):
        raise errors.InvalidRequestError("requests", "must be an iterable of ProvisionRequest")
    policy = retry or attrs.evolve(
        client.retry, max_attempts=max(client.retry.max_attempts, MIN_PROVISION_ATTEMPTS)
    )
    worker = client.with_retry(policy)
    source = screened(worker, requests, prescan=prescan and recover_token)
    return ProvisionBatch(
        partial(
            _run,
            worker,
            source,
            concurrency=concurrency,
            recover_token=recover_token,
            verify_absent=verify_absent,
            on_progress=on_progress,
            on_abandoned=on_abandoned,
            before_send=before_send,
        )
    )


async def _run(
    client: SCIMClient,
    source: AsyncIterator[list[tuple[ProvisionRequest, bool] | ProvisionOutcome]],
    sink: _Sink,
    *,
    concurrency: int,
    recover_token: bool,
    verify_absent: bool | None,
    on_progress: Callable[[ProvisionProgress], None] | None,
    on_abandoned: Callable[[ProvisionOutcome], object] | None,
    before_send: Callable[[Sequence[ProvisionRequest]], Awaitable[None]] | None,
) -> AsyncGenerator[ProvisionOutcome, None]:
    counts = dict.fromkeys(ProvisionStatus, 0)
    sent = 0
    pending: dict[asyncio.Future[Any], object] = {}
    ready: list[ProvisionOutcome] = []  # decided without a create (exists, duplicates)

    def deliver(outcome: ProvisionOutcome) -> None:
        if on_abandoned is None:
            sink.outcomes.append(outcome)
        else:
            on_abandoned(outcome)

    # The source is read in its own task, so outcomes are never held back behind a
    # source (or a search) that is slow to produce.
    feed = _Feed(source)
    unyielded: ProvisionOutcome | None = None  # taken from its task, not yet yielded
    owner = asyncio.current_task()
    cancellations = owner.cancelling() if owner is not None else 0
    try:
        while True:
            starting: list[tuple[ProvisionRequest, bool]] = []
            while len(pending) + len(starting) < concurrency and not ready:
                item = feed.poll()
                if item is _NOTHING:
                    break
                if isinstance(item, ProvisionOutcome):
                    ready.append(item)
                else:
                    starting.append(item)  # type: ignore[arg-type]
            if starting:
                if before_send is not None:
                    await before_send(
                        [
                            attrs.evolve(request, proven_absent=True) if proven else request
                            for request, proven in starting
                            if isinstance(request, ProvisionRequest)
                        ]
                    )
                for request, proven in starting:
                    task = asyncio.create_task(
                        _provision_one(client, request, proven, recover_token, verify_absent)
                    )
                    pending[task] = request
            finished: list[ProvisionOutcome] = ready
            ready = []
            if not finished:
                waiting: set[asyncio.Future[Any]] = set(pending)
                if len(pending) < concurrency and feed.reading is not None:
                    waiting.add(feed.reading)
                if not waiting:
                    return
                done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                for future in done:
                    if future is not feed.reading:  # a read is picked up by the next poll()
                        del pending[future]
                        finished.append(future.result())
            while finished:
                outcome = unyielded = finished.pop(0)
                counts[outcome.status] += 1
                sent += outcome.attempts
                if on_progress is not None:
                    on_progress(_progress(counts, len(pending), sent, client))
                unyielded = None
                ready.extend(finished)  # kept for the next round if the loop is left now
                finished = []
                yield outcome
                finished, ready = ready, []
    except (GeneratorExit, Exception):
        # Left early (a break, an error in the source or a hook): the creates in flight
        # may have committed, so let them finish and hand each outcome over. Not when
        # the task is being cancelled: then "at once" wins, and _settle reports them.
        current = asyncio.current_task()
        before = cancellations if current is owner else 0
        cancelled = current is not None and current.cancelling() > before
        left = [unyielded, *ready] if unyielded is not None else ready
        await _drain({} if cancelled else pending, deliver, left)
        raise
    finally:
        await _settle(pending, deliver)
        await feed.aclose()
        if sink.outcomes and not sink.owner_closing:
            _write_unclaimed(sink)


def _progress(
    counts: dict[ProvisionStatus, int], in_flight: int, sent: int, client: SCIMClient
) -> ProvisionProgress:
    return ProvisionProgress(
        done=sum(counts.values()),
        in_flight=in_flight,
        created=counts[ProvisionStatus.CREATED],
        recovered=counts[ProvisionStatus.RECOVERED],
        already_exists=counts[ProvisionStatus.ALREADY_EXISTS],
        failed=counts[ProvisionStatus.FAILED],
        requests=sent,
        throttled=client.rate_limiter.throttles,
        unconfirmed=counts[ProvisionStatus.UNCONFIRMED],
    )


async def _drain(
    pending: dict[asyncio.Future[Any], object],
    deliver: Callable[[ProvisionOutcome], None],
    ready: list[ProvisionOutcome],
) -> None:
    """Hand `ready` over, then let the creates in flight finish and hand each outcome
    over, exactly once.

    A callback that raises does not stop the others from being handed over (each
    holds a token); its first error is raised at the end."""
    first_error: Exception | None = None

    def hand_over(outcome: ProvisionOutcome) -> None:
        nonlocal first_error
        try:
            deliver(outcome)
        except Exception as exc:
            logger.exception("provision: on_abandoned failed")
            first_error = first_error or exc

    for outcome in ready:
        hand_over(outcome)
    ready.clear()
    while pending:
        done, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        for finished in done:
            item = pending.pop(finished)
            hand_over(_abandoned(item) if finished.cancelled() else finished.result())
    if first_error is not None:
        raise first_error


async def _settle(
    pending: dict[asyncio.Future[Any], object],
    deliver: Callable[[ProvisionOutcome], None],
) -> None:
    """Cancel what is still in flight and say which organizations it concerned."""
    if not pending:
        return
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    for task, item in list(pending.items()):
        del pending[task]
        if task.cancelled():
            outcome = _abandoned(item)
            logger.warning("provision: %s", outcome.error)
        else:  # finished while being cancelled
            outcome = task.result()
        try:
            deliver(outcome)
        except Exception:  # the others still hold tokens: hand them over too
            logger.exception("provision: on_abandoned failed")


def _write_unclaimed(sink: _Sink) -> None:
    """The last resort of a batch nobody closed: its unreceived outcomes go to a private
    file in the working directory (or $STYTCH_SCIM_UNCLAIMED_DIR), never nowhere."""
    outcomes, sink.outcomes = sink.outcomes, []
    folder = os.environ.get("STYTCH_SCIM_UNCLAIMED_DIR") or os.getcwd()
    path = os.path.join(folder, f"stytch-scim-unclaimed-{os.getpid()}-{time.time_ns()}.jsonl")
    lines = [
        json.dumps(
            {
                "organization_id": outcome.request.organization_id,
                "status": outcome.status.value,
                "connection_id": outcome.connection.connection_id if outcome.connection else None,
                "bearer_token": outcome.bearer_token,
                "token_confirmed": outcome.token_confirmed,
                "error": str(outcome.error) if outcome.error is not None else None,
            }
        )
        for outcome in outcomes
    ]
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, ("\n".join(lines) + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    logger.error(
        "provision: a batch iterated without `async with` was left early; %d outcome(s) "
        "nobody received (organizations %s) were written to %s (mode 0600: it holds "
        "bearer tokens)",
        len(outcomes),
        ", ".join(outcome.request.organization_id for outcome in outcomes[:10]),
        path,
    )


_NOTHING = object()


class _Feed:
    """The screened source, polled without ever blocking the outcome loop: it yields
    windows (lists), read in a task of their own and handed out one item a poll."""

    def __init__(self, windows: AsyncIterator[list[Any]]) -> None:
        self._windows = windows
        self._buffer: collections.deque[Any] = collections.deque()
        self.reading: asyncio.Future[Any] | None = None
        self.exhausted = False

    def poll(self) -> object:
        """The next item if one is ready, else `_NOTHING` (a read may be started)."""
        if self._buffer:
            return self._buffer.popleft()
        if self.exhausted:
            return _NOTHING
        if self.reading is None:
            self.reading = asyncio.ensure_future(anext(self._windows))
        if not self.reading.done():
            return _NOTHING
        reading, self.reading = self.reading, None
        try:
            self._buffer.extend(reading.result())
        except StopAsyncIteration:
            self.exhausted = True
            return _NOTHING
        return self.poll()

    async def aclose(self) -> None:
        if self.reading is not None:
            self.reading.cancel()
            await asyncio.gather(self.reading, return_exceptions=True)
        close = getattr(self._windows, "aclose", None)
        if close is not None:
            await close()
