"""Event hooks: what a call did, as frozen records handed to the caller's callables.

Hooks are plain (sync) callables: calling one costs no await and no task, so they
must be fast (count, record, hand to a queue). A hook that raises is logged and the
call goes on: an observer never breaks a call, and never loses a token.

Nothing here costs anything when a client has no hooks: the engine checks one
attribute (`_hooks is None`) and builds no record, closure or context. With hooks,
each public call runs under a `_Trace` in a context variable, so the engine's hook
points (one attempt sent and answered, a retry, a limiter's wait) and the
recovery's (a reconciliation and its verdict, a token recovered or lost) know which
call they belong to without any argument threaded through.

No event carries a secret: the project secret, session tokens and bearer tokens are
never read here (requests are seen only by operation and method, responses by
status and request id, connections by id).
"""

from __future__ import annotations

import itertools
import logging
import time
from collections.abc import Awaitable, Iterable, Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import urlsplit

import attrs

from .events import (
    CallEnded,
    CallStarted,
    Event,
    Hook,
    Reconciled,
    RequestSent,
    ResponseReceived,
    RetryScheduled,
    Throttled,
    TokenRecovery,
)

if TYPE_CHECKING:
    from .._sansio.wire import Request
    from .call import Call

__all__ = ["Hook", "Hooks", "log_event"]

T = TypeVar("T")
logger = logging.getLogger("stytch_scim_async")

#: A throttle shorter than this is the limiter's bookkeeping, not a wait worth reporting.
MIN_THROTTLE = 0.001


@attrs.define(slots=True)
class _Trace:
    """One public call, as its hook points see it."""

    call_id: int | None
    operation: str
    organization_id: str | None
    started: float
    #: The attempts of the call's own operation so far.
    attempts: int = 0
    sent_at: float | None = None


_CURRENT: ContextVar[_Trace | None] = ContextVar("stytch_scim_async_trace", default=None)


def _organization(params: dict[str, Any]) -> str | None:
    value = params.get("organization_id")
    return value if isinstance(value, str) else None


class Hooks:
    """A client's hooks, and the hook points' event builders (used only when the
    client has at least one hook)."""

    __slots__ = ("_ids", "hooks")

    def __init__(self, hooks: tuple[Hook, ...], ids: Iterator[int] | None = None) -> None:
        self.hooks = hooks
        self._ids = ids if ids is not None else itertools.count(1)

    @classmethod
    def build(cls, hooks: Iterable[Hook] | None, ids: Iterator[int] | None = None) -> Hooks | None:
        """None for no hooks (the engine's zero-cost case); `ids` numbers the calls (one
        counter per client, shared by its views, so a call id is unique among them)."""
        from .. import errors

        if hooks is None:
            return None
        if callable(hooks) or not isinstance(hooks, Iterable):
            raise errors.InvalidRequestError("hooks", "must be a sequence of callables")
        found = tuple(hooks)
        for hook in found:
            if not callable(hook):
                raise errors.InvalidRequestError("hooks", f"{hook!r} is not callable")
        if not found:
            return None
        return cls(found, ids)

    def emit(self, event: Event) -> None:
        """Hand `event` to every hook; a hook that raises is logged, never propagated."""
        for hook in self.hooks:
            try:
                hook(event)
            except BaseException as exc:
                if not isinstance(exc, Exception):
                    # KeyboardInterrupt, SystemExit, CancelledError from a hook: logged, not
                    # raised from inside a call that may hold a token (the call's own
                    # cancellation still arrives at its next await).
                    logger.error(
                        "a hook (%r) raised %s on %s; ignored",
                        hook,
                        type(exc).__name__,
                        type(event).__name__,
                    )
                    continue
                logger.exception(
                    "a hook (%r) raised on %s; the call goes on", hook, type(event).__name__
                )

    # -- a public call ---------------------------------------------------------------

    async def call(self, operation: str, params: dict[str, Any], run: Awaitable[T]) -> T:
        """Await `run` (a public call) under a trace, between its start and end events."""
        trace = _Trace(next(self._ids), operation, _organization(params), time.monotonic())
        token = _CURRENT.set(trace)
        self.emit(self._event(CallStarted, trace))
        try:
            result = await run
        except BaseException as exc:
            self.emit(
                self._event(
                    CallEnded,
                    trace,
                    attempt=trace.attempts,
                    status=getattr(exc, "status_code", None),
                    request_id=getattr(exc, "request_id", None),
                    error=type(exc).__name__,
                )
            )
            raise
        finally:
            _CURRENT.reset(token)
        self.emit(
            self._event(
                CallEnded,
                trace,
                attempt=trace.attempts,
                status=getattr(result, "status_code", None),
                request_id=getattr(result, "request_id", None) or None,
            )
        )
        return result

    @staticmethod
    def _trace(operation: str, params: dict[str, Any] | None = None) -> _Trace:
        trace = _CURRENT.get()
        if trace is None:  # outside any public call: reported, but belongs to none
            organization = _organization(params) if params is not None else None
            trace = _Trace(None, operation, organization, time.monotonic())
        return trace

    @staticmethod
    def _event(kind: type[Any], trace: _Trace, **fields: Any) -> Any:
        return kind(
            call_id=trace.call_id,
            operation=fields.pop("operation", trace.operation),
            organization_id=trace.organization_id,
            elapsed=time.monotonic() - trace.started,
            **fields,
        )

    # -- the engine's hook points ------------------------------------------------------

    def sent(self, call: Call[Any], request: Request) -> None:
        """Attempt `call.attempts` of `call` is about to be written."""
        operation = call.endpoint.name
        trace = self._trace(operation, call.params)
        if operation == trace.operation:
            trace.attempts = call.attempts
        trace.sent_at = time.monotonic()
        url = urlsplit(request.url)
        member = "/sdk/" in url.path
        route = call.endpoint.member if member else call.endpoint.project
        self.emit(
            self._event(
                RequestSent,
                trace,
                operation=operation,
                attempt=call.attempts,
                method=request.method,
                url_template=route.template,
                server_address=url.hostname or "",
                server_port=url.port,
            )
        )

    def received(self, call: Call[Any], result: Any) -> None:
        """The attempt in flight got a 2xx that decoded into `result`."""
        status = getattr(result, "status_code", None)
        self._ended(call, status, getattr(result, "request_id", None) or None, None)

    def failed(self, call: Call[Any], error: BaseException) -> None:
        """The attempt in flight failed (an error status, or no usable answer)."""
        status = getattr(error, "status_code", None)
        self._ended(call, status, getattr(error, "request_id", None), type(error).__name__)

    def _ended(
        self, call: Call[Any], status: int | None, request_id: str | None, error: str | None
    ) -> None:
        trace = _CURRENT.get()
        if trace is None or trace.sent_at is None:
            return  # nothing was sent (or no public call is traced): no attempt to report
        duration = time.monotonic() - trace.sent_at
        trace.sent_at = None
        self.emit(
            self._event(
                ResponseReceived,
                trace,
                operation=call.endpoint.name,
                attempt=call.attempts,
                status=status,
                request_id=request_id,
                duration=duration,
                error=error,
            )
        )

    def retrying(self, operation: str, attempt: int, error: BaseException, delay: float) -> None:
        """Attempt `attempt` failed with `error`; the next one comes after `delay`."""
        trace = self._trace(operation)
        self.emit(
            self._event(
                RetryScheduled,
                trace,
                operation=operation,
                attempt=attempt,
                status=getattr(error, "status_code", None),
                request_id=getattr(error, "request_id", None),
                delay=delay,
                error=type(error).__name__,
            )
        )

    async def throttle(self, waiting: Awaitable[T], call: Call[Any], group: object) -> T:
        """Await a rate limiter's wait, reporting it when it lasted."""
        began = time.monotonic()
        result = await waiting
        waited = time.monotonic() - began
        if waited >= MIN_THROTTLE:
            operation = call.endpoint.name
            trace = self._trace(operation, call.params)
            name = getattr(group, "name", None)
            self.emit(
                self._event(
                    Throttled,
                    trace,
                    operation=operation,
                    attempt=call.attempts,
                    wait=waited,
                    group=name if isinstance(name, str) else str(group),
                )
            )
        return result

    # -- the recovery's hook points ----------------------------------------------------

    def reconciled(
        self, operation: str, verdict: str, connection_id: str | None, request_id: str | None
    ) -> None:
        """A look after an ambiguous failure concluded `verdict`."""
        trace = self._trace(operation)
        self.emit(
            self._event(
                Reconciled,
                trace,
                operation=operation,
                attempt=trace.attempts,
                request_id=request_id,
                verdict=verdict,
                connection_id=connection_id,
            )
        )

    def recovery(self, connection_id: str, recovered: bool) -> None:
        """A token nobody held was recovered (or is lost) on `connection_id`."""
        trace = self._trace("create")
        self.emit(
            self._event(
                TokenRecovery,
                trace,
                operation="create",
                attempt=trace.attempts,
                recovered=recovered,
                connection_id=connection_id,
            )
        )


def log_event(event: Event) -> None:
    """The hook `STYTCH_SCIM_LOG=debug` installs: every event as one DEBUG line (events
    carry no secret, so neither does the line)."""
    logger.debug("event %r", event)
