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
import inspect
import logging
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
from typing import Any

import attrs

from .. import errors
from .._engine.receipt import Receipt, keep_receipt
from .._policy.retry import RetryPolicy
from .client import BatchClient
from .handover import (
    Pending,
    ProvisionAbandonedError,
    ProvisionBatch,
    Sink,
    drain,
    settle,
)
from .records import ProvisionOutcome, ProvisionProgress, ProvisionRequest, ProvisionStatus
from .search import screened

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


async def _provision_one(
    client: BatchClient,
    request: ProvisionRequest,
    proof_mark: int | None,
    receipt: Receipt,
    recover_token: bool,
    verify_absent: bool | None,
) -> ProvisionOutcome:
    keep_receipt(receipt)  # this task's own context: only its requests and token
    try:
        if not isinstance(request, ProvisionRequest):
            raise errors.InvalidRequestError(
                "requests", f"items must be ProvisionRequest, got {type(request).__name__}"
            )
        response = await client._create(
            request.organization_id,
            request.display_name,
            request.identity_provider,
            client._headers,
            recover_token,
            verify_absent,
            request.maybe_sent,
            request.proven_absent or proof_mark is not None,
            proof_mark,
        )
    except errors.StytchSCIMError as exc:
        return ProvisionOutcome(
            request, _status_of(exc), None, exc, receipt.requests, exc.request_id
        )
    except Exception as exc:  # a bug of ours or of an injected hook: still one outcome
        logger.exception("provision: unexpected error for %r", request)
        # One error type for every outcome (typed code reads `.request_id` and
        # `.may_have_committed`); what really happened is the `__cause__`.
        unexpected = errors.StytchSCIMError(
            f"unexpected {type(exc).__name__} while provisioning the organization "
            "(see the log; the original error is this error's __cause__)"
        )
        unexpected.__cause__ = exc
        unexpected.may_have_committed = True  # nothing says how far the create got
        return ProvisionOutcome(request, ProvisionStatus.FAILED, None, unexpected, receipt.requests)
    status = ProvisionStatus.RECOVERED if response.recovered else ProvisionStatus.CREATED
    return ProvisionOutcome(
        request, status, response.connection, None, receipt.requests, response.request_id
    )


def _status_of(error: errors.StytchSCIMError) -> ProvisionStatus:
    if isinstance(error, errors.TokenLostError) and error.next_bearer_token is not None:
        return ProvisionStatus.UNCONFIRMED
    if isinstance(error, errors.ConnectionExistsError) and not error.may_have_committed:
        return ProvisionStatus.ALREADY_EXISTS
    return ProvisionStatus.FAILED


def provision(
    client: BatchClient,
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
    if on_abandoned is not None and inspect.iscoroutinefunction(on_abandoned):
        raise errors.InvalidRequestError(
            "on_abandoned", "must be a plain function (it is called, never awaited)"
        )
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
            before_send=before_send,
        ),
        Sink(on_abandoned),
    )


async def _run(
    client: BatchClient,
    source: AsyncIterator[list[tuple[ProvisionRequest, int | None] | ProvisionOutcome]],
    sink: Sink,
    *,
    concurrency: int,
    recover_token: bool,
    verify_absent: bool | None,
    on_progress: Callable[[ProvisionProgress], None] | None,
    before_send: Callable[[Sequence[ProvisionRequest]], Awaitable[None]] | None,
) -> AsyncGenerator[ProvisionOutcome, None]:
    counts = dict.fromkeys(ProvisionStatus, 0)
    sent = 0
    pending: Pending = {}
    ready: list[ProvisionOutcome] = []  # decided without a create (exists, duplicates)

    # The source is read in its own task, so outcomes are never held back behind a
    # source (or a search) that is slow to produce.
    feed = _Feed(source)
    unyielded: ProvisionOutcome | None = None  # taken from its task, not yet yielded
    owner = asyncio.current_task()
    cancellations = owner.cancelling() if owner is not None else 0
    try:
        while True:
            starting: list[tuple[ProvisionRequest, int | None]] = []
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
                            attrs.evolve(request, proven_absent=True)
                            if mark is not None
                            else request
                            for request, mark in starting
                            if isinstance(request, ProvisionRequest)
                        ]
                    )
                for request, mark in starting:
                    receipt = Receipt()
                    task = asyncio.create_task(
                        _provision_one(client, request, mark, receipt, recover_token, verify_absent)
                    )
                    pending[task] = (request, receipt)
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
                # The others are out of `pending` already: keep them where the exit
                # path looks (a progress hook that raises must not drop their tokens).
                ready.extend(finished)
                finished = []
                counts[outcome.status] += 1
                sent += outcome.attempts
                if on_progress is not None:
                    on_progress(_progress(counts, len(pending), sent, client))
                unyielded = None
                yield outcome
                finished, ready = ready, []
    except (GeneratorExit, Exception):
        # Left early (a break, an error in the source or a hook): the creates in flight
        # may have committed, so let them finish and hand each outcome over. Not when
        # the task is being cancelled: then "at once" wins, and settle() reports them.
        current = asyncio.current_task()
        before = cancellations if current is owner else 0
        cancelled = current is not None and current.cancelling() > before
        left = [unyielded, *ready] if unyielded is not None else ready
        await drain({} if cancelled else pending, sink, left)
        raise
    finally:
        try:
            await settle(pending, sink)
        finally:
            try:
                await feed.aclose()
            finally:
                if not sink.owned:
                    sink.write_down(
                        "provision: a batch iterated without `async with` was left early"
                    )


def _progress(
    counts: dict[ProvisionStatus, int], in_flight: int, sent: int, client: BatchClient
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
