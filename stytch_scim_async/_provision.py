"""Batch provisioning: one SCIM connection (and one usable token) per organization.

The input is read lazily, at most `concurrency` creates are in flight, and each
outcome is yielded as soon as its organization is done, so a caller can write it
down (the token is shown only once) before anything else can go wrong. Every
request goes through the client, so the client's retry budget and adaptive rate
limiter govern the whole batch.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import AsyncGenerator, AsyncIterable, Callable, Iterable
from typing import TYPE_CHECKING, Any

import attrs

from . import errors
from ._base import count_requests_in
from ._retry import RetryPolicy
from .models import SCIMConnectionWithToken

if TYPE_CHECKING:
    from ._client import SCIMClient

logger = logging.getLogger("stytch_scim_async")

__all__ = [
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
    """One organization to give a SCIM connection."""

    organization_id: str
    display_name: str | None = None
    identity_provider: str | None = None


class ProvisionStatus(enum.StrEnum):
    """How one organization ended."""

    CREATED = "created"
    """Created; `connection.bearer_token` is the new token."""
    RECOVERED = "recovered"
    """The create committed but its reply was lost; the token was recovered by rotation."""
    ALREADY_EXISTS = "already_exists"
    """The organization already had a connection; it was left unchanged."""
    FAILED = "failed"
    """Anything else; `error` says what."""


@attrs.frozen
class ProvisionOutcome:
    """The result for one request. `attempts` counts every HTTP request sent for it."""

    request: ProvisionRequest
    status: ProvisionStatus
    connection: SCIMConnectionWithToken | None = None
    error: Exception | None = None
    attempts: int = 0
    request_id: str | None = None

    @property
    def ok(self) -> bool:
        """True when the organization now has a connection whose token we hold."""
        return self.status in (ProvisionStatus.CREATED, ProvisionStatus.RECOVERED)


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


async def _provision_one(
    client: SCIMClient, request: ProvisionRequest, recover_token: bool, verify_absent: bool
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
        )
    except errors.StytchSCIMError as exc:
        exists = isinstance(exc, errors.ConnectionExistsError)
        status = ProvisionStatus.ALREADY_EXISTS if exists else ProvisionStatus.FAILED
        return ProvisionOutcome(request, status, None, exc, counter[0], exc.request_id)
    except Exception as exc:  # a bug of ours or of an injected hook: still one outcome
        logger.exception("provision: unexpected error for %r", request)
        return ProvisionOutcome(request, ProvisionStatus.FAILED, None, exc, counter[0])
    status = ProvisionStatus.RECOVERED if response.recovered else ProvisionStatus.CREATED
    return ProvisionOutcome(
        request, status, response.connection, None, counter[0], response.request_id
    )


def _abandoned(request: object) -> ProvisionOutcome:
    request = request if isinstance(request, ProvisionRequest) else ProvisionRequest(str(request))
    error = errors.TransportError(
        f"create for {request.organization_id} cancelled in flight: the organization may "
        "now have a connection whose token was lost (rerun it with verify_absent=False "
        "to see `already_exists`, then rotate it)"
    )
    return ProvisionOutcome(request, ProvisionStatus.FAILED, None, error)


async def provision(
    client: SCIMClient,
    requests: Iterable[ProvisionRequest] | AsyncIterable[ProvisionRequest],
    *,
    concurrency: int = 32,
    recover_token: bool = True,
    verify_absent: bool = False,
    retry: RetryPolicy | None = None,
    on_progress: Callable[[ProvisionProgress], None] | None = None,
    on_abandoned: Callable[[ProvisionOutcome], object] | None = None,
) -> AsyncGenerator[ProvisionOutcome, None]:
    """Yield one `ProvisionOutcome` per request, in completion order.

    `retry` defaults to the client's policy with at least 6 attempts.
    `verify_absent=True` spends one GET per organization to make lost-token recovery
    sound where organizations may already have an identical connection.

    Closing the iteration early (`break`, `aclose()`, an error raised by the source or
    `on_progress`) starts nothing new. With `on_abandoned`, the creates already in
    flight are allowed to finish and each of their outcomes (tokens included) is
    handed to it; without, they are cancelled.
    Cancelling the task that iterates cancels them at once; `on_abandoned` then gets
    a `failed` outcome for each, since a cancelled create may have committed.
    """
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise errors.InvalidRequestError("concurrency", "must be an int >= 1")
    if not isinstance(requests, Iterable | AsyncIterable):
        raise errors.InvalidRequestError("requests", "must be an iterable of ProvisionRequest")
    policy = retry or attrs.evolve(
        client.retry, max_attempts=max(client.retry.max_attempts, MIN_PROVISION_ATTEMPTS)
    )
    worker = client.with_retry(policy)
    counts = dict.fromkeys(ProvisionStatus, 0)
    sent = 0
    pending: dict[asyncio.Future[Any], object] = {}

    def start(item: object) -> None:
        task = asyncio.create_task(_provision_one(worker, item, recover_token, verify_absent))  # type: ignore[arg-type]
        pending[task] = item

    # An async source is read in its own task, so outcomes are never held back behind
    # a source that is slow to produce; a sync one cannot block without blocking us.
    feed = _Feed(requests)
    unyielded: ProvisionOutcome | None = None  # taken from its task, not yet yielded
    owner = asyncio.current_task()
    cancellations = owner.cancelling() if owner is not None else 0
    try:
        while True:
            while len(pending) < concurrency and (item := feed.poll()) is not _NOTHING:
                start(item)
            waiting: set[asyncio.Future[Any]] = set(pending)
            if len(pending) < concurrency and feed.reading is not None:
                waiting.add(feed.reading)
            if not waiting:
                return
            done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            for finished in done:
                if finished is feed.reading:
                    continue  # picked up by the next poll()
                del pending[finished]
                outcome: ProvisionOutcome = finished.result()
                unyielded = outcome
                counts[outcome.status] += 1
                sent += outcome.attempts
                if on_progress is not None:
                    on_progress(
                        ProvisionProgress(
                            done=sum(counts.values()),
                            in_flight=len(pending),
                            created=counts[ProvisionStatus.CREATED],
                            recovered=counts[ProvisionStatus.RECOVERED],
                            already_exists=counts[ProvisionStatus.ALREADY_EXISTS],
                            failed=counts[ProvisionStatus.FAILED],
                            requests=sent,
                            throttled=client.rate_limiter.throttles,
                        )
                    )
                unyielded = None
                yield outcome
    except (GeneratorExit, Exception):
        # Left early (a break, an error in the source or a hook): the creates in flight
        # may have committed, so let them finish into on_abandoned. Not when the task
        # is being cancelled: then "at once" wins, and _settle reports them.
        if on_abandoned is not None:
            task = asyncio.current_task()
            before = cancellations if task is owner else 0
            cancelled = task is not None and task.cancelling() > before
            # `unyielded`: on_progress raised before that outcome could be yielded.
            await _drain({} if cancelled else pending, on_abandoned, unyielded)
        raise
    finally:
        await _settle(pending, on_abandoned)
        await feed.aclose()


async def _drain(
    pending: dict[asyncio.Future[Any], object],
    on_abandoned: Callable[[ProvisionOutcome], object],
    ready: ProvisionOutcome | None,
) -> None:
    """Hand `ready` over, then let the creates in flight finish and hand each outcome
    over, exactly once.

    A callback that raises does not stop the others from being handed over (each
    holds a token); its first error is raised at the end."""
    first_error: Exception | None = None

    def hand_over(outcome: ProvisionOutcome) -> None:
        nonlocal first_error
        try:
            on_abandoned(outcome)
        except Exception as exc:
            logger.exception("provision: on_abandoned failed")
            first_error = first_error or exc

    if ready is not None:
        hand_over(ready)
    while pending:
        done, _ = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
        for finished in done:
            item = pending.pop(finished)
            hand_over(_abandoned(item) if finished.cancelled() else finished.result())
    if first_error is not None:
        raise first_error


async def _settle(
    pending: dict[asyncio.Future[Any], object],
    on_abandoned: Callable[[ProvisionOutcome], object] | None,
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
        if on_abandoned is not None:
            try:
                on_abandoned(outcome)
            except Exception:  # the others still hold tokens: hand them over too
                logger.exception("provision: on_abandoned failed")


_NOTHING = object()


class _Feed:
    """The request source, polled without ever blocking the outcome loop."""

    def __init__(
        self, requests: Iterable[ProvisionRequest] | AsyncIterable[ProvisionRequest]
    ) -> None:
        self._sync = iter(requests) if not isinstance(requests, AsyncIterable) else None
        self._async = aiter(requests) if isinstance(requests, AsyncIterable) else None
        self.reading: asyncio.Task[ProvisionRequest] | None = None
        self.exhausted = False

    def poll(self) -> object:
        """The next request if one is ready, else `_NOTHING` (a read may be started)."""
        if self.exhausted:
            return _NOTHING
        if self._sync is not None:
            item = next(self._sync, _NOTHING)
            self.exhausted = item is _NOTHING
            return item
        assert self._async is not None
        if self.reading is None:
            self.reading = asyncio.ensure_future(anext(self._async))
        if not self.reading.done():
            return _NOTHING
        reading, self.reading = self.reading, None
        try:
            return reading.result()
        except StopAsyncIteration:
            self.exhausted = True
            return _NOTHING

    async def aclose(self) -> None:
        if self.reading is not None:
            self.reading.cancel()
            await asyncio.gather(self.reading, return_exceptions=True)
        close = getattr(self._async, "aclose", None)
        if close is not None:
            await close()
