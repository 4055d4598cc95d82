"""Event hooks: pass `hooks=[callable, ...]` to a client (or `with_options`) and each
callable receives every event of its calls, as a frozen record.

Hooks are called synchronously, in the calling task: keep them fast (count, append,
hand to a queue). One that raises is logged on the `stytch_scim_async` logger and
the call goes on. No event carries a secret: not the project secret, not a session
token, not a bearer token (connections appear by id, responses by status and
Stytch's request id). `stytch_scim_async.otel` builds OpenTelemetry spans and
metrics on these events.
"""

from __future__ import annotations

from ._engine.events import (
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

__all__ = [
    "CallEnded",
    "CallStarted",
    "Event",
    "Hook",
    "Reconciled",
    "RequestSent",
    "ResponseReceived",
    "RetryScheduled",
    "Throttled",
    "TokenRecovery",
]
