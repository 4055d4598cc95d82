"""The engine both clients share: one call's attempts, under the retry policy, the
budget, the per-group rate limiters and the call's one deadline. Everything it sends
is built by the pure core; the transport does the I/O."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from datetime import UTC, datetime
from functools import partial
from typing import TYPE_CHECKING, Any, TypeVar

from .. import errors
from .._policy.retry import RetryDecision, RetryPolicy
from .._policy.throttle import AdaptiveRateLimiter, RetryBudget
from .._sansio.config import Timeout
from .._sansio.endpoints import Endpoint, Mode, RetryKind
from .._sansio.wire import Request, RequestHeaders, build_request, parse_response
from .call import Call, Rescue
from .pacing import GroupLimiter, RateLimiters
from .receipt import current_receipt

if TYPE_CHECKING:
    from .._transports.base import Transport
    from .hooks import Hooks
    from .locks import OrgLocks

__all__ = ["Engine"]

R = TypeVar("R")
T = TypeVar("T")


class Engine:
    """What a call needs of its client, and the attempts of one call."""

    _mode: Mode
    _base_url: str
    _transport: Transport
    retry: RetryPolicy
    timeout: Timeout
    retry_budget: RetryBudget
    rate_limiter: AdaptiveRateLimiter
    rate_limiters: RateLimiters
    _org_locks: OrgLocks
    #: The engine's clock for deadlines and elapsed times (`time.monotonic`).
    _clock: Callable[[], float] = time.monotonic
    #: The client's event hooks; None (no hooks) costs each hook point one check.
    _hooks: Hooks | None = None

    def _prepare(self, call: Call[R]) -> tuple[Request, GroupLimiter | None]:
        """Build an attempt's request: (request, the endpoint group's limiter when the
        send may have to wait for it, else None). A send the limiters would let go
        only after the deadline is refused at once (see `RateLimiters.check`)."""
        request = build_request(
            call.endpoint, self._mode, self._base_url, call.params, call.headers
        )
        group = self.rate_limiters.check(call.endpoint.name, call.ends)
        call.attempts += 1
        receipt = current_receipt()
        if receipt is not None:
            receipt.requests += 1
        return request, group

    def _finish(
        self, endpoint: Endpoint[R], status: int, headers: Mapping[str, str], body: bytes
    ) -> R:
        """Turn the reply into a response, or raise its error."""
        if status < 300:
            return parse_response(endpoint, status, headers, body)
        return parse_response(endpoint, status, headers, body, datetime.now(UTC))

    async def _attempt(self, call: Call[R]) -> R:
        """One HTTP exchange, paced by the rate limiter and feeding it; the call's
        deadline caps its timeout."""
        request, group = self._prepare(call)
        limiters = self.rate_limiters
        operation = call.endpoint.name
        hooks = self._hooks
        waiting = limiters.wait(group, call.ends, self.retry.sleep, operation)
        sent_at = await (waiting if hooks is None else hooks.throttle(waiting, call, group))
        if hooks is not None:
            hooks.sent(call, request)
        try:
            status, response_headers, body = await self._transport.send(
                request, call.ends, self.timeout
            )
            limiters.on_reply(operation, status, response_headers, sent_at)
            result = self._finish(call.endpoint, status, response_headers, body)
        except errors.StytchSCIMError as exc:
            if hooks is not None:
                hooks.failed(call, exc)
            raise
        if hooks is not None:
            hooks.received(call, result)
        return result

    def _exchange(
        self,
        endpoint: Endpoint[R],
        params: dict[str, Any],
        headers: RequestHeaders,
        ends: float | None = None,
    ) -> Coroutine[Any, Any, R]:
        """One attempt of `endpoint`, never retried (a reconciliation's look, a cancel)."""
        return self._attempt(Call(endpoint, params, headers, None, ends))

    def _run(
        self,
        endpoint: Endpoint[R],
        params: dict[str, Any],
        headers: RequestHeaders,
        rescue: Rescue[R] | None = None,
    ) -> Coroutine[Any, Any, R]:
        """Run `endpoint` under the retry policy, the budget and the deadline.

        `rescue` sees every failed attempt and may turn it into a result (reconciliation
        of creates and rotations) or raise. The engine is a plain function returning a
        coroutine: every frame on the await chain is resumed on each I/O wake-up.
        """
        call = Call(endpoint, params, headers, rescue)
        if self.retry.deadline is None:
            return self._attempts(call)
        return self._bounded(endpoint, lambda ends: self._attempts(call, ends))

    async def _bounded(
        self, endpoint: Endpoint[Any], run: Callable[[float | None], Awaitable[T]]
    ) -> T:
        """`run(ends)` under the call's one deadline, counted as a call in flight."""
        transport = self._transport
        transport.calls += 1  # aclose() waits for the whole call, checks included
        try:
            ends, limit = self._window(endpoint)
            if limit is None:
                return await run(None)
            try:
                async with asyncio.timeout(limit):
                    return await run(ends)
            except TimeoutError as exc:
                raise self._deadline_passed(endpoint) from exc
        finally:
            transport.call_ended()

    def _grace(self, endpoint: Endpoint[Any]) -> float:
        """A create or rotation gets a grace of one attempt's timeout past the deadline:
        `ends` caps each attempt's timeout and stops new attempts, so only the
        reconciliation of an attempt that may have committed (which decides whether a
        token is lost) runs into the grace. A safe call is cut at the deadline."""
        return 0.0 if endpoint.retry is RetryKind.SAFE else self.timeout.total

    def _window(self, endpoint: Endpoint[Any]) -> tuple[float | None, float | None]:
        """When a call starting now must stop attempting (`ends`, on `_clock`), and
        the seconds it may run in all (its deadline and grace); None, None: unbounded."""
        deadline = self.retry.deadline
        if deadline is None:
            return None, None
        return self._clock() + deadline, deadline + self._grace(endpoint)

    def _deadline_passed(self, endpoint: Endpoint[Any]) -> errors.RequestTimeoutError:
        deadline, grace = self.retry.deadline, self._grace(endpoint)
        return errors.RequestTimeoutError(
            f"{endpoint.name}: the call's deadline of {deadline} s passed"
            + (f" and its reconciliation did not end within {grace:g} s more" if grace else "")
        )

    async def _attempts(self, call: Call[R], ends: float | None = None) -> R:
        """Every attempt of `call`, its deadline `ends` (None: none)."""
        # The first attempt runs bare, inlined (one coroutine frame fewer to resume on
        # every I/O wake-up), and without tenacity, whose machinery costs more CPU than
        # the HTTP exchange itself: most calls never need it.
        call.ends = ends
        transport = self._transport
        transport.calls += 1  # aclose() waits for calls in flight (see Transport.drain)
        started = self._clock()
        limiters = self.rate_limiters
        hooks = self._hooks
        try:
            request, group = self._prepare(call)
            operation = call.endpoint.name
            if group is None:
                sent_at = limiters.wall()
            else:
                waiting = limiters.wait(group, ends, self.retry.sleep, operation)
                sent_at = await (waiting if hooks is None else hooks.throttle(waiting, call, group))
            if hooks is not None:
                hooks.sent(call, request)
            status, response_headers, body = await transport.send(request, ends, self.timeout)
            limiters.on_reply(operation, status, response_headers, sent_at)
            result = self._finish(call.endpoint, status, response_headers, body)
        except errors.StytchSCIMError as exc:
            if hooks is not None:
                hooks.failed(call, exc)
            return await self._retrying(call, exc, started)
        finally:
            transport.call_ended()
        if hooks is not None:
            hooks.received(call, result)
        self.retry_budget.refund()
        return result

    async def _retrying(self, call: Call[R], failure: errors.StytchSCIMError, started: float) -> R:
        pending: errors.StytchSCIMError | None = failure
        decision = RetryDecision(
            self.retry,
            call.endpoint.name,
            call.endpoint.retry,
            self.retry_budget,
            self._clock,
            started,
            organization_id=call.params.get("organization_id"),
        )
        if self._hooks is not None:
            decision.observer = partial(self._hooks.retrying, call.endpoint.name)
        rescue = call.rescue
        async for try_ in decision.retrying():
            with try_:
                if pending is None:
                    try:
                        result = await self._attempt(call)
                    except errors.StytchSCIMError as exc:
                        pending = exc
                if pending is not None:
                    failed, pending = pending, None
                    if rescue is None:
                        raise failed
                    result = await rescue(failed)
        # Success after retries returns what they took from the budget (botocore's rule).
        self.retry_budget.refund(max(decision.spent, 1))
        return result
