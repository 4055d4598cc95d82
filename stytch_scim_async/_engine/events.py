"""The events a client's hooks receive: frozen records of what a call did.

Every event has the fields of `Event`; each kind adds its own. None carries a
secret: requests appear by operation, method and route template, responses by
status and Stytch's request id, connections by id.
"""

from __future__ import annotations

from collections.abc import Callable

import attrs

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


@attrs.frozen(kw_only=True)
class Event:
    """What every event says: which call (`call_id`, unique in the process, across
    clients and their views; None for a request outside any public call), which operation and
    organization (None in member mode, where the session decides), the attempt it
    belongs to, Stytch's status and request id when known, and the seconds since the
    call began."""

    call_id: int | None
    """The public call this event belongs to (None outside any)."""
    operation: str
    """The operation the event is about (`create`, `get`, `rotate_start`, ...)."""
    organization_id: str | None
    """The organization the call acts on; None in member mode."""
    elapsed: float
    """Seconds since the public call began."""
    attempt: int = 0
    """The attempt of `operation` the event belongs to (1 for the first; 0: none yet)."""
    status: int | None = None
    """The HTTP status Stytch answered, when one is known."""
    request_id: str | None = None
    """Stytch's request id, when it answered with one."""


@attrs.frozen(kw_only=True)
class CallStarted(Event):
    """A public call began (before any check, wait or request)."""


@attrs.frozen(kw_only=True)
class CallEnded(Event):
    """A public call ended; `error` is the error's class name when it failed, and
    `attempt` the attempts its own operation made."""

    error: str | None = None
    """The class name of the error the call ended with; None when it succeeded."""


@attrs.frozen(kw_only=True)
class RequestSent(Event):
    """An attempt's request is about to be written (the limiter let it go): its
    method, route template (ids left as `{organization_id}`), host and port."""

    method: str
    """The HTTP method."""
    url_template: str
    """The route, its ids left as placeholders (`/v1/b2b/scim/{organization_id}/...`)."""
    server_address: str
    """The host the request goes to."""
    server_port: int | None = None
    """The port, when the base URL names one."""


@attrs.frozen(kw_only=True)
class ResponseReceived(Event):
    """An attempt ended: `status` is Stytch's (None when no answer arrived, `error`
    then names the transport failure), `duration` the attempt's seconds."""

    duration: float
    """Seconds from the request's send to its answer (or failure)."""
    error: str | None = None
    """The class name of the attempt's error; None for a 2xx that decoded."""


@attrs.frozen(kw_only=True)
class RetryScheduled(Event):
    """Attempt `attempt` failed with `error` (status and request id when Stytch
    answered) and the next one follows after `delay` seconds."""

    delay: float
    """Seconds the client waits before the next attempt."""
    error: str
    """The class name of the failed attempt's error."""


@attrs.frozen(kw_only=True)
class Throttled(Event):
    """The send waited `wait` seconds for the rate limiter of endpoint `group`."""

    wait: float
    """Seconds the send waited."""
    group: str
    """The endpoint group whose limiter it waited for (`create`, `read`, ...)."""


@attrs.frozen(kw_only=True)
class Reconciled(Event):
    """After an ambiguous create or rotation the client looked (one GET); `verdict` is
    what it concluded (see the retries docs' table), `connection_id` what it saw."""

    verdict: str
    """What the look concluded (`recover`, `token_lost`, `committed`, ...)."""
    connection_id: str | None = None
    """The connection the look saw, if any."""


@attrs.frozen(kw_only=True)
class TokenRecovery(Event):
    """A token nobody held: `recovered` True when a rotation gave the call a live
    token, False when it is lost (`TokenLostError` names `connection_id`)."""

    recovered: bool
    """True: the call holds a live token again; False: the token is lost."""
    connection_id: str
    """The connection whose token it is."""


Hook = Callable[[Event], object]
"""A callable that receives every event of the client's calls (sync: it must be fast)."""
