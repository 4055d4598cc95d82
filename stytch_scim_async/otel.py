"""OpenTelemetry spans and metrics for the client, built on its event hooks
(`pip install 'stytch-scim-async[otel]'`, which brings `opentelemetry-api` only).

```python
from stytch_scim_async.otel import OpenTelemetryHook

client = scim.SCIMClient(hooks=[OpenTelemetryHook()])
```

Each public call is an INTERNAL span (`SCIM create`, …) whose children are its HTTP
attempts, CLIENT spans named as the HTTP semantic conventions ask
(`POST /v1/b2b/scim/{organization_id}/connection`) with `http.request.method`,
`server.address`, `server.port`, `url.template`, `http.response.status_code`,
`http.request.resend_count`, `error.type`, and Stytch's `stytch.request_id`. Retries,
throttles, reconciliations and token recoveries are span events on the call's span.
`url.full` is not recorded: the path names the organization and connection, which
`stytch.organization_id` on the call span carries once, and the query a cursor. No
attribute carries a secret (the events have none).

Metrics: `http.client.request.duration` (seconds, per attempt), and the counters
`stytch_scim.requests`, `stytch_scim.retries`, `stytch_scim.throttles` and
`stytch_scim.recoveries`. Without the SDK configured, the API's no-op providers make
all of this nearly free; importing `stytch_scim_async` never imports this module.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from opentelemetry import context, metrics, trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from ._engine.events import (
    CallEnded,
    CallStarted,
    Event,
    Reconciled,
    RequestSent,
    ResponseReceived,
    RetryScheduled,
    Throttled,
    TokenRecovery,
)
from ._version import __version__

__all__ = ["OpenTelemetryHook"]

_SCOPE = "stytch_scim_async"


class _Call:
    """One traced public call: its span, the context token that made it current, and
    what its attempt in flight was sent with."""

    __slots__ = ("attributes", "span", "token")

    def __init__(self, span: Span, token: object) -> None:
        self.span = span
        self.token = token
        self.attributes: dict[str, Any] = {}


class OpenTelemetryHook:
    """A hook (pass it in `hooks=`) that turns the client's events into OpenTelemetry
    spans and metrics; `tracer_provider`/`meter_provider` default to the global ones.
    One instance may serve many clients and views."""

    def __init__(
        self,
        *,
        tracer_provider: trace.TracerProvider | None = None,
        meter_provider: metrics.MeterProvider | None = None,
    ) -> None:
        self._tracer = trace.get_tracer(_SCOPE, __version__, tracer_provider)
        meter = metrics.get_meter(_SCOPE, __version__, meter_provider)
        self._duration = meter.create_histogram(
            "http.client.request.duration", unit="s", description="One HTTP attempt."
        )
        self._requests = meter.create_counter(
            "stytch_scim.requests", unit="{request}", description="HTTP attempts sent."
        )
        self._retries = meter.create_counter(
            "stytch_scim.retries", unit="{retry}", description="Retries scheduled."
        )
        self._throttles = meter.create_counter(
            "stytch_scim.throttles",
            unit="{wait}",
            description="Sends that waited for the client's rate limiter.",
        )
        self._recoveries = meter.create_counter(
            "stytch_scim.recoveries",
            unit="{token}",
            description="Tokens nobody held: recovered by rotation, or lost.",
        )
        self._calls: dict[int, _Call] = {}
        self._handlers: dict[type[Event], Callable[[Any], None]] = {
            CallStarted: self._started,
            CallEnded: self._ended,
            RequestSent: self._sent,
            ResponseReceived: self._received,
            RetryScheduled: self._retry,
            Throttled: self._throttled,
            Reconciled: self._reconciled,
            TokenRecovery: self._recovery,
        }

    def __call__(self, event: Event) -> None:
        """Handle one event (the hook protocol)."""
        handler = self._handlers.get(type(event))
        if handler is not None:
            handler(event)

    # -- calls ------------------------------------------------------------------------

    def _started(self, event: CallStarted) -> None:
        attributes: dict[str, Any] = {"stytch.scim.operation": event.operation}
        if event.organization_id is not None:
            attributes["stytch.organization_id"] = event.organization_id
        span = self._tracer.start_span(
            f"SCIM {event.operation}", kind=SpanKind.INTERNAL, attributes=attributes
        )
        token = context.attach(trace.set_span_in_context(span))
        if event.call_id is not None:
            self._calls[event.call_id] = _Call(span, token)

    def _ended(self, event: CallEnded) -> None:
        call = self._calls.pop(event.call_id, None) if event.call_id is not None else None
        if call is None:
            return
        span = call.span
        if event.request_id:
            span.set_attribute("stytch.request_id", event.request_id)
        if event.error is not None:
            span.set_attribute("error.type", event.error)
            span.set_status(Status(StatusCode.ERROR, event.error))
        context.detach(call.token)  # type: ignore[arg-type]
        span.end()

    def _call_span(self, event: Event) -> Span | None:
        call = self._calls.get(event.call_id) if event.call_id is not None else None
        return call.span if call is not None else None

    # -- attempts -----------------------------------------------------------------------

    def _sent(self, event: RequestSent) -> None:
        attributes: dict[str, Any] = {
            "http.request.method": event.method,
            "server.address": event.server_address,
            "url.template": event.url_template,
            "stytch.scim.operation": event.operation,
        }
        if event.server_port is not None:
            attributes["server.port"] = event.server_port
        if event.attempt > 1:
            attributes["http.request.resend_count"] = event.attempt - 1
        call = self._calls.get(event.call_id) if event.call_id is not None else None
        if call is not None:
            call.attributes = attributes
        self._requests.add(1, {"stytch.scim.operation": event.operation})

    def _received(self, event: ResponseReceived) -> None:
        call = self._calls.get(event.call_id) if event.call_id is not None else None
        if call is None:
            return  # every request of the library belongs to a traced public call
        attributes = call.attributes
        name = f"{attributes['http.request.method']} {attributes['url.template']}"
        end = time.time_ns()
        # Made when the attempt ends, dated from when it began: an attempt that never
        # ends (its task cancelled) leaves no span open.
        span = self._tracer.start_span(
            name,
            context=trace.set_span_in_context(call.span),
            kind=SpanKind.CLIENT,
            attributes=attributes,
            start_time=end - int(event.duration * 1e9),
        )
        metric = {
            k: v
            for k, v in attributes.items()
            if k in ("http.request.method", "server.address", "server.port")
        }
        if event.status is not None:
            span.set_attribute("http.response.status_code", event.status)
            metric["http.response.status_code"] = event.status
        if event.request_id:
            span.set_attribute("stytch.request_id", event.request_id)
        failed = event.error is not None or (event.status is not None and event.status >= 400)
        if failed:
            kind = event.error or str(event.status)
            span.set_attribute("error.type", kind)
            span.set_status(Status(StatusCode.ERROR, kind))
            metric["error.type"] = kind
        span.end(end_time=end)
        self._duration.record(event.duration, metric)

    # -- what happened between attempts ---------------------------------------------------

    def _note(self, event: Event, name: str, attributes: dict[str, Any]) -> None:
        span = self._call_span(event)
        if span is not None:
            span.add_event(name, {k: v for k, v in attributes.items() if v is not None})

    def _retry(self, event: RetryScheduled) -> None:
        self._retries.add(1, {"stytch.scim.operation": event.operation, "error.type": event.error})
        self._note(
            event,
            "retry",
            {
                "stytch.attempt": event.attempt,
                "stytch.retry.delay": event.delay,
                "error.type": event.error,
                "http.response.status_code": event.status,
            },
        )

    def _throttled(self, event: Throttled) -> None:
        self._throttles.add(
            1, {"stytch.scim.operation": event.operation, "stytch.group": event.group}
        )
        self._note(event, "throttled", {"stytch.wait": event.wait, "stytch.group": event.group})

    def _reconciled(self, event: Reconciled) -> None:
        self._note(
            event,
            "reconciled",
            {
                "stytch.scim.operation": event.operation,
                "stytch.verdict": event.verdict,
                "stytch.connection_id": event.connection_id,
            },
        )

    def _recovery(self, event: TokenRecovery) -> None:
        outcome = "recovered" if event.recovered else "lost"
        self._recoveries.add(1, {"stytch.outcome": outcome})
        self._note(
            event,
            "token_recovered" if event.recovered else "token_lost",
            {"stytch.connection_id": event.connection_id},
        )
