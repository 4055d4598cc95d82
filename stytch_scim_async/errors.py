"""Every error the client raises, as one tree.

```
StytchSCIMError
├── InvalidRequestError (also ValueError)   bad arguments, raised before any I/O
├── APIStatusError          status_code, request_id, error_type, error_message,
│   │                       error_url, error_details, attempts
│   ├── BadRequestError 400
│   │   ├── ConnectionExistsError           error_type active_scim_connection_exists
│   │   └── SDKOriginNotAllowedError        member mode: the origin is not allow-listed
│   ├── UnauthorizedError 401
│   │   └── CustomDomainRequiredError       member mode: HttpOnly cookies need base_url
│   ├── ForbiddenError 403
│   ├── NotFoundError 404
│   ├── RateLimitError 429                  .retry_after (seconds or None)
│   └── ServerError ≥500
├── TransportError
│   ├── ConnectError                        the request never left
│   └── RequestTimeoutError
├── ResponseDecodeError                     status, request_id, body excerpt
├── TokenLostError                          a create committed but its token was lost
└── ClientClosedError (also RuntimeError)   a call on a client that is closing
```

Messages never contain credentials or bearer tokens: they are built only from the
status, Stytch's `error_type`/`error_message`, the request id and short body excerpts
of error responses (which never carry tokens).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .models import SCIMConnection

__all__ = [
    "APIStatusError",
    "BadRequestError",
    "ClientClosedError",
    "ConnectError",
    "ConnectionExistsError",
    "CustomDomainRequiredError",
    "ForbiddenError",
    "InvalidRequestError",
    "NotFoundError",
    "RateLimitError",
    "RequestTimeoutError",
    "ResponseDecodeError",
    "SDKOriginNotAllowedError",
    "ServerError",
    "StytchSCIMError",
    "TokenLostError",
    "TransportError",
    "UnauthorizedError",
]


class StytchSCIMError(Exception):
    """Base of every error this library raises; catch it to catch them all."""

    attempts: int = 1
    """How many HTTP attempts the failed call made (set when retries run out)."""
    request_id: str | None = None
    """Stytch's request id of the response that failed, when there was one."""
    may_have_committed: bool = False
    """True when an earlier attempt of this create or rotation may have taken effect
    and Stytch could not be asked whether it did: the organization may now have a
    connection (or rotation) this error does not describe. Reconcile before retrying
    (`create_connection(..., maybe_sent=True)`)."""

    def _after_attempts(self, text: str) -> str:
        return text if self.attempts <= 1 else f"{text} after {self.attempts} attempts"

    def __reduce__(self) -> tuple[Any, ...]:
        # Keyword-only constructors defeat Exception's default pickling (which re-calls
        # __init__ with `args`): errors must cross process pools and copy.copy intact.
        return (_restore, (type(self), self.args, self.__dict__))


def _restore(cls: type[StytchSCIMError], args: tuple[Any, ...], state: dict[str, Any]) -> Any:
    error = cls.__new__(cls)
    error.args = args
    error.__dict__.update(state)
    return error


class InvalidRequestError(StytchSCIMError, ValueError):
    """An argument is wrong; raised before anything is sent.

    `argument` names the offending parameter so callers (and the FastAPI
    integration) can point at it.
    """

    def __init__(self, argument: str, problem: str) -> None:
        self.argument = argument
        """The parameter that was wrong, as the caller named it."""
        self.problem = problem
        """What was wrong with it."""
        super().__init__(f"{argument}: {problem}")


class APIStatusError(StytchSCIMError):
    """Stytch (or a proxy in front of it) answered with a non-2xx status."""

    def __init__(
        self,
        *,
        status_code: int,
        request_id: str | None = None,
        error_type: str | None = None,
        error_message: str | None = None,
        error_url: str | None = None,
        error_details: Any = None,
        body_excerpt: str = "",
        attempts: int = 1,
    ) -> None:
        self.status_code = status_code
        """The HTTP status Stytch (or a proxy) answered with."""
        self.request_id = request_id
        """Stytch's id of the request, when the body had one: quote it to Stytch's support."""
        self.error_type = error_type
        """Stytch's machine-readable reason (`session_authorization_error`, ...), when given."""
        self.error_message = error_message
        """Stytch's explanation for people, when given."""
        self.error_url = error_url
        """Stytch's page about this error, when given."""
        self.error_details = error_details
        """Stytch's structured details, when given (any JSON value)."""
        self.body_excerpt = body_excerpt
        """The start of a body that was not Stytch's JSON (a proxy's HTML page)."""
        self.attempts = attempts
        """How many HTTP attempts the failed call made."""
        super().__init__(self._describe())

    def _describe(self) -> str:
        text = f"HTTP {self.status_code}"
        if self.error_type:
            text += f" {self.error_type}"
        if self.error_message:
            text += f": {self.error_message}"
        elif self.body_excerpt:
            text += f": {self.body_excerpt!r}"
        if self.request_id:
            text += f" (request_id={self.request_id})"
        return text

    def __str__(self) -> str:
        return self._after_attempts(self._describe())


class BadRequestError(APIStatusError):
    """400: Stytch rejected the request's content."""


class ConnectionExistsError(BadRequestError):
    """400 `active_scim_connection_exists`: the organization already has a connection.

    Raised too when a check finds a connection this call has no evidence of having
    made (it was there before, or something else made it), so it is never rotated.
    `connection_id` names it when the client looked.
    """

    def __init__(self, *, connection_id: str | None = None, **kwargs: Any) -> None:
        self.connection_id = connection_id
        """The existing connection, when the client looked; None otherwise."""
        super().__init__(**kwargs)


class UnauthorizedError(APIStatusError):
    """401: the project secret, public token or session is wrong."""


#: What a server-side caller can always do instead of member mode.
_BACKEND_INSTEAD = (
    "from a server, the backend API needs none of this: "
    "SCIMClient(project_id, secret) with member_session_token=<the Member's session>"
)


class SDKOriginNotAllowedError(BadRequestError):
    """400 `bad_domain_for_stytch_sdk` / `bad_app_bundle_for_stytch_sdk` (member mode).

    The frontend-SDK endpoints serve only the domains (or app bundles) on the
    project's allow-list, recognised by the request's `Origin`. A server sends no
    `Origin` of its own; see the message for what to configure.
    """

    def _describe(self) -> str:
        what = "app bundle" if self.error_type == "bad_app_bundle_for_stytch_sdk" else "domain"
        return (
            f"{super()._describe()}; the frontend-SDK endpoints MemberSCIMClient calls "
            f"accept only the project's allow-listed {what}s (Stytch dashboard: Frontend "
            f"SDKs, authorized {what}s), checked against the request's Origin header, which "
            f"this client sends only if its session's headers carry one; {_BACKEND_INSTEAD}"
        )


class CustomDomainRequiredError(UnauthorizedError):
    """401 `cname_required_for_http_only_cookies` / `cname_invalid_for_http_only_cookies`
    (member mode): the project enforces HttpOnly cookies, so its frontend-SDK calls must
    go to its custom domain (`base_url="https://<custom domain>"`)."""

    def _describe(self) -> str:
        problem = (
            "is not one of the project's verified custom domains"
            if self.error_type == "cname_invalid_for_http_only_cookies"
            else "is one of Stytch's default hosts"
        )
        return (
            f"{super()._describe()}; the project enforces HttpOnly cookies and this "
            f"client's base_url {problem}: pass MemberSCIMClient(..., base_url="
            f"'https://<the project's custom domain>'); {_BACKEND_INSTEAD}"
        )


class ForbiddenError(APIStatusError):
    """403: the Member may not act on this resource (RBAC) or the org is suspended."""


class NotFoundError(APIStatusError):
    """404: the organization, session or route does not exist."""


class RateLimitError(APIStatusError):
    """429: Stytch's rate limit. `retry_after` is the server's hint in seconds, if any."""

    def __init__(self, *, retry_after: float | None = None, **kwargs: Any) -> None:
        self.retry_after = retry_after
        """Seconds Stytch asked to wait (`Retry-After`), or None when it said nothing (its usual
        case)."""
        super().__init__(**kwargs)


class ServerError(APIStatusError):
    """A 5xx from Stytch or a proxy; for a create it is ambiguous (it may have committed)."""


class TransportError(StytchSCIMError):
    """The HTTP exchange itself failed: no usable response arrived.

    `sent` is False when the request certainly never reached Stytch (a connect
    error, or a create's or rotation's deadline that passed while it waited to be
    sent): then nothing can have been committed. A safe call cut at its deadline
    does not tell, as repeating it is harmless anyway."""

    sent: bool = True
    """False when the request certainly never reached Stytch, so nothing can have been committed."""

    def __init__(self, message: str, *, attempts: int = 1, sent: bool | None = None) -> None:
        self.attempts = attempts
        """How many HTTP attempts the failed call made."""
        if sent is not None:
            self.sent = sent
        super().__init__(message)

    def __str__(self) -> str:
        return self._after_attempts(super().__str__())


class ConnectError(TransportError):
    """The connection could not be made, so the request never reached Stytch."""

    sent = False
    """Always False: a connection that was never made carried nothing."""


class RequestTimeoutError(TransportError):
    """An attempt exceeded its timeout, or the call exceeded its deadline."""


class ResponseDecodeError(StytchSCIMError):
    """A 2xx response whose body is not the JSON Stytch documents (HTML, truncated, a field
    missing or of the wrong type). `problem` says what was wrong; the parser's own error
    is not chained, since it holds the whole body (a create's carries a live token)."""

    def __init__(
        self,
        problem: str,
        *,
        status_code: int,
        request_id: str | None = None,
        body_excerpt: str = "",
        attempts: int = 1,
    ) -> None:
        self.problem = problem
        """What was wrong with the body (not JSON, a field missing or of the wrong type)."""
        self.status_code = status_code
        """The 2xx status the undecodable body came with."""
        self.request_id = request_id
        """Stytch's id of the request, when it could be read."""
        self.body_excerpt = body_excerpt
        """The start of the body, for the logs."""
        self.attempts = attempts
        """How many HTTP attempts the failed call made."""
        super().__init__(problem)

    def __str__(self) -> str:
        text = f"HTTP {self.status_code}: undecodable response ({self.problem})"
        if self.request_id:
            text += f" (request_id={self.request_id})"
        text += f"; body starts {self.body_excerpt!r}"
        return self._after_attempts(text)


class TokenLostError(StytchSCIMError):
    """A create (or rotate start) may have committed but its reply, and so the one-time
    bearer token, never arrived. `connection` is the connection as Stytch now reports it.

    `proven` is True when the evidence says the connection is this call's own (absence
    was proven before the create): rotating it is then safe, since no IdP can be using
    a token nobody received. When False, an identical connection that existed before
    (or that another process made) cannot be ruled out: check before rotating it.

    `next_bearer_token` is set when a recovery rotation got as far as a rotate start
    but Stytch did not confirm (`bearer_token_last_four`) that it is now the live
    token: it is active if the complete committed, and the pending one otherwise
    (completing the rotation makes it active). It is a secret, and never part of the
    message or repr."""

    def __init__(
        self,
        connection: SCIMConnection,
        *,
        attempts: int = 1,
        next_bearer_token: str | None = None,
        proven: bool = True,
    ) -> None:
        self.connection = connection
        """The connection as Stytch reports it now: rotate it to get a token."""
        self.attempts = attempts
        """How many HTTP attempts the failed call made."""
        self.next_bearer_token = next_bearer_token
        """A token a recovery rotation obtained but Stytch did not confirm live; None otherwise. A
        secret."""
        self.proven = proven
        """True when evidence says the connection is this call's own, so rotating it is safe."""
        self.may_have_committed = True
        """Always True: the connection exists, so the call may well have made it."""
        super().__init__(connection.connection_id)

    def __repr__(self) -> str:
        return f"TokenLostError({self.connection.connection_id!r}, proven={self.proven})"

    def __str__(self) -> str:
        connection = self.connection
        attempts = f"after {self.attempts} attempt(s)"
        if not self.proven:
            return (
                f"connection {connection.connection_id} of organization "
                f"{connection.organization_id} was found {attempts} of a create that may "
                "have made it, but nothing proves it is this create's (an identical "
                "connection may have existed before): it was left unchanged; if nobody "
                "holds its token, rotate it"
            )
        text = (
            f"connection {connection.connection_id} of organization "
            f"{connection.organization_id} was created but its bearer token was lost "
            f"in transit {attempts}; "
        )
        if self.next_bearer_token is None:
            return text + "rotate it to obtain a new one (cancelling any rotation pending)"
        return text + (
            "a recovery rotation got a new token (next_bearer_token) but Stytch did not "
            "confirm it is the live one: complete the rotation if it is still pending, "
            "then check the connection's bearer_token_last_four"
        )


class ClientClosedError(StytchSCIMError, RuntimeError):
    """The client is closing or closed: no new call is admitted (calls already in flight
    finish, so a create is never cut off from its reconciliation)."""
