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
from collections.abc import AsyncGenerator, AsyncIterable, Callable, Iterable
from typing import TYPE_CHECKING

import attrs

from . import errors
from ._base import count_requests_in
from ._retry import RetryPolicy
from .models import SCIMConnectionWithToken

if TYPE_CHECKING:
    from ._client import SCIMClient

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
    error: errors.StytchSCIMError | None = None
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
    status = ProvisionStatus.RECOVERED if response.recovered else ProvisionStatus.CREATED
    return ProvisionOutcome(
        request, status, response.connection, None, counter[0], response.request_id
    )


async def _items(
    requests: Iterable[ProvisionRequest] | AsyncIterable[ProvisionRequest],
) -> AsyncGenerator[ProvisionRequest, None]:
    if isinstance(requests, AsyncIterable):
        async for item in requests:
            yield item
    else:
        for item in requests:
            yield item


async def provision(
    client: SCIMClient,
    requests: Iterable[ProvisionRequest] | AsyncIterable[ProvisionRequest],
    *,
    concurrency: int = 32,
    recover_token: bool = True,
    verify_absent: bool = False,
    retry: RetryPolicy | None = None,
    on_progress: Callable[[ProvisionProgress], None] | None = None,
) -> AsyncGenerator[ProvisionOutcome, None]:
    """Yield one `ProvisionOutcome` per request, in completion order.

    `retry` defaults to the client's policy with at least 6 attempts. Breaking out of
    the loop (or cancelling the task iterating it) cancels the creates in flight.
    `verify_absent=True` spends one GET per organization to make lost-token recovery
    sound where organizations may already have an identical connection.
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
    source = _items(requests)
    pending: set[asyncio.Task[ProvisionOutcome]] = set()
    exhausted = False
    try:
        while True:
            while not exhausted and len(pending) < concurrency:
                try:
                    item = await anext(source)
                except StopAsyncIteration:
                    exhausted = True
                    break
                pending.add(
                    asyncio.create_task(_provision_one(worker, item, recover_token, verify_absent))
                )
            if not pending:
                return
            done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                outcome = task.result()
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
                yield outcome
    finally:
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        await source.aclose()
