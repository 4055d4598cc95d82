"""FastAPI integration: one client per app, a dependency, and errors mapped to HTTP.

Install with the `fastapi` extra (`pip install "stytch-scim-async[fastapi]"`). Importing
`stytch_scim_async` never imports FastAPI; only importing this module does.

`scim_lifespan` owns the app's one client; `SCIMClientDep` hands it to request
handlers under `INTERACTIVE_RETRY` (a person is waiting: a few seconds and two
attempts at most), and `scim_client(policy)` picks another policy for one route;
`install_error_handlers` answers every failure, the library's and FastAPI's own, in
one JSON shape (`{"error", "message", "request_id"}`). The FastAPI guide
(docs/fastapi.md) shows each in use and has the full table of answers.
"""

from __future__ import annotations

import logging
import math
import weakref
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from http import HTTPStatus
from typing import Annotated, Any, Final, NamedTuple, TypeVar, overload

from fastapi import Depends
from fastapi.exceptions import RequestValidationError
from fastapi.requests import HTTPConnection, Request
from fastapi.responses import JSONResponse, Response
from starlette.applications import Starlette
from starlette.exceptions import HTTPException

from . import errors
from ._clients.project import SCIMClient
from ._policy.retry import RetryPolicy

__all__ = [
    "INTERACTIVE_RETRY",
    "STATE_KEY",
    "SCIMClientDep",
    "error_response",
    "get_scim_client",
    "install_error_handlers",
    "scim_client",
    "scim_lifespan",
]

_logger = logging.getLogger("stytch_scim_async.fastapi")

STATE_KEY: Final = "scim_client"
"""`"scim_client"`: the `app.state` attribute that holds the client while the app runs."""

INTERACTIVE_RETRY: Final = RetryPolicy(
    max_attempts=2, initial_delay=0.2, max_delay=0.5, max_retry_after=1.0, deadline=4.0
)
"""The retry policy `SCIMClientDep` gives request handlers: a person is waiting.

At most two attempts, at most 0.5 s of backoff, a `Retry-After` slept only when it
is at most 1 s, and a deadline of 4 s for the whole call; beyond that the handler
answers at once (429 or 503 with a `Retry-After` the caller can honour) instead of
holding the request for as long as a batch would wait. A create whose attempt may
have committed still gets one attempt's timeout more to find out, so its token is
never dropped: see `RetryPolicy.deadline`."""

_AppT = TypeVar("_AppT", bound=Starlette)


@overload
def scim_lifespan(
    client_factory: Callable[[], SCIMClient], *, lifespan: None = None
) -> Callable[[Starlette], AbstractAsyncContextManager[None]]: ...


@overload
def scim_lifespan(
    client_factory: Callable[[], SCIMClient],
    *,
    lifespan: Callable[[_AppT], AbstractAsyncContextManager[None]],
) -> Callable[[_AppT], AbstractAsyncContextManager[None]]: ...


@overload
def scim_lifespan(
    client_factory: Callable[[], SCIMClient],
    *,
    lifespan: Callable[[_AppT], AbstractAsyncContextManager[Mapping[str, Any]]],
) -> Callable[[_AppT], AbstractAsyncContextManager[Mapping[str, Any]]]: ...


def scim_lifespan(
    client_factory: Callable[[], SCIMClient],
    *,
    lifespan: Callable[[Any], AbstractAsyncContextManager[Any]] | None = None,
) -> Callable[[Any], AbstractAsyncContextManager[Any]]:
    """A lifespan that owns one `SCIMClient` for the app's whole life.

    One client per process is what keeps connections pooled and lets the retry
    budget and rate limiter see all of the app's traffic; a client per request would
    lose all three. `client_factory` runs at startup (inside the event loop, after
    configuration is loaded); the client is stored as `app.state.scim_client` and
    closed at shutdown, even when startup fails later on.

    Pass the app's own lifespan as `lifespan=` to compose them: it runs inside,
    with the client already available, and whatever state it yields is passed on.
    Or enter `scim_lifespan(factory)(app)` from within your own lifespan.
    """

    @asynccontextmanager
    async def context(app: Starlette) -> AsyncIterator[Any]:
        client = client_factory()
        setattr(app.state, STATE_KEY, client)
        try:
            if lifespan is None:
                yield None
            else:
                async with lifespan(app) as state:
                    yield state
        finally:
            try:
                await client.aclose()
            finally:
                if getattr(app.state, STATE_KEY, None) is client:
                    delattr(app.state, STATE_KEY)

    return context


def get_scim_client(connection: HTTPConnection) -> SCIMClient:
    """The app's `SCIMClient` as its factory built it, with the factory's own retry
    policy: for work that may wait as long as a batch does (a background task, a
    `Depends` of a route that runs like one). Request handlers take `SCIMClientDep`."""
    client = getattr(connection.app.state, STATE_KEY, None)
    if not isinstance(client, SCIMClient):
        raise RuntimeError(
            "no SCIMClient on app.state: create the app with "
            "FastAPI(lifespan=scim_lifespan(...)) and make sure the server runs lifespan events"
        )
    return client


def scim_client(
    retry: RetryPolicy | None = INTERACTIVE_RETRY,
) -> Callable[[HTTPConnection], SCIMClient]:
    """A dependency that hands a route the app's client under `retry`, so each route
    waits as long as its caller can: `Depends(scim_client(RetryPolicy(deadline=30)))`
    for a slow admin job, `scim_client(None)` for the factory's own policy.

    The view shares the app client's connection pool, retry budget and rate limiter
    (`SCIMClient.with_retry`); one view per app client is kept, not one per request.
    """
    if retry is not None and not isinstance(retry, RetryPolicy):
        raise TypeError("retry must be a RetryPolicy or None")
    views: weakref.WeakKeyDictionary[SCIMClient, SCIMClient] = weakref.WeakKeyDictionary()

    def dependency(connection: HTTPConnection) -> SCIMClient:
        client = get_scim_client(connection)
        if retry is None:
            return client
        view = views.get(client)
        if view is None:
            view = views[client] = client.with_retry(retry)
        return view

    return dependency


SCIMClientDep = Annotated[SCIMClient, Depends(scim_client())]
"""`Annotated[SCIMClient, Depends(scim_client())]`: `client: SCIMClientDep` in a
handler's signature injects the app's client under `INTERACTIVE_RETRY`, so no request
waits out a long `Retry-After`."""

#: Seconds for `Retry-After` when Stytch gave none: a throttle (Stytch counts per
#: clock second or longer), and an outage or overload (the handler retried already).
_THROTTLED_RETRY_AFTER: Final = 1
_UNAVAILABLE_RETRY_AFTER: Final = 5


def _body(error: str, message: str, request_id: str | None, **extra: Any) -> dict[str, Any]:
    return {"error": error, "message": message, "request_id": request_id, **extra}


def _retry_after_seconds(retry_after: float | None) -> int:
    if retry_after is None or not math.isfinite(retry_after):
        return _THROTTLED_RETRY_AFTER
    return max(1, math.ceil(retry_after))


class _Row(NamedTuple):
    status: int  # a 503 also gets `Retry-After`: the caller may try again later
    error: str  # when Stytch gave no error_type, or it is not passed on
    message: str
    passed_on: bool = False  # Stytch's own error_type/error_message reach the caller


_MISCONFIGURED = _Row(
    502, "upstream_misconfigured", "The server's access to its identity service is misconfigured."
)
_EXISTS = "The organization already has a SCIM connection."

#: First match wins.
_TABLE: Final[tuple[tuple[type[errors.StytchSCIMError], _Row], ...]] = (
    (errors.ConnectionExistsError, _Row(409, "active_scim_connection_exists", _EXISTS, True)),
    (errors.SDKOriginNotAllowedError, _MISCONFIGURED),
    (errors.CustomDomainRequiredError, _MISCONFIGURED),
    (errors.BadRequestError, _Row(400, "bad_request", "The request was rejected.", True)),
    (
        errors.ForbiddenError,
        _Row(403, "forbidden", "The Member is not authorized to perform this action.", True),
    ),
    (errors.NotFoundError, _Row(404, "not_found", "Not found.", True)),
    (
        errors.UnauthorizedError,
        _Row(
            502,
            "upstream_authentication_failed",
            "The server could not authenticate to its identity service.",
        ),
    ),
    (
        errors.RequestTimeoutError,
        _Row(504, "upstream_timeout", "The identity service did not answer in time; try again."),
    ),
    (
        errors.ConnectError,
        _Row(503, "upstream_unreachable", "The identity service could not be reached; try again."),
    ),
    (
        errors.TransportError,
        _Row(
            503,
            "upstream_connection_failed",
            "The connection to the identity service failed; try again.",
        ),
    ),
    (errors.ServerError, _Row(503, "upstream_error", "The identity service failed; try again.")),
    (
        errors.ResponseDecodeError,
        _Row(
            502,
            "upstream_bad_response",
            "The identity service sent an unreadable answer; try again.",
        ),
    ),
    (
        errors.StytchSCIMError,
        _Row(502, "upstream_error", "The identity service answered unexpectedly."),
    ),
)


def _special(
    exc: errors.StytchSCIMError, headers: dict[str, str]
) -> tuple[int, dict[str, Any]] | None:
    """The answers that are more than a row of `_TABLE`; None for the others."""
    request_id = exc.request_id
    if isinstance(exc, errors.ClientClosedError) or (
        isinstance(exc, errors.InvalidRequestError) and exc.argument == "client"
    ):  # the app is shutting down: its client is closing or closed
        headers["Retry-After"] = "1"
        message = "The server is shutting down."
        return 503, _body("service_unavailable", message, None, retry_after=1)
    if isinstance(exc, errors.InvalidRequestError):
        message = f"{exc.argument}: {exc.problem}"
        return 422, _body("invalid_request", message, None, argument=exc.argument)
    if isinstance(exc, errors.TokenLostError) and not exc.proven and not exc.next_bearer_token:
        # Nothing proves it is this create's: "rotate it" could revoke an IdP's token.
        text = "nothing proves this request made it: left unchanged; check whether anyone "
        message = f"The organization has a SCIM connection, but {text}holds its token."
        cid = exc.connection.connection_id
        return 409, _body("connection_unverified", message, request_id, connection_id=cid)
    if isinstance(exc, errors.TokenLostError):
        body = _body(
            "token_lost",
            "The connection was created but its bearer token was lost in transit; "
            "rotate the token to obtain a new one.",
            request_id,
            connection_id=exc.connection.connection_id,
        )
        if exc.next_bearer_token is not None:
            # The recovery got a new token it could not confirm: this answer is the only
            # place the admin can get it, as a created token would be in a success.
            body["message"] = (
                "The connection was created and its token re-issued, but the rotation "
                "could not be confirmed: next_bearer_token is the token if it completed; "
                "otherwise complete the rotation."
            )
            body["next_bearer_token"] = exc.next_bearer_token
            headers["Cache-Control"] = "no-store"
        return 502, body
    if exc.may_have_committed:
        # Never "try again": a create that did commit would then answer "exists", and its
        # token would be lost without anyone noticing. The caller must look first.
        return 502, _body(
            "outcome_unknown",
            "The identity service may have carried out the request, but no answer "
            "confirmed it: reload the connection before trying again (a connection "
            "created this way needs its token rotated).",
            request_id,
        )
    if isinstance(exc, errors.RateLimitError):
        seconds = _retry_after_seconds(exc.retry_after)
        headers["Retry-After"] = str(seconds)
        message = f"Too many requests to the identity service; retry in {seconds} s."
        return 429, _body("rate_limited", message, request_id, retry_after=seconds)
    if isinstance(exc, errors.RequestTimeoutError) and not exc.sent:
        # Nothing was sent: the call's deadline came before its turn (the rate limiter's
        # next slot, or a free connection, was too far off). Overloaded, not broken.
        headers["Retry-After"] = str(_THROTTLED_RETRY_AFTER)
        message = "The identity service is busy; nothing was done; try again."
        return 503, _body("upstream_busy", message, None, retry_after=_THROTTLED_RETRY_AFTER)
    if isinstance(exc, errors.NotFoundError) and exc.error_type == "session_not_found":
        headers["WWW-Authenticate"] = "Bearer"
        return 401, _body("session_not_found", "The session is unknown or expired.", request_id)
    return None


def error_response(exc: errors.StytchSCIMError) -> JSONResponse:
    """The HTTP response for one of our errors, as `install_error_handlers` sends it.

    Public so an app with its own handler (to add headers, or to log differently)
    answers exactly the same way. Bodies are built only from fixed texts, the
    argument checks' `argument`/`problem` (422), and Stytch's own
    `error_type`/`error_message` for the statuses passed through (400, 403, 404):
    never from credentials, response bodies or upstream exception text. The one token
    an error body can carry is `TokenLostError.next_bearer_token`, the admin's own
    re-issued token (sent with `Cache-Control: no-store`), which would be lost else.
    """
    headers: dict[str, str] = {}
    special = _special(exc, headers)
    if special is not None:
        status, body = special
    else:
        row = next(row for cls, row in _TABLE if isinstance(exc, cls))
        status, kind, message = row.status, row.error, row.message
        if row.passed_on and isinstance(exc, errors.APIStatusError):
            kind = exc.error_type or kind
            message = exc.error_message or message
        body = _body(kind, message, exc.request_id)
        if status == 503:
            headers["Retry-After"] = str(_UNAVAILABLE_RETRY_AFTER)
            body["retry_after"] = _UNAVAILABLE_RETRY_AFTER
    if status >= 500:
        # The server's operators need the real cause; the caller gets the fixed text.
        ours = errors.UnauthorizedError | errors.SDKOriginNotAllowedError  # our configuration
        level = logging.ERROR if isinstance(exc, ours) else logging.WARNING
        _logger.log(level, "SCIM call failed, answering %d: %s", status, exc)
    return JSONResponse(body, status_code=status, headers=headers or None)


def _status_code_name(status: int) -> str:
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", "_").replace("-", "_")
    except ValueError:
        return "http_error"


async def _handle(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.StytchSCIMError)
    return error_response(exc)


async def _handle_http(request: Request, exc: Exception) -> Response:
    """FastAPI's and Starlette's own `HTTPException` (an unknown route, a 405, the app's
    own 401), in the same shape; a string `detail` is the message."""
    assert isinstance(exc, HTTPException)
    status = exc.status_code
    message = exc.detail if isinstance(exc.detail, str) and exc.detail else None
    body = _body(_status_code_name(status), message or HTTPStatus(status).phrase, None)
    if status < 200 or status in (204, 304):  # bodiless statuses stay bodiless
        return Response(status_code=status, headers=exc.headers)
    return JSONResponse(body, status_code=status, headers=exc.headers)


async def _handle_validation(request: Request, exc: Exception) -> Response:
    """A request FastAPI refused before the handler ran: 422 `invalid_request`, like the
    library's own argument checks. Only each problem's location and text are sent,
    never the input (which may hold a token)."""
    assert isinstance(exc, RequestValidationError)
    problems = []
    for problem in exc.errors():
        where = [str(part) for part in problem.get("loc", ())]
        problems.append((".".join(where[1:]) or ".".join(where) or "request", problem["msg"]))
    argument = problems[0][0] if problems else "request"
    message = "; ".join(f"{where}: {text}" for where, text in problems) or "invalid request"
    return JSONResponse(_body("invalid_request", message, None, argument=argument), status_code=422)


def install_error_handlers(app: Starlette, *, http_errors: bool = True) -> None:
    """Answer every `StytchSCIMError` a handler lets through with `error_response`, and
    (`http_errors=True`) FastAPI's own `HTTPException`s and request validation errors
    in the same `{"error", "message", "request_id"}` shape.

    Without it, each library error becomes a bare 500 and FastAPI's own failures a
    `{"detail": …}`; with it, callers parse one shape, get a status they can act on
    (retry later, log in again, fix an argument) and Stytch's request id to quote,
    while upstream credential problems stay out of their sight.
    """
    app.add_exception_handler(errors.StytchSCIMError, _handle)
    if http_errors:
        app.add_exception_handler(HTTPException, _handle_http)
        app.add_exception_handler(RequestValidationError, _handle_validation)
