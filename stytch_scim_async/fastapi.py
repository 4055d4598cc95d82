"""FastAPI integration: one client per app, a dependency, and errors mapped to HTTP.

Install with the `fastapi` extra (`pip install "stytch-scim-async[fastapi]"`). Importing
`stytch_scim_async` never imports FastAPI; only importing this module does.

```python
from fastapi import FastAPI

import stytch_scim_async as scim
from stytch_scim_async.fastapi import SCIMClientDep, install_error_handlers, scim_lifespan

app = FastAPI(lifespan=scim_lifespan(lambda: scim.SCIMClient()))
install_error_handlers(app)


@app.get("/orgs/{organization_id}/scim")
async def show(organization_id: str, client: SCIMClientDep) -> dict[str, object]:
    response = await client.get_connection(organization_id)
    return {"connection_id": response.connection and response.connection.connection_id}
```

How `install_error_handlers` answers the app's own callers (every body is
`{"error", "message", "request_id"}`, with Stytch's request id when there was one):

| raised | status | why |
|---|---|---|
| `InvalidRequestError` | 422 | the caller's input was rejected before any I/O (`argument`) |
| `ClientClosedError` | 503 | the app is shutting down (with `Retry-After: 1`) |
| `ConnectionExistsError` | 409 | the organization already has a connection |
| `SDKOriginNotAllowedError` | 502 | *our* member mode is refused its origin; details withheld |
| `CustomDomainRequiredError` | 502 | *our* member mode needs the custom domain; details withheld |
| `BadRequestError` | 400 | Stytch rejected the content |
| `UnauthorizedError` | 502 | *our* project credentials are wrong; details are withheld |
| `ForbiddenError` | 403 | the Member's role (RBAC) or tenancy forbids it |
| `NotFoundError` `session_not_found` | 401 | the caller's session is unknown or expired |
| `NotFoundError` | 404 | the organization does not exist |
| `RateLimitError` | 503 | with `Retry-After` (seconds, rounded up, at least 1) |
| `RequestTimeoutError` | 504 | Stytch did not answer in time |
| `ServerError`, `TransportError`, `ResponseDecodeError` | 502 | Stytch (or the path to it) failed |
| `TokenLostError` | 502 | the connection exists but its token was lost: rotate it |
"""

from __future__ import annotations

import logging
import math
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Annotated, Any, Final, TypeVar, overload

from fastapi import Depends
from fastapi.requests import HTTPConnection, Request
from fastapi.responses import JSONResponse, Response
from starlette.applications import Starlette

from . import errors
from ._clients.project import SCIMClient

__all__ = [
    "STATE_KEY",
    "SCIMClientDep",
    "error_response",
    "get_scim_client",
    "install_error_handlers",
    "scim_lifespan",
]

_logger = logging.getLogger("stytch_scim_async.fastapi")

STATE_KEY: Final = "scim_client"
"""The `app.state` attribute that holds the client while the app runs."""

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
    """The app's `SCIMClient`, for `Depends`: handlers share the lifespan's client
    instead of building (and forgetting to close) their own."""
    client = getattr(connection.app.state, STATE_KEY, None)
    if not isinstance(client, SCIMClient):
        raise RuntimeError(
            "no SCIMClient on app.state: create the app with "
            "FastAPI(lifespan=scim_lifespan(...)) and make sure the server runs lifespan events"
        )
    return client


SCIMClientDep = Annotated[SCIMClient, Depends(get_scim_client)]
"""`client: SCIMClientDep` in a handler's signature injects the app's client."""


def _body(error: str, message: str, request_id: str | None, **extra: Any) -> dict[str, Any]:
    return {"error": error, "message": message, "request_id": request_id, **extra}


def _retry_after_seconds(retry_after: float | None) -> int:
    if retry_after is None or not math.isfinite(retry_after):
        return 1
    return max(1, math.ceil(retry_after))


_MISCONFIGURED = (
    "upstream_misconfigured",
    "The server's access to its identity service is misconfigured.",
)

#: First match wins: (error class, status, `error` when Stytch gave no error_type, message,
#: whether Stytch's own error_type/error_message are passed on to the caller).
_TABLE: Final[tuple[tuple[type[errors.StytchSCIMError], int, str, str, bool], ...]] = (
    (
        errors.ConnectionExistsError,
        409,
        "active_scim_connection_exists",
        "The organization already has a SCIM connection.",
        True,
    ),
    (errors.SDKOriginNotAllowedError, 502, *_MISCONFIGURED, False),
    (errors.CustomDomainRequiredError, 502, *_MISCONFIGURED, False),
    (errors.BadRequestError, 400, "bad_request", "The request was rejected.", True),
    (
        errors.ForbiddenError,
        403,
        "forbidden",
        "The Member is not authorized to perform this action.",
        True,
    ),
    (errors.NotFoundError, 404, "not_found", "Not found.", True),
    (
        errors.UnauthorizedError,
        502,
        "upstream_authentication_failed",
        "The server could not authenticate to its identity service.",
        False,
    ),
    (
        errors.RequestTimeoutError,
        504,
        "upstream_timeout",
        "The identity service did not answer in time; try again.",
        False,
    ),
    (
        errors.ConnectError,
        502,
        "upstream_unreachable",
        "The identity service could not be reached; try again.",
        False,
    ),
    (
        errors.TransportError,
        502,
        "upstream_connection_failed",
        "The connection to the identity service failed; try again.",
        False,
    ),
    (
        errors.ServerError,
        502,
        "upstream_error",
        "The identity service failed; try again.",
        False,
    ),
    (
        errors.ResponseDecodeError,
        502,
        "upstream_bad_response",
        "The identity service sent an unreadable answer; try again.",
        False,
    ),
    (
        errors.StytchSCIMError,
        502,
        "upstream_error",
        "The identity service answered unexpectedly.",
        False,
    ),
)


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
    request_id = exc.request_id
    headers: dict[str, str] = {}
    closed = isinstance(exc, errors.ClientClosedError) or (
        isinstance(exc, errors.InvalidRequestError) and exc.argument == "client"
    )
    if closed:  # the app is shutting down: its client is closing or closed
        status, body = 503, _body("service_unavailable", "The server is shutting down.", None)
        headers["Retry-After"] = "1"
    elif isinstance(exc, errors.InvalidRequestError):
        message = f"{exc.argument}: {exc.problem}"
        body = _body("invalid_request", message, None, argument=exc.argument)
        status = 422
    elif isinstance(exc, errors.RateLimitError):
        seconds = _retry_after_seconds(exc.retry_after)
        status = 503
        body = _body(
            "rate_limited",
            f"Too many requests to the identity service; retry in {seconds} s.",
            request_id,
        )
        headers["Retry-After"] = str(seconds)
    elif isinstance(exc, errors.NotFoundError) and exc.error_type == "session_not_found":
        status = 401
        body = _body("session_not_found", "The session is unknown or expired.", request_id)
        headers["WWW-Authenticate"] = "Bearer"
    elif isinstance(exc, errors.TokenLostError):
        status = 502
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
    else:
        status, kind, message, passed_on = next(
            row[1:] for row in _TABLE if isinstance(exc, row[0])
        )
        if passed_on and isinstance(exc, errors.APIStatusError):
            kind = exc.error_type or kind
            message = exc.error_message or message
        body = _body(kind, message, request_id)
    if status >= 500:
        # The server's operators need the real cause; the caller gets the fixed text.
        ours = errors.UnauthorizedError | errors.SDKOriginNotAllowedError  # our configuration
        level = logging.ERROR if isinstance(exc, ours) else logging.WARNING
        _logger.log(level, "SCIM call failed, answering %d: %s", status, exc)
    return JSONResponse(body, status_code=status, headers=headers or None)


async def _handle(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.StytchSCIMError)
    return error_response(exc)


def install_error_handlers(app: Starlette) -> None:
    """Answer every `StytchSCIMError` a handler lets through with `error_response`.

    Without it, each one becomes a bare 500; with it, callers get a status they can
    act on (retry later, log in again, fix an argument) and Stytch's request id to
    quote, while upstream credential problems stay out of their sight.
    """
    app.add_exception_handler(errors.StytchSCIMError, _handle)
